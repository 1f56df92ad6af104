"""Hostile input against a live Daphne: malformed and oversized frames, send floods, many sockets from
one IP. No crash, clear errors, the connection (or the server) keeps serving the well-behaved."""

import asyncio
import json

import httpx
import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench import clients
from tests.factories import UserFactory
from tests.reliability import live

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
STREAM = "room-hostile"


@pytest.fixture
def server(tmp_path, transactional_db, servers):
    """Daphne on this test's database file (committed rows are visible to it), memory channel layer."""
    proc = live.daphne(
        tmp_path,
        database_url=live.run_database_url(),
        PLAYGROUND_MAX_CONNECTIONS_PER_IP="40",
        PLAYGROUND_MAX_CONNECTIONS_PER_USER="12",
        PLAYGROUND_SEND_RATE_PER_MINUTE="30",
    )
    servers.append(proc.start())
    return proc


def session_cookie(user) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


async def recv_json(ws, *, skip=("hello", "presence", "heartbeat")) -> dict:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if msg.get("type") not in skip:
            return msg


async def test_malformed_frames_get_error_frames_and_the_socket_stays_open(server):
    async with connect(f"{server.ws_url}/ws/playground/{STREAM}/", origin="http://127.0.0.1") as ws:
        replies = []
        for frame in ["{not json", "[]", '{"type": "nope"}', '{"type": "ping", "t": "x"}', b"\xff\xfe\x00"]:
            await ws.send(frame)
            replies.append(await recv_json(ws))
        await ws.send('{"type": "ping", "t": 7}')
        pong = await recv_json(ws)
    assert [(r["type"], r["code"]) for r in replies] == [
        ("error", "bad_json"),
        ("error", "unknown_type"),
        ("error", "unknown_type"),
        ("error", "invalid"),
        ("error", "bad_json"),
    ]
    assert pong["type"] == "pong"
    assert pong["t"] == 7


async def send_then_recv(ws, frame: str) -> dict:
    await ws.send(frame)
    return await recv_json(ws)


async def test_oversized_frames_close_the_socket_and_the_server_keeps_serving(server):
    url = f"{server.ws_url}/ws/playground/{STREAM}/"
    async with connect(url, origin="http://127.0.0.1") as ws:
        await ws.send(json.dumps({"type": "ping", "t": 1, "pad": "x" * 5000}))
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(ws)
    assert closed.value.rcvd.code == 4009
    async with connect(url, origin="http://127.0.0.1", max_size=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:  # the reset may land while the send is still writing
            await send_then_recv(ws, "x" * (2 * 1024 * 1024))  # over Daphne's 1 MiB message limit
    # Autobahn fails the connection (1009 when its close frame gets through before the socket drops).
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
    async with connect(url, origin="http://127.0.0.1") as ws:
        await ws.send('{"type": "ping", "t": 2}')
        assert (await recv_json(ws))["t"] == 2


async def test_malformed_cursors_are_refused_with_clear_errors(server):
    async with connect(f"{server.ws_url}/ws/playground/{STREAM}/?after=-1", origin="http://127.0.0.1") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await recv_json(ws)
    assert closed.value.rcvd.code == 4008
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        sse = await client.get(f"/playground/{STREAM}/events/", headers={"Last-Event-ID": "1e9"})
        poll = await client.get(f"/playground/{STREAM}/poll/", params={"after": "abc", "timeout": "0"})
        timeout = await client.get(f"/playground/{STREAM}/poll/", params={"timeout": "soon"})
        unknown = await client.get("/playground/../etc/poll/")
    assert (sse.status_code, sse.json()["error"]) == (400, "bad_cursor")
    assert poll.status_code == 400
    assert timeout.status_code == 400
    assert unknown.status_code == 404


async def test_thousand_sockets_from_one_ip_are_capped_and_the_site_keeps_serving(server):
    opened, refused, other = [], [], []

    async def one(i: int) -> None:  # a fresh forged session cookie each time: only the IP cap can hold
        client = await clients.ws_connect(server.port, f"/ws/playground/{STREAM}/", session=f"forged{i}")
        done, _ = await asyncio.wait(
            [client.hello, client.closed], return_when=asyncio.FIRST_COMPLETED, timeout=20
        )
        if client.closed.done():
            (refused if client.closed.result() == 4429 else other).append(client.closed.result())
        elif done:
            opened.append(client)
        else:
            other.append("no answer in 60 s")

    sem = asyncio.Semaphore(50)

    async def limited(i: int) -> None:
        async with sem:
            await one(i)

    await asyncio.gather(*(limited(i) for i in range(1000)))
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        page = await client.get("/courses/")
        poll = await client.get(f"/playground/{STREAM}/poll/", params={"timeout": "0"})
    for c in opened:
        c.close()
    assert (len(opened), len(refused), other) == (40, 960, [])
    assert page.status_code == 200
    assert poll.status_code == 200  # a short poll holds no connection slot


async def test_send_flood_is_rate_limited_and_the_socket_stays_open(server):
    user = await asyncio.to_thread(UserFactory)
    cookie = await asyncio.to_thread(session_cookie, user)
    headers = {"Cookie": f"sessionid={cookie}"}
    url = f"{server.ws_url}/ws/playground/{STREAM}/"
    async with connect(url, origin="http://127.0.0.1", additional_headers=headers) as ws:
        for i in range(50):
            await ws.send(json.dumps({"type": "send", "text": f"flood {i}"}))
        await ws.send('{"type": "ping", "t": 99}')
        chats, limited, pongs = [], [], []
        while len(chats) + len(limited) < 50 or not pongs:  # chats come back through the relay: any order
            msg = await recv_json(ws)
            {"chat": chats, "pong": pongs}.get(msg["type"], limited).append(msg)
    assert [p["t"] for p in pongs] == [99]  # the socket answered after the flood
    assert len(chats) == 10  # the burst (PLAYGROUND_SEND_RATE_PER_MINUTE=30 refills one every 2 s)
    assert [m["data"]["text"] for m in chats] == [f"flood {i}" for i in range(10)]
    assert {(m["type"], m["code"]) for m in limited} == {("error", "rate_limited")}
    assert len(limited) == 40
