"""POST /playground/<stream>/send/: CSRF, login, rate limit; the event reaches every transport."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from config.asgi import application
from playground.log import get_hub
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


async def logged_in_client(**kwargs):
    user = await sync_to_async(UserFactory)(username="sender", display_name="Sam Sender")
    client = AsyncClient(**kwargs)
    await client.aforce_login(user)
    return client


async def test_send_anonymous_403():
    response = await AsyncClient().post("/playground/room-t/send/", {"text": "hi"})
    assert response.status_code == 403
    assert response.json() == {"error": "login_required", "message": "log in to send messages"}
    assert "room-t" not in get_hub().logs or get_hub().logs["room-t"].newest == 0


async def test_send_without_csrf_token_403():
    client = await logged_in_client(enforce_csrf_checks=True)
    response = await client.post("/playground/room-t/send/", {"text": "hi"})
    assert response.status_code == 403
    assert "room-t" not in get_hub().logs


async def test_send_with_csrf_token_202():
    client = await logged_in_client(enforce_csrf_checks=True)
    page = await client.get("/playground/")
    token = page.cookies["csrftoken"].value
    response = await client.post("/playground/room-t/send/", {"text": "hi"}, headers={"X-CSRFToken": token})
    assert response.status_code == 202
    assert response.json() == {"id": 1}


async def test_send_logged_in_202_and_event_published():
    client = await logged_in_client()
    response = await client.post("/playground/room-t/send/", {"text": "hello  there"})
    assert response.status_code == 202
    assert response.json() == {"id": 1}
    assert response["Cache-Control"] == "no-store"
    ev = get_hub().logs["room-t"].buf[-1]
    assert (ev.id, ev.type, ev.data) == (1, "chat", {"user": "Sam Sender", "text": "hello there"})


async def test_send_json_body_202():
    client = await logged_in_client()
    response = await client.post(
        "/playground/room-j/send/", json.dumps({"text": "json"}), content_type="application/json"
    )
    assert response.status_code == 202
    assert get_hub().logs["room-j"].buf[-1].data["text"] == "json"


@pytest.mark.parametrize(
    ("path", "data", "status", "error"),
    [
        ("/playground/room-t/send/", {}, 400, "invalid"),
        ("/playground/room-t/send/", {"text": ""}, 400, "invalid"),
        ("/playground/room-t/send/", {"text": "x" * 501}, 400, "invalid"),
        ("/playground/ticker/send/", {"text": "hi"}, 400, "not_a_room"),
    ],
)
async def test_send_bad_input(path, data, status, error):
    client = await logged_in_client()
    response = await client.post(path, data)
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_send_unknown_stream_404():
    client = await logged_in_client()
    response = await client.post("/playground/nope/send/", {"text": "hi"})
    assert response.status_code == 404


async def test_send_get_not_allowed():
    response = await AsyncClient().get("/playground/room-t/send/")
    assert response.status_code == 405


async def test_send_rate_limit_429(settings):
    settings.PLAYGROUND_SEND_RATE_PER_MINUTE = 3
    client = await logged_in_client()
    statuses = [
        (await client.post("/playground/room-t/send/", {"text": f"m{n}"})).status_code for n in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    response = await client.post("/playground/room-t/send/", {"text": "again"})
    assert response.json() == {"error": "rate_limited", "message": "too many messages: wait a few seconds"}


async def test_sent_event_reaches_ws_sse_and_poll_readers():
    from asgiref.testing import ApplicationCommunicator

    from tests.playground.test_streams import http_scope, read_sse_until

    ws = WebsocketCommunicator(
        application, "/ws/playground/room-all/", headers=[(b"origin", b"http://testserver")]
    )
    assert (await ws.connect())[0] is True
    await ws.receive_json_from()
    sse = ApplicationCommunicator(application, http_scope("/playground/room-all/events/"))
    await sse.send_input({"type": "http.request", "body": b""})
    await sse.receive_output(timeout=2)
    await read_sse_until(sse, lambda t: "event: hello" in t)
    held = ApplicationCommunicator(
        application, http_scope("/playground/room-all/poll/", b"after=0&timeout=5")
    )
    await held.send_input({"type": "http.request", "body": b""})
    await asyncio.sleep(0.05)

    client = await logged_in_client()
    response = await client.post("/playground/room-all/send/", {"text": "to everyone"})
    assert response.json() == {"id": 1}

    while (msg := await ws.receive_json_from(timeout=2)).get("type") != "chat":
        pass
    assert msg["id"] == 1
    assert msg["data"]["text"] == "to everyone"
    text = await read_sse_until(sse, lambda t: "id: 1\n" in t)
    assert '"text":"to everyone"' in text
    assert (await held.receive_output(timeout=2))["status"] == 200
    body = json.loads((await held.receive_output(timeout=2))["body"])
    assert [e["id"] for e in body["events"]] == [1]
    await ws.disconnect()
    await sse.send_input({"type": "http.disconnect"})
    await sse.wait(timeout=2)
