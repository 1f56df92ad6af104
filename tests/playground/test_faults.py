"""Faults (REALTIME.md §3) through the real stack: the endpoint, then each fault on each transport with
the recovery a client performs, counting events lost, duplicated and recovered exactly."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from config.asgi import application
from playground import faults
from playground.log import Event, get_hub
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture(autouse=True)
def clean_registry():
    faults.registry.learners.clear()
    yield
    faults.registry.learners.clear()


class Learner:
    """A logged-in learner: an AsyncClient for the endpoint, the session cookie for the streams."""

    def __init__(self, client, cookie):
        self.client, self.cookie = client, cookie

    async def fault(self, kind, params=None, conn=None, expect=201):
        body = {"kind": kind, "params": params or {}}
        if conn:
            body["conn"] = conn
        r = await self.client.post("/playground/faults/", json.dumps(body), content_type="application/json")
        assert r.status_code == expect, r.content
        return r.json()

    async def heal(self, **body):
        r = await self.client.post(
            "/playground/faults/heal/", json.dumps(body), content_type="application/json"
        )
        assert r.status_code == 200, r.content
        return r.json()

    def socket(self, path):
        headers = [ORIGIN, (b"host", b"testserver"), (b"cookie", f"sessionid={self.cookie}".encode())]
        comm = WebsocketCommunicator(application, path, headers=headers)
        comm.scope["client"] = ("10.0.0.1", 50000)
        return comm

    def http(self, path, query=b"", headers=()):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", f"sessionid={self.cookie}".encode()), *headers],
            "client": ("10.0.0.1", 40000),
            "server": ("testserver", 80),
        }
        return ApplicationCommunicator(application, scope)


async def make_learner(username):
    user = await sync_to_async(UserFactory)(username=username)
    client = AsyncClient()
    await client.aforce_login(user)
    return Learner(client, client.cookies["sessionid"].value)


@pytest.fixture
async def ann():
    return await make_learner("ann")


@pytest.fixture
async def bob():
    return await make_learner("bob")


async def publish(n, stream="room-f"):
    hub = get_hub()
    return [(await hub.publish(stream, "chat", {"user": "x", "text": str(i)})).id for i in range(n)]


async def ws_frames(comm, *, events, limit=3.0):
    """Frames until ``events`` events (frames with an id) arrived; returns (events, controls)."""
    got, controls = [], []
    async with asyncio.timeout(limit):
        while len(got) < events:
            msg = await comm.receive_json_from(timeout=limit)
            (got if "id" in msg else controls).append(msg)
    return got, controls


async def events_within(comm, seconds):
    """Events (frames with an id) that arrive within ``seconds``; control frames are skipped."""
    got = []
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        if await comm.receive_nothing(timeout=left):
            break
        msg = await comm.receive_json_from()
        if "id" in msg:
            got.append(msg)
    return got


async def ws_close_code(comm, limit=3.0):
    async with asyncio.timeout(limit):
        while True:
            out = await comm.receive_output(timeout=limit)
            if out["type"] == "websocket.close":
                return out["code"]


class Tally:
    """What a client counts (L7): in-order events applied, duplicates dropped, replayed events."""

    def __init__(self):
        self.seen, self.dups, self.recovered, self.lost = [], 0, 0, 0

    def take(self, ids, *, replay=False):
        for i in ids:
            if self.seen and i <= self.seen[-1]:
                self.dups += 1
                continue
            self.seen.append(i)
            self.recovered += replay

    @property
    def last(self):
        return self.seen[-1] if self.seen else 0


# --- the endpoint --------------------------------------------------------------------------------


async def test_fault_list_anonymous_is_refused():
    r = await AsyncClient().post("/playground/faults/", "{}", content_type="application/json")
    assert r.status_code == 403
    assert r.json()["error"] == "login_required"


async def test_fault_post_without_csrf_token_is_refused(ann):
    client = AsyncClient(enforce_csrf_checks=True)
    client.cookies = ann.client.cookies
    r = await client.post(
        "/playground/faults/", json.dumps({"kind": "drop"}), content_type="application/json"
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "nuke"}, "kind must be one of drop, latency, loss, pause, buffering, offline, restart"),
        ({"kind": 5}, "kind must be one of drop, latency, loss, pause, buffering, offline, restart"),
        ({"kind": "latency", "params": {"ms": 5001}}, "ms must be between 0 and 5000 (got 5001)"),
        ({"kind": "latency", "params": {"ms": -1}}, "ms must be between 0 and 5000 (got -1)"),
        ({"kind": "latency", "params": {"ms": "200"}}, "ms must be an integer between 0 and 5000"),
        ({"kind": "latency", "params": {"ms": 1.5}}, "ms must be an integer between 0 and 5000"),
        ({"kind": "latency", "params": {"ms": True}}, "ms must be an integer between 0 and 5000"),
        ({"kind": "latency", "params": {}}, "ms is required"),
        ({"kind": "loss", "params": {"p": 1.5}}, "p must be between 0 and 1 (got 1.5)"),
        ({"kind": "loss", "params": {"p": None}}, "p is required"),
        ({"kind": "pause", "params": {"seconds": 61}}, "seconds must be between 1 and 60 (got 61)"),
        ({"kind": "offline", "params": {"seconds": 0}}, "seconds must be between 1 and 60 (got 0)"),
        ({"kind": "pause", "params": {"seconds": 5, "evil": 1}}, "unknown parameter for pause: evil"),
        ({"kind": "drop", "params": []}, "params must be an object"),
        ({"kind": "drop", "extra": 1}, "unknown field: extra"),
        (
            {"kind": "drop", "conn": "../x"},
            "conn must be a connection id (letters, digits, - and _, at most 40)",
        ),
    ],
)
async def test_fault_post_bad_input_is_400_with_message(ann, body, message):
    r = await ann.client.post("/playground/faults/", json.dumps(body), content_type="application/json")
    assert r.status_code == 400
    assert r.json() == {"error": "invalid", "message": message}


async def test_fault_post_not_json_and_huge_bodies(ann):
    r = await ann.client.post("/playground/faults/", "kind=drop", content_type="application/json")
    assert (r.status_code, r.json()["error"]) == (400, "bad_json")
    r = await ann.client.post("/playground/faults/", "[1]", content_type="application/json")
    assert (r.status_code, r.json()["error"]) == (400, "bad_json")
    huge = json.dumps({"kind": "drop", "pad": "x" * 3000})
    r = await ann.client.post("/playground/faults/", huge, content_type="application/json")
    assert (r.status_code, r.json()["error"]) == (413, "too_large")


async def test_fault_on_another_learners_connection_is_404(ann, bob):
    comm = bob.socket("/ws/playground/room-f/?conn=bobs-pane")
    await comm.connect()
    await comm.receive_json_from()  # hello: the connection is registered
    body = await ann.fault("drop", conn="bobs-pane", expect=404)
    assert body["error"] == "unknown_connection"
    assert await comm.receive_nothing(timeout=0.3) or (await comm.receive_json_from())["type"] != "close"
    await bob.fault("latency", {"ms": 10}, conn="bobs-pane")  # his own: accepted
    await comm.disconnect()


async def test_fault_limits_and_listing_and_heal(ann):
    for _ in range(faults.MAX_PLANS_PER_LEARNER):
        await ann.fault("latency", {"ms": 100})
    body = await ann.fault("loss", {"p": 0.5}, expect=400)
    assert body["message"] == "at most 12 faults at once: heal some first"
    r = await ann.client.get("/playground/faults/")
    listing = r.json()
    assert len(listing["active"]) == 12
    assert listing["active"][0]["kind"] == "latency"
    assert listing["active"][0]["params"] == {"ms": 100, "jitter_ms": 0, "seconds": 60}
    healed = await ann.heal(id=listing["active"][0]["id"])
    assert (healed["healed"], len(healed["active"])) == (1, 11)
    healed = await ann.heal()
    assert (healed["healed"], healed["active"]) == (11, [])
    r = await ann.client.get("/playground/faults/heal/")
    assert r.status_code == 405


async def test_faults_expire_on_their_own(ann, time_machine):
    time_machine.move_to("2026-01-01 12:00:00", tick=False)
    await ann.fault("latency", {"ms": 100, "seconds": 30})
    await ann.fault("offline", {"seconds": 5})
    assert [f["kind"] for f in (await ann.client.get("/playground/faults/")).json()["active"]] == [
        "latency",
        "offline",
    ]
    time_machine.move_to("2026-01-01 12:00:06", tick=False)
    assert [f["kind"] for f in (await ann.client.get("/playground/faults/")).json()["active"]] == ["latency"]
    time_machine.move_to("2026-01-01 12:00:31", tick=False)
    assert (await ann.client.get("/playground/faults/")).json()["active"] == []


# --- drop -----------------------------------------------------------------------------------------


async def test_drop_ws_then_resume_with_after_loses_nothing(ann):
    await publish(3)
    tally = Tally()
    comm = ann.socket("/ws/playground/room-f/?after=0&conn=ws1")
    await comm.connect()
    got, _ = await ws_frames(comm, events=3)
    tally.take([e["id"] for e in got])
    await ann.fault("drop", conn="ws1")
    assert await ws_close_code(comm) == faults.CLOSE_DROPPED
    await publish(2)  # while it is away
    comm = ann.socket(f"/ws/playground/room-f/?after={tally.last}&conn=ws1")
    await comm.connect()
    got, controls = await ws_frames(comm, events=2)
    tally.take([e["id"] for e in got], replay=True)
    assert controls[0]["replayed"] == 2
    assert (tally.seen, tally.dups, tally.recovered, tally.lost) == ([1, 2, 3, 4, 5], 0, 2, 0)
    await comm.disconnect()


async def sse_read(comm, *, events, limit=3.0):
    """(event ids, control event names, ended) from SSE chunks until ``events`` events or the end."""
    ids, controls, buf = [], [], ""
    async with asyncio.timeout(limit):
        while len(ids) < events:
            msg = await comm.receive_output(timeout=limit)
            buf += msg.get("body", b"").decode()
            while "\n\n" in buf:
                block, buf = buf.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.split("\n") if not line.startswith(":"))
                if "data" in fields and fields.get("event") not in (
                    "hello",
                    "heartbeat",
                    "presence",
                    "reset",
                ):
                    ids.append(int(fields["id"]))
                elif "event" in fields:
                    controls.append((fields["event"], fields.get("id")))
            if not msg.get("more_body", False):
                return ids, controls, True
    return ids, controls, False


async def sse_until_end(comm, limit=3.0):
    async with asyncio.timeout(limit):
        while True:
            msg = await comm.receive_output(timeout=limit)
            if not msg.get("more_body", False):
                return


async def test_drop_sse_ends_response_and_last_event_id_resumes(ann):
    await publish(2)
    tally = Tally()
    comm = ann.http("/playground/room-f/events/", b"after=0&conn=sse1")
    await comm.send_input({"type": "http.request", "body": b""})
    assert (await comm.receive_output(timeout=2))["status"] == 200
    ids, _, _ = await sse_read(comm, events=2)
    tally.take(ids)
    await ann.fault("drop", conn="sse1")
    await sse_until_end(comm)  # the response ended mid-stream: EventSource reconnects by itself
    await publish(3)
    comm = ann.http("/playground/room-f/events/", b"conn=sse1", headers=[(b"last-event-id", b"2")])
    await comm.send_input({"type": "http.request", "body": b""})
    assert (await comm.receive_output(timeout=2))["status"] == 200
    ids, controls, _ = await sse_read(comm, events=3)
    tally.take(ids, replay=True)
    assert controls[0] == ("hello", None)
    assert (tally.seen, tally.dups, tally.recovered) == ([1, 2, 3, 4, 5], 0, 3)
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)


async def poll_once(learner, query, limit=5.0):
    comm = learner.http("/playground/room-f/poll/", query)
    await comm.send_input({"type": "http.request", "body": b""})
    head = await comm.receive_output(timeout=limit)
    body = await comm.receive_output(timeout=limit)
    return head["status"], json.loads(body["body"])


async def until_held(conn):
    """Wait until a request of ``conn`` is being held by the server (its guard is registered)."""
    async with asyncio.timeout(2):
        while not any(g.conn == conn for st in faults.registry.learners.values() for g in st.guards):  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_drop_held_long_poll_is_503_and_same_cursor_retry_loses_nothing(ann):
    await publish(1)
    held = asyncio.create_task(poll_once(ann, b"after=1&timeout=5&conn=lp1"))
    await until_held("lp1")
    await ann.fault("drop", conn="lp1")
    status, body = await held
    assert (status, body["error"]) == (503, "dropped")
    await publish(2)
    status, body = await poll_once(ann, b"after=1&timeout=5&conn=lp1")
    assert status == 200
    assert [e["id"] for e in body["events"]] == [2, 3]


async def test_drop_between_short_polls_fails_the_next_one_only(ann):
    await publish(1)
    assert (await poll_once(ann, b"after=1&timeout=0&conn=sp1"))[0] == 200
    await ann.fault("drop", conn="sp1")
    status, body = await poll_once(ann, b"after=1&timeout=0&conn=sp1")
    assert (status, body["error"]) == (503, "dropped")
    await publish(1)
    status, body = await poll_once(ann, b"after=1&timeout=0&conn=sp1")
    assert (status, [e["id"] for e in body["events"]]) == (200, [2])


# --- latency, loss, pause, buffering --------------------------------------------------------------


async def test_latency_delays_ws_writes_in_order(ann):
    comm = ann.socket("/ws/playground/room-f/?after=0&conn=ws1")
    await comm.connect()
    await comm.receive_json_from()  # hello
    await ann.fault("latency", {"ms": 400, "jitter_ms": 100}, conn="ws1")
    await publish(5)
    assert await events_within(comm, 0.25) == []  # no event before the delay
    got, _ = await ws_frames(comm, events=5)
    assert [e["id"] for e in got] == [1, 2, 3, 4, 5]  # jitter never reorders
    await comm.disconnect()


async def test_latency_delays_a_poll_answer(ann):
    await publish(1)
    await poll_once(ann, b"after=1&timeout=0&conn=sp1")
    await ann.fault("latency", {"ms": 500}, conn="sp1")
    task = asyncio.create_task(poll_once(ann, b"after=0&timeout=0&conn=sp1"))
    await asyncio.sleep(0.3)
    assert not task.done()
    status, body = await task
    assert (status, [e["id"] for e in body["events"]]) == (200, [1])


async def test_loss_ws_skips_events_and_the_resume_refills_them(ann):
    comm = ann.socket("/ws/playground/room-f/?after=0&conn=ws1")
    await comm.connect()
    await comm.receive_json_from()
    await publish(1)
    tally = Tally()
    got, _ = await ws_frames(comm, events=1)
    tally.take([e["id"] for e in got])
    await ann.fault("loss", {"p": 1.0}, conn="ws1")
    await publish(3)  # 2, 3, 4: all skipped
    assert await events_within(comm, 0.3) == []
    await ann.heal(conn="ws1")
    await publish(1)  # 5 arrives: a jump from 1 to 5 (L7) → reconnect with ?after=1
    got, _ = await ws_frames(comm, events=1)
    assert got[0]["id"] == 5
    assert got[0]["id"] > tally.last + 1
    await comm.disconnect()
    comm = ann.socket(f"/ws/playground/room-f/?after={tally.last}&conn=ws1")
    await comm.connect()
    got, _ = await ws_frames(comm, events=4)
    tally.take([e["id"] for e in got], replay=True)
    assert (tally.seen, tally.dups, tally.recovered, tally.lost) == ([1, 2, 3, 4, 5], 0, 4, 0)
    await comm.disconnect()


async def test_loss_drops_poll_answers_and_the_cursor_retry_gets_them(ann):
    await publish(2)
    await poll_once(ann, b"after=2&timeout=0&conn=sp1")
    await ann.fault("loss", {"p": 1.0}, conn="sp1")
    status, body = await poll_once(ann, b"after=0&timeout=0&conn=sp1")
    assert (status, body["error"]) == (503, "lost")
    await ann.heal()
    status, body = await poll_once(ann, b"after=0&timeout=0&conn=sp1")
    assert [e["id"] for e in body["events"]] == [1, 2]


@pytest.mark.slow
async def test_pause_stops_writes_and_heartbeats_then_bursts_in_order(ann):
    comm = ann.socket("/ws/playground/room-f/?after=0&conn=ws1")
    await comm.connect()
    await comm.receive_json_from()
    await ann.fault("pause", {"seconds": 1}, conn="ws1")
    for _ in range(3):  # a frame already on its way when the pause began (presence, heartbeat) may land
        if await comm.receive_nothing(timeout=0.05):
            break
        await comm.receive_output()
    await publish(3)
    # heartbeats come every 0.2 s in tests: a paused connection gets none, and no events
    assert await comm.receive_nothing(timeout=0.6)
    got, _ = await ws_frames(comm, events=3)
    assert [e["id"] for e in got] == [1, 2, 3]
    await comm.disconnect()


async def sse_text_until(comm, needle, limit=3.0):
    text = ""
    async with asyncio.timeout(limit):
        while needle not in text:
            text += (await comm.receive_output(timeout=limit))["body"].decode()
    return text


async def test_buffering_proxy_holds_sse_until_8_kib(ann, settings):
    settings.PLAYGROUND_HEARTBEAT_SECONDS = 30
    comm = ann.http("/playground/room-f/events/", b"after=0&conn=sse1")
    await comm.send_input({"type": "http.request", "body": b""})
    await comm.receive_output(timeout=2)
    await sse_text_until(comm, "event: hello")
    await ann.fault("buffering", {}, conn="sse1")
    block = len((await get_hub().publish("room-f", "chat", {"user": "x", "text": "y" * 200})).sse().encode())
    held = ""
    while not await comm.receive_nothing(timeout=0.3):  # presence updates are held too
        held += (await comm.receive_output())["body"].decode()
    assert "event: chat" not in held  # held by the "proxy"
    per_flush = -(-faults.SSE_PROXY_BUFFER // block)
    for _ in range(per_flush - 1):
        await get_hub().publish("room-f", "chat", {"user": "x", "text": "y" * 200})
    ids, _, _ = await sse_read(comm, events=per_flush)
    assert ids == list(range(1, per_flush + 1))  # released together, in order
    await comm.send_input({"type": "http.disconnect"})
    await comm.wait(timeout=2)


@pytest.mark.slow
async def test_buffering_proxy_releases_poll_answers_in_batches(ann):
    await publish(1)
    await poll_once(ann, b"after=1&timeout=0&conn=sp1")
    await ann.fault("buffering", {"batch_seconds": 1}, conn="sp1")
    await asyncio.sleep(0.1)
    task = asyncio.create_task(poll_once(ann, b"after=0&timeout=0&conn=sp1"))
    await asyncio.sleep(0.5)
    assert not task.done()  # held until the batch boundary
    status, body = await task
    assert (status, [e["id"] for e in body["events"]]) == (200, [1])


# --- offline and restart --------------------------------------------------------------------------


async def test_offline_cuts_refuses_then_resumes_without_gap(ann):
    comm = ann.socket("/ws/playground/room-f/?after=0&conn=ws1")
    await comm.connect()
    await comm.receive_json_from()
    await publish(2)
    got, _ = await ws_frames(comm, events=2)
    await ann.fault("offline", {"seconds": 30})
    assert await ws_close_code(comm) == faults.CLOSE_OFFLINE
    retry = ann.socket("/ws/playground/room-f/?after=2&conn=ws1")
    await retry.connect()
    assert await ws_close_code(retry) == faults.CLOSE_OFFLINE  # refused while offline
    status, body = await poll_once(ann, b"after=2&timeout=0&conn=sp1")
    assert (status, body["error"]) == (503, "offline")
    await publish(2)
    await ann.heal()
    back = ann.socket("/ws/playground/room-f/?after=2&conn=ws1")
    await back.connect()
    got, controls = await ws_frames(back, events=2)
    assert ([e["id"] for e in got], controls[0]["replayed"]) == ([3, 4], 2)
    await back.disconnect()


async def test_restart_answers_every_resume_with_an_explicit_reset(ann):
    await publish(3)
    ws = ann.socket("/ws/playground/room-f/?after=0&conn=ws1")
    await ws.connect()
    await ws_frames(ws, events=3)
    await ann.fault("restart", {"downtime_seconds": 0})
    assert await ws_close_code(ws) == faults.CLOSE_RESTART
    await publish(2)
    # WebSocket: hello + reset to the newest id, nothing replayed: the gap is explicit, never silent
    ws = ann.socket("/ws/playground/room-f/?after=3&conn=ws1")
    await ws.connect()
    hello = await ws.receive_json_from()
    reset = await ws.receive_json_from()
    assert (hello["type"], hello["replayed"], hello["restarted"]) == ("hello", 0, True)
    assert (reset["type"], reset["last_id"], reset["emulated"]) == ("reset", 5, True)
    await publish(1)
    got, _ = await ws_frames(ws, events=1)
    assert got[0]["id"] == 6  # live again from newest + 1
    await ws.disconnect()
    # SSE: event: reset with id: newest (moves Last-Event-ID)
    sse = ann.http("/playground/room-f/events/", b"conn=sse1", headers=[(b"last-event-id", b"3")])
    await sse.send_input({"type": "http.request", "body": b""})
    await sse.receive_output(timeout=2)
    text = await sse_text_until(sse, "event: reset")
    assert "id: 6\nevent: reset\n" in text
    await sse.send_input({"type": "http.disconnect"})
    await sse.wait(timeout=2)
    # Long poll: the contract's 410, counted from the cursor (lost = oldest_id - after - 1 = 3)
    status, body = await poll_once(ann, b"after=3&timeout=0&conn=lp1")
    assert (status, body) == (410, {"error": "gap", "oldest_id": 7, "reset": True})
    status, body = await poll_once(ann, b"after=3&timeout=0&conn=lp1")
    assert (status, [e["id"] for e in body["events"]]) == (200, [4, 5, 6])  # only the first resume


# --- isolation ------------------------------------------------------------------------------------


async def test_faults_reach_only_the_learners_own_connections(ann, bob):
    bob_ws = bob.socket("/ws/playground/room-f/?after=0&conn=pane")
    ann_ws = ann.socket("/ws/playground/room-f/?after=0&conn=pane")  # same pane id, other learner
    for comm in (bob_ws, ann_ws):
        await comm.connect()
        await comm.receive_json_from()
    await ann.fault("loss", {"p": 1.0})
    await ann.fault("pause", {"seconds": 5})
    await publish(3)
    got, _ = await ws_frames(bob_ws, events=3)
    assert [e["id"] for e in got] == [1, 2, 3]  # Bob sees everything
    await ann.fault("drop")
    assert await ws_close_code(ann_ws) == faults.CLOSE_DROPPED
    await ann.fault("offline", {"seconds": 10})
    await publish(1)
    got, _ = await ws_frames(bob_ws, events=1)
    assert got[0]["id"] == 4  # still connected, still live
    listing = (await bob.client.get("/playground/faults/")).json()
    assert listing == {"active": [], "connections": [{"conn": "pane", "transport": "ws", "open": True}]}
    await bob_ws.disconnect()


async def test_faults_on_the_ticker_reach_only_the_learner(ann, bob):
    bob_ws = bob.socket("/ws/playground/ticker/?conn=t")
    ann_ws = ann.socket("/ws/playground/ticker/?conn=t")
    for comm in (bob_ws, ann_ws):
        await comm.connect()
        await comm.receive_json_from()
    await ann.fault("drop")
    assert await ws_close_code(ann_ws) == faults.CLOSE_DROPPED
    got, _ = await ws_frames(bob_ws, events=2)  # ticks keep coming to Bob
    assert got[1]["id"] == got[0]["id"] + 1
    await bob_ws.disconnect()


async def test_anonymous_connections_get_no_guard():
    items = object()
    assert faults.guarded(items, keys=["ip:1.2.3.4"], conn="c", transport="ws") is items


def test_registry_forgets_idle_learners(time_machine):
    time_machine.move_to("2026-01-01 12:00:00", tick=False)
    registry = faults.Registry()
    registry.seen("s:gone", "pane", "short_poll")
    registry.add("s:gone", "latency", faults.validate("latency", {"ms": 10, "seconds": 30}), None)
    time_machine.move_to("2026-01-01 12:05:00", tick=False)
    registry.state("s:someone-else")
    assert list(registry.learners) == ["s:someone-else"]


async def _items(n, gate=None):
    for i in range(1, n + 1):
        if gate is not None and i == 2:
            await gate.wait()
        yield Event(i, "tick", 0, {}, "e")


async def test_guard_without_plans_pulls_straight_from_the_source():
    guard = faults.Guard("s:fast", "c1", "ws")
    before = len(asyncio.all_tasks())
    got = []
    async for item in guard.wrap(_items(3)):
        got.append(item.id)
        assert len(asyncio.all_tasks()) == before  # no reader task on the no-fault path
    assert got == [1, 2, 3]
    assert faults.registry.learners["s:fast"].guards == set()


async def test_guard_kick_while_idle_on_the_fast_path_ends_at_once():
    guard = faults.Guard("s:fast", "c1", "ws")
    gate = asyncio.Event()
    stream = guard.wrap(_items(3, gate))
    assert (await anext(stream)).id == 1
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    faults.registry.add("s:fast", "drop", {}, "c1")
    with pytest.raises(faults.FaultClose) as closed:
        await asyncio.wait_for(waiting, 2)
    assert closed.value.code == faults.CLOSE_DROPPED


async def test_guard_plan_posted_while_idle_applies_to_the_next_item():
    guard = faults.Guard("s:fast", "c1", "ws")
    gate = asyncio.Event()
    stream = guard.wrap(_items(3, gate))
    assert (await anext(stream)).id == 1
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    faults.registry.add("s:fast", "loss", faults.validate("loss", {"p": 1}), "c1")
    gate.set()
    with pytest.raises(StopAsyncIteration):  # every later event is lost, the source ends
        await asyncio.wait_for(waiting, 2)
