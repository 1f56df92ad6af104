"""The playground WebSocket (REALTIME.md §2.1): events down as JSON text frames, ping/send up.

A raw ``AsyncWebsocketConsumer`` whose frames are what the page measures. Its hot path touches no
ORM: the user is resolved once at connect from the session cookie (the route is mounted outside
``AuthMiddlewareStack``, whose session and cookie wrappers would sit on every frame sent and received;
config/asgi.py), ``dispatch`` skips Channels' per-message ``aclose_old_connections()``, and there is
one receive loop (no per-consumer layer channel: the process's relay fans events out, REALTIME.md §1).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import importlib
import json
import logging
import struct
import termios
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from channels.auth import get_user
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase

from config.access_log import current_access
from playground import events, faults
from playground.limits import Lease, client_keys
from playground.log import (
    STORE_ERRORS,
    DropConnection,
    RoomsFull,
    Tap,
    conf,
    deliver,
    dumps,
    get_hub,
    now_ms,
    parse_after,
    parse_conn,
)

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096
CLOSE_DROPPED = 4000  # a fault plan ended this connection (reconnect and resume)
CLOSE_BAD_CURSOR = 4008  # malformed ?after=, or a reader too slow to keep up (1008 is refused to apps)
CLOSE_TOO_BIG = 4009  # frame over 4 KiB: RFC 6455's 1009, which Daphne does not let applications send
CLOSE_UNKNOWN_STREAM = 4404
CLOSE_TOO_MANY = 4429
CLOSE_DEGRADED = 4503  # the shared stream store (Redis) is unreachable: reconnect with backoff


def find_transport(send: Any, depth: int = 0) -> Any | None:
    """The Twisted transport behind Daphne's ``send`` (``partial(server.handle_reply, protocol)``),
    found through the middlewares' closures; None under any other server or in tests.

    ASGI gives an application no backpressure signal and Daphne accepts every ``send()`` at once, so
    this is the only place to see how much a stalled reader has left unread.
    """
    if depth > 8:
        return None
    if isinstance(send, functools.partial):
        for arg in send.args:
            transport = getattr(arg, "transport", None)
            for _ in range(4):  # Daphne's WS protocol sits on the HTTP channel, which sits on TCP
                if transport is None or type(transport).__name__ in ("Server", "Client", "Port"):
                    break
                transport = getattr(transport, "transport", None)
            if transport is not None and hasattr(transport, "_tempDataLen"):
                return transport
        return find_transport(send.func, depth + 1)
    owner = getattr(send, "__self__", None)  # a bound method, e.g. channels' InstanceSessionWrapper.send
    if owner is not None:
        inner = getattr(owner, "real_send", None) or getattr(owner, "send", None)
        if inner is not None and inner is not send:
            return find_transport(inner, depth + 1)
    for cell in getattr(send, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if callable(value) and (found := find_transport(value, depth + 1)) is not None:
            return found
    return None


def backlog_bytes(transport: Any) -> int:
    """Bytes sent to this reader and not yet read: Twisted's write buffer plus, on Linux, the
    kernel's send queue (SIOCOUTQ), which on loopback absorbs megabytes before Twisted buffers any."""
    try:
        pending = len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0
    with contextlib.suppress(AttributeError, OSError, ValueError):
        outq = fcntl.ioctl(transport.socket.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
        pending += struct.unpack("i", outq)[0]
    return pending


@functools.cache
def session_store() -> type[SessionBase]:
    return importlib.import_module(settings.SESSION_ENGINE).SessionStore


def taps_for(conn: str, scope: dict) -> Tap | None:
    """Hook for per-connection fault plans (the fault-injection work); none by default."""
    return None


class PlaygroundSocket(AsyncWebsocketConsumer):
    pump: asyncio.Task | None = None
    lease: Lease | None = None

    @classmethod
    def as_asgi(cls, **initkwargs):
        """Channels' ``as_asgi`` without its wrapper coroutine: the router awaits ``__call__`` directly
        (one frame fewer held by every open socket)."""

        def app(scope, receive, send):
            return cls(**initkwargs)(scope, receive, send)

        app.consumer_class, app.consumer_initkwargs = cls, initkwargs
        return app

    async def __call__(self, scope, receive, send):  # one receive loop; no layer channel of its own
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message):  # no per-message DB-connection housekeeping: no ORM below
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        await self.accept()  # accept first: the browser then sees 4404/4429/4503, not a bare 1006
        try:
            await self.open_stream()
        except STORE_ERRORS:
            logger.warning("playground socket: stream store unavailable", exc_info=True)
            await self.close(code=CLOSE_DEGRADED, reason="stream store unavailable")

    async def open_stream(self) -> None:
        stream = self.scope["url_route"]["kwargs"]["stream"]
        self.hub = get_hub()
        self.hub.check_store()
        try:
            self.log = await self.hub.open(stream)
        except RoomsFull:
            return await self.close(code=CLOSE_TOO_MANY, reason="too many live rooms")
        if self.log is None:
            return await self.close(code=CLOSE_UNKNOWN_STREAM, reason="unknown stream")
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        try:
            after = parse_after(query.get("after", [None])[-1])
        except ValueError:
            return await self.close(code=CLOSE_BAD_CURSOR, reason="after must be an integer")
        await self.resolve_user()
        self.conn = parse_conn(query.get("conn", [None])[-1])
        lease = await self.hub.caps.acquire(client_keys(self.client_ip(), self.session_cookie()))
        if lease is None:
            return await self.close(code=CLOSE_TOO_MANY, reason="too many connections")
        self.lease = lease
        self.pump = asyncio.create_task(self.forward(after, await self.log.head()))

    async def resolve_user(self) -> None:
        """Who is connected, looked up once: the session named by the cookie (no cookie, no query).

        ``scope["user"]`` wins when an auth middleware already resolved it (tests, other mounts)."""
        user = self.scope.get("user")
        if user is None and (key := self.session_cookie()):
            user = await get_user({"session": session_store()(session_key=key)})
        self.user_id = user.pk if user is not None and user.is_authenticated else None
        self.user_name = user.name if self.user_id else ""
        if (access := current_access()) is not None:
            access.user_id = self.user_id  # the access log's ws_close line names the learner

    def client_ip(self) -> str | None:
        client = self.scope.get("client")
        return client[0] if client else None

    def session_cookie(self) -> str | None:
        cookies = self.scope.get("cookies")
        if cookies is None:  # without CookieMiddleware (bare consumer in tests)
            raw = dict(self.scope.get("headers", [])).get(b"cookie", b"").decode("latin1")
            cookies = {k: v.value for k, v in SimpleCookie(raw).items()}
        return cookies.get(settings.SESSION_COOKIE_NAME)

    async def forward(self, after: int | None, newest: int) -> None:
        tap = taps_for(self.conn, self.scope)
        keys = client_keys(self.client_ip(), self.session_cookie())
        extra = {"request_header_bytes": self.request_header_bytes()}
        try:
            items = deliver(
                self.log, after, transport="ws", conn=self.conn, tap=tap, hello_extra=extra, newest=newest
            )
            # The learner's fault plans (playground/faults.py): drop, latency, loss, pause, offline, restart.
            transport = find_transport(self.base_send)
            limit = conf("PLAYGROUND_WS_MAX_BACKLOG_BYTES")
            async for item in faults.guarded(items, keys=keys, conn=self.conn, transport="ws"):
                await self.send(text_data=item.json())
                if transport is not None and backlog_bytes(transport) > limit:
                    # The reader stopped reading: stop queueing for it (memory stays bounded) and tell it;
                    # it resumes with ?after=<last id> and sees what it missed (or a gap).
                    return await self.close(code=CLOSE_BAD_CURSOR, reason="reader too slow")
        except DropConnection as drop:
            await self.close(
                code=getattr(drop, "code", CLOSE_DROPPED), reason=getattr(drop, "reason", "dropped")
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("playground socket: delivery failed")
            await self.close(code=1011)

    def request_header_bytes(self) -> int:
        """The upgrade request's head as it crossed the wire (the browser hides it from scripts)."""
        path = self.scope.get("raw_path") or self.scope["path"].encode()
        query = self.scope.get("query_string", b"")
        line = len(b"GET  HTTP/1.1\r\n") + len(path) + (len(query) + 1 if query else 0)
        return line + 2 + sum(len(k) + len(v) + 4 for k, v in self.scope.get("headers", []))

    async def websocket_disconnect(self, message):
        await self.disconnect(message.get("code", 1006))
        raise StopConsumer

    async def disconnect(self, code: int) -> None:
        if self.pump is not None:
            self.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.pump
        if self.lease is not None:
            await self.lease.release()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data.encode() if text_data is not None else (bytes_data or b"")
        if len(raw) > MAX_FRAME_BYTES:  # size before decoding anything
            return await self.close(code=CLOSE_TOO_BIG, reason="frame over 4096 bytes")
        try:
            msg = json.loads(raw)
        except ValueError:
            return await self.error("bad_json", "not valid JSON")
        match msg:
            case {"type": "ping", "t": int() | float() as t} if not isinstance(t, bool):
                await self.send(text_data=dumps({"type": "pong", "t": t, "ts": now_ms()}))
            case {"type": "ping"}:
                await self.error("invalid", "ping needs a numeric t (client milliseconds)")
            case {"type": "send", "text": text}:
                await self.chat(text)
            case {"type": "send"}:
                await self.error("invalid", "send needs a text field")
            case _:
                await self.error("unknown_type", "expected a JSON object with type send or ping")

    async def chat(self, text: object) -> None:
        stream = self.scope["url_route"]["kwargs"]["stream"]
        try:
            await events.publish_chat(
                hub=self.hub, stream=stream, user_id=self.user_id, user_name=self.user_name, text=text
            )
        except events.SendRefused as refusal:
            await self.error(refusal.code, refusal.message)
        except STORE_ERRORS:
            await self.error("unavailable", "the stream store is unreachable: try again shortly")

    async def error(self, code: str, message: str) -> None:
        await self.send(text_data=dumps({"type": "error", "code": code, "message": message}))
