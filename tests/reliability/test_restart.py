"""A Daphne process restarts mid-stream: every transport resumes with no gap and no duplicate.

With REDIS_URL the ids and the replay buffer live in Redis, so the restarted process answers
the same cursors: WebSocket ``?after=``, SSE ``Last-Event-ID``, and the long-poll cursor.
"""

import asyncio

import pytest

from playground import log
from tests.reliability import live

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
STREAM = "room-restart"


async def wait_for(predicate, seconds: float) -> bool:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 (the readers fill plain lists)
            await asyncio.sleep(0.05)
    return True


async def test_daphne_restart_mid_stream_resumes_without_gap_or_duplicate(
    tmp_path, redis_hub_settings, servers
):
    server = live.daphne(
        tmp_path, database_url=f"sqlite:///{tmp_path}/db.sqlite3", redis_url=redis_hub_settings
    )
    servers.append(server.start())
    hub = log.get_hub()
    try:
        first = await hub.publish(STREAM, "chat", {"user": "bench", "text": "before"})
        stop = asyncio.Event()
        ws_ids, sse_ids, lp_ids, resets, gaps = [], [], [], [], []
        readers = [
            live.ws_reader(
                f"{server.ws_url}/ws/playground/{STREAM}/", ws_ids, stop=stop, resets=resets, cursor=first.id
            ),
            live.sse_reader(
                f"{server.url}/playground/{STREAM}/events/",
                sse_ids,
                stop=stop,
                resets=resets,
                cursor=first.id,
            ),
            live.poll_reader(
                f"{server.url}/playground/{STREAM}/poll/", lp_ids, stop=stop, gaps=gaps, cursor=first.id
            ),
        ]
        tasks = [asyncio.create_task(r) for r in readers]
        published = []

        async def publish(n: int) -> None:
            for i in range(n):
                published.append((await hub.publish(STREAM, "chat", {"user": "bench", "text": str(i)})).id)
                await asyncio.sleep(0.03)

        await publish(10)
        await wait_for(lambda: len(ws_ids) >= 5 and len(sse_ids) >= 5 and len(lp_ids) >= 5, 10)
        # Restart while events keep coming: some are published with the process down.
        publishing = asyncio.create_task(publish(60))
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(server.start)
        await publishing
        await publish(5)
        want = published[-1]
        await wait_for(lambda: all(ids and ids[-1] >= want for ids in (ws_ids, sse_ids, lp_ids)), 20)
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        await hub.close()

    expected = list(range(first.id + 1, want + 1))
    assert published == expected
    assert ws_ids == expected
    assert sse_ids == expected
    assert lp_ids == expected
    assert resets == []
    assert gaps == []
