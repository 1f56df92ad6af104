"""Demo data for `make run`: users `instructor` and `learner` (password "handshake") and a demo cohort of
30 learners with six weeks of plausible activity, so the dashboard, charts and at-risk list mean something
on first start. Deterministic (seeded), idempotent, bulk-created, refused under production settings."""

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from courses.models import Announcement, Cohort, CohortInvite, CohortMembership, Course, LessonProgress

DEMO_PASSWORD = "handshake"  # noqa: S105 (documented demo credentials, refused in production)
DEMO_COHORT = "Demo cohort: System design interviews"
COURSE_SLUG = "communication-protocols-in-system-design"
WEEKS = 6
NAMES = [
    ("learner", "Lee", "Learner"),
    ("amara.okafor", "Amara", "Okafor"),
    ("bruno.silva", "Bruno", "Silva"),
    ("chen.wei", "Chen", "Wei"),
    ("dana.kowalski", "Dana", "Kowalski"),
    ("elif.yilmaz", "Elif", "Yılmaz"),
    ("farid.haddad", "Farid", "Haddad"),
    ("grace.mensah", "Grace", "Mensah"),
    ("hiro.tanaka", "Hiro", "Tanaka"),
    ("ines.moreau", "Inès", "Moreau"),
    ("jonas.berg", "Jonas", "Berg"),
    ("kavya.iyer", "Kavya", "Iyer"),
    ("liam.obrien", "Liam", "O'Brien"),
    ("maya.cohen", "Maya", "Cohen"),
    ("nikolai.petrov", "Nikolai", "Petrov"),
    ("olivia.brown", "Olivia", "Brown"),
    ("pablo.garcia", "Pablo", "García"),
    ("quinn.taylor", "Quinn", "Taylor"),
    ("rania.aziz", "Rania", "Aziz"),
    ("sven.larsen", "Sven", "Larsen"),
    ("tomasz.nowak", "Tomasz", "Nowak"),
    ("uma.patel", "Uma", "Patel"),
    ("victor.dubois", "Victor", "Dubois"),
    ("wen.li", "Wen", "Li"),
    ("ximena.ruiz", "Ximena", "Ruiz"),
    ("yusuf.demir", "Yusuf", "Demir"),
    ("zoe.martin", "Zoë", "Martin"),
    ("aisha.bello", "Aisha", "Bello"),
    ("ben.fischer", "Ben", "Fischer"),
    ("carla.rossi", "Carla", "Rossi"),
]


class DemoRefused(Exception):
    pass


@dataclass
class Profile:
    ability: float  # 0..1
    start_day: int  # days after the cohort start
    quiet_days: int  # days without activity before now
    pace: float  # lessons per week
    diligence: float  # chance of studying on a given day


PROFILES = {
    "steady": lambda r: Profile(
        r.uniform(0.55, 0.75), r.randint(0, 3), r.randint(0, 2), r.uniform(2, 3), 0.55
    ),
    "strong": lambda r: Profile(r.uniform(0.78, 0.95), r.randint(0, 2), 0, r.uniform(2.2, 3), 0.7),
    "struggling": lambda r: Profile(
        r.uniform(0.2, 0.42), r.randint(0, 5), r.randint(1, 4), r.uniform(1, 2), 0.4
    ),
    "quiet": lambda r: Profile(
        r.uniform(0.4, 0.7), r.randint(0, 4), r.randint(9, 20), r.uniform(1.5, 2.5), 0.5
    ),
    "late": lambda r: Profile(r.uniform(0.5, 0.8), r.randint(21, 30), r.randint(0, 2), r.uniform(2, 3), 0.6),
}
MIX = ["steady"] * 11 + ["strong"] * 6 + ["struggling"] * 5 + ["quiet"] * 5 + ["late"] * 3


def demo_seed(*, now: datetime | None = None, learners: int = 30) -> str:
    """Create the demo data once. Returns a one-line summary for the command to print."""
    if not getattr(settings, "HANDSHAKE_DEMO_DATA_ALLOWED", False):
        raise DemoRefused("Demo data is refused under these settings (HANDSHAKE_DEMO_DATA_ALLOWED is off).")
    from accounts.models import User

    now = now or timezone.now()
    with transaction.atomic():
        password = make_password(DEMO_PASSWORD)
        instructor, _ = User.objects.get_or_create(
            username="instructor",
            defaults={
                "email": "instructor@example.com",
                "display_name": "Ines Instructor",
                "password": password,
            },
        )
        course = (
            Course.objects.filter(slug=COURSE_SLUG).first() or Course.objects.order_by("position").first()
        )
        if course is None:
            User.objects.get_or_create(
                username="learner", defaults={"email": "learner@example.com", "password": password}
            )
            return "Users instructor and learner ready; no course imported yet, so no demo cohort."
        existing = Cohort.objects.filter(name=DEMO_COHORT, memberships__user=instructor).first()
        if existing is not None:
            User.objects.get_or_create(
                username="learner", defaults={"email": "learner@example.com", "password": password}
            )
            return f"Demo cohort already present (id {existing.pk}); nothing changed."
        return _create(now=now, course=course, instructor=instructor, password=password, size=learners)


def _create(*, now: datetime, course: Course, instructor, password: str, size: int) -> str:
    from accounts.models import User
    from lessons.models import Lesson
    from quizzes.models import (
        CHOICE_TYPES,
        Answer,
        Attempt,
        AttemptQuestion,
        Question,
        QuestionType,
        ReviewCard,
    )

    rng = random.Random(20260316)  # noqa: S311 (deterministic demo data, not security)
    start = now - timedelta(weeks=WEEKS)
    cohort = Cohort.objects.create(
        name=DEMO_COHORT,
        course=course,
        starts_on=start.date(),
        ends_on=(now + timedelta(weeks=4)).date(),
        weekly_target_kind=Cohort.TargetKind.LESSONS,
        weekly_target=2,
        created_by=instructor,
    )
    cohort.created_at = start - timedelta(days=3)
    cohort.save(update_fields=["created_at"])
    CohortMembership.objects.create(
        cohort=cohort,
        user=instructor,
        role=CohortMembership.Role.INSTRUCTOR,
        joined_at=start - timedelta(days=3),
    )
    CohortInvite.objects.create(
        cohort=cohort, code="demo-join", created_by=instructor, expires_at=now + timedelta(days=30)
    )

    names = NAMES[:size]
    existing = {u.username: u for u in User.objects.filter(username__in=[n for n, _, _ in names])}
    User.objects.bulk_create(
        [
            User(username=u, first_name=first, last_name=last, email=f"{u}@example.com", password=password)
            for u, first, last in names
            if u not in existing
        ]
    )
    users = list(User.objects.filter(username__in=[n for n, _, _ in names]).order_by("pk"))
    by_name = {u.username: u for u in users}

    lessons = list(Lesson.objects.filter(course=course).order_by("topic__position", "position"))
    choice_types = {*CHOICE_TYPES, QuestionType.MULTIPLE}
    questions = [
        q
        for q in Question.objects.filter(is_active=True, type__in=choice_types).order_by(
            "level", "position", "key"
        )
        if isinstance(q.data.get("options"), dict) and q.answer is not None
    ]
    difficulty = {q.pk: rng.uniform(0.1, 0.85) for q in questions}
    flawed = {
        q.pk for q in questions[5:40:12]
    }  # a few items the strong learners misread: negative discrimination
    mids = [q for q in questions if q.level == "mid"] or questions
    seniors = [q for q in questions if q.level == "senior"]

    memberships, progress, answers, attempts, slots_for, cards = [], [], [], [], [], {}
    mix = MIX[:]
    rng.shuffle(mix)
    for index, (username, _, _) in enumerate(names):
        user = by_name[username]
        kind = "steady" if username == "learner" else mix[index % len(mix)]
        profile = PROFILES[kind](rng)
        joined = start + timedelta(days=max(0, profile.start_day - 1), hours=rng.randint(8, 20))
        memberships.append(
            CohortMembership(cohort=cohort, user=user, role=CohortMembership.Role.LEARNER, joined_at=joined)
        )
        last_day = WEEKS * 7 - profile.quiet_days
        next_lesson, credit = 0, 0.0
        for day in range(profile.start_day, last_day + 1):
            if rng.random() > profile.diligence and day != last_day:
                continue
            moment = start + timedelta(days=day, hours=rng.randint(7, 21), minutes=rng.randint(0, 59))
            if moment > now:
                moment = now - timedelta(minutes=rng.randint(5, 90))
            credit += profile.pace / 7 / profile.diligence
            while credit >= 1 and next_lesson < len(lessons):
                credit -= 1
                done = moment + timedelta(minutes=rng.randint(5, 30))
                done = min(done, now - timedelta(minutes=1))
                progress.append(
                    LessonProgress(
                        user=user,
                        lesson=lessons[next_lesson],
                        first_viewed_at=done - timedelta(minutes=lessons[next_lesson].reading_minutes + 3),
                        last_viewed_at=done,
                        completed_at=done,
                    )
                )
                next_lesson += 1
            if mids and rng.random() < 0.8:
                for question in rng.sample(mids, k=min(len(mids), rng.randint(2, 6))):
                    answers.append(
                        _answer(rng, user, question, moment, profile.ability, difficulty, flawed, "practice")
                    )
                    moment += timedelta(minutes=rng.randint(1, 3))
                    cards.setdefault((user.pk, question.pk), (question, moment))
            if day > 10 and rng.random() < 0.35:
                pool = [q for (uid, _), (q, _) in cards.items() if uid == user.pk]
                for question in rng.sample(pool, k=min(len(pool), rng.randint(2, 5))):
                    answers.append(
                        _answer(rng, user, question, moment, profile.ability, difficulty, flawed, "review")
                    )
                    moment += timedelta(minutes=1)
            if day > 7 and rng.random() < 0.12:
                level = "senior" if seniors and profile.ability > 0.7 and rng.random() < 0.5 else "mid"
                pool = seniors if level == "senior" else mids
                picked = rng.sample(pool, k=min(len(pool), 6))
                attempt = Attempt(
                    user=user,
                    level=level,
                    started_at=moment,
                    deadline=moment + timedelta(minutes=25),
                    submitted_at=moment + timedelta(minutes=rng.randint(12, 24)),
                )
                mock = [
                    _answer(
                        rng,
                        user,
                        q,
                        moment + timedelta(minutes=2 * i),
                        profile.ability - 0.05,
                        difficulty,
                        flawed,
                        "mock",
                    )
                    for i, q in enumerate(picked)
                ]
                attempt.score = sum(a.score for a in mock) / len(mock) if mock else 0.0
                attempts.append(attempt)
                slots_for.append((attempt, picked, mock))
        if user.username == "learner" and next_lesson == 0 and lessons:
            next_lesson = 1

    CohortMembership.objects.bulk_create(memberships)
    LessonProgress.objects.bulk_create(progress, ignore_conflicts=True)
    Attempt.objects.bulk_create(attempts)
    slots = []
    for attempt, picked, mock in slots_for:
        for position, (question, answer) in enumerate(zip(picked, mock, strict=True), start=1):
            slots.append(AttemptQuestion(attempt=attempt, question=question, position=position))
            answer.attempt = attempt
            answers.append(answer)
    AttemptQuestion.objects.bulk_create(slots)
    answers.sort(key=lambda a: a.answered_at)  # ids follow time: "first answer" is the lowest id
    Answer.objects.bulk_create(answers, batch_size=500)
    ReviewCard.objects.bulk_create(
        [
            ReviewCard(
                user_id=user_id,
                question=question,
                state=2,
                stability=rng.uniform(1, 20),
                difficulty=rng.uniform(3, 8),
                due=now + timedelta(hours=rng.randint(-96, 240)),
                last_review=moment,
                reps=rng.randint(1, 4),
            )
            for (user_id, _), (question, moment) in cards.items()
        ],
        ignore_conflicts=True,
    )
    Announcement.objects.bulk_create(
        [
            Announcement(
                cohort=cohort,
                author=instructor,
                title="Welcome to the cohort",
                body="Start with the Overview lesson, then aim for two lessons a week. Practice questions are on the Practice page.",
                created_at=start,
            ),
            Announcement(
                cohort=cohort,
                author=instructor,
                title="Mock interviews this week",
                body="Try one mid-level mock interview before Friday; we will go through the hardest questions together.",
                created_at=now - timedelta(days=2),
            ),
        ]
    )
    return (
        f"Demo cohort “{cohort.name}” (id {cohort.pk}): {len(memberships)} learners, {len(progress)} lessons "
        f"completed, {len(answers)} answers, {len(attempts)} mock interviews, {len(cards)} review cards. "
        f"Log in as instructor / {DEMO_PASSWORD}."
    )


def _answer(rng, user, question, moment, ability, difficulty, flawed, mode):
    from quizzes.models import Answer

    if question.pk in flawed:
        p = 0.85 - 0.6 * ability  # stronger learners overthink it
    else:
        p = 1 / (1 + math.exp(-6 * (ability - difficulty[question.pk])))
    correct = rng.random() < p
    options = list(question.data["options"])
    key = question.answer
    if isinstance(key, list):
        picks = (
            sorted(key)
            if correct
            else sorted(set(rng.sample(options, k=max(1, len(key) - 1))) | {rng.choice(options)})
        )
        response = {"choices": picks}
        correct = set(picks) == set(key)
    else:
        wrong = [o for o in options if o != key] or [key]
        response = {"choice": key if correct else rng.choice(wrong)}
    return Answer(
        user=user,
        question=question,
        mode=mode,
        response=response,
        is_correct=correct,
        score=1.0 if correct else 0.0,
        answered_at=moment,
    )
