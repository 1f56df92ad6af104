"""The playground page (sync): four transport panes on one stream."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from playground import selectors
from playground.consumers import MAX_FRAME_BYTES
from playground.events import MAX_CHAT_CHARS
from playground.log import conf, is_valid_stream

ROOM_SLUG = re.compile(r"^[a-z0-9-]{1,40}$")


def _chosen_stream(request: HttpRequest) -> tuple[str, str, str | None]:
    """(stream, room slug for the form, error) from ?stream=ticker|room and ?room=<slug>."""
    kind = request.GET.get("stream", "ticker")
    room = request.GET.get("room", "").strip().lower()
    if kind == "room" or kind.startswith("room-"):
        slug = room or kind.removeprefix("room-").removeprefix("room")
        if ROOM_SLUG.match(slug) and is_valid_stream(f"room-{slug}"):
            return f"room-{slug}", slug, None
        return (
            "ticker",
            room,
            "Room names use 1-40 lowercase letters, digits or hyphens. Showing the ticker instead.",
        )
    return "ticker", room or "lobby", None


@require_GET
def playground(request: HttpRequest) -> HttpResponse:
    stream, room, error = _chosen_stream(request)
    store = conf("PLAYGROUND_STORE") or ("redis" if settings.REDIS_URL else "memory")
    config = {
        "stream": stream,
        "isRoom": stream != "ticker",
        "loggedIn": request.user.is_authenticated,
        "userName": request.user.name if request.user.is_authenticated else "",
        "wsPath": f"/ws/playground/{stream}/",
        "ssePath": reverse("playground:stream-events", kwargs={"stream": stream}),
        "pollPath": reverse("playground:stream-poll", kwargs={"stream": stream}),
        "sendPath": reverse("playground:stream-send", kwargs={"stream": stream}),
        "replaySize": settings.PLAYGROUND_REPLAY_SIZE,
        "heartbeatSeconds": conf("PLAYGROUND_HEARTBEAT_SECONDS"),
        "maxFrameBytes": MAX_FRAME_BYTES,
        "maxChatChars": MAX_CHAT_CHARS,
    }
    context = {
        "stream": stream,
        "room": room,
        "stream_error": error,
        "config": config,
        "store": store,
        "lesson": selectors.lesson_link_for_realtime(),
        "replay_size": settings.PLAYGROUND_REPLAY_SIZE,
        "max_per_ip": settings.PLAYGROUND_MAX_CONNECTIONS_PER_IP,
        "max_per_user": settings.PLAYGROUND_MAX_CONNECTIONS_PER_USER,
        "send_rate": settings.PLAYGROUND_SEND_RATE_PER_MINUTE,
        "max_frame_bytes": MAX_FRAME_BYTES,
        "max_chat_chars": MAX_CHAT_CHARS,
        "panes": [
            {"key": "ws", "title": "WebSocket", "blurb": "One upgraded TCP connection, frames both ways."},
            {
                "key": "sse",
                "title": "Server-Sent Events",
                "blurb": "One long HTTP response; sends go by POST.",
            },
            {"key": "long_poll", "title": "Long polling", "blurb": "A request held until an event or 25 s."},
            {
                "key": "short_poll",
                "title": "Short polling",
                "blurb": "A request every interval, answered at once.",
            },
        ],
    }
    return render(request, "playground/playground.html", context)
