"""Analytics figures against a hand-computed data set, and the at-risk rules over moving time."""

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from courses import analytics, selectors
from tests.courses.cohort_factories import (
    AnswerFactory,
    CohortFactory,
    KeyAreaFactory,
    LessonFactory,
    MembershipFactory,
    QuestionFactory,
    SectionFactory,
    TopicFactory,
    complete_lesson,
)
from tests.factories import UserFactory

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)

# Four learners' first answers to three questions (1 = correct):
#        q1 q2 q3   total
#   u1    1  1  0   2/3
#   u2    1  0  0   1/3
#   u3    0  1  1   2/3
#   u4    1  1  1   3/3
MATRIX = {"u1": (1, 1, 0), "u2": (1, 0, 0), "u3": (0, 1, 1), "u4": (1, 1, 1)}
CHOICES_Q1 = {"u1": "a", "u2": "a", "u3": "b", "u4": "a"}


def test_pearson_matches_hand_computation():
    # q1 against rest scores 0.5, 0, 1, 1: sxy = -0.375, sxx = 0.75, syy = 0.6875
    assert analytics.pearson([1, 1, 0, 1], [0.5, 0, 1, 1]) == pytest.approx(-0.375 / math.sqrt(0.75 * 0.6875))
    assert analytics.pearson([0, 0, 1, 1], [1, 0.5, 0.5, 1]) == pytest.approx(0.0)
    assert analytics.pearson([1, 1, 1], [0.1, 0.5, 0.9]) is None  # no spread
    assert analytics.pearson([1, 0], [1, 0]) is None  # too few pairs


def test_rest_score_excludes_the_item():
    assert analytics.rest_score(total=2, count=3, score=1) == 0.5
    assert analytics.rest_score(total=1, count=1, score=1) is None


def test_item_accumulator_facility_and_discrimination():
    item = analytics.ItemAccumulator()
    for score, rest, chosen in [(1, 0.5, ["a"]), (1, 0.0, ["a"]), (0, 1.0, ["b"]), (1, 1.0, ["a"])]:
        item.add(score=score, rest=rest, chosen=chosen)
    assert item.n == 4
    assert item.facility == 0.75
    assert item.discrimination == pytest.approx(-0.5222329678670935)
    assert item.options == Counter({"a": 3, "b": 1})


@pytest.mark.parametrize(
    ("n", "facility", "discrimination", "flags"),
    [
        (4, 1.0, -0.5, []),  # too few answers to judge
        (5, 0.9, 0.3, ["too easy"]),
        (5, 0.89, 0.3, []),
        (5, 0.3, 0.3, ["too hard"]),
        (5, 0.31, None, []),
        (6, 0.5, -0.05, []),  # noise around zero is not flagged
        (6, 0.5, -0.06, ["negative discrimination"]),
        (6, 0.2, -0.4, ["too hard", "negative discrimination"]),
    ],
)
def test_item_flags(n, facility, discrimination, flags):
    assert analytics.item_flags(n=n, facility=facility, discrimination=discrimination) == flags


@pytest.mark.parametrize(
    ("response", "chosen"),
    [
        ({"choice": "b"}, ["b"]),
        ({"choices": ["a", "c", 3]}, ["a", "c"]),
        ({"order": ["a"]}, []),
        ("a", []),
        (None, []),
    ],
)
def test_chosen_options(response, chosen):
    assert analytics.chosen_options(response) == chosen


def test_option_distribution_keeps_option_order_and_marks_the_key():
    rows = analytics.option_distribution(
        options={"a": "Alpha", "b": "Beta", "c": "Gamma"}, counts=Counter({"a": 3, "b": 1}), correct="a"
    )
    assert [(r["key"], r["count"], r["share"], r["correct"]) for r in rows] == [
        ("a", 3, 0.75, True),
        ("b", 1, 0.25, False),
        ("c", 0, 0.0, False),
    ]


@pytest.mark.django_db
def test_question_stats_over_the_cohort(instructor):
    topic = TopicFactory()
    section = SectionFactory(lesson=LessonFactory(topic=topic))
    cohort = CohortFactory(course=topic.course)
    questions = [QuestionFactory(section=section) for _ in range(3)]
    users = {}
    for name, scores in MATRIX.items():
        users[name] = UserFactory(username=name)
        MembershipFactory(cohort=cohort, user=users[name])
        for question, score in zip(questions, scores, strict=True):
            choice = CHOICES_Q1[name] if question == questions[0] else ("a" if score else "c")
            AnswerFactory(
                user=users[name], question=question, score=float(score), response={"choice": choice}
            )
    # Ignored: a later repeat, an ungraded answer, a non-member, a removed learner.
    AnswerFactory(user=users["u3"], question=questions[0], score=1.0, response={"choice": "a"})
    AnswerFactory(user=users["u1"], question=QuestionFactory(section=section, type="free"), score=None)
    AnswerFactory(user=UserFactory(), question=questions[0], score=0.0, response={"choice": "c"})
    gone = UserFactory()
    MembershipFactory(cohort=cohort, user=gone, removed_at=NOW, removal="left")
    AnswerFactory(user=gone, question=questions[0], score=0.0, response={"choice": "c"})

    stats = {s.question_id: s for s in selectors.question_stats(cohort=cohort)}
    assert set(stats) == {q.pk for q in questions}
    q1, q2, q3 = (stats[q.pk] for q in questions)
    assert (q1.n, q1.facility) == (4, 0.75)
    assert q1.discrimination == pytest.approx(-0.375 / math.sqrt(0.75 * 0.6875))
    assert [(o["key"], o["count"]) for o in q1.options] == [("a", 3), ("b", 1), ("c", 0)]
    # q2: x = 1,0,1,1 against rest (u1 .5, u2 .5, u3 .5, u4 1)
    assert q2.facility == 0.75
    assert q2.discrimination == pytest.approx(analytics.pearson([1, 0, 1, 1], [0.5, 0.5, 0.5, 1.0]))
    assert (q3.facility, q3.discrimination) == (0.5, pytest.approx(0.0))
    assert q1.flags == q2.flags == q3.flags == []


# --- At risk -------------------------------------------------------------------------------------


def reasons(**overrides):
    base = {
        "now": NOW,
        "joined_at": NOW - timedelta(days=30),
        "last_active": NOW - timedelta(days=1),
        "week_progress": 3,
        "weekly_target": 3,
        "target_unit": "lessons",
        "target_applies": True,
        "mastery": [("TCP vs UDP", 0.8, 5)],
    }
    return analytics.at_risk_reasons(**(base | overrides))


def test_on_track_learner_has_no_reasons():
    assert reasons() == []


def test_inactive_seven_days_is_at_risk_six_days_is_not():
    assert reasons(last_active=NOW - timedelta(days=6, hours=23)) == []
    assert reasons(last_active=NOW - timedelta(days=7)) == ["No activity for 7 days"]


def test_never_active_counts_from_joining():
    assert reasons(last_active=None, joined_at=NOW - timedelta(days=2)) == []
    assert reasons(last_active=None, joined_at=NOW - timedelta(days=9)) == [
        "No activity since joining 9 days ago"
    ]


def test_behind_weekly_target_only_when_the_target_applies():
    assert reasons(week_progress=2) == ["Behind weekly target: 2 of 3 lessons in the last 7 days"]
    assert reasons(week_progress=2, target_applies=False) == []
    assert reasons(week_progress=0, weekly_target=0) == []
    assert reasons(week_progress=0, course_finished=True) == []


def test_low_mastery_needs_enough_answers():
    assert reasons(mastery=[("TCP vs UDP", 0.2, 2)]) == []
    assert reasons(mastery=[("TCP vs UDP", 0.45, 3), ("REST", None, 0)]) == [
        "Mastery below 50%: TCP vs UDP 45%"
    ]
    assert reasons(mastery=[("TCP vs UDP", 0.45, 3), ("REST", 0.2, 4), ("gRPC", 0.9, 9)]) == [
        "Mastery below 50%: REST 20%, TCP vs UDP 45%"
    ]
    assert reasons(mastery=[("TCP vs UDP", 0.5, 3)]) == []


@pytest.mark.django_db
def test_at_risk_rows_move_with_time(instructor):
    topic = TopicFactory()
    lessons = [LessonFactory(topic=topic) for _ in range(3)]
    area = KeyAreaFactory(section__lesson=lessons[0], name="Real-time")
    cohort = CohortFactory(course=topic.course, weekly_target=1, starts_on=(NOW - timedelta(days=60)).date())
    learner = UserFactory()
    MembershipFactory(cohort=cohort, user=learner, joined_at=NOW - timedelta(days=30))
    complete_lesson(learner, lessons[0], at=NOW)
    question = QuestionFactory(section=area.section)
    question.key_areas.add(area)
    for _ in range(2):
        AnswerFactory(user=learner, question=question, score=0.0, answered_at=NOW - timedelta(minutes=5))

    def row_at(moment):
        with time_machine.travel(moment, tick=False):
            ctx = selectors.cohort_context(cohort=cohort)
            return selectors.learner_row(ctx=ctx, user_id=learner.pk).at_risk

    assert row_at(NOW) == []
    assert row_at(NOW + timedelta(days=6, hours=23)) == []
    assert row_at(NOW + timedelta(days=7, minutes=1)) == [
        "No activity for 7 days",
        "Behind weekly target: 0 of 1 lessons in the last 7 days",
    ]
    AnswerFactory(user=learner, question=question, score=0.0, answered_at=NOW)
    assert row_at(NOW + timedelta(hours=1)) == ["Mastery below 50%: Real-time 0%"]
    # The cohort ended: the weekly target no longer applies.
    cohort.ends_on = (NOW - timedelta(days=1)).date()
    cohort.save()
    assert row_at(NOW + timedelta(days=8)) == ["No activity for 8 days", "Mastery below 50%: Real-time 0%"]


@pytest.mark.django_db
def test_weekly_lessons_chart_counts_today_in_the_last_week():
    topic = TopicFactory()
    lessons = [LessonFactory(topic=topic) for _ in range(3)]
    cohort = CohortFactory(course=topic.course)
    learner = UserFactory()
    MembershipFactory(cohort=cohort, user=learner, joined_at=NOW - timedelta(days=90))
    complete_lesson(learner, lessons[0], at=NOW - timedelta(minutes=5))  # today
    complete_lesson(learner, lessons[1], at=NOW - timedelta(days=6))  # the same seven days
    complete_lesson(learner, lessons[2], at=NOW - timedelta(days=7))  # the week before
    with time_machine.travel(NOW, tick=False):
        chart = selectors.weekly_lessons_chart(cohort=cohort, now=NOW)
    assert len(chart) == 8
    assert chart[-1] == (NOW.date() - timedelta(days=6), 2)
    assert chart[-2] == (NOW.date() - timedelta(days=13), 1)
