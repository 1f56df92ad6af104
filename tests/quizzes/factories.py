"""Quiz factories, and the course content of the contract table (until the material importer is used)."""

from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from courses.models import Course
from lessons.models import KeyArea, Lesson, Section, Topic
from quizzes.models import Answer, Attempt, PracticeSession, Question
from tests.factories import UserFactory
from tests.material_contract import KEY_AREAS, LESSONS

TOPIC_KEY = "communication-protocols"


def content_build() -> Topic:
    """Course, topic, lessons, sections and key areas exactly as the contract table lists them."""
    course, _ = Course.objects.get_or_create(
        slug="communication-protocols-in-system-design",
        defaults={"title": "Communication Protocols in System Design"},
    )
    topic, _ = Topic.objects.get_or_create(
        key=TOPIC_KEY, defaults={"course": course, "slug": "communication-protocols", "title": course.title}
    )
    if Section.objects.filter(topic=topic).exists():
        return topic
    lessons = Lesson.objects.bulk_create(
        Lesson(course=course, topic=topic, slug=slug, title=slug.replace("-", " ").title(), position=pos)
        for pos, slug in enumerate(LESSONS)
    )
    sections = Section.objects.bulk_create(
        Section(
            topic=topic, lesson=lesson, anchor=anchor, heading=anchor.replace("-", " ").title(), position=pos
        )
        for lesson, anchors in zip(lessons, LESSONS.values(), strict=True)
        for pos, anchor in enumerate(anchors)
    )
    KeyArea.objects.bulk_create(
        KeyArea(
            topic=topic, section=section, slug=section.anchor, name=KEY_AREAS[section.anchor], position=pos
        )
        for pos, section in enumerate(s for s in sections if s.anchor in KEY_AREAS)
    )
    return topic


class QuestionFactory(DjangoModelFactory[Question]):
    class Meta:
        model = Question

    key = factory.Sequence(lambda n: f"mid-{n + 500:03d}")
    level = "mid"
    type = "single"
    prompt = factory.Sequence(lambda n: f"Question {n}?")
    data = factory.LazyFunction(lambda: {"options": {"a": "Right", "b": "Wrong", "c": "Also wrong"}})
    answer = "a"
    explanation = "SECRET-EXPLANATION"
    source = "communication-patterns#communication-patterns"
    section = factory.LazyFunction(lambda: Section.objects.get(anchor="communication-patterns"))

    @factory.post_generation
    def areas(self, create, extracted, **kwargs):
        if create:
            slugs = extracted or ["communication-patterns"]
            self.key_areas.set(KeyArea.objects.filter(slug__in=slugs))


class AttemptFactory(DjangoModelFactory[Attempt]):
    class Meta:
        model = Attempt

    user = factory.SubFactory(UserFactory)
    level = "mid"
    started_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyAttribute(lambda a: a.started_at + timedelta(minutes=25))


class PracticeSessionFactory(DjangoModelFactory[PracticeSession]):
    class Meta:
        model = PracticeSession

    user = factory.SubFactory(UserFactory)
    level = "mid"
    started_at = factory.LazyFunction(timezone.now)


class AnswerFactory(DjangoModelFactory[Answer]):
    class Meta:
        model = Answer

    user = factory.SubFactory(UserFactory)
    question = factory.SubFactory(QuestionFactory)
    mode = "practice"
    response = factory.LazyFunction(lambda: {"choice": "a"})
    is_correct = True
    score = 1.0
    answered_at = factory.LazyFunction(timezone.now)
