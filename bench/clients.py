"""Lean load-generator clients: raw asyncio protocols for WebSocket, SSE and HTTP polling.

Thousands of subscribers share one client core, so each client is an ``asyncio.Protocol`` that
stamps arrival time in ``data_received`` (before any parsing queue can delay it) and counts every
byte in both directions, HTTP headers and WebSocket framing included. The echo benchmarks use the
`websockets` library instead (bench/ws_echo.py), as the issue asks; these are for fan-out, idle
memory, the connection ceiling, the reconnect storm and bytes on the wire.

Every request carries the same browser-like header block (BROWSER_HEADERS: what Chromium sends to
a same-origin page, with session and CSRF cookies), so header costs are those a learner pays.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import struct
import time
from base64 import b64encode
from collections.abc import Callable
from typing import Any

BROWSER_HEADERS = (
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36\r\n"
    "Accept-Language: en-GB,en;q=0.9\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Cookie: csrftoken=Qm9ndXNDc3JmVG9rZW5Gb3JCZW5jaG1hcmtzMTIzNDU2Nzg5MDEy; "
    "sessionid={session}\r\n"
)
BENCH_TEXT = re.compile(rb'"text":"b (\d+) (\d+(?:\.\d+)?)"')
EVENT_ID = re.compile(rb'^\{"id":(\d+),')
SSE_ID = re.compile(rb"(?:^|\n)id: (\d+)\n")


def now_ms() -> float:
    return time.time() * 1000.0


def request_head(method: str, path: str, port: int, *, session: str | None = "", extra: str = "") -> bytes:
    """``session=None``: a visitor without a session cookie (only the CSRF cookie)."""
    cookie = BROWSER_HEADERS.format(session=session or "anonymous")
    if session is None:
        cookie = cookie.replace("; sessionid=anonymous", "")
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie}{extra}Connection: keep-alive\r\n\r\n"
    ).encode()


# --- WebSocket --------------------------------------------------------------------------------


class WSClient(asyncio.Protocol):
    """A WebSocket client that records ids, bench-tagged latencies and wire bytes.

    ``on_text(client, payload, t_ms)`` is optional; by default events are tracked in ``ids`` and
    messages sent by bench publishers (``"b <seq> <t0 ms>"``) add ``t - t0`` to ``latencies``.
    """

    def __init__(
        self,
        port: int,
        path: str,
        *,
        session: str | None = "",
        on_text: Callable[[WSClient, bytes, float], None] | None = None,
        keep_ids: bool = True,
    ) -> None:
        self.port, self.path, self.session = port, path, session
        self.on_text = on_text
        self.keep_ids = keep_ids
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[bool] = loop.create_future()
        self.hello: asyncio.Future[dict] = loop.create_future()
        self.closed: asyncio.Future[int] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.handshaking = True
        self.rx = self.tx = 0
        self.ids: list[int] = []
        self.last_id = 0
        self.events = 0
        self.latencies: list[tuple[int, float]] = []
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = b64encode(os.urandom(16)).decode()
        extra = (
            f"Origin: http://127.0.0.1:{self.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        )
        head = request_head("GET", self.path, self.port, session=self.session, extra=extra)
        head = head.replace(b"Connection: keep-alive\r\n", b"")
        self._write(head)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.tx += len(data)
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        t = now_ms()
        self.rx += len(data)
        self.buf += data
        if self.handshaking:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buf[: self.buf.find(b"\r\n")])
            del self.buf[: end + 4]
            self.handshaking = False
            ok = b" 101 " in status
            if not self.opened.done():
                self.opened.set_result(ok)
            if not ok:
                self._finish(-1)
                return
        buf = self.buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, pos = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, pos = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, pos = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < pos + n:
                return
            payload = bytes(buf[pos : pos + n])
            del buf[: pos + n]
            opcode = b0 & 0x0F
            if opcode == 1:
                self._text(payload, t)
            elif opcode == 8:
                code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else 1005
                self.close_code = code
                self._frame(8, payload[:2])
                self._finish(code)
                return
            elif opcode == 9:
                self._frame(10, payload)

    def _text(self, payload: bytes, t: float) -> None:
        if self.on_text is not None:
            self.on_text(self, payload, t)
            return
        m = EVENT_ID.match(payload)
        if m is not None:
            ev_id = int(m.group(1))
            self.events += 1
            if self.keep_ids:
                self.ids.append(ev_id)
            self.last_id = max(self.last_id, ev_id)
            b = BENCH_TEXT.search(payload)
            if b is not None:
                self.latencies.append((int(b.group(1)), t - float(b.group(2))))
        elif payload.startswith(b'{"type":"hello"') and not self.hello.done():
            self.hello.set_result(json.loads(payload))

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(
            n, "big"
        )
        self._write(head + mask + masked)

    def send_text(self, text: str) -> None:
        self._frame(1, text.encode())

    def close(self, code: int = 1000) -> None:
        self._frame(8, struct.pack("!H", code))
        if self.transport is not None:
            self.transport.close()

    def _finish(self, code: int) -> None:
        if not self.opened.done():
            self.opened.set_result(False)
        if not self.closed.done():
            self.closed.set_result(code)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(self.close_code or 1006)


async def ws_connect(port: int, path: str, *, timeout: float = 30.0, **kwargs: Any) -> WSClient:
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(lambda: WSClient(port, path, **kwargs), "127.0.0.1", port), timeout
    )
    if not await asyncio.wait_for(client.opened, timeout):
        raise ConnectionError(f"WebSocket upgrade refused for {path}")
    return client


async def ws_many(
    port: int, path: str, n: int, *, concurrency: int = 200, timeout: float = 60.0, **kwargs: Any
) -> tuple[list[WSClient], int]:
    """Open n WebSockets (at most ``concurrency`` handshakes at once); each waits for its hello."""
    sem = asyncio.Semaphore(concurrency)
    clients: list[WSClient] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        async with sem:
            try:
                client = await ws_connect(port, path, timeout=timeout, **kwargs)
                await asyncio.wait_for(client.hello, timeout)
                clients.append(client)
            except (OSError, TimeoutError, ConnectionError):
                errors += 1

    await asyncio.gather(*(one() for _ in range(n)))
    return clients, errors


# --- HTTP: SSE and polling ---------------------------------------------------------------------


class SSEClient(asyncio.Protocol):
    """Holds one SSE response open; records event ids, bench latencies and wire bytes."""

    def __init__(
        self, port: int, path: str, *, session: str | None = "", last_event_id: int | None = None
    ) -> None:
        self.port, self.path, self.session = port, path, session
        extra = "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
        if last_event_id is not None:
            extra += f"Last-Event-ID: {last_event_id}\r\n"
        self.head = request_head("GET", path, port, session=session, extra=extra)
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[bool] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.in_body = False
        self.rx = self.tx = 0
        self.ids: list[int] = []
        self.events = 0
        self.latencies: list[tuple[int, float]] = []
        self.status = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.tx += len(self.head)
        self.transport.write(self.head)

    def data_received(self, data: bytes) -> None:
        t = now_ms()
        self.rx += len(data)
        self.buf += data
        if not self.in_body:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = bytes(self.buf[: self.buf.find(b"\r\n")])
            self.status = int(status_line.split()[1])
            del self.buf[: end + 4]
            self.in_body = True
            if not self.opened.done():
                self.opened.set_result(self.status == 200)
        while True:  # blocks end with a blank line; chunk-size lines between them are ignored
            end = self.buf.find(b"\n\n")
            if end < 0:
                return
            block = bytes(self.buf[: end + 2])
            del self.buf[: end + 2]
            m = SSE_ID.search(block)
            if m is not None and b"\nevent: reset" not in block:
                self.events += 1
                self.ids.append(int(m.group(1)))
                b = BENCH_TEXT.search(block)
                if b is not None:
                    self.latencies.append((int(b.group(1)), t - float(b.group(2))))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_result(False)
        if not self.closed.done():
            self.closed.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def sse_connect(port: int, path: str, *, timeout: float = 30.0, **kwargs: Any) -> SSEClient:
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(lambda: SSEClient(port, path, **kwargs), "127.0.0.1", port), timeout
    )
    if not await asyncio.wait_for(client.opened, timeout):
        raise ConnectionError(f"SSE refused for {path}: {client.status}")
    return client


class HTTPConn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection making sequential GETs (bodies with Content-Length or chunked)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, float]] | None = None
        self.rx = self.tx = 0
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    async def get(self, head: bytes) -> tuple[int, bytes, float]:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.tx += len(head)
        self.transport.write(head)
        return await self.waiter

    def data_received(self, data: bytes) -> None:
        t = now_ms()
        self.rx += len(data)
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None or self.waiter.done():
            return
        head = bytes(self.buf[:end]).lower()
        status = int(head.split(None, 2)[1])
        m = re.search(rb"\r\ncontent-length: *(\d+)", head)
        if m is not None:
            size = int(m.group(1))
            if len(self.buf) < end + 4 + size:
                return
            body = bytes(self.buf[end + 4 : end + 4 + size])
            del self.buf[: end + 4 + size]
        elif b"transfer-encoding: chunked" in head:
            term = self.buf.find(b"\r\n0\r\n\r\n", end)
            if term < 0 and not self.buf[end + 4 :].startswith(b"0\r\n\r\n"):
                return
            stop = end + 4 + 5 if term < 0 else term + 7
            raw = bytes(self.buf[end + 4 : stop])
            del self.buf[:stop]
            body, pos = b"", 0
            while True:
                nl = raw.find(b"\r\n", pos)
                size = int(raw[pos:nl], 16)
                if size == 0:
                    break
                body += raw[nl + 2 : nl + 2 + size]
                pos = nl + 2 + size + 2
        else:
            return
        self.waiter.set_result((status, body, t))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))
        if not self.lost.done():
            self.lost.set_result(None)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def http_conn(port: int, timeout: float = 30.0) -> HTTPConn:
    loop = asyncio.get_running_loop()
    _, conn = await asyncio.wait_for(loop.create_connection(HTTPConn, "127.0.0.1", port), timeout)
    return conn


class Poller:
    """A polling loop on one keep-alive connection: long polling (timeout > 0) or short polling."""

    def __init__(
        self,
        port: int,
        stream: str,
        *,
        timeout: float,
        interval: float = 0.0,
        session: str | None = "",
        cursor: int | None = None,
    ) -> None:
        self.port, self.stream, self.timeout, self.interval, self.session = (
            port,
            stream,
            timeout,
            interval,
            session,
        )
        self.conn: HTTPConn | None = None
        self.cursor = cursor
        self.ids: list[int] = []
        self.events = 0
        self.requests = 0
        self.gaps = 0
        self.errors = 0
        self.latencies: list[tuple[int, float]] = []
        self.first_answer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.holding = 0  # requests sent and not yet answered

    @property
    def rx(self) -> int:
        return self.conn.rx if self.conn else 0

    @property
    def tx(self) -> int:
        return self.conn.tx if self.conn else 0

    async def run(self, stop: asyncio.Event) -> None:
        self.conn = await http_conn(self.port)
        try:
            while not stop.is_set():
                query = f"timeout={self.timeout:g}"
                if self.cursor is not None:
                    query += f"&after={self.cursor}"
                head = request_head(
                    "GET", f"/playground/{self.stream}/poll/?{query}", self.port, session=self.session
                )
                self.requests += 1
                self.holding += 1
                try:
                    status, body, t = await self.conn.get(head)
                finally:
                    self.holding -= 1
                if not self.first_answer.done():
                    self.first_answer.set_result(None)
                if status == 410:
                    self.gaps += 1
                    self.cursor = None
                    continue
                if status != 200:
                    self.errors += 1
                    await asyncio.sleep(0.5)
                    continue
                answer = json.loads(body)
                for ev in answer["events"]:
                    self.ids.append(ev["id"])
                    self.events += 1
                    data = ev.get("data")
                    text = data.get("text", "") if isinstance(data, dict) else ""
                    if text.startswith("b "):
                        _, seq, t0 = text.split()
                        self.latencies.append((int(seq), t - float(t0)))
                self.cursor = answer["last_id"]
                if self.interval:
                    await asyncio.sleep(self.interval)
        except (ConnectionError, OSError):
            self.errors += 1
        finally:
            self.conn.close()
