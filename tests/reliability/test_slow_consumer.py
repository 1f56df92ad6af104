"""A WebSocket reader that stops reading: server memory stays bounded (PLAYGROUND_WS_MAX_BACKLOG_BYTES,
2 MiB of unread backlog per socket), the stalled reader is cut off (close 4008; autobahn may abort the TCP
connection instead when the peer never answers the close), the well-behaved reader is unaffected."""

import asyncio
import json
import socket
import struct
from base64 import b64encode

import pytest
from websockets.asyncio.client import connect

from bench.procs import proc_status
from tests.factories import UserFactory
from tests.reliability import live
from tests.reliability.test_hostile import session_cookie

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
STREAM = "room-slow"
WARM = 1200  # fills the replay buffer (1,000 events) first, so it does not count as growth
EVENTS = 6000
TEXT = "x" * 480  # ~0.55 KiB per event on the wire: ~3.3 MiB for the stalled reader, over its 2 MiB
BACKLOG_LIMIT_KIB = 2048


def stalled_socket(port: int) -> socket.socket:
    """Handshake, then never read again (a tiny receive buffer, so the server's writes pile up there)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = b64encode(b"0123456789abcdef").decode()
    sock.sendall(
        (
            f"GET /ws/playground/{STREAM}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert b" 101 " in head.split(b"\r\n", 1)[0]
    return sock


def drain(sock: socket.socket) -> tuple[int, int | None, bool]:
    """Read what the server queued for the stalled reader: (bytes, close code if any, reset)."""
    sock.settimeout(10)
    data, reset = b"", False
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except TimeoutError:
        pass
    except ConnectionResetError:
        reset = True
    pos, code = 0, None
    while pos + 2 <= len(data):
        opcode, n, pos = data[pos] & 0x0F, data[pos + 1] & 0x7F, pos + 2
        if n == 126:
            n, pos = struct.unpack_from("!H", data, pos)[0], pos + 2
        elif n == 127:
            n, pos = struct.unpack_from("!Q", data, pos)[0], pos + 8
        if opcode == 8 and n >= 2 and pos + 2 <= len(data):
            code = struct.unpack_from("!H", data, pos)[0]
        pos += n
    return len(data), code, reset


async def test_stalled_reader_is_cut_off_memory_stays_bounded_others_unaffected(
    tmp_path, transactional_db, servers
):
    server = live.daphne(
        tmp_path,
        database_url=live.run_database_url(),
        PLAYGROUND_SEND_RATE_PER_MINUTE="100000000",
        PLAYGROUND_MAX_CONNECTIONS_PER_USER="100",
    )
    servers.append(server.start())
    user = await asyncio.to_thread(UserFactory)
    cookie = await asyncio.to_thread(session_cookie, user)
    url = f"{server.ws_url}/ws/playground/{STREAM}/"
    headers = {"Cookie": f"sessionid={cookie}"}
    async with (
        connect(url, origin="http://127.0.0.1", additional_headers=headers) as publisher,
        connect(url, origin="http://127.0.0.1", max_queue=None) as reader,
    ):
        received: list[int] = []

        async def read(ws, into: list[int] | None, until: int = 0) -> None:
            async for raw in ws:
                msg = json.loads(raw)
                if into is not None and msg.get("type") == "chat":
                    into.append(msg["id"])
                if into is not None and len(into) == until:
                    return

        async def publish(first: int, count: int) -> None:
            for i in range(first, first + count):
                await publisher.send(json.dumps({"type": "send", "text": f"{i} {TEXT}"}))

        drain_publisher = asyncio.create_task(read(publisher, None))
        warm_reader = asyncio.create_task(read(reader, received, WARM))
        await publish(0, WARM)
        await asyncio.wait_for(warm_reader, 60)
        # The same traffic once without a stalled reader: the allocator's arenas grow to their
        # working size here, so what grows next is what the stalled reader holds.
        control_reader = asyncio.create_task(read(reader, received, WARM + EVENTS))
        await publish(WARM, EVENTS)
        await asyncio.wait_for(control_reader, 60)
        stalled = await asyncio.to_thread(stalled_socket, server.port)
        await asyncio.sleep(0.5)
        before = proc_status(server.proc.pid)["VmRSS"]
        main_reader = asyncio.create_task(read(reader, received, WARM + 2 * EVENTS))
        await publish(WARM + EVENTS, EVENTS)
        await asyncio.wait_for(main_reader, 60)
        after = proc_status(server.proc.pid)["VmRSS"]
        drain_publisher.cancel()
    got, code, reset = await asyncio.to_thread(drain, stalled)
    stalled.close()
    published = EVENTS * (len(TEXT) + 60)

    assert received == list(range(received[0], received[0] + WARM + 2 * EVENTS))  # all of it, in order
    # Bounded by the backlog limit (the replay buffer was already full), not by the ~3.3 MiB sent.
    assert after - before < BACKLOG_LIMIT_KIB + 512
    assert got < published  # the server stopped queueing for it
    assert code == 4008 or (code is None and reset)  # told it fell behind, or cut off
