"""Live processes for the reliability tests: Daphne and a private redis-server, on free ports.

Each test starts what it needs and stops it in a fixture's teardown; the system Redis and
PostgreSQL are never stopped. Processes log to a file under the test's tmp_path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.procs import VENV_BIN, free_port, wait_port
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parent.parent.parent
ORIGIN_HEADERS = {"Origin": "http://127.0.0.1"}


class Proc:
    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.argv, self.env, self.port, self.log = argv, env, port, log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> Proc:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 (our own argv)
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_port(self.port, timeout, self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the port is free again (restart on the same port)
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
                try:
                    s.bind(("127.0.0.1", self.port))
                    return
                except OSError:
                    time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def private_redis(tmp_path: Path) -> Proc:
    binary = shutil.which("redis-server")
    require_service("redis-server (for a private Redis that can be stopped)", binary is not None)
    port = free_port()
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(tmp_path)]
    return Proc(argv, dict(os.environ), port, tmp_path / "redis.log")


def daphne(
    tmp_path: Path, *, database_url: str, redis_url: str = "", name: str = "daphne", **extra: str
) -> Proc:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLAYGROUND_", "REDIS_URL"))}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    endpoint = f"tcp:port={port}:backlog=1024:interface=127.0.0.1"
    argv = [str(VENV_BIN / "daphne"), "-e", endpoint, "--access-log", os.devnull, "config.asgi:application"]
    return Proc(argv, env, port, tmp_path / f"{name}.log")


def run_database_url() -> str:
    """The URL of the database this test run uses (SQLite file or PostgreSQL), for a live server to share."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user, password = settings.get("USER") or "", settings.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{auth}{settings.get('HOST') or '127.0.0.1'}:{settings.get('PORT') or 5432}/{settings['NAME']}"


def python() -> str:
    return sys.executable


async def sse_reader(
    url: str, ids: list[int], *, stop: asyncio.Event, resets: list[dict], cursor: int
) -> None:
    """An EventSource in Python: first ?after=, then reconnects with Last-Event-ID (as browsers do)."""
    last: str | None = None
    url += f"?after={cursor}"
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None)) as client:
        while not stop.is_set():
            headers = {"Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = last
            try:
                async with client.stream("GET", url, headers=headers) as response:
                    if response.status_code != 200:
                        await asyncio.sleep(0.2)
                        continue
                    block: dict[str, str] = {}
                    async for line in response.aiter_lines():
                        if line == "":
                            if "id" in block:
                                last = block["id"]
                                if block.get("event") == "reset":
                                    resets.append(json.loads(block.get("data", "{}")))
                                elif block.get("event") not in {"hello", "heartbeat", "presence"}:
                                    ids.append(int(block["id"]))
                            block = {}
                        elif not line.startswith(":"):
                            field, _, value = line.partition(":")
                            block[field] = value.removeprefix(" ")
                        if stop.is_set():
                            return
            except (httpx.HTTPError, OSError):
                await asyncio.sleep(0.2)


async def ws_reader(
    url: str, ids: list[int], *, stop: asyncio.Event, resets: list[dict], cursor: int
) -> None:
    """A WebSocket client that reconnects with ?after=<last id> until ``stop``."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    while not stop.is_set():
        target = url + f"?after={ids[-1] if ids else cursor}"
        try:
            async with connect(target, origin="http://127.0.0.1", open_timeout=5, ping_interval=None) as ws:
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.2)
                    except TimeoutError:
                        continue
                    msg = json.loads(raw)
                    if "id" in msg:
                        ids.append(msg["id"])
                    elif msg.get("type") == "reset":
                        resets.append(msg)
        except (WebSocketException, OSError, TimeoutError):
            await asyncio.sleep(0.2)


async def poll_reader(
    url: str, ids: list[int], *, stop: asyncio.Event, gaps: list[dict], cursor: int
) -> None:
    """Long polling from a cursor; a failed request is asked again with the same cursor."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        while not stop.is_set():
            try:
                response = await client.get(url, params={"after": cursor, "timeout": 1})
            except (httpx.HTTPError, OSError):
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 410:
                gaps.append(response.json())
                return
            if response.status_code != 200:
                await asyncio.sleep(0.2)
                continue
            body = response.json()
            ids.extend(ev["id"] for ev in body["events"])
            cursor = body["last_id"]


def contiguous(ids: list[int]) -> bool:
    return ids == list(range(ids[0], ids[0] + len(ids))) if ids else False


def json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:200]
