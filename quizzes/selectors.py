"""Reads for quiz pages: each returns plain data or a queryset with its relations loaded."""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from lessons.models import KeyArea
from quizzes import grading
from quizzes.models import Answer, Attempt, AttemptQuestion, Level, PracticeSession, Question, ReviewCard

WEAK_BELOW = 0.7  # a key area with less than 70 % is listed as one to study


def key_area_list() -> QuerySet[KeyArea]:
    """Key areas that have active questions, with the section each one links to."""
    return (
        KeyArea.objects.filter(questions__is_active=True)
        .distinct()
        .select_related("section__lesson__course")
        .order_by("topic__position", "position")
    )


def level_question_counts() -> dict[str, int]:
    rows = Question.objects.active().values("level").annotate(n=Count("pk")).order_by()
    counts = {row["level"]: row["n"] for row in rows}
    return {level: counts.get(level, 0) for level in Level.values}


def question_for_display() -> QuerySet[Question]:
    return Question.objects.select_related("section__lesson__course").prefetch_related("key_areas")


# --- practice ------------------------------------------------------------------------------


def practice_session_list_for_user(*, user) -> QuerySet[PracticeSession]:
    return PracticeSession.objects.filter(user=user)


@dataclass
class AreaScore:
    area: KeyArea
    answered: int = 0
    points: float = 0.0

    @property
    def ratio(self) -> float:
        return self.points / self.answered if self.answered else 0.0

    @property
    def percent(self) -> int:
        return round(self.ratio * 100)

    @property
    def is_weak(self) -> bool:
        return self.answered > 0 and self.ratio < WEAK_BELOW


@dataclass
class Tally:
    answered: int = 0
    graded: int = 0
    correct: int = 0
    points: float = 0.0
    pending: int = 0
    areas: "OrderedDict[int, AreaScore]" = field(default_factory=OrderedDict)

    @property
    def percent(self) -> int:
        return round(self.points / self.graded * 100) if self.graded else 0

    @property
    def weak_areas(self) -> list[AreaScore]:
        return [a for a in self.areas.values() if a.is_weak]


def tally(answers: list[Answer]) -> Tally:
    """Scores overall and per key area; ungraded free responses are counted as pending."""
    result = Tally()
    for answer in answers:
        result.answered += 1
        if answer.score is None:
            result.pending += 1
            continue
        result.graded += 1
        result.points += answer.score
        result.correct += 1 if answer.is_correct else 0
        for area in answer.question.key_areas.all():
            row = result.areas.setdefault(area.pk, AreaScore(area=area))
            row.answered += 1
            row.points += answer.score
    result.areas = OrderedDict(sorted(result.areas.items(), key=lambda kv: kv[1].area.position))
    return result


def practice_answers(*, session: PracticeSession) -> list[Answer]:
    return list(
        Answer.objects.filter(practice_session=session)
        .select_related("question")
        .prefetch_related(
            Prefetch(
                "question__key_areas", queryset=KeyArea.objects.select_related("section__lesson__course")
            )
        )
    )


def practice_current_question(*, session: PracticeSession) -> Question | None:
    if session.is_finished:
        return None
    return question_for_display().get(pk=session.question_ids[session.position])


# --- mock interviews -----------------------------------------------------------------------


def attempt_list_for_user(*, user) -> QuerySet[Attempt]:
    return Attempt.objects.filter(user=user)


@dataclass
class Slot:
    position: int
    question: Question
    answer: Answer | None


def attempt_slots(*, attempt: Attempt) -> list[Slot]:
    slots = list(
        AttemptQuestion.objects.filter(attempt=attempt)
        .select_related("question__section__lesson__course")
        .prefetch_related(
            Prefetch(
                "question__key_areas", queryset=KeyArea.objects.select_related("section__lesson__course")
            )
        )
    )
    answers = {a.question_id: a for a in Answer.objects.filter(attempt=attempt)}
    for answer in answers.values():
        answer.question = next(s.question for s in slots if s.question_id == answer.question_id)
    return [Slot(position=s.position, question=s.question, answer=answers.get(s.question_id)) for s in slots]


def attempt_history(*, user, level: str) -> list[Attempt]:
    return list(
        Attempt.objects.filter(user=user, level=level, submitted_at__isnull=False)
        .annotate(n_questions=Count("slots"))
        .order_by("started_at")
    )


@dataclass
class ChartPoint:
    x: float
    y: float
    attempt: Attempt


def history_chart(attempts: list[Attempt], *, width: int = 640, height: int = 240) -> dict[str, Any]:
    """Coordinates for a server-drawn SVG line chart of scores (0-100 %) over attempts."""
    left, right, top, bottom = 52, width - 24, 24, height - 36
    inner_w, inner_h = right - left, bottom - top
    n = len(attempts)
    points = []
    for i, attempt in enumerate(attempts):
        x = left + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        y = top + inner_h * (1 - (attempt.score or 0))
        points.append(ChartPoint(x=round(x, 1), y=round(y, 1), attempt=attempt))
    grid = [{"y": round(top + inner_h * (1 - p / 100), 1), "label": p} for p in (0, 25, 50, 75, 100)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "label_x": left - 8,
        "right": right,
        "bottom": bottom,
        "points": points,
        "polyline": " ".join(f"{p.x},{p.y}" for p in points),
        "grid": grid,
        "first": attempts[0].started_at if attempts else None,
        "last": attempts[-1].started_at if attempts else None,
    }


# --- spaced review -------------------------------------------------------------------------


def review_due_until(*, now: datetime | None = None) -> datetime:
    """The end of the learner's 'today' (server time zone): cards due before it are due today."""
    now = timezone.localtime(now or timezone.now())
    return timezone.make_aware(datetime.combine(now.date() + timedelta(days=1), time.min)) - timedelta(
        microseconds=1
    )


def review_due(*, user, now: datetime | None = None) -> QuerySet[ReviewCard]:
    return ReviewCard.objects.filter(user=user, question__is_active=True, due__lte=review_due_until(now=now))


def review_due_count(*, user, now: datetime | None = None) -> int:
    return review_due(user=user, now=now).count()


def review_queue(*, user, now: datetime | None = None) -> list[ReviewCard]:
    return list(
        review_due(user=user, now=now)
        .select_related("question__section__lesson__course")
        .prefetch_related("question__key_areas")
        .order_by("due", "pk")
    )


def review_upcoming(*, user, now: datetime | None = None, days: int = 7) -> list[dict[str, Any]]:
    """How many cards fall due on each of the next days (for a small forecast table)."""
    start = review_due_until(now=now)
    rows = []
    for offset in range(days):
        day_end = start + timedelta(days=offset + 1)
        rows.append({"date": timezone.localtime(day_end).date(), "start": start + timedelta(days=offset)})
    dues = list(
        ReviewCard.objects.filter(
            user=user, question__is_active=True, due__gt=start, due__lte=start + timedelta(days=days)
        ).values_list("due", flat=True)
    )
    for row in rows:
        row["count"] = sum(1 for d in dues if row["start"] < d <= row["start"] + timedelta(days=1))
    return rows


def answer_feedback(*, answer: Answer) -> dict[str, Any]:
    """What the learner sees after answering: their answer, the key, the explanation and the link."""
    question = answer.question
    return {
        "answer": answer,
        "question": question,
        "yours": grading.describe_response(type_=question.type, data=question.data, response=answer.response),
        "key": grading.describe_key(type_=question.type, data=question.data, answer=question.answer),
        "met": set(answer.response.get("met", [])),
    }
