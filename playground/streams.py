"""SSE, long/short polling and send (REALTIME.md §2.2-2.4), and the ASGI fast path for the first two.

The two streaming endpoints exist twice over one core: as async Django views (what ``reverse()``
names, and what runs if ``config.asgi`` does not mount ``StreamsApp``) and as ``StreamsApp``, a
small ASGI app routed before Django. Django's ASGI handler keeps a thread (a per-request executor
for sync middleware hops) for as long as a response is open; measured numbers are in the README.
Neither path touches the ORM: caps key on the session cookie, not on a session lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.request import split_domain_port, validate_host
from django.views.decorators.http import require_GET, require_POST

from playground import events, faults
from playground.limits import Lease, client_keys
from playground.log import (
    STORE_ERRORS,
    DropConnection,
    Gap,
    Hub,
    MemoryLog,
    RedisLog,
    RoomsFull,
    Tap,
    conf,
    deliver,
    get_hub,
    parse_after,
    parse_conn,
)

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
SSE_START_HEADERS = [
    *((k.lower().encode(), v.encode()) for k, v in SSE_HEADERS.items()),
    (b"x-content-type-options", b"nosniff"),
]  # shared by every stream (a per-request copy was ~0.5 KiB per held connection)
MAX_TIMEOUT = 30.0
DEFAULT_TIMEOUT = 25.0
DEGRADED_BODY = '{"error":"degraded","message":"the stream store is unreachable: retry shortly"}'
logger = logging.getLogger(__name__)
STREAM_PATH = re.compile(r"^/playground/(?P<stream>[^/]{1,64})/(?P<kind>events|poll)/$")


class BadRequest(ValueError):
    pass


def parse_timeout(value: str | None) -> float:
    """Contract: default 25, at most 30 (clamped); 0 is short polling."""
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        raise BadRequest("timeout must be a number of seconds") from None
    if seconds != seconds:  # NaN
        raise BadRequest("timeout must be a number of seconds")
    return min(max(seconds, 0.0), MAX_TIMEOUT)


def taps_for(conn: str, keys: list[str]) -> Tap | None:
    """Hook for per-connection fault plans (the fault-injection work); none by default."""
    return None


# --- the shared core ---------------------------------------------------------------------------


async def sse_chunks(
    log: MemoryLog | RedisLog,
    after: int | None,
    *,
    conn: str,
    lease: Lease,
    tap: Tap | None,
    extra: dict,
    keys: list[str] | None = None,
    newest: int | None = None,
) -> AsyncIterator[str]:
    """A comment at once (headers flush, ``open`` fires), ``retry:``, then deliver()'s blocks.

    Ends after PLAYGROUND_SSE_LIFETIME_SECONDS (EventSource resumes by itself with Last-Event-ID).
    On disconnect the generator is cancelled: the lease is released in ``finally``.
    """
    try:
        yield f": connected\nretry: {conf('PLAYGROUND_SSE_RETRY_MS')}\n\n"
        end = time.monotonic() + conf("PLAYGROUND_SSE_LIFETIME_SECONDS")
        with contextlib.suppress(DropConnection):
            items = deliver(log, after, transport="sse", conn=conn, tap=tap, hello_extra=extra, newest=newest)
            # The learner's fault plans (playground/faults.py); a drop ends the response.
            async for item in faults.guarded(items, keys=keys or [], conn=conn, transport="sse"):
                yield item.sse()
                if time.monotonic() >= end:
                    break
    finally:
        await lease.release()


async def poll_answer(
    hub: Hub, log: MemoryLog | RedisLog, after: int | None, hold: float, *, keys: list[str], conn: str
) -> tuple[int, str]:
    """(status, JSON body) for one poll: at once if events are newer than ``after``, else hold."""
    kind = "short_poll" if hold == 0 else "long_poll"
    log.saw_poller(conn, kind)
    if after is None:
        after = await log.head()  # contract: omitting after starts from the newest event
    found = await log.since(after)
    if found == [] and hold > 0:
        lease = await hub.caps.acquire(keys)
        if lease is None:
            return 429, '{"error":"too_many_connections"}'
        log.attach("long_poll")
        try:
            if await log.wait(after, hold):
                found = await log.since(after)
        finally:
            log.detach("long_poll")
            log.saw_poller(conn, kind)
            await lease.release()
    if isinstance(found, Gap):  # fell off the buffer, or a cursor from another log (L3/L4)
        return 410, json.dumps({"error": "gap", "oldest_id": found.oldest_id})
    last_id = found[-1].id if found else after
    body = (
        '{"events":['
        + ",".join(e.json() for e in found)
        + f'],"last_id":{last_id},"epoch":"{log.epoch}","presence":{json.dumps(log.presence)}}}'
    )
    return 200, body


def request_header_bytes(method: str, raw_path: str, query: str, headers: list[tuple[bytes, bytes]]) -> int:
    """The HTTP/1.1 request head as it crossed the wire (request line + headers + CRLFs)."""
    target = raw_path + (f"?{query}" if query else "")
    size = len(f"{method} {target} HTTP/1.1\r\n") + 2
    return size + sum(len(k) + len(v) + 4 for k, v in headers)


# --- async Django views ------------------------------------------------------------------------


def degraded_503(view: Any) -> Any:
    """A Redis outage answers 503 {"error": "degraded"} (with Retry-After), not a 500."""

    @functools.wraps(view)
    async def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            get_hub().check_store()
            return await view(request, *args, **kwargs)
        except STORE_ERRORS:
            logger.warning("playground view: stream store unavailable", exc_info=True)
            response = HttpResponse(DEGRADED_BODY, status=503, content_type="application/json")
            response["Retry-After"] = "5"
            response["Cache-Control"] = "no-store"
            return response

    return wrapper


async def _open_or_404(hub: Hub, stream: str) -> MemoryLog | RedisLog:
    log = await hub.open(stream)
    if log is None:
        raise Http404("unknown stream")
    return log


def _request_keys(request: HttpRequest) -> list[str]:
    return client_keys(request.META.get("REMOTE_ADDR"), request.COOKIES.get(settings.SESSION_COOKIE_NAME))


def _django_header_bytes(request: HttpRequest) -> int:
    headers = [(k.encode(), v.encode("latin1", "replace")) for k, v in request.headers.items()]
    return request_header_bytes(
        request.method or "GET", request.path, request.META.get("QUERY_STRING", ""), headers
    )


@require_GET
@degraded_503
async def sse_events(request: HttpRequest, stream: str) -> HttpResponse:
    hub = get_hub()
    try:
        log = await _open_or_404(hub, stream)
    except RoomsFull:
        return JsonResponse({"error": "too_many_rooms"}, status=429)
    try:  # the header wins over ?after= (a browser reconnect carries both)
        after = parse_after(request.headers.get("Last-Event-ID") or request.GET.get("after"))
    except ValueError as exc:
        return JsonResponse({"error": "bad_cursor", "message": str(exc)}, status=400)
    keys = _request_keys(request)
    lease = await hub.caps.acquire(keys)
    if lease is None:  # terminal for EventSource: the pane shows FAILED and offers a retry
        return JsonResponse({"error": "too_many_connections"}, status=429)
    conn = parse_conn(request.GET.get("conn"))
    extra = {"request_header_bytes": _django_header_bytes(request)}
    body = sse_chunks(
        log,
        after,
        conn=conn,
        lease=lease,
        tap=taps_for(conn, keys),
        extra=extra,
        keys=keys,
        newest=log.newest,
    )
    response = StreamingHttpResponse(body, headers=SSE_HEADERS)
    # If the client leaves before the body starts, the generator never runs: release on close().
    response._resource_closers.append(lease.release_from_thread(asyncio.get_running_loop()))
    return response


@require_GET
@degraded_503
async def poll(request: HttpRequest, stream: str) -> HttpResponse:
    hub = get_hub()
    try:
        log = await _open_or_404(hub, stream)
        after = parse_after(request.GET.get("after"))
        timeout = parse_timeout(request.GET.get("timeout"))
    except RoomsFull:
        return JsonResponse({"error": "too_many_rooms"}, status=429)
    except ValueError as exc:
        return JsonResponse({"error": "bad_request", "message": str(exc)}, status=400)
    keys = _request_keys(request)
    conn = request.GET.get("conn") or keys[-1]
    conn = parse_conn(conn)
    status, body = await faults.guard_poll(  # the learner's fault plans (playground/faults.py)
        poll_answer(hub, log, after, timeout, keys=keys, conn=conn),
        keys=keys,
        conn=conn,
        after=after,
        newest=log.newest,
        kind="long_poll" if timeout else "short_poll",
    )
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["X-Request-Header-Bytes"] = str(_django_header_bytes(request))
    return response


@require_POST
@degraded_503
async def send(request: HttpRequest, stream: str) -> HttpResponse:
    """Publish a chat event (CSRF via middleware, login, rate limit); 202 {"id": n}."""
    user = await request.auser()
    hub = get_hub()
    text: Any = request.POST.get("text")
    if text is None and request.content_type == "application/json":
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        text = payload.get("text") if isinstance(payload, dict) else None
    try:
        if not user.is_authenticated:
            raise events.SendRefused("login_required", "log in to send messages", 403)
        if await hub.open(stream) is None:
            raise Http404("unknown stream")
        ev = await events.publish_chat(
            hub=hub, stream=stream, user_id=user.pk, user_name=user.name, text=text
        )
    except RoomsFull:
        return JsonResponse({"error": "too_many_rooms", "message": "too many live rooms"}, status=429)
    except events.SendRefused as refusal:
        return JsonResponse({"error": refusal.code, "message": refusal.message}, status=refusal.status)
    response = JsonResponse({"id": ev.id}, status=202)
    response["Cache-Control"] = "no-store"
    response["X-Request-Header-Bytes"] = str(_django_header_bytes(request))
    return response


# --- the ASGI fast path ------------------------------------------------------------------------


class StreamsApp:
    """Serves GET /playground/<stream>/events/ and /poll/ before Django; everything else goes on.

    Same contract, same core, no per-request thread: Django's handler would hold one per open
    SSE stream or held poll (README "Playground" has the measurements). No session or ORM work is
    needed: the endpoints are side-effect free and caps key on the session cookie and the IP.
    """

    def __init__(self, django_app: Any) -> None:
        self.django_app = django_app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        match = STREAM_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] not in ("GET", "HEAD"):
            return await self.django_app(scope, receive, send)
        headers = request_headers(scope, (b"host", b"cookie", b"last-event-id"))  # only what is read
        if not self._host_ok(headers.get("host", "")):
            return await self._json(send, 400, '{"error":"bad_host"}')
        started = False

        async def tracking_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._serve(scope, receive, tracking_send, match, headers)
        except STORE_ERRORS:  # Redis down: say so, never answer from a stale tail as if all were well
            logger.warning("playground %s: stream store unavailable", match["kind"], exc_info=True)
            if not started:
                await self._json(send, 503, DEGRADED_BODY, [(b"retry-after", b"5")])
            else:
                await send({"type": "http.response.body", "body": b""})

    async def _serve(self, scope: dict, receive: Any, send: Any, match: re.Match, headers: dict) -> None:
        query = scope.get("query_string", b"").decode("latin1")
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        hub = get_hub()
        hub.check_store()
        try:
            log = await hub.open(match["stream"])
        except RoomsFull:
            return await self._json(send, 429, '{"error":"too_many_rooms"}')
        if log is None:
            return await self._json(send, 404, '{"error":"unknown_stream"}')
        client = scope.get("client")
        keys = client_keys(client[0] if client else None, session_key(headers.pop("cookie", "")))
        head_bytes = request_header_bytes(
            scope["method"],
            scope.get("raw_path", b"").decode("latin1") or scope["path"],
            query,
            scope.get("headers", []),
        )
        if match["kind"] == "events":
            await self._sse(scope, receive, send, hub, log, headers, params, keys, head_bytes)
        else:
            await self._poll(receive, send, hub, log, params, keys, head_bytes)

    def _host_ok(self, host: str) -> bool:
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]
        domain, _ = split_domain_port(host)
        return bool(domain) and validate_host(domain, allowed)

    async def _json(self, send: Any, status: int, body: str, extra: list | None = None) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
            (b"content-length", str(len(body.encode())).encode()),
            *(extra or []),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})

    async def _sse(self, scope, receive, send, hub, log, headers, params, keys, head_bytes) -> None:
        try:
            after = parse_after(headers.get("last-event-id") or params.get("after"))
        except ValueError:
            return await self._json(send, 400, '{"error":"bad_cursor"}')
        lease = await hub.caps.acquire(keys)
        if lease is None:
            return await self._json(send, 429, '{"error":"too_many_connections"}')
        conn = parse_conn(params.get("conn"))
        extra = {"request_header_bytes": head_bytes}
        chunks = sse_chunks(
            log,
            after,
            conn=conn,
            lease=lease,
            tap=taps_for(conn, keys),
            extra=extra,
            keys=keys,
            newest=log.newest,
        )

        async def pump() -> None:
            await send({"type": "http.response.start", "status": 200, "headers": SSE_START_HEADERS})
            if scope["method"] == "HEAD":
                return await send({"type": "http.response.body", "body": b""})
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk.encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b""})

        try:
            await _until_disconnect(receive, pump())
        finally:
            await chunks.aclose()
            await lease.release()

    async def _poll(self, receive, send, hub, log, params, keys, head_bytes) -> None:
        try:
            after = parse_after(params.get("after"))
            timeout = parse_timeout(params.get("timeout"))
        except ValueError as exc:
            return await self._json(send, 400, json.dumps({"error": "bad_request", "message": str(exc)}))
        conn = parse_conn(params.get("conn") or keys[-1])
        work = faults.guard_poll(  # the learner's fault plans (playground/faults.py)
            poll_answer(hub, log, after, timeout, keys=keys, conn=conn),
            keys=keys,
            conn=conn,
            after=after,
            newest=log.newest,
            kind="long_poll" if timeout else "short_poll",
        )
        answer = await _until_disconnect(receive, work)
        if answer is not None:
            status, body = answer
            await self._json(send, status, body, [(b"x-request-header-bytes", str(head_bytes).encode())])


async def _until_disconnect(receive: Any, work: Any) -> Any:
    """Run ``work`` until it finishes or the client disconnects (then it is cancelled at once).

    ``work`` runs in the caller's task (one task per held request, not two): a small watcher task
    reads ``receive`` and cancels the caller when the client goes; that cancellation is absorbed here.
    """
    current = asyncio.current_task()
    gone = False

    async def disconnected() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        gone = True
        current.cancel()

    watcher = asyncio.ensure_future(disconnected())
    try:
        return await work
    except asyncio.CancelledError:
        if gone and current.uncancel() == 0:
            return None
        raise
    finally:
        watcher.cancel()  # not awaited: it holds nothing, and must not cancel us once we are done


def request_headers(scope: dict, names: tuple[bytes, ...]) -> dict[str, str]:
    """The first value of each wanted header (names lower-case): a held stream keeps only these."""
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        key = key.lower()
        if key in names and (name := key.decode("latin1")) not in out:
            out[name] = value.decode("latin1")
    return out


def session_key(raw_cookie: str) -> str | None:
    """The session cookie's value (the first, if sent twice), without parsing the other cookies."""
    wanted = settings.SESSION_COOKIE_NAME
    for part in raw_cookie.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == wanted:
            return value
    return None
