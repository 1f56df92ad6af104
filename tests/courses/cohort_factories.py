"""Factories for the cohort tests: a small course with key areas, questions and learner activity."""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from courses.models import Cohort, CohortInvite, CohortMembership, Course, LessonProgress
from lessons.models import KeyArea, Lesson, Section, Topic
from quizzes.models import Answer, Attempt, Question, ReviewCard
from tests.factories import UserFactory


class CourseFactory(DjangoModelFactory[Course]):
    class Meta:
        model = Course
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"course-{n}")
    title = factory.Sequence(lambda n: f"Course {n}")


class TopicFactory(DjangoModelFactory[Topic]):
    class Meta:
        model = Topic

    course = factory.SubFactory(CourseFactory)
    key = factory.Sequence(lambda n: f"topic-{n}")
    slug = factory.LazyAttribute(lambda t: t.key)
    title = factory.Sequence(lambda n: f"Topic {n}")


class LessonFactory(DjangoModelFactory[Lesson]):
    class Meta:
        model = Lesson

    topic = factory.SubFactory(TopicFactory)
    course = factory.LazyAttribute(lambda lesson: lesson.topic.course)
    slug = factory.Sequence(lambda n: f"lesson-{n}")
    title = factory.Sequence(lambda n: f"Lesson {n}")
    position = factory.Sequence(lambda n: n)


class SectionFactory(DjangoModelFactory[Section]):
    class Meta:
        model = Section

    lesson = factory.SubFactory(LessonFactory)
    topic = factory.LazyAttribute(lambda s: s.lesson.topic)
    anchor = factory.Sequence(lambda n: f"section-{n}")
    heading = factory.Sequence(lambda n: f"Section {n}")


class KeyAreaFactory(DjangoModelFactory[KeyArea]):
    class Meta:
        model = KeyArea

    section = factory.SubFactory(SectionFactory)
    topic = factory.LazyAttribute(lambda k: k.section.topic)
    slug = factory.Sequence(lambda n: f"area-{n}")
    name = factory.Sequence(lambda n: f"Area {n}")
    position = factory.Sequence(lambda n: n)


class QuestionFactory(DjangoModelFactory[Question]):
    class Meta:
        model = Question

    key = factory.Sequence(lambda n: f"q-{n:03d}")
    level = "mid"
    type = "single"
    prompt = factory.Sequence(lambda n: f"Question {n}?")
    data = factory.LazyFunction(lambda: {"options": {"a": "Alpha", "b": "Beta", "c": "Gamma"}})
    answer = "a"
    explanation = "Because."
    source = "lesson#section"
    section = factory.SubFactory(SectionFactory)


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


class AttemptFactory(DjangoModelFactory[Attempt]):
    class Meta:
        model = Attempt

    user = factory.SubFactory(UserFactory)
    level = "mid"
    started_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyAttribute(lambda a: a.started_at + timezone.timedelta(minutes=25))
    submitted_at = factory.LazyAttribute(lambda a: a.started_at + timezone.timedelta(minutes=20))
    score = 0.5


class ReviewCardFactory(DjangoModelFactory[ReviewCard]):
    class Meta:
        model = ReviewCard

    user = factory.SubFactory(UserFactory)
    question = factory.SubFactory(QuestionFactory)
    due = factory.LazyFunction(timezone.now)


class CohortFactory(DjangoModelFactory[Cohort]):
    class Meta:
        model = Cohort

    name = factory.Sequence(lambda n: f"Cohort {n}")
    course = factory.SubFactory(CourseFactory)
    weekly_target = 3


class MembershipFactory(DjangoModelFactory[CohortMembership]):
    class Meta:
        model = CohortMembership

    cohort = factory.SubFactory(CohortFactory)
    user = factory.SubFactory(UserFactory)
    role = CohortMembership.Role.LEARNER
    joined_at = factory.LazyFunction(timezone.now)


class InviteFactory(DjangoModelFactory[CohortInvite]):
    class Meta:
        model = CohortInvite

    cohort = factory.SubFactory(CohortFactory)
    code = factory.Sequence(lambda n: f"code{n:06d}")


def complete_lesson(user, lesson, at=None) -> LessonProgress:
    at = at or timezone.now()
    return LessonProgress.objects.create(
        user=user, lesson=lesson, first_viewed_at=at, last_viewed_at=at, completed_at=at
    )
