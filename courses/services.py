"""Writes for learner progress on lessons. Each publishes learner activity after commit."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from courses import events
from courses.models import LessonProgress
from lessons.models import Lesson


def _progress_for_update(*, user: User, lesson: Lesson) -> LessonProgress:
    now = timezone.now()
    progress, _ = LessonProgress.objects.select_for_update().get_or_create(
        user=user, lesson=lesson, defaults={"first_viewed_at": now, "last_viewed_at": now}
    )
    return progress


@transaction.atomic
def lesson_view_record(*, user: User, lesson: Lesson) -> LessonProgress:
    """Remember that the learner opened the lesson (drives "continue where you left off")."""
    now = timezone.now()
    progress, created = LessonProgress.objects.get_or_create(
        user=user, lesson=lesson, defaults={"first_viewed_at": now, "last_viewed_at": now}
    )
    if not created:
        LessonProgress.objects.filter(pk=progress.pk).update(last_viewed_at=now)
        progress.last_viewed_at = now
    events.publish_learner_activity(user_id=user.pk, kind="lesson_viewed")
    return progress


@transaction.atomic
def lesson_complete(*, user: User, lesson: Lesson) -> LessonProgress:
    progress = _progress_for_update(user=user, lesson=lesson)
    if progress.completed_at is None:
        progress.completed_at = timezone.now()
        progress.save(update_fields=["completed_at"])
        events.publish_learner_activity(user_id=user.pk, kind="lesson_completed")
    return progress


@transaction.atomic
def lesson_uncomplete(*, user: User, lesson: Lesson) -> LessonProgress:
    progress = _progress_for_update(user=user, lesson=lesson)
    if progress.completed_at is not None:
        progress.completed_at = None
        progress.save(update_fields=["completed_at"])
        events.publish_learner_activity(user_id=user.pk, kind="lesson_viewed")
    return progress
