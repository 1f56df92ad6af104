"""Reads for lesson pages: courses, lessons, neighbours and learner progress."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, DateTimeField, F, Prefetch, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from courses.models import Course, LessonProgress
from lessons.models import KeyArea, Lesson, Section, Topic


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done >= self.total


def course_list() -> QuerySet[Course]:
    topics = Topic.objects.annotate(lesson_count=Count("lessons")).order_by("position", "title")
    return (
        Course.objects.annotate(lesson_count=Count("lessons", distinct=True))
        .filter(lesson_count__gt=0)
        .prefetch_related(Prefetch("topics", queryset=topics))
        .order_by("position", "title")
    )


def course_get(*, slug: str) -> Course:
    lessons = Lesson.objects.only(
        "id", "slug", "title", "kind", "position", "reading_minutes", "summary", "topic_id", "course_id"
    ).order_by("position")
    topics = Topic.objects.prefetch_related(Prefetch("lessons", queryset=lessons)).order_by(
        "position", "title"
    )
    return get_object_or_404(Course.objects.prefetch_related(Prefetch("topics", queryset=topics)), slug=slug)


def lesson_get(*, course_slug: str, lesson_slug: str) -> Lesson:
    sections = Section.objects.select_related("key_area").order_by("position")
    return get_object_or_404(
        Lesson.objects.select_related("course", "topic").prefetch_related(
            Prefetch("sections", queryset=sections)
        ),
        course__slug=course_slug,
        slug=lesson_slug,
    )


def lesson_page_get(*, course_slug: str, lesson_slug: str) -> Lesson:
    """The lesson with course and topic, without sections, annotated with `material_at`.

    `material_at` is the newest topic import time: any import that changes a topic (and may re-resolve
    other topics' cross-references) changes it, so it versions cached renderings of the material.
    """
    latest = Topic.objects.order_by(F("imported_at").desc(nulls_last=True)).values("imported_at")[:1]
    return get_object_or_404(
        Lesson.objects.select_related("course", "topic").annotate(
            material_at=Subquery(latest, output_field=DateTimeField())
        ),
        course__slug=course_slug,
        slug=lesson_slug,
    )


def material_version() -> str:
    """Changes whenever an import changes any topic (and so possibly any lesson's HTML, links or pager).

    Plain SQL: it runs on every anonymous lesson view, before anything else.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(imported_at), COUNT(*) FROM {Topic._meta.db_table}")  # noqa: S608
        latest, count = cursor.fetchone()
    return f"{latest}:{count}".replace(" ", "_")


# How long a process trusts the material version it read last: anonymous lesson pages then need no
# query at all. An import in this process forgets it at once; other processes (`import_material` runs
# in its own) see the new version within this many seconds.
MATERIAL_VERSION_SECONDS = 5.0
_version_memo: dict[str, tuple[float, str]] = {}


def material_version_recent() -> str:
    """material_version(), re-read at most every MATERIAL_VERSION_SECONDS."""
    now = time.monotonic()
    memo = _version_memo.get(connection.alias)
    if memo is not None and now - memo[0] < MATERIAL_VERSION_SECONDS:
        return memo[1]
    version = material_version()
    _version_memo[connection.alias] = (now, version)
    return version


def material_version_forget() -> None:
    _version_memo.clear()


def lesson_sections(*, lesson: Lesson) -> list[Section]:
    return list(Section.objects.filter(lesson=lesson).select_related("key_area").order_by("position"))


def course_lessons(*, course: Course) -> list[Lesson]:
    """Every lesson of the course in reading order (topic by topic), without bodies."""
    return list(
        Lesson.objects.filter(course=course)
        .select_related("topic")
        .only(
            "id",
            "slug",
            "title",
            "kind",
            "position",
            "reading_minutes",
            "topic__position",
            "topic__title",
            "course_id",
        )
        .order_by("topic__position", "topic__title", "position")
    )


def completed_lesson_ids(*, user, course: Course | None = None) -> set[int]:
    if not user.is_authenticated:
        return set()
    progress = LessonProgress.objects.for_user(user).completed()
    if course is not None:
        progress = progress.filter(lesson__course=course)
    return set(progress.values_list("lesson_id", flat=True))


def progress_by_course(*, user, courses: list[Course]) -> dict[int, Progress]:
    """Done / total lessons per course (one query for done; totals come annotated)."""
    done: dict[int, int] = {}
    if user.is_authenticated and courses:
        rows = (
            LessonProgress.objects.for_user(user)
            .completed()
            .filter(lesson__course__in=courses)
            .values_list("lesson__course_id")
            .annotate(n=Count("id"))
        )
        done = dict(rows)
    return {course.pk: Progress(done=done.get(course.pk, 0), total=course.lesson_count) for course in courses}


def progress_get(*, user, lesson: Lesson) -> LessonProgress | None:
    if not user.is_authenticated:
        return None
    return LessonProgress.objects.filter(user=user, lesson=lesson).first()


def recent_progress(*, user, limit: int = 5) -> list[LessonProgress]:
    return list(
        LessonProgress.objects.for_user(user)
        .select_related("lesson__course", "lesson__topic")
        .order_by("-last_viewed_at")[:limit]
    )


def completed_progress(*, user) -> list[LessonProgress]:
    return list(
        LessonProgress.objects.for_user(user)
        .completed()
        .select_related("lesson__course")
        .order_by("-completed_at")
    )


def continue_lesson(*, user) -> Lesson | None:
    """The lesson to pick up: the most recently viewed unfinished one, else the next after the last done."""
    if not user.is_authenticated:
        return None
    progress = LessonProgress.objects.for_user(user).select_related("lesson__course")
    recent_open = progress.filter(completed_at__isnull=True).order_by("-last_viewed_at").first()
    if recent_open is not None:
        return recent_open.lesson
    last_done = progress.completed().order_by("-completed_at").first()
    if last_done is None:
        return None
    course = last_done.lesson.course
    done = completed_lesson_ids(user=user, course=course)
    for lesson in course_lessons(course=course):
        if lesson.pk not in done:
            lesson.course = course
            return lesson
    return None


def key_areas_for_topic(*, topic: Topic) -> list[KeyArea]:
    return list(topic.key_areas.select_related("section__lesson__course").order_by("position"))
