"""Redis unreachable: the playground says so (503 degraded, close 4503, an error frame), never a 500,
a bare 1011 or a stale answer; housekeeping notices and recovers by itself."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from config.asgi import application
from playground.log import StoreUnavailable, get_hub
from tests.factories import UserFactory
from tests.playground.test_streams import APPS, start

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(autouse=True)
def dead_redis(settings):
    settings.PLAYGROUND_STORE = "redis"
    settings.REDIS_URL = DEAD_REDIS


@pytest.mark.parametrize("path", ["fast", "django"])
@pytest.mark.parametrize("endpoint", ["poll/?timeout=0", "events/"])
async def test_poll_and_sse_answer_503_degraded(path, endpoint):
    comm, status, headers = await start(
        APPS[path](), f"/playground/room-t/{endpoint.split('?')[0]}", endpoint.partition("?")[2].encode()
    )
    assert status == 503
    assert headers["retry-after"] == "5"
    body = b""
    while True:
        msg = await comm.receive_output(timeout=2)
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    assert json.loads(body)["error"] == "degraded"


@pytest.mark.django_db(transaction=True)
async def test_websocket_closes_4503():
    comm = WebsocketCommunicator(
        application, "/ws/playground/room-t/", headers=[(b"origin", b"http://testserver")]
    )
    assert await comm.connect() == (True, None)
    assert await comm.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": 4503,
        "reason": "stream store unavailable",
    }


@pytest.mark.django_db(transaction=True)
async def test_send_answers_503_degraded():
    user = await sync_to_async(UserFactory)(username="sender")
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.post("/playground/room-t/send/", {"text": "hi"})
    assert response.status_code == 503
    assert response.json()["error"] == "degraded"


async def test_housekeeping_flags_and_clears_degraded(redis_url):
    import redis.asyncio as aioredis

    hub = get_hub()
    await hub.tick_housekeeping()
    assert hub.degraded is True
    with pytest.raises(StoreUnavailable):
        hub.check_store()
    dead, hub.redis = hub.redis, aioredis.from_url(redis_url)  # Redis is back
    await dead.aclose()
    await hub.tick_housekeeping()
    assert hub.degraded is False
    hub.check_store()
    await hub.close()
