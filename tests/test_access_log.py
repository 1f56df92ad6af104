import asyncio
import json
import logging

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.core.handlers.asgi import ASGIHandler  # not get_asgi_application(): it re-runs logging setup
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.urls import reverse

from config.access_log import (
    HttpAccessLog,
    JsonFormatter,
    WebSocketAccessLog,
    WebSocketUserNote,
    request_log_middleware,
)


@pytest.mark.django_db
def test_one_line_per_request_with_status_bytes_and_duration(client, access_lines):
    response = client.get(reverse("healthz"), HTTP_X_REQUEST_ID="abc123")
    assert len(access_lines) == 1
    line = access_lines[0]
    assert line["event"] == "http"
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert line["bytes"] == len(response.content)
    assert line["user_id"] is None
    assert line["ip"] == "127.0.0.1"
    assert line["request_id"] == "abc123"
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0


@pytest.mark.django_db
def test_request_line_carries_the_logged_in_user_id(client, learner, access_lines):
    client.force_login(learner)
    client.get("/")
    assert [line["user_id"] for line in access_lines] == [learner.pk]


@pytest.mark.django_db
def test_error_status_is_logged(client, access_lines):
    client.get("/no/such/page/")
    assert [(line["path"], line["status"]) for line in access_lines] == [("/no/such/page/", 404)]


def test_logging_disabled_logs_nothing_and_leaves_the_response_alone(rf):
    response = HttpResponse(b"hi")
    middleware = request_log_middleware(lambda request: response)
    assert middleware(rf.get("/")) is response  # the test settings keep the logger at WARNING


async def _chunks(released: asyncio.Event):
    yield b"data: 1\n\n"
    await released.wait()
    yield b"data: 2\n\n"


async def test_async_stream_stays_async_unbuffered_and_is_logged_at_its_end(access_lines):
    released = asyncio.Event()

    async def view(request):
        return StreamingHttpResponse(_chunks(released), content_type="text/event-stream")

    response = await request_log_middleware(view)(RequestFactory().get("/playground/ticker/events/"))
    assert response.is_async
    stream = aiter(response)
    assert await anext(stream) == b"data: 1\n\n"  # delivered before the second chunk exists
    assert access_lines == []  # not logged until the stream ends
    released.set()
    assert await anext(stream) == b"data: 2\n\n"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert len(access_lines) == 1
    line = access_lines[0]
    assert (line["path"], line["status"], line["bytes"]) == ("/playground/ticker/events/", 200, 18)
    assert line["streamed"] is True
    assert line["complete"] is True


async def test_async_stream_cut_short_by_the_client_is_logged_incomplete(access_lines):
    released = asyncio.Event()

    async def view(request):
        return StreamingHttpResponse(_chunks(released), content_type="text/event-stream")

    response = await request_log_middleware(view)(RequestFactory().get("/s/"))
    received, first = [], asyncio.Event()

    async def serve():
        async for chunk in response:
            received.append(chunk)
            first.set()

    task = asyncio.create_task(serve())
    await asyncio.wait_for(first.wait(), timeout=5)
    task.cancel()  # what Django's ASGI handler does when the client disconnects
    with pytest.raises(asyncio.CancelledError):
        await task
    assert received == [b"data: 1\n\n"]
    assert [(line["bytes"], line["complete"]) for line in access_lines] == [(9, False)]


def test_sync_stream_stays_sync_and_is_logged_at_its_end(rf, access_lines):
    response = request_log_middleware(lambda request: StreamingHttpResponse(iter([b"ab", b"cde"])))(
        rf.get("/export/")
    )
    assert response.is_async is False
    assert b"".join(response.streaming_content) == b"abcde"
    assert [(line["bytes"], line["complete"]) for line in access_lines] == [(5, True)]


def test_json_formatter_writes_one_json_object_per_line():
    record = logging.LogRecord("handshake.access", logging.INFO, __file__, 1, "http", None, None)
    record.fields = {"event": "http", "path": "/a\nb", "status": 200}
    text = JsonFormatter().format(record)
    assert "\n" not in text
    payload = json.loads(text)
    assert payload["path"] == "/a\nb"
    assert payload["status"] == 200
    assert payload["level"] == "info"
    assert payload["ts"].endswith("Z")


def test_json_formatter_renders_plain_records_as_message():
    record = logging.LogRecord("django", logging.WARNING, __file__, 1, "disk %s", ("full",), None)
    assert json.loads(JsonFormatter().format(record))["message"] == "disk full"


class Echo(AsyncWebsocketConsumer):
    async def receive(self, text_data=None, bytes_data=None):
        if text_data == "bye":
            await self.close(code=4000)
        else:
            await self.send(text_data=text_data * 2)


def _user_scope_app(user):
    """Stands in for AuthMiddlewareStack: puts a resolved user in the scope."""
    inner = WebSocketUserNote(Echo.as_asgi())

    async def app(scope, receive, send):
        return await inner({**scope, "user": user}, receive, send)

    return app


@pytest.mark.django_db(transaction=True)
async def test_websocket_open_and_close_lines_with_bytes_and_user(access_lines):
    class FakeUser:
        pk = 7

    communicator = WebsocketCommunicator(WebSocketAccessLog(_user_scope_app(FakeUser())), "/ws/echo/")
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(text_data="héllo")
    assert await communicator.receive_from() == "héllohéllo"
    await communicator.send_to(text_data="bye")
    assert (await communicator.receive_output())["code"] == 4000
    await communicator.wait()
    assert [line["event"] for line in access_lines] == ["ws_open", "ws_close"]
    opened, closed = access_lines
    assert (opened["path"], opened["user_id"]) == ("/ws/echo/", 7)
    assert closed["user_id"] == 7
    assert closed["bytes_in"] == len("héllo".encode()) + 3
    assert closed["bytes_out"] == len("héllohéllo".encode())
    assert (closed["frames_in"], closed["frames_out"]) == (2, 1)
    assert (closed["close_code"], closed["closed_by"]) == (4000, "server")
    assert closed["duration_ms"] >= 0


@pytest.mark.django_db(transaction=True)
async def test_websocket_closed_by_the_client_is_logged_with_its_code(access_lines):
    communicator = WebsocketCommunicator(WebSocketAccessLog(Echo.as_asgi()), "/ws/echo/")
    assert (await communicator.connect())[0]
    await communicator.disconnect(code=1001)
    closed = access_lines[-1]
    assert (closed["event"], closed["close_code"], closed["closed_by"]) == ("ws_close", 1001, "client")
    assert closed["user_id"] is None


@pytest.mark.django_db(transaction=True)
async def test_foreign_origin_upgrade_is_logged_as_refused(access_lines):
    application = WebSocketAccessLog(AllowedHostsOriginValidator(Echo.as_asgi()))
    communicator = WebsocketCommunicator(
        application, "/ws/playground/ticker/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, code = await communicator.connect()
    assert connected is False  # closed before accept: Daphne answers the handshake with 403
    await communicator.disconnect()  # the server's disconnect after the refusal ends the app
    assert [(line["event"], line["path"], line["code"]) for line in access_lines] == [
        ("ws_refused", "/ws/playground/ticker/", code)
    ]


def _http_scope(path: str, headers: list | None = None) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("203.0.113.5", 5000),
        "server": ("testserver", 80),
    }


async def _three_chunks(scope, receive, send):
    """Stands in for the playground's SSE fast path (an ASGI app answering before Django)."""
    await receive()  # http.request
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"aa", "more_body": True})
    await receive()  # the test's go-ahead: the stream is open and idle until then
    await send({"type": "http.response.body", "body": b"bbb", "more_body": True})
    await send({"type": "http.response.body", "body": b"c"})


async def test_asgi_stream_is_logged_once_at_its_last_byte(access_lines):
    communicator = ApplicationCommunicator(HttpAccessLog(_three_chunks), _http_scope("/playground/t/events/"))
    await communicator.send_input({"type": "http.request"})
    await communicator.receive_output()  # start
    assert (await communicator.receive_output())["body"] == b"aa"
    assert access_lines == []
    await communicator.send_input({"type": "http.request"})
    await communicator.receive_output()
    await communicator.receive_output()
    await communicator.wait()
    assert len(access_lines) == 1
    line = access_lines[0]
    assert (line["path"], line["status"], line["bytes"], line["ip"]) == (
        "/playground/t/events/",
        200,
        6,
        "203.0.113.5",
    )
    assert (line["streamed"], line["complete"]) == (True, True)


async def test_asgi_stream_ended_by_a_disconnect_is_logged_incomplete(access_lines):
    async def until_disconnect(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b": hi\n\n", "more_body": True})
        while (await receive())["type"] != "http.disconnect":
            pass

    communicator = ApplicationCommunicator(HttpAccessLog(until_disconnect), _http_scope("/s/"))
    await communicator.send_input({"type": "http.request"})
    await communicator.receive_output()
    await communicator.receive_output()
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait()
    assert [(line["bytes"], line["streamed"], line["complete"]) for line in access_lines] == [
        (6, True, False)
    ]


async def test_asgi_app_that_fails_before_answering_is_logged_as_500(access_lines):
    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    communicator = ApplicationCommunicator(HttpAccessLog(broken), _http_scope("/x/"))
    await communicator.send_input({"type": "http.request"})
    with pytest.raises(RuntimeError):
        await communicator.wait()
    assert [(line["status"], line["complete"]) for line in access_lines] == [(500, False)]


async def test_django_request_under_the_asgi_logger_is_one_line_with_the_user(access_lines, transactional_db):
    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    from tests.factories import UserFactory

    learner = await sync_to_async(UserFactory)(username="learner")
    client = AsyncClient()
    await client.aforce_login(learner)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    access_lines.clear()
    communicator = ApplicationCommunicator(
        HttpAccessLog(ASGIHandler()), _http_scope("/", headers=[(b"cookie", cookie)])
    )
    await communicator.send_input({"type": "http.request"})
    start = await communicator.receive_output(timeout=5)
    body = b""
    while True:
        message = await communicator.receive_output(timeout=5)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=5)
    assert start["status"] == 200
    assert len(access_lines) == 1  # the Django middleware did not write a second line
    line = access_lines[0]
    assert (line["path"], line["status"], line["bytes"], line["user_id"]) == ("/", 200, len(body), learner.pk)
    assert "streamed" not in line
