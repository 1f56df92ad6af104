"""Outages: Redis goes away for a few seconds; PostgreSQL drops every connection mid-request.

Redis is a private redis-server (never the system one). PostgreSQL is the system server, with a
throwaway database per test; its connections are cut with pg_terminate_backend, as a restart would.
"""

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.reliability import live

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
STREAM = "room-outage"


async def playground_state(server: live.Proc) -> tuple[int, object]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        response = await client.get(f"/playground/{STREAM}/poll/", params={"timeout": "0"})
    return response.status_code, live.json_or_text(response)


async def ws_first_message(server: live.Proc) -> tuple[str, object]:
    try:
        async with connect(
            f"{server.ws_url}/ws/playground/{STREAM}/", origin="http://127.0.0.1", open_timeout=5
        ) as ws:
            return "message", json.loads(await asyncio.wait_for(ws.recv(), 5))
    except ConnectionClosed as closed:
        return "closed", closed.rcvd.code if closed.rcvd else None
    except InvalidStatus as refused:
        return "refused", refused.response.status_code


_OUTAGE: dict = {}  # one outage observed, asserted on by the two tests below (each would cost ~30 s)


async def outage_run(tmp_path, redis_hub_settings, redis_proc, servers) -> dict:
    if not _OUTAGE:
        _OUTAGE.update(await _outage(tmp_path, redis_hub_settings, redis_proc, servers))
    return _OUTAGE


async def _outage(tmp_path, redis_hub_settings, redis_proc, servers) -> dict:
    """Serve, stop Redis (the layer, the replay log, the caps), probe, start it again, probe."""

    server = live.daphne(tmp_path, database_url=live.run_database_url(), redis_url=redis_hub_settings)
    servers.append(server.start())
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        first_page = (await client.get("/courses/")).status_code
    before = await playground_state(server)

    await asyncio.to_thread(redis_proc.stop)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        pages = [(await client.get(path)).status_code for path in ("/", "/courses/", "/accounts/login/")]
        health = await client.get("/healthz")
    # The hub notices on its next Redis call or housekeeping ping (every second): give it a few.
    deadline = time.monotonic() + 10
    while (during := await playground_state(server))[0] == 200 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    ws_during = await ws_first_message(server)

    await asyncio.to_thread(redis_proc.start)
    deadline = time.monotonic() + 15
    while (after := await playground_state(server))[0] != 200 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    ws_after = await ws_first_message(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        # A cursor from the log Redis lost (it restarts empty): ids started again, so it is ahead.
        old_cursor = {"timeout": "0", "after": str(before[1]["last_id"] + 5)}
        resumed = await client.get(f"/playground/{STREAM}/poll/", params=old_cursor)
    return {
        "first_page": first_page,
        "before": before,
        "pages": pages,
        "health": (health.status_code, health.json()),
        "during": during,
        "ws_during": ws_during,
        "after": after,
        "ws_after": ws_after,
        "resumed": (resumed.status_code, live.json_or_text(resumed)),
    }


async def test_redis_outage_pages_keep_serving_and_the_playground_recovers(
    tmp_path, transactional_db, redis_hub_settings, redis_proc, servers
):
    run = await outage_run(tmp_path, redis_hub_settings, redis_proc, servers)
    assert run["first_page"] == 200
    assert run["before"][0] == 200
    assert run["pages"] == [200, 200, 200]
    assert run["health"][0] == 503
    assert run["health"][1]["channel_layer"] == "error"
    assert run["after"][0] == 200
    assert run["ws_after"][0] == "message"
    assert run["ws_after"][1]["type"] == "hello"
    # What Redis lost is reported (410 gap for a cursor of the lost log), never answered as "nothing new".
    assert run["resumed"][0] == 410
    assert run["resumed"][1]["error"] == "gap"


async def test_redis_outage_playground_reports_degraded_state(
    tmp_path, transactional_db, redis_hub_settings, redis_proc, servers
):
    run = await outage_run(tmp_path, redis_hub_settings, redis_proc, servers)
    assert run["during"][0] == 503
    assert run["during"][1]["error"] == "degraded"
    assert run["ws_during"] == ("closed", 4503)
