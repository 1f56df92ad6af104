"""Structured access logs: one JSON line per HTTP request and per WebSocket open and close.

- `request_log_middleware` (first in MIDDLEWARE) logs method, path, status, duration_ms, bytes and
  user id. Streaming responses (SSE, held long polls) are logged when the stream ends, by wrapping
  their iterator: async iterators stay async, sync ones stay sync, so streaming is never buffered.
- `HttpAccessLog` wraps the whole http application in config/asgi.py, so requests answered
  before Django (the playground's SSE and poll fast path) are logged too; it counts bytes as
  they are sent and logs at the last byte (or the client's disconnect). Under it the Django
  middleware only adds the user id to the line.
- `WebSocketAccessLog` wraps the websocket application in config/asgi.py at the ASGI layer (outside
  Origin validation, so refused upgrades are logged too); `WebSocketUserNote`, placed inside the
  auth middleware, tells it who the user is without another query (the playground socket, mounted
  without that middleware, sets the user itself).
- The record being filled in (`_Request` or `_Connection`) reaches inner layers through a context
  variable (`current_access()`), not a scope entry: a scope copy per connection was ~1 KiB of every
  idle WebSocket and SSE stream (BENCHMARKS.md, idle memory). Tasks and asgiref's thread hops copy
  the context, so Django's middleware and the consumers see it.
- `JsonFormatter` renders these records (and, with DJANGO_LOG_FORMAT=json, every other record)
  as one JSON object per line.

Nothing here reads the database: the user id is taken only if the request already resolved it.
"""

import contextvars
import datetime
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware
from django.utils.functional import LazyObject, empty

logger = logging.getLogger("handshake.access")
_ACCESS: contextvars.ContextVar[Any] = contextvars.ContextVar("handshake_access", default=None)


def current_access() -> Any:
    """The access record of the request or connection being served here (None outside one)."""
    return _ACCESS.get()


ACCESS_FIELDS = "fields"  # the LogRecord attribute carrying the structured payload


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        payload: dict[str, Any] = {
            "ts": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "pid": record.process,
            "logger": record.name,
        }
        fields = getattr(record, ACCESS_FIELDS, None)
        if isinstance(fields, dict):
            payload |= fields
        else:
            payload["message"] = record.getMessage()
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, separators=(",", ":"), default=str)


def _emit(fields: dict[str, Any]) -> None:
    logger.info(fields["event"], extra={ACCESS_FIELDS: fields})


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _resolved_user_id(user: Any) -> int | None:
    """The user's pk if `user` is already loaded; None for anonymous or not yet resolved."""
    if isinstance(user, LazyObject):
        user = user.__dict__.get("_wrapped", empty)
        if user is empty:
            return None
    return getattr(user, "pk", None)


def _request_user_id(request: HttpRequest) -> int | None:
    user_id = _resolved_user_id(request.__dict__.get("user"))
    if user_id is None:  # async views resolve the user with `await request.auser()`
        user_id = _resolved_user_id(getattr(request, "_acached_user", None))
    return user_id


def _request_fields(request: HttpRequest, status: int, size: int, started: float) -> dict[str, Any]:
    return {
        "event": "http",
        "method": request.method,
        "path": request.path,
        "status": status,
        "duration_ms": _elapsed_ms(started),
        "bytes": size,
        "user_id": _request_user_id(request),
        "ip": request.META.get("REMOTE_ADDR"),
        "request_id": request.headers.get("X-Request-ID"),
    }


async def _logged_async_stream(
    content: AsyncIterator[bytes], request: HttpRequest, status: int, started: float
) -> AsyncIterator[bytes]:
    size, complete = 0, False
    try:
        async for chunk in content:
            size += len(chunk)
            yield chunk
        complete = True
    finally:  # also on client disconnect: the handler cancels the stream and CancelledError lands here
        _emit(_request_fields(request, status, size, started) | {"streamed": True, "complete": complete})


def _logged_sync_stream(
    content: Iterator[bytes], request: HttpRequest, status: int, started: float
) -> Iterator[bytes]:
    size, complete = 0, False
    try:
        for chunk in content:
            size += len(chunk)
            yield chunk
        complete = True
    finally:
        _emit(_request_fields(request, status, size, started) | {"streamed": True, "complete": complete})


def _observe(request: HttpRequest, response: HttpResponseBase, started: float) -> HttpResponseBase:
    if not logger.isEnabledFor(logging.INFO):
        return response
    note = current_access()
    if isinstance(
        note, _Request
    ):  # under HttpAccessLog (config/asgi.py), which writes the line: add the user
        note.user_id = _request_user_id(request)
        return response
    if response.streaming:
        wrap = _logged_async_stream if response.is_async else _logged_sync_stream
        response.streaming_content = wrap(response.streaming_content, request, response.status_code, started)
    else:
        _emit(_request_fields(request, response.status_code, len(response.content), started))
    return response


@sync_and_async_middleware
def request_log_middleware(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            return _observe(request, await get_response(request), started)

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            started = time.perf_counter()
            return _observe(request, get_response(request), started)

    return middleware


def _payload_size(message: dict[str, Any]) -> int:
    text = message.get("text")
    if text is not None:
        return len(text) if text.isascii() else len(text.encode("utf-8"))
    return len(message.get("bytes") or b"")


class _Connection:
    """Counters for one WebSocket connection (its counting receive and send are methods), shared with
    WebSocketUserNote and the consumers through `current_access()`."""

    __slots__ = (
        "_receive",
        "_send",
        "accepted_at",
        "bytes_in",
        "bytes_out",
        "client_code",
        "frames_in",
        "frames_out",
        "ip",
        "path",
        "server_code",
        "started",
        "user_id",
    )

    def __init__(self, scope: dict[str, Any], receive=None, send=None) -> None:
        self._receive, self._send = receive, send
        self.started = time.perf_counter()
        self.accepted_at: float | None = None
        self.path = scope.get("path", "")
        client = scope.get("client") or (None, None)
        self.ip = client[0]
        self.user_id: int | None = None
        self.bytes_in = self.bytes_out = self.frames_in = self.frames_out = 0
        self.client_code: int | None = None
        self.server_code: int | None = None

    def fields(self, event: str) -> dict[str, Any]:
        return {"event": event, "path": self.path, "user_id": self.user_id, "ip": self.ip}

    # The counting receive and send, as methods of the record (no closures or cells kept per socket).
    async def receive(self) -> dict[str, Any]:
        message = await self._receive()
        kind = message["type"]
        if kind == "websocket.receive":
            self.frames_in += 1
            self.bytes_in += _payload_size(message)
        elif kind == "websocket.disconnect":
            self.client_code = message.get("code")
        return message

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            self.frames_out += 1
            self.bytes_out += _payload_size(message)
        elif kind == "websocket.accept":
            self.opened()
        elif kind == "websocket.close" and self.server_code is None:
            self.server_code = message.get("code", 1000)
        await self._send(message)

    def opened(self) -> None:
        self.accepted_at = time.perf_counter()
        _emit(self.fields("ws_open") | {"handshake_ms": _elapsed_ms(self.started)})

    def ended(self) -> None:
        if self.accepted_at is None:  # closed before accept: Origin refused, unknown route, app error
            _emit(
                self.fields("ws_refused")
                | {"code": self.server_code, "duration_ms": _elapsed_ms(self.started)}
            )
            return
        _emit(
            self.fields("ws_close")
            | {
                "duration_ms": _elapsed_ms(self.accepted_at),
                "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out,
                "frames_in": self.frames_in,
                "frames_out": self.frames_out,
                "close_code": self.server_code if self.server_code is not None else self.client_code,
                "closed_by": "server" if self.server_code is not None else "client",
            }
        )


class WebSocketAccessLog:
    """ASGI middleware for the websocket protocol: logs open and close with duration and bytes."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket" or not logger.isEnabledFor(logging.INFO):
            return await self.app(scope, receive, send)
        conn = _Connection(scope, receive, send)
        token = _ACCESS.set(conn)
        try:
            return await self.app(scope, conn.receive, conn.send)
        finally:
            _ACCESS.reset(token)
            conn.ended()


class WebSocketUserNote:
    """Inside AuthMiddlewareStack: hands the already-resolved user id to WebSocketAccessLog."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        conn = current_access()
        if isinstance(conn, _Connection):
            conn.user_id = _resolved_user_id(scope.get("user"))
        return await self.app(scope, receive, send)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


class _Request:
    """Counters for one HTTP request under HttpAccessLog; the Django middleware sets user_id."""

    __slots__ = ("body_messages", "bytes", "disconnected", "logged", "scope", "started", "status", "user_id")

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self.started = time.perf_counter()
        self.status: int | None = None
        self.bytes = self.body_messages = 0
        self.user_id: int | None = None
        self.disconnected = self.logged = False

    def emit(self, complete: bool) -> None:
        if self.logged:
            return
        self.logged = True
        client = self.scope.get("client") or (None, None)
        fields = {
            "event": "http",
            "method": self.scope.get("method"),
            "path": self.scope.get("path"),
            "status": self.status if self.status is not None else 500,
            "duration_ms": _elapsed_ms(self.started),
            "bytes": self.bytes,
            "user_id": self.user_id,
            "ip": client[0],
            "request_id": _header(self.scope, b"x-request-id"),
        }
        if self.body_messages > 1 or not complete:  # a stream (SSE, held poll) or cut short
            fields |= {"streamed": True, "complete": complete}
        _emit(fields)


class HttpAccessLog:
    """ASGI middleware for the http protocol: one JSON line per request, at its last byte."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            return await self.app(scope, receive, send)
        note = _Request(scope)

        async def watching_receive():
            message = await receive()
            if message["type"] == "http.disconnect":
                note.disconnected = True
            return message

        async def counting_send(message):
            kind = message["type"]
            if kind == "http.response.start":
                note.status = message["status"]
            elif kind == "http.response.body":
                note.body_messages += 1
                note.bytes += len(message.get("body", b""))
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                note.emit(complete=True)

        token = _ACCESS.set(note)
        try:
            return await self.app(scope, watching_receive, counting_send)
        finally:
            _ACCESS.reset(token)
            note.emit(complete=False)  # no final body: the client left, or the app failed
