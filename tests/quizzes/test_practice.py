"""Practice mode: start, one question at a time (htmx and plain), feedback, skip, self-grading, summary."""

import pytest
from django.urls import reverse

from quizzes import grading, services
from quizzes.models import Answer, PracticeSession, Question, ReviewCard
from tests.quizzes.helpers import post_for


@pytest.fixture
def session(learner, banks):
    return services.practice_start(user=learner, level="mid", key_areas=[], count=10, seed=7)


def _current(session) -> Question:
    session.refresh_from_db()
    return Question.objects.get(pk=session.question_ids[session.position])


def _answer_url(session):
    return reverse("quizzes:practice-answer", args=[session.pk])


def _post(session, question, right=True):
    return post_for(question, grading.seed_practice(session.pk, question.pk), right=right)


def test_practice_start_picks_questions_of_level_and_key_areas(client, learner, banks):
    client.force_login(learner)
    response = client.post(
        reverse("quizzes:practice-start"),
        {"level": "senior", "count": "5", "key_areas": ["real-time-communication-protocols"]},
    )
    session = PracticeSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("quizzes:practice-detail", args=[session.pk])
    questions = Question.objects.filter(pk__in=session.question_ids)
    assert len(session.question_ids) == 5
    assert {q.level for q in questions} == {"senior"}
    assert all(q.key_areas.filter(slug="real-time-communication-protocols").exists() for q in questions)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"level": "principal", "count": "10"}, "level"),
        ({"level": "mid", "count": "999"}, "count"),
        ({"level": "mid", "count": "10", "key_areas": ["gossip"]}, "key_areas"),
    ],
)
def test_practice_start_bad_input_is_400(client, learner, banks, data, field):
    client.force_login(learner)
    response = client.post(reverse("quizzes:practice-start"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert PracticeSession.objects.count() == 0


def test_practice_requires_login(client, session):
    response = client.get(reverse("quizzes:practice-detail", args=[session.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_practice_of_another_learner_is_404(client, other_learner, session):
    client.force_login(other_learner)
    assert client.get(reverse("quizzes:practice-detail", args=[session.pk])).status_code == 404
    question = _current(session)
    assert client.post(_answer_url(session), _post(session, question)).status_code == 404
    assert Answer.objects.count() == 0


def test_practice_answer_htmx_returns_feedback_with_explanation_and_lesson_link(client, learner, session):
    client.force_login(learner)
    question = _current(session)
    response = client.post(_answer_url(session), _post(session, question), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # the partial only
    assert question.explanation in body
    assert question.section.get_absolute_url() in body
    assert "Score: 1 of 1 right (100 %)" in body
    answer = Answer.objects.get()
    assert (answer.mode, answer.is_correct, answer.score, answer.practice_session_id) == (
        "practice",
        True,
        1.0,
        session.pk,
    )
    session.refresh_from_db()
    assert session.position == 1


def test_practice_answer_without_js_redirects_to_feedback(client, learner, session):
    client.force_login(learner)
    question = _current(session)
    response = client.post(_answer_url(session), _post(session, question, right=False))
    answer = Answer.objects.get()
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"{reverse('quizzes:practice-detail', args=[session.pk])}?answered={answer.pk}"
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Not quite" in page.content.decode() or "Partly right" in page.content.decode()
    assert question.explanation in page.content.decode()


def test_practice_wrong_shape_is_400_with_message(client, learner, session):
    client.force_login(learner)
    question = _current(session)
    response = client.post(_answer_url(session), {"question": question.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert response.context["error"] in {
        "Choose one of the options.",
        "Choose at least one option.",
        "Put every item in exactly one position.",
        "Match every item on the left.",
        "Write your answer before submitting.",
    }
    assert Answer.objects.count() == 0


@pytest.mark.parametrize("question_field", ["abc", "", "999999"])
def test_practice_tampered_question_id_is_400(client, learner, session, question_field):
    client.force_login(learner)
    response = client.post(_answer_url(session), {"question": question_field, "choice": "x"})
    assert response.status_code == 400
    assert Answer.objects.count() == 0


def test_practice_question_of_the_session_but_not_current_is_refused(client, learner, session):
    client.force_login(learner)
    later = Question.objects.get(pk=session.question_ids[3])
    response = client.post(_answer_url(session), _post(session, later))
    assert response.status_code == 409
    assert response.context["error"] == "That question was skipped; carry on with the current one."


def test_practice_double_submission_counts_once(client, learner, session):
    client.force_login(learner)
    question = _current(session)
    first = client.post(_answer_url(session), _post(session, question))
    second = client.post(_answer_url(session), _post(session, question))
    assert (first.status_code, second.status_code) == (302, 409)
    assert second.context["error"] == "You already answered this question."
    assert Answer.objects.count() == 1
    assert ReviewCard.objects.get().reps == 1


def test_practice_skip_moves_on_without_an_answer(client, learner, session):
    client.force_login(learner)
    question = _current(session)
    response = client.post(
        reverse("quizzes:practice-skip", args=[session.pk]), {"question": question.pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.context["question"].pk == session.question_ids[1]
    assert Answer.objects.count() == 0
    assert ReviewCard.objects.count() == 0


def test_practice_free_response_is_self_graded_once(client, learner, banks):
    client.force_login(learner)
    free = Question.objects.get(key="mid-038")
    session = PracticeSession.objects.create(
        user=learner, level="mid", question_ids=[free.pk], started_at=free.updated_at
    )
    response = client.post(_answer_url(session), _post(session, free), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert free.model_answer[:60] in body
    assert free.rubric[0] in body
    answer = Answer.objects.get()
    assert (answer.score, answer.is_correct) == (None, None)
    grade_url = reverse("quizzes:practice-grade", args=[session.pk, answer.pk])
    graded = client.post(grade_url, {"met": ["0", "1", "2"]}, HTTP_HX_REQUEST="true")
    assert graded.status_code == 200
    answer.refresh_from_db()
    assert (answer.score, answer.is_correct, answer.response["met"]) == (0.75, True, [0, 1, 2])
    again = client.post(grade_url, {"met": ["0"]}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409
    answer.refresh_from_db()
    assert answer.score == 0.75


def test_practice_summary_lists_weak_key_areas_with_links(client, learner, session):
    client.force_login(learner)
    for n in range(len(session.question_ids)):
        question = _current(session)
        client.post(
            _answer_url(session), _post(session, question, right=question.type == "free" or n % 2 == 0)
        )
    response = client.get(reverse("quizzes:practice-detail", args=[session.pk]))
    assert response.status_code == 302
    summary = client.get(response["Location"])
    tally = summary.context["tally"]
    assert tally.answered == 10
    body = summary.content.decode()
    for row in tally.weak_areas:
        assert row.area.section.get_absolute_url() in body
        assert row.ratio < 0.7
    assert "What to study next" in body


def test_practice_detail_query_count(client, learner, session, django_assert_num_queries):
    client.force_login(learner)
    for _ in range(3):
        question = _current(session)
        client.post(_answer_url(session), _post(session, question))
    # session, user, practice session, answers (+ key areas prefetch), question (+ key areas), nav due count
    with django_assert_num_queries(8):
        response = client.get(reverse("quizzes:practice-detail", args=[session.pk]))
    assert response.status_code == 200


def test_practice_summary_query_count(client, learner, session, django_assert_num_queries):
    client.force_login(learner)
    for _ in range(3):
        question = _current(session)
        client.post(_answer_url(session), _post(session, question))
    with django_assert_num_queries(6):
        response = client.get(reverse("quizzes:practice-summary", args=[session.pk]))
    assert response.context["tally"].answered == 3


def test_home_anonymous_sees_levels_and_a_login_link(client, banks):
    response = client.get(reverse("quizzes:home"))
    body = response.content.decode()
    assert response.status_code == 200
    assert [level["count"] for level in response.context["levels"]] == [45, 43, 44]
    assert "Log in to practise" in body
    assert 'name="csrfmiddlewaretoken"' not in body


def test_home_query_count(client, learner, banks, django_assert_num_queries):
    for _ in range(3):
        services.practice_start(user=learner, level="mid", key_areas=[], count=5)
    services.attempt_start(user=learner, level="staff")
    client.force_login(learner)
    # session, user, key areas (form + list), level counts, open attempt, recent sessions, nav due count
    with django_assert_num_queries(8):
        response = client.get(reverse("quizzes:home"))
    assert len(response.context["recent_sessions"]) == 3
    assert "You have a Staff+ mock interview in progress." in response.content.decode()
