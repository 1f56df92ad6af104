"""Writes: bank import, practice, mock interviews, self-grading and FSRS scheduling.

Every function that records learner activity publishes it through courses.events (after commit).
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from fsrs import Card, Rating, Scheduler, State

from courses.events import publish_learner_activity
from lessons.models import KeyArea, Section, Topic
from quizzes import conf, grading
from quizzes.models import (
    Answer,
    Attempt,
    AttemptQuestion,
    PracticeSession,
    Question,
    QuestionType,
    ReviewCard,
)
from quizzes.validation import Bank, BankError, load_bank

# Wrong answers come back after 10 minutes; right ones graduate to a days-long interval at once.
# No fuzzing: the same answers give the same schedule (tests and learners can predict it).
SCHEDULER = Scheduler(learning_steps=(timedelta(minutes=10),), enable_fuzzing=False)


class QuizError(ValidationError):
    """A refused request; `status` is the HTTP status a view should answer with."""

    status = 400


class NotInSet(QuizError):
    status = 400


class AlreadyDone(QuizError):
    status = 409


class TimeUp(QuizError):
    status = 409


# --- bank import -----------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.deleted)} deleted, {len(self.deactivated)} deactivated"
        )


def bank_paths_default() -> list[Path]:
    return sorted(conf.BANKS_DIR.glob("*.json"))


QUESTION_FIELDS = (
    "level",
    "type",
    "prompt",
    "context",
    "data",
    "answer",
    "explanation",
    "model_answer",
    "rubric",
)


@transaction.atomic
def question_import(*, paths: Sequence[Path]) -> ImportResult:
    """Load bank files: all or nothing, by stable id; re-importing the same files changes nothing."""
    if not paths:
        raise BankError("no bank files given")
    banks: list[Bank] = []
    errors: list[str] = []
    for path in paths:
        try:
            banks.append(load_bank(Path(path)))
        except BankError as exc:
            errors.extend(exc.errors)
    seen: dict[str, str] = {}
    for bank in banks:
        for q in bank.questions:
            if q.key in seen:
                errors.append(f"{q.file}: {q.key}: id already used in {seen[q.key]}")
            seen[q.key] = q.file
    if errors:
        raise BankError(errors)

    topics = {b.topic for b in banks}
    known_topics = set(Topic.objects.filter(key__in=topics).values_list("key", flat=True))
    sections = {
        (s.topic.key, s.lesson.slug, s.anchor): s
        for s in Section.objects.filter(topic__key__in=topics).select_related("topic", "lesson")
    }
    key_areas = {
        (k.topic.key, k.slug): k
        for k in KeyArea.objects.filter(topic__key__in=topics).select_related("topic")
    }
    for bank in banks:
        if bank.topic not in known_topics:
            errors.append(f"{bank.file}: topic {bank.topic!r} is not imported (run import_material first)")
            continue
        for q in bank.questions:
            if (bank.topic, q.lesson_slug, q.anchor) not in sections:
                errors.append(f"{q.file}: {q.key}: source {q.source!r} is not a lesson section")
            for slug in q.key_areas:
                if (bank.topic, slug) not in key_areas:
                    errors.append(f"{q.file}: {q.key}: unknown key area {slug!r}")
    if errors:
        raise BankError(errors)

    result = ImportResult()
    existing = {q.key: q for q in Question.objects.filter(key__in=seen).prefetch_related("key_areas")}
    new_questions: list[tuple[Question, set[int]]] = []
    for bank in banks:
        for bq in bank.questions:
            values = {
                "level": bq.level,
                "type": bq.type,
                "prompt": bq.prompt,
                "context": bq.context,
                "data": bq.data,
                "answer": bq.answer,
                "explanation": bq.explanation,
                "model_answer": bq.model_answer,
                "rubric": list(bq.rubric),
                "source": bq.source,
                "section": sections[(bank.topic, bq.lesson_slug, bq.anchor)],
                "position": bq.position,
                "is_active": True,
                "origin": Question.Origin.BANK,
            }
            areas = {key_areas[(bank.topic, slug)].pk for slug in bq.key_areas}
            question = existing.get(bq.key)
            if question is None:  # already validated by parse_bank and the lookups above
                new_questions.append((Question(key=bq.key, **values), areas))
                result.created.append(bq.key)
                continue
            changed = [name for name, value in values.items() if getattr(question, name) != value]
            if changed:
                for name in changed:
                    setattr(question, name, values[name])
                question.full_clean()
                question.save()
            if {k.pk for k in question.key_areas.all()} != areas:
                question.key_areas.set(areas)
                changed.append("key_areas")
            (result.updated if changed else result.unchanged).append(bq.key)
    if new_questions:
        created = Question.objects.bulk_create([q for q, _ in new_questions])
        through = Question.key_areas.through
        through.objects.bulk_create(
            through(question_id=question.pk, keyarea_id=area_id)
            for question, (_, areas) in zip(created, new_questions, strict=True)
            for area_id in sorted(areas)
        )

    levels = {b.level for b in banks}
    stale = Question.objects.filter(origin=Question.Origin.BANK, level__in=levels).exclude(key__in=seen)
    for question in stale.order_by("key"):
        used = (
            Answer.objects.filter(question=question).exists()
            or AttemptQuestion.objects.filter(question=question).exists()
        )
        if used:
            if question.is_active:
                question.is_active = False
                question.save(update_fields=["is_active", "updated_at"])
                result.deactivated.append(question.key)
        else:
            question.delete()
            result.deleted.append(question.key)
    return result


# --- FSRS ----------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def review_card_ensure(*, user_id: int, question: Question, now: datetime) -> ReviewCard:
    """A card for an answer still waiting for self-grading: due tomorrow, unless graded (and rescheduled) first."""
    from quizzes.selectors import review_due_until

    due = review_due_until(now=now) + timedelta(microseconds=1)
    card, _ = ReviewCard.objects.get_or_create(user_id=user_id, question=question, defaults={"due": due})
    return card


@transaction.atomic
def review_card_schedule(*, user_id: int, question: Question, score: float, now: datetime) -> ReviewCard:
    """Rate one answer with FSRS and store the card's next due date."""
    card = ReviewCard.objects.select_for_update().filter(user_id=user_id, question=question).first()
    if card is None:
        card = ReviewCard(user_id=user_id, question=question, due=now)
    rating = grading.rating_for(score)
    fsrs_card = Card(
        card_id=card.pk or 1,
        state=State(card.state),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=_utc(card.due),
        last_review=_utc(card.last_review) if card.last_review else None,
    )
    was_reviewing = fsrs_card.state == State.Review
    fsrs_card, _log = SCHEDULER.review_card(fsrs_card, rating, review_datetime=_utc(now))
    card.state = int(fsrs_card.state)
    card.step = fsrs_card.step
    card.stability = fsrs_card.stability
    card.difficulty = fsrs_card.difficulty
    card.due = fsrs_card.due
    card.last_review = fsrs_card.last_review
    card.reps += 1
    if rating == Rating.Again and was_reviewing:
        card.lapses += 1
    card.save()
    return card


# --- answers -------------------------------------------------------------------------------


def _parse(question: Question, post: Any, *, seed: str) -> dict:
    try:
        return grading.parse_response(type_=question.type, data=question.data, post=post, seed=seed)
    except grading.ResponseError as exc:
        raise QuizError(str(exc)) from exc


@transaction.atomic
def answer_record(
    *,
    user_id: int,
    question: Question,
    response: dict,
    mode: str,
    now: datetime,
    attempt: Attempt | None = None,
    practice_session: PracticeSession | None = None,
    schedule: bool = True,
) -> Answer:
    """Store one answer (scored unless self-graded), schedule its review card, publish the activity."""
    score, is_correct = grading.score_response(type_=question.type, answer=question.answer, response=response)
    answer = Answer(
        user_id=user_id,
        question=question,
        attempt=attempt,
        practice_session=practice_session,
        mode=mode,
        response=response,
        score=score,
        is_correct=is_correct,
        answered_at=now,
        graded_at=now if score is not None else None,
    )
    answer.full_clean(validate_constraints=False)
    answer.save()
    if schedule:
        if score is None:
            review_card_ensure(user_id=user_id, question=question, now=now)
        else:
            review_card_schedule(user_id=user_id, question=question, score=score, now=now)
    publish_learner_activity(user_id=user_id, kind="question_answered")
    return answer


@transaction.atomic
def answer_self_grade(*, answer: Answer, post: Any, now: datetime | None = None) -> Answer:
    """A learner grades their own free response against the rubric, once."""
    now = now or timezone.now()
    question = answer.question
    if question.type != QuestionType.FREE:
        raise QuizError("Only free responses are self-graded.")
    if (
        answer.attempt_id
        and not Attempt.objects.filter(pk=answer.attempt_id, submitted_at__isnull=False).exists()
    ):
        raise QuizError("Submit the mock interview before grading it.")
    try:
        met = grading.parse_rubric_marks(rubric=question.rubric, post=post)
    except grading.ResponseError as exc:
        raise QuizError(str(exc)) from exc
    score, is_correct = grading.self_grade_score(rubric=question.rubric, met=met)
    updated = Answer.objects.filter(pk=answer.pk, graded_at__isnull=True).update(
        score=score, is_correct=is_correct, graded_at=now, response={**answer.response, "met": met}
    )
    if not updated:
        raise AlreadyDone("You already graded this answer.")
    answer.refresh_from_db()
    review_card_schedule(user_id=answer.user_id, question=question, score=score, now=now)
    if answer.attempt_id:
        _attempt_rescore(attempt_id=answer.attempt_id)
    if answer.mode == Answer.Mode.REVIEW:
        publish_learner_activity(user_id=answer.user_id, kind="review_done")
    return answer


# --- practice ------------------------------------------------------------------------------


@transaction.atomic
def practice_start(
    *, user, level: str, key_areas: Sequence[KeyArea], count: int, seed: int | None = None
) -> PracticeSession:
    questions = Question.objects.active().for_level(level)
    if key_areas:
        questions = questions.filter(key_areas__in=key_areas)
    ids = sorted(set(questions.values_list("pk", flat=True)))
    if not ids:
        raise QuizError("There are no questions for that choice yet.")
    random.Random(seed).shuffle(ids)  # noqa: S311 - question order, not security
    session = PracticeSession.objects.create(
        user=user, level=level, question_ids=ids[:count], started_at=timezone.now()
    )
    session.key_areas.set(key_areas)
    return session


def _locked_session(session: PracticeSession) -> PracticeSession:
    return PracticeSession.objects.select_for_update().get(pk=session.pk)


@transaction.atomic
def practice_answer(*, session: PracticeSession, question_id: int, post: Any) -> Answer:
    session = _locked_session(session)
    if question_id not in session.question_ids:
        raise NotInSet("That question is not part of this practice session.")
    existing = Answer.objects.filter(practice_session=session, question_id=question_id).first()
    if existing:
        raise AlreadyDone("You already answered this question.")
    if session.is_finished or session.question_ids[session.position] != question_id:
        raise AlreadyDone("That question was skipped; carry on with the current one.")
    question = Question.objects.get(pk=question_id)
    response = _parse(question, post, seed=grading.seed_practice(session.pk, question_id))
    answer = answer_record(
        user_id=session.user_id,
        question=question,
        response=response,
        mode=Answer.Mode.PRACTICE,
        now=timezone.now(),
        practice_session=session,
    )
    PracticeSession.objects.filter(pk=session.pk).update(position=F("position") + 1)
    return answer


@transaction.atomic
def practice_skip(*, session: PracticeSession, question_id: int) -> None:
    session = _locked_session(session)
    if question_id not in session.question_ids:
        raise NotInSet("That question is not part of this practice session.")
    if session.is_finished or session.question_ids[session.position] != question_id:
        raise AlreadyDone("That question is no longer the current one.")
    PracticeSession.objects.filter(pk=session.pk).update(position=F("position") + 1)


@transaction.atomic
def practice_finish(*, session: PracticeSession) -> PracticeSession:
    PracticeSession.objects.filter(pk=session.pk, finished_at__isnull=True).update(finished_at=timezone.now())
    session.refresh_from_db()
    return session


# --- mock interviews -----------------------------------------------------------------------


def attempt_draw(*, level: str, count: int, rng: random.Random) -> list[Question]:
    """Random questions, taken round-robin across key areas so every area is asked about."""
    questions = list(Question.objects.active().for_level(level).prefetch_related("key_areas"))
    by_area: dict[str, list[Question]] = {}
    for question in questions:
        for area in question.key_areas.all():
            by_area.setdefault(area.slug, []).append(question)
    pools = [by_area[slug] for slug in sorted(by_area)]
    for pool in pools:
        rng.shuffle(pool)
    rng.shuffle(pools)
    picked: list[Question] = []
    chosen: set[int] = set()
    while len(picked) < count and any(pools):
        for pool in pools:
            while pool and pool[-1].pk in chosen:
                pool.pop()
            if pool and len(picked) < count:
                question = pool.pop()
                picked.append(question)
                chosen.add(question.pk)
    rng.shuffle(picked)
    return picked


def attempt_open_for(*, user) -> Attempt | None:
    return Attempt.objects.filter(user=user, submitted_at__isnull=True).first()


def attempt_expire_if_due(*, attempt: Attempt, now: datetime | None = None) -> bool:
    """Submit an attempt whose time (plus grace) has run out; True if this call submitted it."""
    now = now or timezone.now()
    if attempt.submitted_at is None and now > attempt.deadline + conf.grace():
        return attempt_submit(attempt=attempt, now=now, auto=True)
    return False


def attempt_start(*, user, level: str, seed: int | None = None) -> tuple[Attempt, bool]:
    """The learner's open attempt (a second tab continues it), or a new one; (attempt, created)."""
    now = timezone.now()
    open_attempt = attempt_open_for(user=user)
    if open_attempt is not None and not attempt_expire_if_due(attempt=open_attempt, now=now):
        return open_attempt, False
    questions = attempt_draw(level=level, count=conf.mock_question_count(level), rng=random.Random(seed))  # noqa: S311
    if not questions:
        raise QuizError("There are no questions for this level yet.")
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                user=user,
                level=level,
                started_at=now,
                deadline=now + timedelta(minutes=conf.mock_minutes(level)),
            )
            AttemptQuestion.objects.bulk_create(
                AttemptQuestion(attempt=attempt, question=q, position=i) for i, q in enumerate(questions, 1)
            )
    except IntegrityError:  # another tab started one at the same moment: continue that one
        return Attempt.objects.get(user=user, submitted_at__isnull=True), False
    return attempt, True


def attempt_answer(*, attempt: Attempt, question_id: int, post: Any, now: datetime | None = None) -> Answer:
    """Save (or change) an answer during a mock interview; refused once the clock has run out."""
    now = now or timezone.now()
    if attempt.submitted_at is None and now > attempt.deadline + conf.grace():
        attempt_submit(
            attempt=attempt, now=now, auto=True
        )  # its own transaction: it must outlive the refusal
        raise TimeUp(
            f"Time is up: the interview ended at {attempt.deadline:%H:%M:%S} UTC, so this answer was not "
            "recorded. Your earlier answers were submitted."
        )
    return _attempt_answer_locked(attempt=attempt, question_id=question_id, post=post, now=now)


@transaction.atomic
def _attempt_answer_locked(*, attempt: Attempt, question_id: int, post: Any, now: datetime) -> Answer:
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.submitted_at is not None:
        raise AlreadyDone("This mock interview has already been submitted; answers can no longer change.")
    if now > attempt.deadline + conf.grace():
        raise TimeUp(
            f"Time is up: the interview ended at {attempt.deadline:%H:%M:%S} UTC; this answer was not recorded."
        )
    slot = (
        AttemptQuestion.objects.filter(attempt=attempt, question_id=question_id)
        .select_related("question")
        .first()
    )
    if slot is None:
        raise NotInSet("That question is not part of this mock interview.")
    question = slot.question
    response = _parse(question, post, seed=grading.seed_mock(attempt.pk, question.pk))
    existing = Answer.objects.filter(attempt=attempt, question=question).first()
    if existing is None:
        return answer_record(
            user_id=attempt.user_id,
            question=question,
            response=response,
            mode=Answer.Mode.MOCK,
            now=now,
            attempt=attempt,
            schedule=False,  # scheduled once, at submission: answers may still change until then
        )
    score, is_correct = grading.score_response(type_=question.type, answer=question.answer, response=response)
    existing.response, existing.score, existing.is_correct = response, score, is_correct
    existing.answered_at, existing.graded_at = now, (now if score is not None else None)
    existing.save(update_fields=["response", "score", "is_correct", "answered_at", "graded_at"])
    return existing


def _attempt_rescore(*, attempt_id: int) -> float:
    total = AttemptQuestion.objects.filter(attempt_id=attempt_id).count()
    scores = Answer.objects.filter(attempt_id=attempt_id).values_list("score", flat=True)
    score = round(sum(s or 0 for s in scores) / total, 4) if total else 0.0
    Attempt.objects.filter(pk=attempt_id).update(score=score)
    return score


@transaction.atomic
def attempt_submit(*, attempt: Attempt, now: datetime | None = None, auto: bool = False) -> bool:
    """Close an attempt exactly once (two tabs submitting together count once); True if this call did."""
    now = now or timezone.now()
    submitted_at = min(now, attempt.deadline + conf.grace())
    won = Attempt.objects.filter(pk=attempt.pk, submitted_at__isnull=True).update(
        submitted_at=submitted_at, auto_submitted=auto
    )
    if not won:
        attempt.refresh_from_db()
        return False
    attempt.score = _attempt_rescore(attempt_id=attempt.pk)
    attempt.submitted_at, attempt.auto_submitted = submitted_at, auto
    for answer in Answer.objects.filter(attempt=attempt).select_related("question"):
        if answer.score is None:
            review_card_ensure(user_id=attempt.user_id, question=answer.question, now=now)
        else:
            review_card_schedule(
                user_id=attempt.user_id, question=answer.question, score=answer.score, now=now
            )
    publish_learner_activity(user_id=attempt.user_id, kind="attempt_submitted")
    return True


# --- spaced review -------------------------------------------------------------------------


@transaction.atomic
def review_answer(*, user, question_id: int, post: Any, now: datetime | None = None) -> Answer:
    """Answer a due review card: records the answer and reschedules the card."""
    from quizzes.selectors import review_due_until

    now = now or timezone.now()
    card = (
        ReviewCard.objects.select_for_update()
        .filter(user=user, question_id=question_id, question__is_active=True)
        .select_related("question")
        .first()
    )
    if card is None:
        raise NotInSet("That question is not in your review queue.")
    if card.due > review_due_until(now=now):
        raise AlreadyDone("That question is not due yet; it was already reviewed.")
    if str(post.get("reps", "")) != str(card.reps):  # a second tab showing the same card, or a replayed form
        raise AlreadyDone("You already answered this question (in another tab?); here is the next one.")
    question = card.question
    response = _parse(question, post, seed=grading.seed_review(card.pk, card.reps))
    answer = answer_record(
        user_id=user.pk, question=question, response=response, mode=Answer.Mode.REVIEW, now=now
    )
    if answer.score is None:
        # self-graded: push the card out of today's queue until the learner grades it
        ReviewCard.objects.filter(pk=card.pk).update(due=review_due_until(now=now) + timedelta(seconds=1))
    else:
        publish_learner_activity(user_id=user.pk, kind="review_done")
    return answer
