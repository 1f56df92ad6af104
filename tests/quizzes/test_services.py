"""Service rules not covered through the pages: events, drawing, rescoring."""

import random

import pytest

from quizzes import grading, services
from quizzes.models import Answer, Question
from tests.factories import UserFactory
from tests.quizzes.helpers import post_for


@pytest.fixture
def activity(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "publish_learner_activity", lambda **kw: calls.append(kw))
    return calls


@pytest.mark.parametrize("seed", range(8))
def test_attempt_draw_spreads_across_every_key_area(banks, seed):
    for level in ("mid", "senior", "staff"):
        picked = services.attempt_draw(level=level, count=10, rng=random.Random(seed))
        assert len({q.pk for q in picked}) == 10
        areas = {a.slug for q in picked for a in q.key_areas.all()}
        assert len(areas) == 5, (level, seed)


def test_practice_answer_publishes_question_answered_once(learner, banks, activity):
    session = services.practice_start(user=learner, level="senior", key_areas=[], count=3, seed=2)
    question = Question.objects.get(pk=session.question_ids[0])
    post = post_for(question, grading.seed_practice(session.pk, question.pk))
    services.practice_answer(session=session, question_id=question.pk, post=post)
    with pytest.raises(services.AlreadyDone):
        services.practice_answer(session=session, question_id=question.pk, post=post)
    assert activity == [{"user_id": learner.pk, "kind": "question_answered"}]


def test_changing_a_mock_answer_updates_it_without_a_second_event(learner, banks, activity):
    attempt, _ = services.attempt_start(user=learner, level="mid", seed=5)
    question = next(
        s.question for s in attempt.slots.select_related("question") if s.question.type == "single"
    )
    seed = grading.seed_mock(attempt.pk, question.pk)
    services.attempt_answer(
        attempt=attempt, question_id=question.pk, post=post_for(question, seed, right=False)
    )
    services.attempt_answer(
        attempt=attempt, question_id=question.pk, post=post_for(question, seed, right=True)
    )
    answer = Answer.objects.get()
    assert (answer.score, answer.is_correct) == (1.0, True)
    assert activity == [{"user_id": learner.pk, "kind": "question_answered"}]


def test_attempt_start_with_an_empty_bank_is_refused(db):
    with pytest.raises(services.QuizError, match=r"There are no questions for this level yet\."):
        services.attempt_start(user=UserFactory(), level="staff")


def test_practice_start_with_no_matching_questions_is_refused(content, learner):
    with pytest.raises(services.QuizError, match=r"There are no questions for that choice yet\."):
        services.practice_start(user=learner, level="mid", key_areas=[], count=5)
