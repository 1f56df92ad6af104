"""The playground WebSocket through config.asgi.application (Origin validator and auth included)."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient

from accounts.models import User
from config.asgi import application
from playground.log import get_hub
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")


def socket(path, *, cookie=None, ip="10.0.0.1"):
    headers = [ORIGIN, (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    comm.scope["client"] = (ip, 50000)
    return comm


async def session_cookie_for(username="learner"):
    user = await sync_to_async(UserFactory)(username=username, display_name="Lee Learner")
    client = AsyncClient()
    await client.aforce_login(user)
    return client.cookies["sessionid"].value


async def receive_until(comm, type_, limit=2.0):
    """The next frame of ``type_``, skipping others (heartbeats, presence) for at most ``limit`` s."""
    skipped = []
    async with asyncio.timeout(limit):
        while True:
            msg = await comm.receive_json_from(timeout=limit)
            if msg.get("type") == type_:
                return msg
            skipped.append(msg)
    raise AssertionError(f"no {type_} frame; got {skipped}")


async def events_within(comm, seconds=0.3):
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


async def test_resume_after_replays_newer_events_only():
    hub = get_hub()
    for n in range(3):
        await hub.publish("room-t", "chat", {"user": "x", "text": str(n)})
    comm = socket("/ws/playground/room-t/?after=1")
    assert await comm.connect() == (True, None)
    hello = await comm.receive_json_from()
    assert hello["type"] == "hello"
    assert hello["last_id"] == 3
    assert hello["resumed_from"] == 1
    assert hello["replayed"] == 2
    first, second = await comm.receive_json_from(), await comm.receive_json_from()
    assert [first["id"], second["id"]] == [2, 3]
    assert set(first) == {"id", "type", "ts", "data", "epoch"}
    assert first["type"] == "chat"
    assert first["data"] == {"user": "x", "text": "1"}
    assert await events_within(comm) == []
    await comm.disconnect()


async def test_live_event_arrives_after_hello():
    comm = socket("/ws/playground/room-live/")
    assert await comm.connect() == (True, None)
    assert (await comm.receive_json_from())["type"] == "hello"
    ev = await get_hub().publish("room-live", "chat", {"user": "x", "text": "live"})
    msg = await receive_until(comm, "chat")
    assert msg == ev.as_dict()
    await comm.disconnect()


async def test_ping_gets_pong_with_same_t():
    comm = socket("/ws/playground/room-t/")
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_json_to({"type": "ping", "t": 5})
    pong = await receive_until(comm, "pong")
    assert pong["t"] == 5
    assert isinstance(pong["ts"], int)
    await comm.send_json_to({"type": "ping", "t": 1.5})
    assert (await receive_until(comm, "pong"))["t"] == 1.5
    await comm.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ('{"type": "shout"}', "unknown_type"),
        ("[1, 2]", "unknown_type"),
        ('{"type": "ping", "t": "soon"}', "invalid"),
        ('{"type": "ping", "t": true}', "invalid"),
        ('{"type": "send"}', "invalid"),
    ],
)
async def test_bad_input_gets_error_frame_and_socket_stays_open(frame, code):
    comm = socket("/ws/playground/room-t/")
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_to(text_data=frame)
    error = await receive_until(comm, "error")
    assert error["code"] == code
    assert isinstance(error["message"], str)
    await comm.send_json_to({"type": "ping", "t": 1})
    assert (await receive_until(comm, "pong"))["t"] == 1
    await comm.disconnect()


async def test_frame_over_4_kib_closes_4009():
    comm = socket("/ws/playground/room-t/")
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_to(text_data=json.dumps({"type": "send", "text": "x" * 4100})[:4097])
    assert await comm.receive_output(timeout=1) == {
        "type": "websocket.close",
        "code": 4009,
        "reason": "frame over 4096 bytes",
    }


async def test_frame_of_exactly_4_kib_is_decoded():
    comm = socket("/ws/playground/room-t/")
    await comm.connect()
    await comm.receive_json_from()
    frame = '{"type": "ping", "t": 1}'
    await comm.send_to(text_data=frame + " " * (4096 - len(frame)))
    assert (await receive_until(comm, "pong"))["t"] == 1
    await comm.disconnect()


async def test_binary_frame_is_decoded_too():
    comm = socket("/ws/playground/room-t/")
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_to(bytes_data=b'{"type": "ping", "t": 2}')
    assert (await receive_until(comm, "pong"))["t"] == 2
    await comm.disconnect()


async def test_unknown_stream_accepts_then_closes_4404():
    comm = socket("/ws/playground/nope/")
    assert await comm.connect() == (True, None)
    assert await comm.receive_output(timeout=1) == {
        "type": "websocket.close",
        "code": 4404,
        "reason": "unknown stream",
    }


async def test_malformed_after_closes_4008():
    comm = socket("/ws/playground/room-t/?after=abc")
    assert await comm.connect() == (True, None)
    assert (await comm.receive_output(timeout=1))["code"] == 4008


async def test_fifth_socket_from_one_visitor_closes_4429(settings):
    settings.PLAYGROUND_MAX_CONNECTIONS_PER_USER = 4
    cookie = "visitor-session"
    open_ = []
    for _ in range(4):
        comm = socket("/ws/playground/room-t/", cookie=cookie)
        assert await comm.connect() == (True, None)
        assert (await comm.receive_json_from())["type"] == "hello"
        open_.append(comm)
    fifth = socket("/ws/playground/room-t/", cookie=cookie)
    assert await fifth.connect() == (True, None)
    assert await fifth.receive_output(timeout=1) == {
        "type": "websocket.close",
        "code": 4429,
        "reason": "too many connections",
    }
    await open_.pop().disconnect()  # the lease is released on disconnect: a slot frees up
    again = socket("/ws/playground/room-t/", cookie=cookie)
    assert await again.connect() == (True, None)
    assert (await again.receive_json_from())["type"] == "hello"
    for comm in [*open_, again]:
        await comm.disconnect()
    assert get_hub().caps.open == {}


async def test_per_ip_cap_closes_4429(settings):
    settings.PLAYGROUND_MAX_CONNECTIONS_PER_IP = 2
    comms = [socket("/ws/playground/room-t/", cookie=f"s{i}", ip="10.9.9.9") for i in range(3)]
    for comm in comms[:2]:
        assert await comm.connect() == (True, None)
        await comm.receive_json_from()
    await comms[2].connect()
    assert (await comms[2].receive_output(timeout=1))["code"] == 4429
    for comm in comms[:2]:
        await comm.disconnect()


async def test_bad_origin_is_refused():
    comm = WebsocketCommunicator(
        application, "/ws/playground/room-t/", headers=[(b"origin", b"http://evil.example")]
    )
    connected, code = await comm.connect()
    assert connected is False
    assert code == 1000  # refused before accept: Daphne answers the handshake with 403


async def test_missing_origin_is_refused():
    comm = WebsocketCommunicator(application, "/ws/playground/room-t/")
    connected, _ = await comm.connect()
    assert connected is False


async def test_send_anonymous_gets_error_frame():
    comm = socket("/ws/playground/room-t/")
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_json_to({"type": "send", "text": "hello"})
    error = await receive_until(comm, "error")
    assert error["code"] == "login_required"
    assert await events_within(comm) == []
    await comm.disconnect()


async def test_send_logged_in_publishes_chat_event_to_sender():
    cookie = await session_cookie_for()
    comm = socket("/ws/playground/room-t/", cookie=cookie)
    assert await comm.connect() == (True, None)
    await comm.receive_json_from()
    await comm.send_json_to({"type": "send", "text": "  hello\u0007 <b>world</b>  "})
    chat = await receive_until(comm, "chat")
    assert chat["id"] == 1
    assert chat["data"] == {"user": "Lee Learner", "text": "hello <b>world</b>"}
    await comm.disconnect()


async def test_unknown_session_cookie_is_an_anonymous_visitor():
    comm = socket("/ws/playground/room-t/", cookie="no-such-session-key")
    assert await comm.connect() == (True, None)
    await comm.receive_json_from()
    await comm.send_json_to({"type": "send", "text": "hello"})
    assert (await receive_until(comm, "error"))["code"] == "login_required"
    await comm.disconnect()


async def test_session_of_a_changed_password_is_anonymous():
    """The user is resolved once at connect, with Django's session-hash check (no auth middleware)."""
    cookie = await session_cookie_for()
    user = await User.objects.aget(username="learner")
    user.set_password("a-new-password-123")
    await user.asave()
    comm = socket("/ws/playground/room-t/", cookie=cookie)
    assert await comm.connect() == (True, None)
    await comm.receive_json_from()
    await comm.send_json_to({"type": "send", "text": "hello"})
    assert (await receive_until(comm, "error"))["code"] == "login_required"
    await comm.disconnect()


async def test_send_to_ticker_is_refused():
    cookie = await session_cookie_for()
    comm = socket("/ws/playground/ticker/", cookie=cookie)
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_json_to({"type": "send", "text": "hi"})
    assert (await receive_until(comm, "error"))["code"] == "not_a_room"
    await comm.disconnect()


@pytest.mark.parametrize(
    ("text", "code"), [("", "invalid"), ("   ", "invalid"), (5, "invalid"), ("x" * 501, "invalid")]
)
async def test_send_bad_text_is_refused(text, code):
    cookie = await session_cookie_for()
    comm = socket("/ws/playground/room-t/", cookie=cookie)
    await comm.connect()
    await comm.receive_json_from()
    await comm.send_json_to({"type": "send", "text": text})
    assert (await receive_until(comm, "error"))["code"] == code
    await comm.disconnect()


async def test_send_rate_limited(settings):
    settings.PLAYGROUND_SEND_RATE_PER_MINUTE = 2
    cookie = await session_cookie_for()
    comm = socket("/ws/playground/room-t/", cookie=cookie)
    await comm.connect()
    await comm.receive_json_from()
    for n in range(3):
        await comm.send_json_to({"type": "send", "text": f"m{n}"})
    chats, errors = [], []
    async with asyncio.timeout(2):
        while len(chats) < 2 or not errors:
            msg = await comm.receive_json_from()
            if msg["type"] == "chat":
                chats.append(msg["data"]["text"])
            elif msg["type"] == "error":
                errors.append(msg["code"])
    assert chats == ["m0", "m1"]  # published before the pump's first step: still delivered (L5)
    assert errors == ["rate_limited"]
    await comm.disconnect()


async def test_disconnect_releases_lease_and_presence():
    comm = socket("/ws/playground/room-t/")
    await comm.connect()
    await comm.receive_json_from()
    hub = get_hub()
    assert hub.logs["room-t"].local["ws"] == 1
    await comm.disconnect()
    assert hub.logs["room-t"].local["ws"] == 0
    assert hub.logs["room-t"].waiters == 0
    assert hub.caps.open == {}


def test_find_transport_through_middleware_wrappers():
    import functools
    import socket as socket_mod

    from playground.consumers import backlog_bytes, find_transport

    class Server:  # stands in for twisted.internet.tcp.Server
        def __init__(self, sock):
            self.socket, self.dataBuffer, self.offset, self._tempDataLen = sock, b"x" * 100, 40, 7

    class Channel:
        def __init__(self, tcp):
            self.transport = tcp

    class Protocol:
        def __init__(self, channel):
            self.transport = channel

    class SessionWrapper:
        def __init__(self, send):
            self.real_send = send

        async def send(self, message):
            await self.real_send(message)

    async def handle_reply(protocol, message):
        return None

    a, b = socket_mod.socketpair()
    try:
        tcp = Server(a)
        daphne_send = functools.partial(handle_reply, Protocol(Channel(tcp)))

        async def access_log_send(message):
            await daphne_send(message)

        assert find_transport(SessionWrapper(access_log_send).send) is tcp
        assert backlog_bytes(tcp) == 67  # 60 unwritten + 7 pending, nothing in the kernel queue
        a.send(b"y" * 1000)  # b never reads: SIOCOUTQ counts what it has not taken
        assert backlog_bytes(tcp) >= 67
        assert find_transport(lambda message: None) is None
        assert backlog_bytes(object()) == 0
    finally:
        a.close()
        b.close()


async def test_access_log_names_the_learner_resolved_at_connect(access_lines):
    """Mounted without AuthMiddlewareStack, the socket still tells the access log who it served."""
    cookie = await session_cookie_for()
    user = await User.objects.aget(username="learner")
    comm = socket("/ws/playground/room-t/", cookie=cookie)
    assert await comm.connect() == (True, None)
    await comm.receive_json_from()
    await comm.disconnect()
    anonymous = socket("/ws/playground/room-t/")
    assert (await anonymous.connect())[0]
    await anonymous.receive_json_from()
    await anonymous.disconnect()
    closes = [line for line in access_lines if line["event"] == "ws_close"]
    assert [line["user_id"] for line in closes] == [user.pk, None]
