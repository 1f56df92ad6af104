"""Spaced review with FSRS: scheduling, the due queue, answering reschedules, the nav count."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from fsrs import State

from quizzes import grading, selectors, services
from quizzes.models import Answer, Question, ReviewCard
from tests.factories import UserFactory
from tests.quizzes.helpers import post_for

NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def activity(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "publish_learner_activity", lambda **kw: calls.append(kw))
    return calls


def _single(key="mid-001"):
    return Question.objects.get(key=key)


def test_right_answer_graduates_for_days_wrong_one_returns_in_ten_minutes(learner, banks):
    right, wrong = _single("mid-001"), _single("mid-002")
    good = services.review_card_schedule(user_id=learner.pk, question=right, score=1.0, now=NOON)
    again = services.review_card_schedule(user_id=learner.pk, question=wrong, score=0.0, now=NOON)
    assert (good.state, good.step, good.reps) == (State.Review, None, 1)
    assert good.due - NOON >= timedelta(days=2)
    assert (again.state, again.step) == (State.Learning, 0)
    assert again.due == NOON + timedelta(minutes=10)


def test_partly_right_comes_back_between_wrong_and_right(learner, banks):
    card = services.review_card_schedule(user_id=learner.pk, question=_single(), score=0.75, now=NOON)
    assert card.due == NOON + timedelta(minutes=15)  # Hard on the single 10-minute learning step


def test_forgetting_a_graduated_card_is_a_lapse(learner, banks):
    question = _single()
    card = services.review_card_schedule(user_id=learner.pk, question=question, score=1.0, now=NOON)
    later = card.due + timedelta(hours=1)
    card = services.review_card_schedule(user_id=learner.pk, question=question, score=0.0, now=later)
    assert (card.state, card.lapses, card.reps) == (State.Relearning, 1, 2)
    assert card.due == later + timedelta(minutes=10)


def test_practice_answers_schedule_review_cards(client, learner, banks):
    session = services.practice_start(user=learner, level="mid", key_areas=[], count=5, seed=1)
    client.force_login(learner)
    with time_machine.travel(NOON, tick=False):
        for n in range(2):
            session.refresh_from_db()
            question = Question.objects.get(pk=session.question_ids[session.position])
            if question.type == "free":
                client.post(reverse("quizzes:practice-skip", args=[session.pk]), {"question": question.pk})
                continue
            post = post_for(question, grading.seed_practice(session.pk, question.pk), right=n == 0)
            client.post(reverse("quizzes:practice-answer", args=[session.pk]), post)
    cards = {c.question_id: c for c in ReviewCard.objects.all()}
    answers = {a.question_id: a for a in Answer.objects.all()}
    assert set(cards) == set(answers)
    for question_id, card in cards.items():
        if answers[question_id].is_correct:
            assert card.due > NOON + timedelta(days=1)
        else:
            assert card.due == NOON + timedelta(minutes=10)


def _due_card(user, key="mid-001", due=NOON):
    return ReviewCard.objects.create(user=user, question=_single(key), due=due)


def test_review_page_lists_due_today_and_answering_reschedules(client, learner, banks, activity):
    card = _due_card(learner)
    _due_card(learner, "mid-002", due=NOON + timedelta(hours=6))  # later today: due today too
    _due_card(learner, "mid-003", due=NOON + timedelta(days=2))
    client.force_login(learner)
    with time_machine.travel(NOON, tick=False):
        page = client.get(reverse("quizzes:review"))
        assert page.context["due"] == 2
        assert page.context["card"].pk == card.pk
        post = {**post_for(card.question, grading.seed_review(card.pk, card.reps), right=True), "reps": "0"}
        response = client.post(reverse("quizzes:review-answer"), post, HTTP_HX_REQUEST="true")
        replay = client.post(reverse("quizzes:review-answer"), post, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert escape_in(card.question.explanation, response.content.decode())
    assert replay.status_code == 409  # the same form again (a second tab) is not counted twice
    card.refresh_from_db()
    assert card.reps == 1
    assert card.due > NOON + timedelta(days=1)
    assert Answer.objects.get().mode == "review"
    assert [c["kind"] for c in activity] == ["question_answered", "review_done"]


def escape_in(text: str, body: str) -> bool:
    from django.utils.html import escape

    return escape(text) in body


def test_review_answer_not_due_or_not_mine_is_refused(client, learner, banks):
    mine = _due_card(learner, due=NOON + timedelta(days=3))
    theirs = _due_card(UserFactory(), "mid-002")
    client.force_login(learner)
    with time_machine.travel(NOON, tick=False):
        early = client.post(
            reverse("quizzes:review-answer"), post_for(mine.question, grading.seed_review(mine.pk, 0))
        )
        other = client.post(
            reverse("quizzes:review-answer"), post_for(theirs.question, grading.seed_review(theirs.pk, 0))
        )
        junk = client.post(reverse("quizzes:review-answer"), {"question": "x"})
    assert (early.status_code, other.status_code, junk.status_code) == (409, 400, 400)
    assert other.context["error"] == "That question is not in your review queue."
    assert Answer.objects.count() == 0


def test_review_free_response_waits_for_self_grade(client, learner, banks, activity):
    card = _due_card(learner, "mid-038")
    client.force_login(learner)
    with time_machine.travel(NOON, tick=False):
        client.post(
            reverse("quizzes:review-answer"),
            {"question": card.question.pk, "text": "REST for public APIs.", "reps": "0"},
        )
        answer = Answer.objects.get()
        card.refresh_from_db()
        assert card.due > selectors.review_due_until(now=NOON)  # out of today's queue until graded
        response = client.post(reverse("quizzes:review-grade", args=[answer.pk]), {"met": ["0", "1"]})
    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.reps, card.state) == (1, State.Learning)  # 2 of 4 points: Again
    assert card.due == NOON + timedelta(minutes=10)
    assert [c["kind"] for c in activity] == ["question_answered", "review_done"]


def test_review_grade_of_another_learner_is_404(client, learner, other_learner, banks):
    answer = Answer.objects.create(
        user=other_learner,
        question=_single("mid-038"),
        mode="review",
        response={"text": "x"},
        answered_at=NOON,
    )
    client.force_login(learner)
    assert client.post(reverse("quizzes:review-grade", args=[answer.pk]), {"met": ["0"]}).status_code == 404


def test_review_empty_state_shows_the_week_ahead(client, learner, banks):
    _due_card(learner, due=NOON + timedelta(days=2))
    client.force_login(learner)
    with time_machine.travel(NOON, tick=False):
        response = client.get(reverse("quizzes:review"))
    body = response.content.decode()
    assert "You're all caught up." in body
    assert [row["count"] for row in response.context["upcoming"]] == [0, 1, 0, 0, 0, 0, 0]


def test_nav_badge_counts_due_cards_once_per_request(learner, banks, django_assert_num_queries):
    for key in ("mid-001", "mid-002", "mid-003"):
        _due_card(learner, key, due=NOON - timedelta(hours=1))
    request = RequestFactory().get("/")
    request.user = learner
    template = Template("{% load quizzes_tags %}{% review_due_badge %}|{% review_due_badge %}")
    with time_machine.travel(NOON, tick=False), django_assert_num_queries(1):
        html = template.render(Context({"request": request}))
    first, second = html.split("|")
    assert (
        first
        == second
        == '<span class="nav-badge" data-review-due="3">3<span class="visually-hidden"> due</span></span>'
    )


def test_nav_badge_hidden_when_nothing_due_or_anonymous(rf, learner, db):
    from django.contrib.auth.models import AnonymousUser

    template = Template("{% load quizzes_tags %}{% review_due_badge %}")
    for user in (learner, AnonymousUser()):
        request = rf.get("/")
        request.user = user
        assert template.render(Context({"request": request})) == ""


def test_review_page_query_count(client, learner, banks, django_assert_num_queries):
    for key in ("mid-001", "mid-002", "mid-003"):
        _due_card(learner, key, due=NOON - timedelta(hours=1))
    client.force_login(learner)
    with time_machine.travel(NOON, tick=False), django_assert_num_queries(5):
        response = client.get(reverse("quizzes:review"))
    assert response.context["due"] == 3


def test_deactivated_questions_leave_the_queue(learner, banks):
    card = _due_card(learner)
    Question.objects.filter(pk=card.question_id).update(is_active=False)
    assert selectors.review_due_count(user=learner, now=NOON) == 0


def test_review_wrong_answer_from_two_tabs_counts_once(client, learner, banks):
    """A wrong answer keeps the card due today, so only the card's review count tells the tabs apart."""
    card = _due_card(learner)
    client.force_login(learner)
    post = {**post_for(card.question, grading.seed_review(card.pk, 0), right=False), "reps": "0"}
    with time_machine.travel(NOON, tick=False):
        first = client.post(reverse("quizzes:review-answer"), post)
        second = client.post(reverse("quizzes:review-answer"), post, HTTP_HX_REQUEST="true")
    assert (first.status_code, second.status_code) == (302, 409)
    assert (
        second.context["error"]
        == "You already answered this question (in another tab?); here is the next one."
    )
    card.refresh_from_db()
    assert (card.reps, Answer.objects.count()) == (1, 1)
    assert card.due == NOON + timedelta(minutes=10)
