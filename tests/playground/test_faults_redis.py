"""Faults across processes (real Redis, two Daphne processes): a learner's WebSocket and SSE stream on
process A are dropped by a fault, events keep coming through process B, and the clients resume on B
from their cursors with no gap and no duplicate. Fails, not skips, under REQUIRE_SERVICES=1."""

import asyncio
import json
import secrets

import httpx
import pytest
import websockets

from tests.playground.test_two_processes import log_in, two_servers  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.services]


async def close_code(ws) -> int:
    try:
        while True:
            await ws.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code


async def scenario(port_a: int, port_b: int) -> None:
    stream = f"room-fault-{secrets.token_hex(4)}"
    a, b = f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"
    async with (
        asyncio.timeout(45),
        httpx.AsyncClient(base_url=f"http://{a}", timeout=30) as on_a,
        httpx.AsyncClient(base_url=f"http://{b}", timeout=30) as on_b,
    ):
        token = await log_in(on_a)
        cookie = f"sessionid={on_a.cookies['sessionid']}"
        on_b.cookies = on_a.cookies  # the same learner, the other process

        async def send(client, text):
            r = await client.post(
                f"/playground/{stream}/send/", data={"text": text}, headers={"X-CSRFToken": token}
            )
            assert r.status_code == 202, r.text
            return r.json()["id"]

        ws = await websockets.connect(
            f"ws://{a}/ws/playground/{stream}/?conn=pane-ws",
            origin=f"http://{a}",
            additional_headers={"Cookie": cookie},
        )
        assert json.loads(await ws.recv())["type"] == "hello"
        sse_cm = on_a.stream("GET", f"/playground/{stream}/events/", params={"conn": "pane-sse"})
        sse = await sse_cm.__aenter__()
        lines = sse.aiter_lines()
        while await anext(lines) != "event: hello":
            pass

        sent = [await send(on_a, f"m{i}") for i in range(3)]
        ws_ids, sse_ids = [], []
        while len(ws_ids) < 3:
            msg = json.loads(await ws.recv())
            if "id" in msg:
                ws_ids.append(msg["id"])
        while len(sse_ids) < 3:
            line = await anext(lines)
            if line.startswith("id: "):
                sse_ids.append(int(line.removeprefix("id: ")))
        assert ws_ids == sse_ids == sent

        r = await on_a.post("/playground/faults/", json={"kind": "drop"}, headers={"X-CSRFToken": token})
        assert r.status_code == 201, r.text
        assert await close_code(ws) == 4000
        async for _ in lines:  # the response ended mid-stream
            pass
        await sse_cm.__aexit__(None, None, None)

        sent += [await send(on_b, f"while away {i}") for i in range(2)]  # published through B meanwhile

        # Resume on the OTHER process: the cursor is valid there (ids and replay buffer in Redis).
        ws = await websockets.connect(
            f"ws://{b}/ws/playground/{stream}/?after={ws_ids[-1]}&conn=pane-ws",
            origin=f"http://{b}",
            additional_headers={"Cookie": cookie},
        )
        hello = json.loads(await ws.recv())
        assert (hello["resumed_from"], hello["replayed"]) == (ws_ids[-1], 2)
        while len(ws_ids) < 5:
            ws_ids.append(json.loads(await ws.recv())["id"])
        await ws.close()

        sse_cm = on_b.stream(
            "GET",
            f"/playground/{stream}/events/",
            params={"conn": "pane-sse"},
            headers={"Last-Event-ID": str(sse_ids[-1])},
        )
        sse = await sse_cm.__aenter__()
        lines = sse.aiter_lines()
        while len(sse_ids) < 5:
            line = await anext(lines)
            if line.startswith("id: "):
                sse_ids.append(int(line.removeprefix("id: ")))
        await sse_cm.__aexit__(None, None, None)

        poll = (await on_b.get(f"/playground/{stream}/poll/", params={"after": sent[2], "timeout": 0})).json()
        assert ws_ids == sse_ids == sent  # contiguous: nothing lost, nothing twice
        assert [e["id"] for e in poll["events"]] == sent[3:]
        assert sent == list(range(sent[0], sent[0] + 5))


def test_fault_drop_on_one_process_resumes_on_the_other_without_gap(two_servers):  # noqa: F811
    asyncio.run(scenario(*two_servers))


async def fault_crosses_processes(port_a: int, port_b: int) -> None:
    stream = f"room-fault-{secrets.token_hex(4)}"
    a, b = f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"
    async with asyncio.timeout(30), httpx.AsyncClient(base_url=f"http://{a}", timeout=20) as on_a:
        token = await log_in(on_a)
        cookie = f"sessionid={on_a.cookies['sessionid']}"
        # The learner's socket is held by B; the fault POST lands on A (as behind a load balancer).
        ws = await websockets.connect(
            f"ws://{b}/ws/playground/{stream}/?conn=pane-b",
            origin=f"http://{b}",
            additional_headers={"Cookie": cookie},
        )
        assert json.loads(await ws.recv())["type"] == "hello"
        listing = (await on_a.get("/playground/faults/")).json()
        assert {"conn": "pane-b", "transport": "ws", "open": True} in listing["connections"]
        r = await on_a.post(
            "/playground/faults/", json={"kind": "drop", "conn": "pane-b"}, headers={"X-CSRFToken": token}
        )
        assert r.status_code == 201, r.text
        assert await close_code(ws) == 4000
        other = await on_a.post(
            "/playground/faults/", json={"kind": "drop", "conn": "not-mine"}, headers={"X-CSRFToken": token}
        )
        assert other.status_code == 404


def test_fault_posted_to_one_process_reaches_the_learners_socket_on_the_other(two_servers):  # noqa: F811
    asyncio.run(fault_crosses_processes(*two_servers))
