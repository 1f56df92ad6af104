"""Cohort events: the only sync code in courses that talks to the channel layer.

Services that record learner activity call publish_learner_activity(); it defers the send
until the surrounding transaction commits, so a rolled-back change never reaches a browser.
The cohorts engineer owns the fan-out to cohort dashboards (groups `cohort.<id>`).
"""

import json

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
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


def _cohort_ids_for(user_id: int) -> list[int]:
    from courses import selectors

    return selectors.cohort_ids_for_learner(user_id=user_id)


def publish_learner_activity(*, user_id: int, kind: str) -> None:
    if kind not in ACTIVITY_KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    message = {"type": "cohort.activity", "user_id": user_id, "kind": kind}
    json.dumps(message)  # fail here, not later inside channels_redis

    def send() -> None:
        layer = get_channel_layer()
        for cohort_id in _cohort_ids_for(user_id):
            async_to_sync(layer.group_send)(cohort_group(cohort_id), message)

    transaction.on_commit(send)
