"""Cohort sockets. Thin: permission, groups, then delegate; the ORM only through wrappers.

- CohortDashboardConsumer, /ws/courses/cohorts/<id>/: instructors of that cohort only. Joins group
  cohort.<id>; every learner event re-renders that learner's row with the page's own partial.
- LearnerConsumer, /ws/courses/me/: any logged-in user (opened by static/courses/learner_live.js on every
  page). Receives announcements live and is the learner's presence ("online now" on dashboards).
"""

from channels.db import aclose_old_connections, database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from courses import cohort_services, cohort_views, events, selectors

acohort_visible_to = database_sync_to_async(selectors.cohort_visible_to)
alearner_row_payload = database_sync_to_async(cohort_views.learner_row_payload)
acohort_ids_for_learner = database_sync_to_async(selectors.cohort_ids_for_learner)
aunread_announcement_count = database_sync_to_async(selectors.unread_announcement_count)
alearner_connection_open = database_sync_to_async(cohort_services.learner_connection_open)
alearner_connection_touch = database_sync_to_async(cohort_services.learner_connection_touch)
alearner_connection_close = database_sync_to_async(cohort_services.learner_connection_close)

CLOSE_FORBIDDEN = 4403


class CohortDashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.cohort_id = int(self.scope["url_route"]["kwargs"]["cohort_id"])
        user = self.scope.get("user")
        if user is None or not await acohort_visible_to(cohort_id=self.cohort_id, user=user):
            await self.close()  # before accept(): the handshake is refused (HTTP 403)
            return
        self.group = events.cohort_group(self.cohort_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "cohort_id": self.cohort_id})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def _push_row(self, event: dict, kind: str) -> None:
        await aclose_old_connections()
        if not await acohort_visible_to(cohort_id=self.cohort_id, user=self.scope["user"]):
            await self.close(code=CLOSE_FORBIDDEN)  # no longer an instructor of this cohort
            return
        payload = await alearner_row_payload(cohort_id=self.cohort_id, user_id=event["user_id"])
        await self.send_json(
            {"type": kind, "kind": event.get("kind", ""), "user_id": event["user_id"], **payload}
        )

    async def cohort_activity(self, event: dict) -> None:  # layer type "cohort.activity"
        await self._push_row(event, "activity")

    async def cohort_presence(self, event: dict) -> None:
        await self._push_row(event, "presence")

    async def cohort_roster(self, event: dict) -> None:
        await self._push_row(event, "roster")


class LearnerConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.user_id = user.pk
        self.groups_joined = [events.learner_group(user.pk)]
        for cohort_id in await acohort_ids_for_learner(user_id=user.pk):
            self.groups_joined.append(events.cohort_learners_group(cohort_id))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await alearner_connection_open(user_id=user.pk, channel_name=self.channel_name)
        await self.send_json({"type": "unread", "count": await aunread_announcement_count(user=user)})

    async def disconnect(self, code: int) -> None:
        if not hasattr(self, "user_id"):
            return
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await alearner_connection_close(user_id=self.user_id, channel_name=self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await aclose_old_connections()
            await alearner_connection_touch(channel_name=self.channel_name)
            await self.send_json({"type": "pong"})

    async def learner_announcement(self, event: dict) -> None:  # layer type "learner.announcement"
        await self.send_json({**event, "type": "announcement"})
