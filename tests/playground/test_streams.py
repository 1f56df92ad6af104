"""SSE and long/short polling, streamed for real through both paths: StreamsApp (config.asgi's
fast path) and the async Django views behind it (Django's ASGI handler)."""

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from config.asgi import application
from playground import log
from playground.log import get_hub
from playground.streams import parse_timeout

APPS = {"fast": lambda: application, "django": get_asgi_application}


@pytest.fixture(params=["fast", "django"])
def app(request):
    return APPS[request.param]()


def http_scope(path, query=b"", headers=(), ip="10.0.0.1", method="GET"):
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": (ip, 40000),
        "server": ("testserver", 80),
    }


async def start(app, path, query=b"", headers=(), **kw):
    comm = ApplicationCommunicator(app, http_scope(path, query, headers, **kw))
    await comm.send_input({"type": "http.request", "body": b""})
    head = await comm.receive_output(timeout=2)
    assert head["type"] == "http.response.start"
    return comm, head["status"], {k.decode().lower(): v.decode() for k, v in head["headers"]}


async def body_of(comm):
    chunks = []
    while True:
        msg = await comm.receive_output(timeout=3)
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            return b"".join(chunks)


def parse_sse(text):
    """A small parser after WHATWG §9.2.6: join data lines, strip one space, skip comments, digits-only retry."""
    events, comments, retry = [], [], None
    fields = {"data": []}
    for line in text.split("\n"):
        if line == "":
            if fields["data"] or "event" in fields or "id" in fields:
                events.append({**fields, "data": "\n".join(fields["data"])})
            fields = {"data": []}
            continue
        if line.startswith(":"):
            comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            fields["data"].append(value)
        elif name == "retry" and value.isdigit():
            retry = int(value)
        elif name in ("id", "event"):
            fields[name] = value
    return events, comments, retry


async def read_sse_until(comm, predicate, limit=3.0):
    text = ""
    deadline = asyncio.get_running_loop().time() + limit
    while True:
        msg = await comm.receive_output(timeout=max(0.01, deadline - asyncio.get_running_loop().time()))
        text += msg.get("body", b"").decode()
        if predicate(text):
            return text


async def publish_n(stream, n):
    hub = get_hub()
    return [await hub.publish(stream, "chat", {"user": "u", "text": f"m{i}"}) for i in range(n)]


def event_ids(text):
    return [int(e["id"]) for e in parse_sse(text)[0] if e.get("event") == "chat"]


# --- SSE --------------------------------------------------------------------------------------


async def test_sse_last_event_id_resume_no_gap_no_dup(app):
    await publish_n("room-t", 3)
    comm, status, headers = await start(app, "/playground/room-t/events/", headers=[(b"last-event-id", b"1")])
    assert status == 200
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    first = (await comm.receive_output(timeout=2))["body"].decode()
    assert first == ": connected\nretry: 3000\n\n"
    text = await read_sse_until(comm, lambda t: event_ids(t)[-1:] == [3])
    assert event_ids(text) == [2, 3]
    hello = next(e for e in parse_sse(text)[0] if e["event"] == "hello")
    assert "id" not in hello  # control messages never move Last-Event-ID
    assert json.loads(hello["data"])["resumed_from"] == 1
    await publish_n("room-t", 1)
    text += await read_sse_until(comm, lambda t: "id: 4\n" in t)
    assert event_ids(text) == [2, 3, 4]
    chat = next(e for e in parse_sse(text)[0] if e.get("id") == "4")
    assert json.loads(chat["data"])["id"] == 4
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)


async def test_sse_after_query_and_header_wins(app):
    await publish_n("room-q", 3)
    comm, status, _ = await start(app, "/playground/room-q/events/", b"after=1")
    assert status == 200
    assert event_ids(await read_sse_until(comm, lambda t: "id: 3\n" in t)) == [2, 3]
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)
    comm, _, _ = await start(
        app, "/playground/room-q/events/", b"after=0", headers=[(b"last-event-id", b"2")]
    )
    assert event_ids(await read_sse_until(comm, lambda t: "id: 3\n" in t)) == [3]
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)


async def test_sse_heartbeat_comment_in_time(app):
    comm, status, _ = await start(app, "/playground/room-hb/events/")
    assert status == 200
    text = await read_sse_until(comm, lambda t: ": heartbeat\n" in t, limit=2)
    _, comments, retry = parse_sse(text)
    assert comments[0] == "connected"
    assert "heartbeat" in comments
    assert retry == 3000
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)


async def test_sse_future_cursor_gets_reset_with_newest_id(app):
    await publish_n("room-rs", 2)
    comm, _, _ = await start(app, "/playground/room-rs/events/", headers=[(b"last-event-id", b"50")])
    text = await read_sse_until(comm, lambda t: "event: reset" in t)
    reset = next(e for e in parse_sse(text)[0] if e["event"] == "reset")
    assert reset["id"] == "2"
    assert json.loads(reset["data"])["last_id"] == 2
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)


async def test_sse_unknown_stream_404(app):
    _comm, status, _ = await start(app, "/playground/nope/events/")
    assert status == 404


async def test_sse_bad_cursor_400(app):
    _comm, status, _ = await start(app, "/playground/room-t/events/", headers=[(b"last-event-id", b"x1")])
    assert status == 400


async def test_sse_disconnect_ends_server_work_and_releases_lease(app):
    comm, _status, _ = await start(app, "/playground/room-dc/events/")
    await read_sse_until(comm, lambda t: "event: hello" in t)
    hub = get_hub()
    stream = hub.logs["room-dc"]
    assert stream.local["sse"] == 1
    assert sum(hub.caps.open.values()) == 1
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)
    for _ in range(50):  # Django's path releases through the response closer, on the loop
        if not hub.caps.open:
            break
        await asyncio.sleep(0.01)
    assert stream.local["sse"] == 0
    assert stream.waiters == 0
    assert hub.caps.open == {}


async def test_sse_over_cap_429(app, settings):
    settings.PLAYGROUND_MAX_CONNECTIONS_PER_IP = 1
    comm, status, _ = await start(app, "/playground/room-cap/events/")
    assert status == 200
    _other, status, _ = await start(app, "/playground/room-cap/events/")
    assert status == 429
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)


async def test_sse_lifetime_ends_response(app, settings):
    settings.PLAYGROUND_SSE_LIFETIME_SECONDS = 0.1
    comm, _status, _ = await start(app, "/playground/room-life/events/")
    body = await body_of(comm)
    assert body.startswith(b"event: hello") or b"event: hello" in body
    assert get_hub().caps.open == {}


async def test_sse_post_is_not_allowed():
    _comm, status, _ = await start(get_asgi_application(), "/playground/room-t/events/", method="POST")
    assert status in (403, 405)  # CSRF runs first for an unsafe method


async def test_fast_path_checks_host():
    scope = http_scope("/playground/room-t/poll/", b"timeout=0")
    scope["headers"] = [(b"host", b"evil.example")]
    comm = ApplicationCommunicator(application, scope)
    await comm.send_input({"type": "http.request", "body": b""})
    assert (await comm.receive_output(timeout=2))["status"] == 400


# --- long and short polling --------------------------------------------------------------------


async def poll(app, stream, query):
    comm, status, headers = await start(app, f"/playground/{stream}/poll/", query.encode())
    return status, headers, json.loads(await body_of(comm))


async def test_poll_answers_at_once_when_newer_events_exist(app):
    evs = await publish_n("room-p", 2)
    status, headers, body = await poll(app, "room-p", "after=0&timeout=5")
    assert status == 200
    assert headers["cache-control"] == "no-store"
    assert headers["content-type"] == "application/json"
    assert body["events"] == [e.as_dict() for e in evs]
    assert body["last_id"] == 2


async def test_long_poll_holds_until_publish(app):
    comm = ApplicationCommunicator(app, http_scope("/playground/room-h/poll/", b"after=0&timeout=5"))
    await comm.send_input({"type": "http.request", "body": b""})
    assert await comm.receive_nothing(timeout=0.1) is True
    ev = (await publish_n("room-h", 1))[0]
    head = await comm.receive_output(timeout=2)
    assert head["status"] == 200
    body = json.loads(await body_of(comm))
    assert body["events"] == [ev.as_dict()]
    assert body["last_id"] == 1


async def test_long_poll_exactly_once_across_consecutive_polls(app):
    await publish_n("room-x", 3)
    seen, after = [], 0
    for _ in range(3):
        status, _, body = await poll(app, "room-x", f"after={after}&timeout=0.2")
        assert status == 200
        seen += [e["id"] for e in body["events"]]
        after = body["last_id"]
        if after == 3:
            await publish_n("room-x", 2)
    assert seen == [1, 2, 3, 4, 5]
    status, _, body = await poll(app, "room-x", f"after={after}&timeout=0.1")
    assert body == {"events": [], "last_id": 5, "epoch": body["epoch"], "presence": body["presence"]}


async def test_idle_poll_times_out_with_empty_list(app):
    await publish_n("room-i", 1)
    status, _, body = await poll(app, "room-i", "after=1&timeout=0.3")
    assert status == 200
    assert body["events"] == []
    assert body["last_id"] == 1


async def test_poll_without_after_starts_from_newest(app):
    await publish_n("room-n", 4)
    status, _, body = await poll(app, "room-n", "timeout=0")
    assert status == 200
    assert body["events"] == []
    assert body["last_id"] == 4


async def test_short_poll_answers_at_once(app):
    status, _, body = await poll(app, "room-s", "after=0&timeout=0")
    assert status == 200
    assert body["events"] == []
    assert body["last_id"] == 0


async def test_poll_stale_cursor_410_gap(app, settings):
    settings.PLAYGROUND_REPLAY_SIZE = 5
    await publish_n("room-gap", 10)
    status, _headers, body = await poll(app, "room-gap", "after=1&timeout=0")
    assert status == 410
    assert body == {"error": "gap", "oldest_id": 6}
    status, _, body = await poll(app, "room-gap", "after=5&timeout=0")
    assert status == 200
    assert [e["id"] for e in body["events"]] == [6, 7, 8, 9, 10]


async def test_poll_future_cursor_410(app):
    await publish_n("room-fut", 2)
    status, _, body = await poll(app, "room-fut", "after=9&timeout=0")
    assert status == 410
    assert body == {"error": "gap", "oldest_id": 1}


@pytest.mark.parametrize("query", ["after=abc", "after=-1", "timeout=soon", "timeout=nan"])
async def test_poll_bad_input_400(app, query):
    status, _, body = await poll(app, "room-t", query)
    assert status == 400
    assert body["error"] == "bad_request"


async def test_poll_unknown_stream_404(app):
    _comm, status, _ = await start(app, "/playground/room_bad/poll/", b"timeout=0")
    assert status == 404


def test_parse_timeout_default_and_clamp():
    assert parse_timeout(None) == 25
    assert parse_timeout("") == 25
    assert parse_timeout("0") == 0
    assert parse_timeout("2.5") == 2.5
    assert parse_timeout("31") == 30
    assert parse_timeout("-4") == 0


async def test_poll_timeout_over_30_is_clamped(app, monkeypatch):
    seen = []

    async def fake_wait(self, after, seconds):
        seen.append(seconds)
        return False

    monkeypatch.setattr(log.LogBase, "wait", fake_wait)
    status, _, _ = await poll(app, "room-c", "after=0&timeout=600")
    assert status == 200
    assert seen == [30]


async def test_held_poll_disconnect_releases_lease(app):
    comm = ApplicationCommunicator(app, http_scope("/playground/room-hd/poll/", b"after=0&timeout=5"))
    await comm.send_input({"type": "http.request", "body": b""})
    hub = get_hub()
    for _ in range(100):
        if "room-hd" in hub.logs and hub.logs["room-hd"].local["long_poll"] == 1:
            break
        await asyncio.sleep(0.01)
    assert hub.logs["room-hd"].waiters == 1
    assert sum(hub.caps.open.values()) == 1
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)
    stream = hub.logs["room-hd"]
    assert stream.local["long_poll"] == 0
    assert stream.waiters == 0
    assert hub.caps.open == {}


async def test_held_poll_over_cap_429(app, settings):
    settings.PLAYGROUND_MAX_CONNECTIONS_PER_IP = 1
    held = ApplicationCommunicator(app, http_scope("/playground/room-hc/poll/", b"after=0&timeout=5"))
    await held.send_input({"type": "http.request", "body": b""})
    await asyncio.sleep(0.05)
    status, _, body = await poll(app, "room-hc", "after=0&timeout=5")
    assert status == 429
    assert body == {"error": "too_many_connections"}
    status, _, _ = await poll(app, "room-hc", "after=0&timeout=0")  # short polls hold nothing
    assert status == 200
    await held.send_input({"type": "http.disconnect"})
    await held.wait(timeout=2)


async def test_poll_counts_in_presence_and_keeps_ticker_alive(app):
    status, _, _ = await poll(app, "ticker", "timeout=0&conn=pane1")
    assert status == 200
    hub = get_hub()
    assert hub.logs["ticker"].local_counts() == {"ws": 0, "sse": 0, "long_poll": 0, "short_poll": 1}
    assert hub.ticker_wanted() is True
    for _ in range(100):
        if hub.logs["ticker"].newest >= 1:
            break
        await asyncio.sleep(0.02)
    assert hub.logs["ticker"].newest >= 1


def test_request_headers_keeps_only_the_wanted_first_values():
    from playground.streams import request_headers

    scope = {
        "headers": [
            (b"Host", b"testserver"),
            (b"host", b"evil.example"),
            (b"user-agent", b"x" * 2000),
            (b"Last-Event-ID", b"42"),
        ]
    }
    assert request_headers(scope, (b"host", b"cookie", b"last-event-id")) == {
        "host": "testserver",
        "last-event-id": "42",
    }
    assert request_headers({}, (b"host",)) == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sessionid=abc", "abc"),
        ("csrftoken=t; sessionid=abc; other=1", "abc"),
        ("sessionid=first; sessionid=second", "first"),
        ("xsessionid=abc; sessionid", None),
        ("", None),
        (";;=;", None),
    ],
)
def test_session_key_reads_only_the_session_cookie(raw, expected):
    from playground.streams import session_key

    assert session_key(raw) == expected
