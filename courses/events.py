"""Cohort events: the only sync code in courses that talks to the channel layer.

Every publisher defers its send with transaction.on_commit, so a rolled-back change never reaches
a browser; outside a transaction on_commit runs at once. Message types (handled by consumers.py):

- "cohort.activity"  -> group cohort.<id> (instructor dashboards): a learner did something.
- "cohort.roster"    -> group cohort.<id>: a learner joined, left or was removed.
- "cohort.presence"  -> group cohort.<id>: a learner's online state may have changed.
- "learner.announcement" -> group learner.<user id> or cohort.<id>.learners (learner sockets).
"""

import json
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import transaction

ACTIVITY_KINDS = frozenset(
    {
        "lesson_completed",
        "lesson_viewed",
        "question_answered",
        "attempt_submitted",
        "review_done",
        "experiment_run",
    }
)


def learner_group(user_id: int) -> str:
    return f"learner.{user_id}"


def cohort_group(cohort_id: int) -> str:
    return f"cohort.{cohort_id}"


def cohort_learners_group(cohort_id: int) -> str:
    return f"cohort.{cohort_id}.learners"


def _cohort_ids_for(user_id: int) -> list[int]:
    from courses import selectors

    return selectors.cohort_ids_for_learner(user_id=user_id)


def _send_on_commit(build: Callable[[], list[tuple[str, dict]]]) -> None:
    def send() -> None:
        messages = build()  # also bumps cohort versions, with or without a channel layer
        layer = get_channel_layer()
        if layer is None:
            return
        for group, message in messages:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)


def bump_cohort_version(cohort_id: int, *, user_id: int | None = None, kind: str = "") -> None:
    """Invalidate the dashboard's cached figures for the cohort (courses.selectors.cohort_rows).

    With a ``kind``, also record which learner changed (None: no learner's row) and how, so that cached
    rows need only that learner again; without one, readers compute everything again."""
    from courses.selectors import CHANGE_TTL, cohort_change_key, cohort_version_key

    key = cohort_version_key(cohort_id)
    try:
        version = cache.incr(key)
    except ValueError:  # never read yet, or evicted: any fresh value differs from what readers saw
        cache.set(key, time.time_ns(), None)  # and no record: readers compute everything again
        return
    if kind:
        cache.set(cohort_change_key(cohort_id, version), (user_id, kind), CHANGE_TTL)


def _bumped(cohort_ids: list[int], message: dict) -> list[tuple[str, dict]]:
    kind = message.get("kind") or message["type"].removeprefix("cohort.")
    for cid in cohort_ids:
        bump_cohort_version(cid, user_id=message["user_id"], kind=kind)
    return [(cohort_group(cid), message) for cid in cohort_ids]


def _fan_out_to_cohorts(user_id: int, message: dict) -> None:
    json.dumps(message)  # fail here, not later inside channels_redis
    _send_on_commit(lambda: _bumped(_cohort_ids_for(user_id), message))


def publish_learner_activity(*, user_id: int, kind: str) -> None:
    """Tell the dashboards of every cohort the learner belongs to; safe inside any transaction."""
    if kind not in ACTIVITY_KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    _fan_out_to_cohorts(user_id, {"type": "cohort.activity", "user_id": user_id, "kind": kind})


def publish_presence(*, user_id: int) -> None:
    _fan_out_to_cohorts(user_id, {"type": "cohort.presence", "user_id": user_id})


def publish_cohort_roster(*, cohort_id: int, user_id: int) -> None:
    message = {"type": "cohort.roster", "user_id": user_id}
    json.dumps(message)
    _send_on_commit(lambda: _bumped([cohort_id], message))


def publish_announcement(*, announcement, recipient_ids: list[int] | None) -> None:
    """Deliver to the open learner sockets: the whole cohort, or only the chosen learners."""
    message = {
        "type": "learner.announcement",
        "id": announcement.pk,
        "cohort_id": announcement.cohort_id,
        "cohort_name": announcement.cohort.name,
        "title": announcement.title,
        "body": announcement.body,
        "author": announcement.author.name if announcement.author else "",
        "created_at": announcement.created_at.isoformat(),
        "url": f"/cohorts/{announcement.cohort_id}/my-progress/#announcement-{announcement.pk}",
    }
    json.dumps(message)
    if recipient_ids is None:
        groups = [cohort_learners_group(announcement.cohort_id)]
    else:
        groups = [learner_group(user_id) for user_id in recipient_ids]

    def deliver() -> list[tuple[str, dict]]:
        bump_cohort_version(announcement.cohort_id, kind="announcement")  # the dashboard lists announcements
        return [(group, message) for group in groups]

    _send_on_commit(deliver)
