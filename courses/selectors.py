"""Cohort reads: permission-scoped lookups for views and consumers."""

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.apps import apps
from django.core.cache import cache
from django.db.models import (
    Avg,
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.utils import timezone
from django.utils.text import Truncator

from courses import analytics, cohort_services
from courses.models import (
    Announcement,
    Cohort,
    CohortInvite,
    CohortMembership,
    Course,
    LearnerConnection,
    LessonProgress,
)
from lessons.models import KeyArea

Role = CohortMembership.Role


def cohort_ids_for_learner(*, user_id: int) -> list[int]:
    """Cohorts whose dashboards show this learner (active learner memberships only)."""
    return list(
        CohortMembership.objects.filter(
            user_id=user_id, role=Role.LEARNER, removed_at__isnull=True
        ).values_list("cohort_id", flat=True)
    )


def cohort_for_instructor(*, cohort_id: int, user) -> Cohort | None:
    """The cohort when `user` is one of its active instructors, else None (the views answer 404)."""
    if not user.is_authenticated:
        return None
    # At most one row (one membership per cohort and user): no ORDER BY, which .first() would add. This runs
    # before every dashboard read, cached or not (BENCHMARKS.md, dashboard_500_ratio).
    cohorts = Cohort.objects.taught_by(user).select_related("course").filter(pk=cohort_id).order_by()[:1]
    return next(iter(cohorts), None)


def cohort_visible_to(*, cohort_id: int, user) -> bool:
    return cohort_for_instructor(cohort_id=cohort_id, user=user) is not None


def membership_for_learner(*, cohort_id: int, user) -> CohortMembership | None:
    if not user.is_authenticated:
        return None
    return (
        CohortMembership.objects.select_related("cohort", "cohort__course")
        .filter(cohort_id=cohort_id, user=user, role=Role.LEARNER, removed_at__isnull=True)
        .first()
    )


def _unseen_since():
    """When the membership last looked at its announcements (joining counts as having looked)."""
    return Greatest(Coalesce("announcements_seen_at", "joined_at"), "joined_at")


def membership_list_for_user(*, user) -> QuerySet[CohortMembership]:
    """The user's active memberships with the cohort, learner count and unread announcement count."""
    unread = (
        Announcement.objects.filter(cohort_id=OuterRef("cohort_id"), created_at__gt=OuterRef("seen_since"))
        .filter(Q(to_everyone=True) | Q(recipients=user))
        .order_by()
        .values("cohort_id")
        .annotate(n=Count("pk", distinct=True))
        .values("n")
    )
    learners = (
        CohortMembership.objects.filter(
            cohort_id=OuterRef("cohort_id"), role=Role.LEARNER, removed_at__isnull=True
        )
        .order_by()
        .values("cohort_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        CohortMembership.objects.filter(user=user, removed_at__isnull=True)
        .select_related("cohort", "cohort__course")
        .annotate(
            seen_since=_unseen_since(),
            learner_count=Coalesce(Subquery(learners), 0),
            unread_count=Coalesce(Subquery(unread), 0),
        )
        .order_by("-cohort__created_at", "cohort_id")
    )


def announcement_list_for_learner(*, cohort_id: int, user) -> QuerySet[Announcement]:
    return (
        Announcement.objects.filter(cohort_id=cohort_id)
        .filter(Q(to_everyone=True) | Q(recipients=user))
        .select_related("author")
        .distinct()
    )


def announcement_list_for_cohort(*, cohort: Cohort, limit: int = 10) -> list[Announcement]:
    return list(
        cohort.announcements.select_related("author").annotate(recipient_count=Count("recipients"))[:limit]
    )


def unread_announcement_count(*, user) -> int:
    """Announcements addressed to the user in their active learner cohorts, newer than their last look."""
    if not user.is_authenticated:
        return 0
    return sum(m.unread_count for m in membership_list_for_user(user=user) if m.role == Role.LEARNER)


def invite_list_for_cohort(*, cohort: Cohort) -> QuerySet[CohortInvite]:
    return cohort.invites.annotate(use_count=Count("memberships")).select_related("created_by")


def invite_get(*, code: str) -> CohortInvite | None:
    return CohortInvite.objects.select_related("cohort", "cohort__course").filter(code=code).first()


# --- Dashboard reads ---------------------------------------------------------------------------
# Every figure of a learner row is a correlated subquery of ONE query over the cohort's learners, so the
# dashboard, the per-learner page and the CSV export run a constant number of queries whatever the cohort
# size, and the export can stream that one query with .iterator() in constant memory.

LEVELS = ("mid", "senior", "staff")


@dataclass
class KeyAreaColumn:
    index: int
    slug: str
    name: str
    question_ids: tuple[int, ...] = ()


@dataclass
class LearnerRow:
    user_id: int
    username: str
    name: str
    email: str
    joined_at: datetime
    lessons_completed: int
    lessons_total: int
    lessons_week: int
    last_active: datetime | None
    mock_best: dict[str, float | None]
    mock_count: int
    review_due: int
    review_done_week: int
    experiments_run: int
    online: bool
    mastery: list[tuple[KeyAreaColumn, float | None, int]]
    at_risk: list[str]

    @property
    def progress_percent(self) -> int:
        return round(100 * self.lessons_completed / self.lessons_total) if self.lessons_total else 0

    @property
    def mock_mid(self) -> float | None:
        return self.mock_best["mid"]

    @property
    def mock_senior(self) -> float | None:
        return self.mock_best["senior"]

    @property
    def mock_staff(self) -> float | None:
        return self.mock_best["staff"]


def _count(qs: QuerySet) -> Coalesce:
    return Coalesce(Subquery(qs.order_by().values("user").annotate(n=Count("pk")).values("n")), 0)


def _aggregate(qs: QuerySet, agg) -> Subquery:
    return Subquery(qs.order_by().values("user").annotate(v=agg).values("v"))


def experiments_run_subquery(*, since: datetime | None = None):
    """Playground experiments run per learner. The playground's run model lands later (issue 6): until
    `playground.ExperimentRun` (user FK, `created_at`) exists, the column is 0."""
    try:
        model = apps.get_model("playground", "ExperimentRun")
    except LookupError:
        return Value(0, output_field=IntegerField())
    qs = model.objects.filter(user=OuterRef("pk"))
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return _count(qs)


def key_area_columns(*, course: Course) -> list[KeyAreaColumn]:
    """The course's key areas with the ids of the questions tagged with each (two queries). Mastery
    subqueries then filter answers by question id: no join per learner and key area."""
    from quizzes.models import Question

    rows = KeyArea.objects.filter(topic__course=course).order_by("topic__position", "position", "pk")
    tagged: dict[int, list[int]] = defaultdict(list)
    for key_area_id, question_id in Question.key_areas.through.objects.filter(
        keyarea__topic__course=course
    ).values_list("keyarea_id", "question_id"):
        tagged[key_area_id].append(question_id)
    return [
        KeyAreaColumn(index=i, slug=ka.slug, name=ka.name, question_ids=tuple(sorted(tagged[ka.pk])))
        for i, ka in enumerate(rows)
    ]


def _learner_queryset(*, cohort: Cohort, now: datetime, key_areas: list[KeyAreaColumn]) -> QuerySet:
    from accounts.models import User
    from quizzes.models import Answer, Attempt, ReviewCard

    week_ago = now - timedelta(days=7)
    member = CohortMembership.objects.filter(
        cohort=cohort, role=Role.LEARNER, removed_at__isnull=True, user=OuterRef("pk")
    )
    progress = LessonProgress.objects.filter(user=OuterRef("pk"), lesson__course_id=cohort.course_id)
    completed = progress.filter(completed_at__isnull=False)
    answers = Answer.objects.filter(user=OuterRef("pk"))
    graded = answers.filter(score__isnull=False)
    attempts = Attempt.objects.filter(user=OuterRef("pk"), submitted_at__isnull=False)
    annotations = {
        "joined_at": Subquery(member.values("joined_at")[:1]),
        "lessons_completed": _count(completed),
        "lessons_week": _count(completed.filter(completed_at__gte=week_ago)),
        "last_lesson": _aggregate(progress, Max("last_viewed_at")),
        "last_answer": _aggregate(answers, Max("answered_at")),
        "last_attempt": _aggregate(Attempt.objects.filter(user=OuterRef("pk")), Max("started_at")),
        "mock_count": _count(attempts),
        "review_due": _count(ReviewCard.objects.filter(user=OuterRef("pk"), due__lte=now)),
        "review_done_week": _count(answers.filter(mode=Answer.Mode.REVIEW, answered_at__gte=week_ago)),
        "experiments_run": experiments_run_subquery(),
        "online": Exists(
            LearnerConnection.objects.filter(
                user=OuterRef("pk"), last_seen_at__gte=now - cohort_services.PRESENCE_TIMEOUT
            )
        ),
    }
    for level in LEVELS:
        annotations[f"mock_{level}"] = _aggregate(attempts.filter(level=level), Max("score"))
    for column in key_areas:
        in_area = graded.filter(
            question_id__in=column.question_ids, answered_at__gte=now - analytics.MASTERY_WINDOW
        )
        annotations[f"mastery_{column.index}"] = _aggregate(in_area, Avg("score"))
        annotations[f"mastery_n_{column.index}"] = _count(in_area)
    return (
        User.objects.filter(Exists(member))
        .annotate(**annotations)
        .only("pk", "username", "email", "display_name", "first_name", "last_name")
    )


@dataclass
class CohortContext:
    """What every learner row needs besides its own query row: computed once per request."""

    cohort: Cohort
    now: datetime
    key_areas: list[KeyAreaColumn]
    lessons_total: int

    @property
    def target_unit(self) -> str:
        return "lessons" if self.cohort.weekly_target_kind == Cohort.TargetKind.LESSONS else "review minutes"

    @property
    def target_applies(self) -> bool:
        today = self.now.date()
        cohort = self.cohort
        started = cohort.starts_on is None or cohort.starts_on <= today - timedelta(days=7)
        ended = cohort.ends_on is not None and cohort.ends_on < today
        return started and not ended


def cohort_context(*, cohort: Cohort, now: datetime | None = None) -> CohortContext:
    """Two queries: the course's key areas and its lesson count."""
    from lessons.models import Lesson

    return CohortContext(
        cohort=cohort,
        now=now or timezone.now(),
        key_areas=key_area_columns(course=cohort.course),
        lessons_total=Lesson.objects.filter(course_id=cohort.course_id).count(),
    )


def _row(ctx: CohortContext, user) -> LearnerRow:
    mastery = [
        (column, getattr(user, f"mastery_{column.index}"), getattr(user, f"mastery_n_{column.index}"))
        for column in ctx.key_areas
    ]
    last_active = analytics.latest(user.last_lesson, user.last_answer, user.last_attempt)
    if ctx.cohort.weekly_target_kind == Cohort.TargetKind.LESSONS:
        week_progress: float = user.lessons_week
    else:
        week_progress = user.review_done_week * analytics.REVIEW_MINUTES_PER_ANSWER
    reasons = analytics.at_risk_reasons(
        now=ctx.now,
        joined_at=user.joined_at,
        last_active=last_active,
        week_progress=week_progress,
        weekly_target=ctx.cohort.weekly_target,
        target_unit=ctx.target_unit,
        target_applies=ctx.target_applies and ctx.now - user.joined_at >= timedelta(days=7),
        mastery=[(column.name, score, count) for column, score, count in mastery],
        course_finished=(
            ctx.cohort.weekly_target_kind == Cohort.TargetKind.LESSONS
            and ctx.lessons_total > 0
            and user.lessons_completed >= ctx.lessons_total
        ),
    )
    return LearnerRow(
        user_id=user.pk,
        username=user.username,
        name=user.name,
        email=user.email,
        joined_at=user.joined_at,
        lessons_completed=user.lessons_completed,
        lessons_total=ctx.lessons_total,
        lessons_week=user.lessons_week,
        last_active=last_active,
        mock_best={level: getattr(user, f"mock_{level}") for level in LEVELS},
        mock_count=user.mock_count,
        review_due=user.review_due,
        review_done_week=user.review_done_week,
        experiments_run=user.experiments_run,
        online=user.online,
        mastery=mastery,
        at_risk=reasons,
    )


def learner_rows(
    *, ctx: CohortContext, user_ids: Iterable[int] | None = None, search: str = ""
) -> Iterator[LearnerRow]:
    """One query, streamed: rows in name order."""
    qs = _learner_queryset(cohort=ctx.cohort, now=ctx.now, key_areas=ctx.key_areas)
    if user_ids is not None:
        qs = qs.filter(pk__in=list(user_ids))
    if search:
        qs = qs.filter(
            Q(username__icontains=search)
            | Q(display_name__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    for user in qs.order_by("username").iterator(chunk_size=500):
        yield _row(ctx, user)


def learner_row(*, ctx: CohortContext, user_id: int) -> LearnerRow | None:
    return next(learner_rows(ctx=ctx, user_ids=[user_id]), None)


SORTS: dict[str, tuple[str, Callable[[LearnerRow], object]]] = {
    "name": ("Learner", lambda r: r.name.lower()),
    "lessons": ("Lessons", lambda r: r.lessons_completed),
    "last_active": ("Last active", lambda r: r.last_active.timestamp() if r.last_active else 0),
    "mock_mid": ("Mock mid", lambda r: -1 if r.mock_mid is None else r.mock_mid),
    "mock_senior": ("Mock senior", lambda r: -1 if r.mock_senior is None else r.mock_senior),
    "mock_staff": ("Mock staff", lambda r: -1 if r.mock_staff is None else r.mock_staff),
    "review_due": ("Review due", lambda r: r.review_due),
    "review_done": ("Reviewed (7 days)", lambda r: r.review_done_week),
    "experiments": ("Experiments", lambda r: r.experiments_run),
    "risk": ("At risk", lambda r: len(r.at_risk)),
}
FILTERS = {
    "all": ("Everyone", lambda r: True),
    "at_risk": ("At risk", lambda r: bool(r.at_risk)),
    "online": ("Online now", lambda r: r.online),
    "inactive": ("Inactive 7+ days", lambda r: any(x.startswith("No activity") for x in r.at_risk)),
}


def sort_and_filter(
    rows: list[LearnerRow], *, sort: str = "name", desc: bool = False, show: str = "all", search: str = ""
) -> list[LearnerRow]:
    keep = FILTERS.get(show, FILTERS["all"])[1]
    key = SORTS.get(sort, SORTS["name"])[1]
    needle = search.strip().lower()
    result = [
        row
        for row in rows
        if keep(row) and (not needle or needle in row.name.lower() or needle in row.username.lower())
    ]
    result.sort(key=lambda r: (key(r), r.name.lower()), reverse=desc)
    return result


def learner_table(*, ctx: CohortContext, **params) -> list[LearnerRow]:
    return sort_and_filter(list(learner_rows(ctx=ctx)), **params)


#: Computed rows are cached per cohort "version" (bumped by courses/events.py when learner activity,
#: presence or membership of the cohort commits), so they are exact for everything that publishes an
#: event. Figures that move with the clock alone (inactivity days, cards falling due, a socket timing
#: out) are at most this old: rows are computed in full at least this often.
ROWS_TTL = 60
#: Each bump records what changed (the learner and the kind of event) for this long, so that the rows of
#: the previous version are brought up to date by recomputing only those learners. More changes than
#: CHANGES_MAX between two versions, or a record gone, and the rows are computed in full.
CHANGE_TTL = 2 * ROWS_TTL
CHANGES_MAX = 200
#: Changes that cannot move the weekly lessons chart (lesson views can: un-completing a lesson publishes one).
WEEKLY_UNCHANGED_BY = frozenset(
    {"presence", "announcement", "question_answered", "review_done", "attempt_submitted", "experiment_run"}
)


def cohort_version_key(cohort_id: int) -> str:
    return f"courses:cohort:{cohort_id}:version"


def cohort_change_key(cohort_id: int, version: int) -> str:
    return f"courses:cohort:{cohort_id}:change:{version}"


def cohort_changes(*, cohort_id: int, since: int, until: int) -> list[tuple[int | None, str]] | None:
    """(learner id or None, kind) for each bump after version ``since`` up to ``until``; None when that
    cannot be told (a record expired or was evicted, the version series restarted, too many changes)."""
    if not 0 <= until - since <= CHANGES_MAX:
        return None
    keys = [cohort_change_key(cohort_id, version) for version in range(since + 1, until + 1)]
    found = cache.get_many(keys)
    if len(found) != len(keys):
        return None
    return [tuple(found[key]) for key in keys]


def cohort_version(*, cohort_id: int) -> int:
    key = cohort_version_key(cohort_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), None)
        version = cache.get(key)
    return version


def cohort_cache_key(*, ctx: CohortContext) -> str:
    """Names the cohort's current figures: its version plus everything else the rows are computed from."""
    cohort = ctx.cohort
    shape = (
        cohort.weekly_target,
        cohort.weekly_target_kind,
        cohort.starts_on,
        cohort.ends_on,
        ctx.now.date(),
        ctx.lessons_total,
        tuple((c.index, c.slug, c.name, c.question_ids) for c in ctx.key_areas),
    )
    digest = hashlib.md5(repr(shape).encode(), usedforsecurity=False).hexdigest()
    return f"{cohort.pk}:{cohort_version(cohort_id=cohort.pk)}:{digest}"


def dashboard_page_key(*, cohort: Cohort, user_id: int, view: tuple) -> str:
    """Names one instructor's rendered dashboard page for the cohort as it is now.

    Without building the cohort context: the cohort's version (learner activity, presence, roster and
    announcements bump it), the cohort's own fields, the material version (key areas and lessons come
    from the import), today's date, the viewer (the navigation is theirs) and the view (sort, filter,
    search, pages). Figures that move with the clock alone are at most ROWS_TTL old, as for the rows.
    """
    from lessons.selectors import material_version_recent

    shape = (
        tuple(getattr(cohort, field.attname) for field in cohort._meta.concrete_fields),
        material_version_recent(),
        timezone.now().date(),
        user_id,
        view,
    )
    digest = hashlib.md5(repr(shape).encode(), usedforsecurity=False).hexdigest()
    return f"courses:cohort:page:{cohort.pk}:{cohort_version(cohort_id=cohort.pk)}:{digest}"


def cohort_rows(*, ctx: CohortContext, key: str | None = None) -> list[LearnerRow]:
    """Every learner's row in name order, from the cache when nothing changed.

    Otherwise the rows of the cohort's latest computed version are brought up to date by recomputing the
    learners the bumps since then name (one query for those learners; presence changes and activity are
    frequent in a busy cohort, and all 500 rows take ~0.5 s), or computed in full (one query) when a
    learner joined, the changes are not all known, or the latest full computation is ROWS_TTL old.
    """
    key = key or cohort_cache_key(ctx=ctx)
    rows = cache.get(f"courses:cohort:rows:{key}")
    if rows is None:
        rows = _rows_up_to_date(ctx=ctx, key=key)
        cache.set(f"courses:cohort:rows:{key}", rows, ROWS_TTL)
    return rows


def _latest(kind: str, key: str) -> tuple[str, int, str]:
    """The cache key of the latest computed ``kind`` for the cohort's shape, this version, the cohort's pk."""
    pk, version, digest = key.split(":")  # cohort_cache_key()
    return f"courses:cohort:{kind}-latest:{pk}:{digest}", int(version), pk


def _changes_since(
    latest: tuple | None, *, cohort_id: str, version: int
) -> list[tuple[int | None, str]] | None:
    if latest is None or time.time() - latest[1] >= ROWS_TTL:
        return None
    return cohort_changes(cohort_id=int(cohort_id), since=latest[0], until=version)


def _rows_up_to_date(*, ctx: CohortContext, key: str) -> list[LearnerRow]:
    latest_key, version, pk = _latest("rows", key)
    latest = cache.get(latest_key)  # (version, when computed in full, rows)
    changes = _changes_since(latest, cohort_id=pk, version=version)
    rows = None
    if changes is not None:
        rows, computed_at = latest[2], latest[1]
        changed = {user_id for user_id, _ in changes if user_id is not None}
        if changed:
            fresh = {row.user_id: row for row in learner_rows(ctx=ctx, user_ids=changed)}
            if fresh.keys() <= {row.user_id for row in rows}:  # nobody new: replace in place, drop leavers
                rows = [
                    fresh.get(row.user_id, row)
                    for row in rows
                    if row.user_id in fresh or row.user_id not in changed
                ]
            else:  # a new learner: in full, for the name order
                rows = None
    if rows is None:
        rows, computed_at = list(learner_rows(ctx=ctx)), time.time()
    cache.set(latest_key, (version, computed_at, rows), ROWS_TTL)
    return rows


def cohort_weekly_chart(*, ctx: CohortContext, key: str | None = None) -> list[tuple[date, int]]:
    """weekly_lessons_chart() cached like cohort_rows(): reused while only changes that cannot move it
    (WEEKLY_UNCHANGED_BY) came in, computed again after any other."""
    key = key or cohort_cache_key(ctx=ctx)
    buckets = cache.get(f"courses:cohort:weekly:{key}")
    if buckets is None:
        latest_key, version, pk = _latest("weekly", key)
        latest = cache.get(latest_key)  # (version, when computed, buckets)
        changes = _changes_since(latest, cohort_id=pk, version=version)
        if changes is not None and all(kind in WEEKLY_UNCHANGED_BY for _, kind in changes):
            buckets, computed_at = latest[2], latest[1]
        else:
            buckets, computed_at = weekly_lessons_chart(cohort=ctx.cohort, now=ctx.now), time.time()
        cache.set(latest_key, (version, computed_at, buckets), ROWS_TTL)
        cache.set(f"courses:cohort:weekly:{key}", buckets, ROWS_TTL)
    return buckets


@dataclass
class CohortSummary:
    """The dashboard's whole-cohort figures, cached with the rows (no need to unpickle 500 rows)."""

    count: int
    at_risk_ids: list[int]
    at_risk_top: list[LearnerRow]
    averages: list[tuple[KeyAreaColumn, float | None, int]]


def cohort_summary(*, ctx: CohortContext, key: str, top: int = 10) -> CohortSummary:
    """Learner count, at-risk learners (all ids; the `top` with the most reasons) and mastery averages."""
    cache_key = f"courses:cohort:summary:{top}:{key}"
    summary = cache.get(cache_key)
    if summary is None:
        rows = cohort_rows(ctx=ctx, key=key)
        at_risk = [row for row in rows if row.at_risk]
        summary = CohortSummary(
            count=len(rows),
            at_risk_ids=[row.user_id for row in at_risk],
            at_risk_top=sorted(at_risk, key=lambda r: (-len(r.at_risk), r.name.lower()))[:top],
            averages=mastery_averages(ctx=ctx, rows=rows),
        )
        cache.set(cache_key, summary, ROWS_TTL)
    return summary


def mastery_averages(
    *, ctx: CohortContext, rows: list[LearnerRow]
) -> list[tuple[KeyAreaColumn, float | None, int]]:
    """The cohort average per key area: the mean of learners' mastery where they have answers."""
    result = []
    for column in ctx.key_areas:
        scores = [
            score
            for row in rows
            for col, score, _ in row.mastery
            if col.index == column.index and score is not None
        ]
        result.append((column, sum(scores) / len(scores) if scores else None, len(scores)))
    return result


# --- Question analytics -------------------------------------------------------------------------


@dataclass
class QuestionStats:
    question_id: int
    key: str
    level: str
    type: str
    prompt: str
    url: str
    n: int
    facility: float | None
    discrimination: float | None
    options: list[dict]
    flags: list[str]


def _first_answers(*, cohort: Cohort) -> QuerySet:
    """Each learner's first graded answer per question: later repeats measure memory, not the item."""
    from quizzes.models import Answer

    learners = CohortMembership.objects.filter(
        cohort=cohort, role=Role.LEARNER, removed_at__isnull=True
    ).values("user_id")
    firsts = (
        Answer.objects.filter(
            user_id__in=learners,
            score__isnull=False,
            question__section__topic__course_id=cohort.course_id,
        )
        .order_by()
        .values("user_id", "question_id")
        .annotate(first=Min("pk"))
        .values("first")
    )
    return Answer.objects.filter(pk__in=firsts).order_by()


def question_stats(*, cohort: Cohort) -> list[QuestionStats]:
    """Three queries: per-learner totals, the streamed first answers, and the questions answered."""
    from quizzes.models import CHOICE_TYPES, Question, QuestionType

    firsts = _first_answers(cohort=cohort)
    totals = {
        row["user_id"]: (row["total"], row["count"])
        for row in firsts.values("user_id").annotate(total=Sum("score"), count=Count("pk")).order_by()
    }
    items: dict[int, analytics.ItemAccumulator] = defaultdict(analytics.ItemAccumulator)
    for user_id, question_id, score, response in firsts.values_list(
        "user_id", "question_id", "score", "response"
    ).iterator(chunk_size=2000):
        total, count = totals[user_id]
        items[question_id].add(
            score=score,
            rest=analytics.rest_score(total=total, count=count, score=score),
            chosen=analytics.chosen_options(response),
        )
    choice_types = {*CHOICE_TYPES, QuestionType.MULTIPLE}
    questions = Question.objects.filter(pk__in=list(items)).select_related("section__lesson__course")
    result = []
    for question in questions.order_by("level", "position", "key"):
        item = items[question.pk]
        options = []
        if question.type in choice_types and isinstance(question.data.get("options"), dict):
            options = analytics.option_distribution(
                options=question.data["options"], counts=item.options, correct=question.answer
            )
        result.append(
            QuestionStats(
                question_id=question.pk,
                key=question.key,
                level=question.level,
                type=question.type,
                prompt=question.prompt,
                url=question.section.get_absolute_url() if question.section else "",
                n=item.n,
                facility=item.facility,
                discrimination=item.discrimination,
                options=options,
                flags=analytics.item_flags(
                    n=item.n, facility=item.facility, discrimination=item.discrimination
                ),
            )
        )
    return result


# --- A learner's recent activity (per-learner and own-progress pages) ---------------------------


@dataclass
class ActivityItem:
    at: datetime
    kind: str
    text: str
    url: str = ""


def recent_activity(*, user_id: int, course_id: int, limit: int = 15) -> list[ActivityItem]:
    """Three queries: lessons completed, answers, mock interviews; merged newest first."""
    from quizzes.models import Answer, Attempt

    items = [
        ActivityItem(
            at=p.completed_at,
            kind="Lesson",
            text=f"Completed “{p.lesson.title}”",
            url=p.lesson.get_absolute_url(),
        )
        for p in LessonProgress.objects.filter(
            user_id=user_id, lesson__course_id=course_id, completed_at__isnull=False
        )
        .select_related("lesson__course")
        .order_by("-completed_at")[:limit]
    ]
    for answer in (
        Answer.objects.filter(user_id=user_id).select_related("question").order_by("-answered_at")[:limit]
    ):
        verdict = "awaiting self-grading" if answer.score is None else f"scored {round(answer.score * 100)}%"
        items.append(
            ActivityItem(
                at=answer.answered_at,
                kind=answer.get_mode_display(),
                text=f"Answered “{Truncator(answer.question.prompt).chars(90)}” ({verdict})",
            )
        )
    for attempt in Attempt.objects.filter(user_id=user_id).order_by("-started_at")[:limit]:
        if attempt.submitted_at:
            text = (
                f"Mock interview ({attempt.get_level_display()}) scored {round((attempt.score or 0) * 100)}%"
            )
        else:
            text = f"Started a mock interview ({attempt.get_level_display()})"
        items.append(ActivityItem(at=attempt.submitted_at or attempt.started_at, kind="Mock", text=text))
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def weekly_lessons_chart(*, cohort: Cohort, now: datetime, weeks: int = 8) -> list[tuple[date, int]]:
    """Lessons completed by the cohort's learners per week (oldest first), for the activity chart: the last
    bucket is the seven days up to and including today."""
    start = now.date() - timedelta(days=7 * weeks - 1)
    learners = CohortMembership.objects.filter(
        cohort=cohort, role=Role.LEARNER, removed_at__isnull=True
    ).values("user_id")
    counts = dict(
        LessonProgress.objects.filter(
            user_id__in=learners,
            lesson__course_id=cohort.course_id,
            completed_at__date__gte=start,
            completed_at__lte=now,
        )
        .annotate(day=TruncDate("completed_at"))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    buckets = []
    for week in range(weeks):
        first = start + timedelta(days=7 * week)
        total = sum(n for day, n in counts.items() if first <= day < first + timedelta(days=7))
        buckets.append((first, total))
    return buckets
