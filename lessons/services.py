"""Writes for lessons: importing a topic file into Course / Topic / Lesson / Section / KeyArea."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from courses.models import Course
from lessons import outline, parsing, rendering, search, selectors
from lessons.models import KeyArea, Lesson, Section, Topic

MAX_FILE_BYTES = 2 * 1024 * 1024


class MaterialError(Exception):
    """Malformed or unreadable material: `path:line: message`."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass
class ImportResult:
    topic: Topic
    course: Course
    counts: dict[str, int]
    changes: dict[str, int] = field(default_factory=dict)


def _read(path: Path) -> tuple[parsing.Topic, str]:
    """The parsed topic and the file's SHA-256."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MaterialError(
                path, 1, f"the file is {size} bytes; topic files are at most {MAX_FILE_BYTES}"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise MaterialError(path, 1, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        return parsing.topic_parse(parsing.decode(data)), hashlib.sha256(data).hexdigest()
    except parsing.ParseError as exc:
        raise MaterialError(path, exc.line, exc.message) from None


def _save(instance, values: dict, changes: dict[str, int], label: str) -> None:
    """Create, or update only what changed (ids stay, timestamps of unchanged rows stay)."""
    if instance.pk is None:
        for name, value in values.items():
            setattr(instance, name, value)
        instance.full_clean(validate_unique=False, validate_constraints=False)
        instance.save()
        changes[f"{label}_created"] = changes.get(f"{label}_created", 0) + 1
        return
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if changed:
        for name in changed:
            setattr(instance, name, values[name])
        instance.save(update_fields=changed)
        changes[f"{label}_updated"] = changes.get(f"{label}_updated", 0) + 1


def topic_urls() -> dict[str, str]:
    """Topic key -> URL of its first lesson, for cross-topic links."""
    urls: dict[str, str] = {}
    lessons = Lesson.objects.select_related("course", "topic").order_by("topic_id", "position")
    for lesson in lessons:
        urls.setdefault(lesson.topic.key, lesson.get_absolute_url())
    return urls


def sections_render(*, urls: dict[str, str]) -> int:
    """Re-resolve cross-topic references everywhere (a later import turns markers into links)."""
    updated = 0
    for section in Section.objects.exclude(source="").only("id", "source", "body_html"):
        if not rendering.references(section.source):
            continue
        body_html = rendering.markdown_render(section.source, topic_urls=urls)
        if body_html != section.body_html:
            section.body_html = body_html
            section.save(update_fields=["body_html"])
            updated += 1
    return updated


@transaction.atomic
def material_import(*, path: Path | str, course_slug: str | None = None) -> ImportResult:
    """Import one topic file: atomic, idempotent, in place by stable slugs."""
    path = Path(path)
    parsed, sha256 = _read(path)
    plans = outline.topic_outline(parsed)
    key = slugify(path.stem)
    if not key:
        raise MaterialError(path, 1, "the file name gives no topic key")
    changes: dict[str, int] = {}

    slug = slugify(course_slug) if course_slug else slugify(parsed.title)
    course = Course.objects.filter(slug=slug).first()
    if course is None:
        position = (Course.objects.aggregate(top=Max("position"))["top"] or 0) + 1
        course = Course(slug=slug, position=position)
        _save(course, {"title": parsed.title, "summary": _course_summary(parsed)}, changes, "course")

    topic = Topic.objects.filter(key=key).first()
    if topic is None:
        position = (course.topics.aggregate(top=Max("position"))["top"] or 0) + 1
        topic = Topic(key=key, position=position)
    _save(
        topic,
        {
            "course": course,
            "slug": slugify(parsed.title),
            "title": parsed.title,
            "objectives": parsed.objectives,
            "source_sha256": sha256,
        },
        changes,
        "topic",
    )
    if topic.imported_at is None or changes.get("topic_created") or changes.get("topic_updated"):
        topic.imported_at = timezone.now()
        topic.save(update_fields=["imported_at"])

    urls = topic_urls()
    taken = set(Lesson.objects.filter(course=course).exclude(topic=topic).values_list("slug", flat=True))
    existing_lessons = {lesson.slug: lesson for lesson in topic.lessons.all()}
    existing_sections = {section.anchor: section for section in topic.sections.all()}
    existing_areas = {area.slug: area for area in topic.key_areas.all()}
    kept_lessons, kept_sections, kept_areas = set(), set(), set()

    for lesson_position, plan in enumerate(plans, start=1):
        lesson_slug = plan.slug if plan.slug not in taken else f"{topic.slug}-{plan.slug}"
        lesson = existing_lessons.get(lesson_slug) or Lesson(topic=topic, slug=lesson_slug)
        _save(
            lesson,
            {
                "course": course,
                "title": plan.title,
                "kind": plan.kind,
                "position": lesson_position,
                "reading_minutes": plan.reading_minutes,
                "summary": plan.summary,
            },
            changes,
            "lesson",
        )
        kept_lessons.add(lesson.pk)
        for section_position, section_plan in enumerate(plan.sections, start=1):
            section = existing_sections.get(section_plan.anchor) or Section(
                topic=topic, anchor=section_plan.anchor
            )
            _save(
                section,
                {
                    "lesson": lesson,
                    "heading": section_plan.heading,
                    "kind": section_plan.kind,
                    "position": section_position,
                    "source": section_plan.source,
                    "body_html": rendering.markdown_render(section_plan.source, topic_urls=urls),
                    "plain_text": section_plan.plain_text,
                    "diagram_source": section_plan.diagram_source,
                    "caption": section_plan.caption,
                    "alt_text": section_plan.alt_text,
                },
                changes,
                "section",
            )
            kept_sections.add(section.pk)
            if section_plan.key_area_name:
                area = existing_areas.get(section.anchor) or KeyArea(topic=topic, slug=section.anchor)
                _save(
                    area,
                    {"section": section, "name": section_plan.key_area_name, "position": len(kept_areas) + 1},
                    changes,
                    "key_area",
                )
                kept_areas.add(area.pk)

    for label, queryset in (
        ("key_area", topic.key_areas.exclude(pk__in=kept_areas)),
        ("section", topic.sections.exclude(pk__in=kept_sections)),
        ("lesson", topic.lessons.exclude(pk__in=kept_lessons)),
    ):
        deleted = queryset.count()
        if deleted:
            queryset.delete()
            changes[f"{label}_deleted"] = deleted

    # This topic's own URL may be new: re-resolve every section that refers to a topic.
    changes["references_updated"] = sections_render(urls=topic_urls())
    search.index_rebuild()
    # Lesson pages cached under the old material version: this process stops using them now.
    selectors.material_version_forget()
    transaction.on_commit(selectors.material_version_forget)
    counts = {
        "lessons": len(plans),
        "sections": sum(len(plan.sections) for plan in plans),
        "objectives": len(parsed.objectives),
        "diagrams": len(parsed.diagrams),
        "key_areas": len(parsed.key_areas),
        "interview_levels": len(parsed.levels),
        "questions": len(parsed.questions),
        "red_flags": len(parsed.red_flags),
        "takeaways": len(parsed.takeaways),
    }
    return ImportResult(topic=topic, course=course, counts=counts, changes=changes)


def _course_summary(parsed: parsing.Topic) -> str:
    for section in parsed.sections:
        paragraphs = section.of_type(parsing.Paragraph)
        if paragraphs:
            return paragraphs[0].text
    return ""
