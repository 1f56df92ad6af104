"""Lesson progress services and their learner-activity events."""

import pytest
import time_machine
from django.db import transaction

from courses import events
from courses.models import LessonProgress
from courses.services import lesson_complete, lesson_uncomplete, lesson_view_record
from lessons.models import Lesson
from lessons.services import material_import
from tests.lessons.conftest import MATERIAL


@pytest.fixture
def lesson(db):
    material_import(path=MATERIAL)
    return Lesson.objects.get(slug="the-landscape")


@pytest.fixture
def published(monkeypatch):
    calls: list[tuple[int, str]] = []
    original = events.publish_learner_activity

    def record(*, user_id: int, kind: str) -> None:
        calls.append((user_id, kind))
        original(user_id=user_id, kind=kind)

    monkeypatch.setattr(events, "publish_learner_activity", record)
    return calls


def test_view_record_creates_then_touches(learner, lesson, published):
    with time_machine.travel("2026-01-01 10:00Z", tick=False):
        first = lesson_view_record(user=learner, lesson=lesson)
    with time_machine.travel("2026-01-02 10:00Z", tick=False):
        lesson_view_record(user=learner, lesson=lesson)
    progress = LessonProgress.objects.get(pk=first.pk)
    assert progress.first_viewed_at.isoformat() == "2026-01-01T10:00:00+00:00"
    assert progress.last_viewed_at.isoformat() == "2026-01-02T10:00:00+00:00"
    assert progress.completed_at is None
    assert published == [(learner.pk, "lesson_viewed"), (learner.pk, "lesson_viewed")]


def test_complete_and_uncomplete(learner, lesson, published):
    with time_machine.travel("2026-01-01 10:00Z", tick=False):
        lesson_complete(user=learner, lesson=lesson)
        lesson_complete(user=learner, lesson=lesson)  # no second event
    progress = LessonProgress.objects.get(user=learner, lesson=lesson)
    assert progress.completed_at.isoformat() == "2026-01-01T10:00:00+00:00"
    lesson_uncomplete(user=learner, lesson=lesson)
    assert LessonProgress.objects.get(pk=progress.pk).completed_at is None
    assert published == [(learner.pk, "lesson_completed"), (learner.pk, "lesson_viewed")]


def test_progress_is_per_user(learner, other_learner, lesson):
    lesson_complete(user=learner, lesson=lesson)
    lesson_view_record(user=other_learner, lesson=lesson)
    assert LessonProgress.objects.completed().for_user(learner).count() == 1
    assert LessonProgress.objects.completed().for_user(other_learner).count() == 0


def test_events_are_sent_only_after_commit(learner, lesson, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        lesson_complete(user=learner, lesson=lesson)
    assert len(callbacks) == 1


def test_rolled_back_completion_sends_nothing(learner, lesson, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                lesson_complete(user=learner, lesson=lesson)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert LessonProgress.objects.count() == 0
