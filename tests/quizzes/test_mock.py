"""Mock interviews: the server's clock, one open attempt, no answer leaks, review, history, bad input."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from quizzes import grading, selectors, services
from quizzes.models import Answer, Attempt, AttemptQuestion, Question, ReviewCard
from tests.factories import UserFactory
from tests.quizzes.helpers import post_for

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def activity(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "publish_learner_activity", lambda **kw: calls.append(kw))
    return calls


@pytest.fixture
def attempt(learner, banks):
    attempt, created = services.attempt_start(user=learner, level="mid", seed=3)
    assert created
    return attempt


def _questions(attempt) -> list[Question]:
    return [s.question for s in AttemptQuestion.objects.filter(attempt=attempt).select_related("question")]


def _post(attempt, question, right=True, **extra):
    return {**post_for(question, grading.seed_mock(attempt.pk, question.pk), right=right), **extra}


def _answer(client, attempt, question, right=True, **kw):
    return client.post(
        reverse("quizzes:attempt-answer", args=[attempt.pk]), _post(attempt, question, right), **kw
    )


def test_attempt_start_draws_questions_across_every_key_area(attempt):
    questions = _questions(attempt)
    assert len(questions) == 10
    assert {q.level for q in questions} == {"mid"}
    areas = {slug for q in questions for slug in q.key_areas.values_list("slug", flat=True)}
    assert len(areas) == 5
    assert attempt.deadline - attempt.started_at == timedelta(minutes=25)


def test_attempt_minutes_and_size_configurable_per_level(learner, banks, settings):
    settings.QUIZZES_MOCK_MINUTES = {"staff": 40}
    settings.QUIZZES_MOCK_QUESTIONS = {"staff": 6}
    attempt, _ = services.attempt_start(user=learner, level="staff")
    assert attempt.deadline - attempt.started_at == timedelta(minutes=40)
    assert attempt.slots.count() == 6


def test_mock_start_twice_continues_the_same_attempt(client, learner, banks):
    client.force_login(learner)
    first = client.post(reverse("quizzes:mock-start"), {"level": "mid"})
    second = client.post(reverse("quizzes:mock-start"), {"level": "staff"})
    attempt = Attempt.objects.get()
    assert first["Location"] == second["Location"] == reverse("quizzes:attempt-detail", args=[attempt.pk])
    page = client.get(second["Location"])
    assert "You already have a Mid-level mock interview in progress" in page.content.decode()


def test_mock_start_bad_level_is_400(client, learner, banks):
    client.force_login(learner)
    response = client.post(reverse("quizzes:mock-start"), {"level": "principal"})
    assert (response.status_code, response.content) == (400, b"Choose a level: mid, senior or staff.")
    assert Attempt.objects.count() == 0


def test_answer_is_saved_and_can_change_before_submission(client, learner, attempt):
    client.force_login(learner)
    question = _questions(attempt)[0]
    with time_machine.travel(attempt.started_at + timedelta(minutes=1), tick=False):
        assert _answer(client, attempt, question, right=False).status_code == 302
        assert _answer(client, attempt, question, right=True).status_code == 302
    answer = Answer.objects.get()
    assert answer.mode == "mock"
    assert answer.score == (None if question.type == "free" else 1.0)
    assert ReviewCard.objects.count() == 0  # scheduled once, at submission


def test_answer_within_grace_counts_after_grace_is_refused(client, learner, attempt):
    client.force_login(learner)
    first, second = _questions(attempt)[:2]
    with time_machine.travel(attempt.deadline + timedelta(seconds=9), tick=False):
        assert _answer(client, attempt, first).status_code == 302
    with time_machine.travel(attempt.deadline + timedelta(seconds=11), tick=False):
        response = _answer(client, attempt, second, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert (
        f"Time is up: the interview ended at {attempt.deadline:%H:%M:%S} UTC, so this answer was not recorded."
        in response.content.decode()
    )
    assert list(Answer.objects.values_list("question_id", flat=True)) == [first.pk]
    attempt.refresh_from_db()
    assert attempt.auto_submitted is True
    assert attempt.submitted_at == attempt.deadline + timedelta(seconds=10)


def test_expired_attempt_is_submitted_on_next_visit(client, learner, attempt, activity):
    client.force_login(learner)
    with time_machine.travel(attempt.deadline + timedelta(hours=3), tick=False):
        response = client.get(reverse("quizzes:attempt-detail", args=[attempt.pk]))
    assert response["Location"] == reverse("quizzes:attempt-review", args=[attempt.pk])
    attempt.refresh_from_db()
    assert (attempt.auto_submitted, attempt.score) == (True, 0.0)
    assert activity == [{"user_id": learner.pk, "kind": "attempt_submitted"}]


def test_expired_attempt_does_not_block_a_new_one(learner, attempt):
    with time_machine.travel(attempt.deadline + timedelta(minutes=5), tick=False):
        new, created = services.attempt_start(user=learner, level="senior")
    attempt.refresh_from_db()
    assert created
    assert new.pk != attempt.pk
    assert attempt.is_submitted


def test_clock_moved_back_by_the_browser_changes_nothing(client, learner, attempt):
    """Whatever the page says, the server's deadline decides (a tampered 'auto=0' submit after time is up)."""
    client.force_login(learner)
    with time_machine.travel(attempt.deadline + timedelta(minutes=1), tick=False):
        client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]), {"auto": "0"})
    attempt.refresh_from_db()
    assert attempt.submitted_at == attempt.deadline + timedelta(seconds=10)


def _assert_no_key(body: str, questions) -> None:
    for question in questions:
        secrets = [question.explanation, question.model_answer, *question.rubric]
        for secret in filter(None, secrets):
            assert secret not in body, f"{question.key} leaked: {secret[:50]}"
            assert escape(secret) not in body, f"{question.key} leaked: {secret[:50]}"
        if question.type == "ordering":
            # items never appear in their correct order
            positions = [body.find(escape(question.data["items"][i])) for i in question.answer]
            assert positions != sorted(positions) or -1 in positions, question.key
        for option_id in question.data.get("options", {}):
            assert f'value="{option_id}"' not in body
    for marker in ("Correct answer", "Model answer", "Why</h3>", "feedback-ok", "is_correct"):
        assert marker not in body


def test_no_leak_in_any_response_before_submission(client, learner, attempt):
    client.force_login(learner)
    questions = _questions(attempt)
    url = reverse("quizzes:attempt-detail", args=[attempt.pk])
    bodies = [client.get(url), client.get(reverse("quizzes:home"))]
    for position, question in enumerate(questions, 1):
        bodies.append(client.get(f"{url}?q={position}"))
        bodies.append(client.get(f"{url}?q={position}", HTTP_HX_REQUEST="true"))
        bodies.append(_answer(client, attempt, question, right=True, HTTP_HX_REQUEST="true"))
        bodies.append(_answer(client, attempt, question, right=False))
        bodies.append(
            client.post(
                reverse("quizzes:attempt-answer", args=[attempt.pk]),
                {"question": question.pk},
                HTTP_HX_REQUEST="true",
            )
        )
        bodies.append(client.get(f"{url}?q={position}"))  # prefilled with the saved answer
    bodies.append(client.get(reverse("quizzes:attempt-review", args=[attempt.pk]), follow=True))
    bodies.append(client.get(reverse("quizzes:attempt-history", args=["mid"])))
    statuses = {r.status_code for r in bodies}
    assert statuses == {200, 302, 400}
    for response in bodies:
        _assert_no_key(response.content.decode(), questions)
    # ...and the same pages do show the key once submitted
    client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]))
    review = client.get(reverse("quizzes:attempt-review", args=[attempt.pk])).content.decode()
    for question in questions:
        assert escape(question.explanation) in review


def test_question_not_in_attempt_is_400(client, learner, attempt):
    client.force_login(learner)
    outside = Question.objects.filter(level="mid").exclude(pk__in=[q.pk for q in _questions(attempt)]).first()
    response = client.post(reverse("quizzes:attempt-answer", args=[attempt.pk]), _post(attempt, outside))
    assert response.status_code == 400
    assert response.context["error"] == "That question is not part of this mock interview."
    assert Answer.objects.count() == 0


@pytest.mark.parametrize("question", ["1; DROP TABLE", "", "-1"])
def test_tampered_question_id_is_400(client, learner, attempt, question):
    client.force_login(learner)
    response = client.post(reverse("quizzes:attempt-answer", args=[attempt.pk]), {"question": question})
    assert response.status_code == 400
    assert Answer.objects.count() == 0


def test_wrong_shape_and_huge_free_text_are_400(client, learner, attempt):
    client.force_login(learner)
    free = (
        Question.objects.filter(level="mid", type="free")
        .exclude(pk__in=[q.pk for q in _questions(attempt)])
        .first()
    )
    AttemptQuestion.objects.filter(attempt=attempt, position=1).update(question=free)
    response = client.post(
        reverse("quizzes:attempt-answer", args=[attempt.pk]), {"question": free.pk, "text": "x" * 6000}
    )
    assert response.status_code == 400
    assert response.context["error"] == "Keep your answer under 5000 characters (it has 6000)."
    assert Answer.objects.count() == 0


def test_another_learners_attempt_is_404(client, other_learner, attempt):
    client.force_login(other_learner)
    question = _questions(attempt)[0]
    urls = [
        ("get", reverse("quizzes:attempt-detail", args=[attempt.pk]), {}),
        ("get", reverse("quizzes:attempt-review", args=[attempt.pk]), {}),
        ("post", reverse("quizzes:attempt-answer", args=[attempt.pk]), _post(attempt, question)),
        ("post", reverse("quizzes:attempt-submit", args=[attempt.pk]), {}),
        ("post", reverse("quizzes:attempt-grade", args=[attempt.pk, question.pk]), {"met": ["0"]}),
    ]
    for method, url, data in urls:
        assert getattr(client, method)(url, data).status_code == 404, url
    attempt.refresh_from_db()
    assert attempt.submitted_at is None
    assert Answer.objects.count() == 0


def test_anonymous_is_sent_to_login(client, attempt):
    response = client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_double_submission_counts_once(client, learner, attempt, activity):
    client.force_login(learner)
    for question in _questions(attempt)[:3]:
        _answer(client, attempt, question)
    first = client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]))
    second = client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]), HTTP_HX_REQUEST="true")
    assert first.status_code == 302
    assert second["HX-Redirect"] == reverse("quizzes:attempt-review", args=[attempt.pk])
    assert [c["kind"] for c in activity].count("attempt_submitted") == 1
    graded = [q for q in _questions(attempt)[:3] if q.type != "free"]
    assert sorted(ReviewCard.objects.values_list("reps", flat=True)) == sorted(
        [1] * len(graded) + [0] * (3 - len(graded))
    )


def test_answer_after_submission_is_refused(client, learner, attempt):
    client.force_login(learner)
    question = _questions(attempt)[0]
    client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]))
    response = _answer(client, attempt, question)
    assert response.status_code == 409
    assert "already been submitted" in response.content.decode()
    assert Answer.objects.count() == 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_from_two_tabs_count_once(monkeypatch):
    from tests.quizzes.factories import content_build

    content_build()
    services.question_import(paths=services.bank_paths_default())
    calls = []
    monkeypatch.setattr(services, "publish_learner_activity", lambda **kw: calls.append(kw))
    user = UserFactory()
    attempt, _ = services.attempt_start(user=user, level="senior")
    barrier = threading.Barrier(4)
    results = []

    def submit():
        barrier.wait()
        try:
            results.append(services.attempt_submit(attempt=Attempt.objects.get(pk=attempt.pk)))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert calls == [{"user_id": user.pk, "kind": "attempt_submitted"}]


def test_review_shows_answers_key_explanation_and_area_scores(client, learner, attempt):
    client.force_login(learner)
    questions = _questions(attempt)
    for question in questions[:5]:
        _answer(client, attempt, question, right=True)
    client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]))
    response = client.get(reverse("quizzes:attempt-review", args=[attempt.pk]))
    body = response.content.decode()
    assert response.context["unanswered"] == 5
    for question in questions:
        assert escape(question.explanation) in body
        assert question.section.get_absolute_url() in body
    assert len(response.context["areas"]) == 5
    auto = [q for q in questions[:5] if q.type != "free"]
    attempt.refresh_from_db()
    assert attempt.score == round(len(auto) / 10, 4)


def test_self_grading_a_free_response_in_review_rescored_the_attempt(client, learner, attempt):
    client.force_login(learner)
    free = (
        Question.objects.filter(level="mid", type="free")
        .exclude(pk__in=[q.pk for q in _questions(attempt)])
        .first()
    )
    AttemptQuestion.objects.filter(attempt=attempt, position=1).update(question=free)
    _answer(client, attempt, free)
    grade_url = reverse("quizzes:attempt-grade", args=[attempt.pk, free.pk])
    early = client.post(grade_url, {"met": ["0", "1"]})
    assert early.status_code == 302
    assert Answer.objects.get().score is None  # not before submission
    client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]))
    assert ReviewCard.objects.filter(question=free).exists()
    assert (
        not selectors.review_due(user=learner).filter(question=free).exists()
    )  # grade it in the review first
    response = client.post(grade_url, {"met": [str(i) for i in range(len(free.rubric))]})
    assert (
        response["Location"] == reverse("quizzes:attempt-review", args=[attempt.pk]) + f"#question-{free.pk}"
    )
    attempt.refresh_from_db()
    assert attempt.score == 0.1
    card = ReviewCard.objects.get(question=free)
    assert card.reps == 1


def test_attempt_detail_query_count(client, learner, attempt, django_assert_num_queries):
    client.force_login(learner)
    for question in _questions(attempt)[:3]:
        _answer(client, attempt, question)
    with django_assert_num_queries(7):
        response = client.get(reverse("quizzes:attempt-detail", args=[attempt.pk]) + "?q=2")
    assert response.status_code == 200


def test_attempt_review_query_count(client, learner, attempt, django_assert_num_queries):
    client.force_login(learner)
    for question in _questions(attempt)[:3]:
        _answer(client, attempt, question)
    client.post(reverse("quizzes:attempt-submit", args=[attempt.pk]))
    client.get(reverse("quizzes:attempt-review", args=[attempt.pk]))  # consume the flash message
    with django_assert_num_queries(7):
        response = client.get(reverse("quizzes:attempt-review", args=[attempt.pk]))
    assert response.status_code == 200


def _finished_attempts(user, scores):
    for n, score in enumerate(scores):
        start = T0 + timedelta(days=n)
        Attempt.objects.create(
            user=user,
            level="mid",
            started_at=start,
            deadline=start + timedelta(minutes=25),
            submitted_at=start + timedelta(minutes=20),
            score=score,
        )


def test_history_chart_and_table(client, learner, banks):
    _finished_attempts(learner, [0.4, 0.55, 0.8])
    _finished_attempts(UserFactory(), [1.0])
    client.force_login(learner)
    response = client.get(reverse("quizzes:attempt-history", args=["mid"]))
    body = response.content.decode()
    chart = response.context["chart"]
    assert [p.attempt.score for p in chart["points"]] == [0.4, 0.55, 0.8]
    assert chart["polyline"] == "52.0,132.0 334.0,105.0 616.0,60.0"
    assert '<svg viewBox="0 0 640 240" role="img"' in body
    assert body.count("<tr>") == 4  # header + 3 rows
    for score in ("40 %", "55 %", "80 %"):
        assert score in body


def test_history_query_count(client, learner, banks, django_assert_num_queries):
    _finished_attempts(learner, [0.4, 0.55, 0.8])
    client.force_login(learner)
    with django_assert_num_queries(4):
        response = client.get(reverse("quizzes:attempt-history", args=["mid"]))
    assert len(response.context["attempts"]) == 3


def test_history_unknown_level_is_404(client, learner, db):
    client.force_login(learner)
    assert client.get(reverse("quizzes:attempt-history", args=["principal"])).status_code == 404


def test_history_empty_state(client, learner, db):
    client.force_login(learner)
    response = client.get(reverse("quizzes:attempt-history", args=["staff"]))
    assert "No Staff+ mock interviews submitted yet." in response.content.decode()
