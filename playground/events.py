"""Publishing to playground streams: the ticker task, WebSocket ``send`` and the send view all end here."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from playground.log import TICKER, Event, Hub, is_valid_stream

MAX_CHAT_CHARS = 500
_SPACES = re.compile(r"\s+")


class SendRefused(Exception):
    """A chat message was refused: ``code`` is one of login_required, rate_limited, invalid, not_a_room."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def clean_chat_text(text: Any) -> str:
    """One line of printable text: control and format characters dropped, whitespace collapsed."""
    if not isinstance(text, str):
        raise SendRefused("invalid", "text must be a string", 400)
    kept = "".join(
        " " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C" or ch.isspace()
    )
    text = _SPACES.sub(" ", kept).strip()
    if not text:
        raise SendRefused("invalid", "text is empty", 400)
    if len(text) > MAX_CHAT_CHARS:
        raise SendRefused("invalid", f"text is longer than {MAX_CHAT_CHARS} characters", 400)
    return text


async def publish_chat(*, hub: Hub, stream: str, user_id: int | None, user_name: str, text: Any) -> Event:
    """Checks login, room, text and rate (in that order), then publishes one ``chat`` event."""
    if user_id is None:
        raise SendRefused("login_required", "log in to send messages", 403)
    if not is_valid_stream(stream) or stream == TICKER:
        raise SendRefused("not_a_room", "messages can only be sent to a room-<name> stream", 400)
    clean = clean_chat_text(text)
    if not await hub.caps.take_send_token(f"user:{user_id}"):
        raise SendRefused("rate_limited", "too many messages: wait a few seconds", 429)
    return await hub.publish(stream, "chat", {"user": user_name, "text": clean})
