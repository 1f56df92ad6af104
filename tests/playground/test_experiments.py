"""Guided experiments: definitions, prediction and run storage, pages, the lesson hook and instructors."""

import json

import pytest
from django.template import Context, Template
from django.test import Client

from courses.models import Announcement, CohortMembership
from courses.selectors import experiments_run_subquery
from playground.experiments import (
    EXPERIMENTS,
    METRICS,
    experiment_get,
    experiments_for_section,
    explanation_for,
)
from playground.models import ExperimentRun, PredictionAnswer
from tests.courses.cohort_factories import CohortFactory, MembershipFactory

pytestmark = pytest.mark.django_db
DROP = "who-recovers-from-a-dropped-connection"


def full_results(experiment, **overrides):
    row = dict.fromkeys(METRICS, 0) | overrides
    return {t: dict(row) for t in experiment.panes}


@pytest.fixture
def client_in(learner):
    c = Client()
    c.force_login(learner)
    return c


def test_experiments_are_at_least_six_and_well_formed():
    assert len(EXPERIMENTS) >= 6
    assert len({e.slug for e in EXPERIMENTS}) == len(EXPERIMENTS)
    for e in EXPERIMENTS:
        assert e.answer in dict(e.choices)
        assert e.sections
        explanation_for(e, full_results(e))  # every placeholder names a transport and a metric


def test_explanation_quotes_the_measured_numbers():
    e = experiment_get(DROP)
    results = full_results(e, lost=0, recovered=3)
    results["ws"]["detect_ms"], results["ws"]["recover_ms"] = 12, 1450
    text = explanation_for(e, results)
    assert "noticed in 12 ms and was back in 1450 ms" in text
    assert "replayed: 3, 3, 3" in text


def test_experiments_for_section_maps_anchors():
    slugs = [e.slug for e in experiments_for_section("real-time-communication-protocols")]
    assert slugs == ["sse-is-enough-for-a-live-dashboard", "buffering-proxies-break-streaming"]
    assert experiments_for_section("nope") == []


def test_section_partial_links_the_experiments():
    html = Template('{% include "playground/_section_experiments.html" with anchor=a %}').render(
        Context({"a": "not-considering-failure-modes"})
    )
    assert f'href="/playground/experiments/{DROP}/"' in html
    assert (
        Template('{% include "playground/_section_experiments.html" with anchor="x" %}')
        .render(Context())
        .strip()
        == ""
    )


def test_experiment_list_query_count(client_in, learner, django_assert_num_queries):
    for slug in [DROP, DROP, "what-long-polling-costs"]:
        PredictionAnswer.objects.create(
            user=learner, experiment=slug, choice="x", is_correct=True, answered_at="2026-01-01T00:00Z"
        )
        ExperimentRun.objects.create(user=learner, experiment=slug, created_at="2026-01-01T00:00Z")
    with django_assert_num_queries(6):  # session, user, runs, predictions, history, nav review badge
        r = client_in.get("/playground/experiments/")
    assert r.status_code == 200
    assert "Run 2 times · 2 of 2 predictions right" in r.content.decode()


def test_experiment_list_anonymous_shows_login():
    r = Client().get("/playground/experiments/")
    assert r.status_code == 200
    assert "/accounts/login/?next=/playground/experiments/" in r.content.decode()


def test_experiment_detail_needs_login_and_known_slug(client_in):
    assert Client().get(f"/playground/experiments/{DROP}/").status_code == 302
    assert client_in.get("/playground/experiments/nope/").status_code == 404
    r = client_in.get(f"/playground/experiments/{DROP}/")
    body = r.content.decode()
    assert "Predict first: the run unlocks" in body
    assert 'name="choice"' in body


def test_predict_stores_a_predict_question_and_unlocks_the_run(
    client_in, learner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = client_in.post(f"/playground/experiments/{DROP}/predict/", {"choice": "none-lose"})
    p = PredictionAnswer.objects.get()
    assert (p.user, p.experiment, p.choice, p.is_correct) == (learner, DROP, "none-lose", True)
    assert len(callbacks) == 1  # the learner activity event, after commit
    assert r.status_code == 302
    assert r["Location"] == f"/playground/experiments/{DROP}/?prediction={p.pk}#run"
    body = client_in.get(r["Location"].split("#")[0]).content.decode()
    assert "Set up panes" in body
    assert f'data-prediction-id="{p.pk}"' in body


def test_predict_bad_choice_is_400(client_in):
    r = client_in.post(f"/playground/experiments/{DROP}/predict/", {"choice": "maybe"})
    assert r.status_code == 400
    assert "Choose one of the answers." in r.content.decode()
    assert PredictionAnswer.objects.count() == 0


def test_other_learners_prediction_is_not_shown(client_in, other_learner):
    p = PredictionAnswer.objects.create(
        user=other_learner,
        experiment=DROP,
        choice="all-lose",
        is_correct=False,
        answered_at="2026-01-01T00:00Z",
    )
    body = client_in.get(f"/playground/experiments/{DROP}/?prediction={p.pk}").content.decode()
    assert "Predict first" in body


def post_run(client, payload, slug=DROP):
    return client.post(
        f"/playground/experiments/{slug}/runs/", json.dumps(payload), content_type="application/json"
    )


def test_run_create_stores_results_and_renders_the_table(client_in, learner):
    e = experiment_get(DROP)
    p = PredictionAnswer.objects.create(
        user=learner, experiment=DROP, choice="none-lose", is_correct=True, answered_at="2026-01-01T00:00Z"
    )
    results = full_results(e, events=12, recovered=2)
    results["sse"]["detect_ms"] = 3.4
    results["ws"]["latency_p50_ms"] = None
    r = post_run(client_in, {"prediction": p.pk, "results": results})
    assert r.status_code == 201
    run = ExperimentRun.objects.get()
    assert (
        run.user,
        run.prediction,
        run.results["sse"]["detect_ms"],
        run.results["ws"]["latency_p50_ms"],
    ) == (
        learner,
        p,
        3,
        None,
    )
    body = r.content.decode()
    assert '<th scope="row">WebSocket</th>' in body
    assert '<th scope="row">Long polling</th>' in body
    assert "right" in body
    assert "replayed: 2, 2, 2" in body


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (None, "results must be an object keyed by transport"),
        ({"ws": {}}, "results for SSE are missing"),
        ({"ws": {}, "sse": {}, "long_poll": {}, "short_poll": {}}, "unknown transport(s): short_poll"),
        ({"ws": {"evil": 1}, "sse": {}, "long_poll": {}}, "unknown metric(s): evil"),
        ({"ws": {"lost": "3"}, "sse": {}, "long_poll": {}}, "lost must be a number"),
        ({"ws": {"lost": True}, "sse": {}, "long_poll": {}}, "lost must be a number"),
        ({"ws": {"lost": -1}, "sse": {}, "long_poll": {}}, "lost is out of range"),
    ],
)
def test_run_create_bad_results_are_400(client_in, results, message):
    r = post_run(client_in, {"results": results})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid", "message": message}
    assert ExperimentRun.objects.count() == 0


def test_run_create_refuses_others_predictions_junk_and_huge_bodies(client_in, other_learner):
    p = PredictionAnswer.objects.create(
        user=other_learner,
        experiment=DROP,
        choice="none-lose",
        is_correct=True,
        answered_at="2026-01-01T00:00Z",
    )
    e = experiment_get(DROP)
    assert post_run(client_in, {"prediction": p.pk, "results": full_results(e)}).status_code == 404
    assert post_run(client_in, {"prediction": "1", "results": full_results(e)}).status_code == 400
    assert (
        client_in.post(
            f"/playground/experiments/{DROP}/runs/", "nope", content_type="application/json"
        ).status_code
        == 400
    )
    huge = {"results": full_results(e), "pad": "x" * 20000}
    assert post_run(client_in, huge).status_code == 413
    assert post_run(Client(), {"results": full_results(e)}).status_code == 302  # anonymous: to the login
    assert ExperimentRun.objects.count() == 0


def test_runs_feed_the_cohort_experiments_column(learner):
    ExperimentRun.objects.create(user=learner, experiment=DROP, created_at="2026-01-01T00:00Z")
    ExperimentRun.objects.create(user=learner, experiment=DROP, created_at="2026-01-02T00:00Z")
    from accounts.models import User

    row = User.objects.annotate(n=experiments_run_subquery()).get(pk=learner.pk)
    assert row.n == 2


def test_instructor_points_a_cohort_at_an_experiment(instructor, learner):
    cohort = CohortFactory()
    MembershipFactory(cohort=cohort, user=instructor, role=CohortMembership.Role.INSTRUCTOR)
    MembershipFactory(cohort=cohort, user=learner)
    c = Client()
    c.force_login(instructor)
    body = c.get(f"/playground/experiments/{DROP}/").content.decode()
    assert "Point a cohort at this experiment" in body
    r = c.post(f"/playground/experiments/{DROP}/assign/", {"cohort": cohort.pk, "note": "Before Thursday"})
    assert r.status_code == 302
    a = Announcement.objects.get()
    assert a.title == "Experiment: Who recovers from a dropped connection, and how"
    assert a.body.startswith("Before Thursday\n\n")
    assert f"http://testserver/playground/experiments/{DROP}/" in a.body


def test_learner_cannot_point_a_cohort(client_in, learner):
    cohort = CohortFactory()
    MembershipFactory(cohort=cohort, user=learner)
    assert "Point a cohort" not in client_in.get(f"/playground/experiments/{DROP}/").content.decode()
    assert client_in.post(f"/playground/experiments/{DROP}/assign/", {"cohort": cohort.pk}).status_code == 404
    assert client_in.post(f"/playground/experiments/{DROP}/assign/", {"cohort": "x"}).status_code == 404
    assert Announcement.objects.count() == 0


@pytest.mark.slow
def test_lesson_sections_link_their_experiments_and_back(client_in):
    from lessons.services import material_import
    from tests.lessons.conftest import COURSE_SLUG, MATERIAL

    material_import(path=MATERIAL)
    body = client_in.get(f"/courses/{COURSE_SLUG}/real-time-communication-protocols/").content.decode()
    assert 'href="/playground/experiments/sse-is-enough-for-a-live-dashboard/"' in body
    assert 'href="/playground/experiments/buffering-proxies-break-streaming/"' in body
    detail = client_in.get("/playground/experiments/sse-is-enough-for-a-live-dashboard/").content.decode()
    assert (
        f'href="/courses/{COURSE_SLUG}/real-time-communication-protocols/#real-time-communication-protocols"'
        in detail
    )


def test_experiment_history_query_count_and_partial(client_in, learner, django_assert_num_queries):
    for choice, correct in [("none-lose", True), ("all-lose", False), ("ws-loses", False)]:
        PredictionAnswer.objects.create(
            user=learner, experiment=DROP, choice=choice, is_correct=correct, answered_at="2026-01-01T00:00Z"
        )
    ExperimentRun.objects.create(user=learner, experiment=DROP, created_at="2026-01-01T00:00Z")
    with django_assert_num_queries(5):  # session, user, counts, runs, recent
        r = client_in.get("/playground/experiments/history/", headers={"HX-Request": "true"})
    body = r.content.decode()
    assert "<html" not in body
    assert (
        "<strong>3</strong> answered, <strong>1</strong> right. Experiments run: <strong>1</strong>." in body
    )
    assert body.count("· predict ·") == 3
    assert "Who recovers from a dropped connection, and how" in body


def test_experiment_history_empty_and_anonymous(client_in):
    assert "No predictions yet." in client_in.get("/playground/experiments/history/").content.decode()
    assert Client().get("/playground/experiments/history/").status_code == 302


def test_my_learning_loads_the_experiment_history(client_in):
    body = client_in.get("/my-learning/").content.decode()
    assert 'hx-get="/playground/experiments/history/"' in body
    assert 'href="/playground/experiments/history/"' in body  # the no-JS path
