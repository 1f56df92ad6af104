"""Two Daphne processes on the Redis channel layer and the Redis-backed log: a message sent through
process A reaches clients of process B on all four transports, and a cursor resumes on A without a
gap. Needs Redis (fails, not skips, under REQUIRE_SERVICES=1); bounded in time."""

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets

from tests.factories import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.services]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_servers(redis_url, tmp_path):
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DJANGO_DEBUG": "1",  # static files from the finders: no collectstatic needed
        "DJANGO_SECRET_KEY": "two-process-test-" + secrets.token_hex(24),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'two.sqlite3'}",
        "REDIS_URL": redis_url,
        "PLAYGROUND_MAX_CONNECTIONS_PER_IP": "1000",
        "PLAYGROUND_MAX_CONNECTIONS_PER_USER": "1000",
        "DJANGO_ACCESS_LOG": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)  # noqa: S603
    create = f"from accounts.models import User; User.objects.create_user('two', password='{TEST_PASSWORD}')"
    subprocess.run([*manage, "shell", "-c", create], cwd=ROOT, env=env, check=True, timeout=60)  # noqa: S603
    ports, procs = [free_port(), free_port()], []
    for port in ports:
        cmd = [
            sys.executable,
            "-m",
            "daphne",
            "-e",
            f"tcp:port={port}:interface=127.0.0.1",
            "config.asgi:application",
        ]
        procs.append(
            subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        )
    try:
        deadline = time.monotonic() + 30
        for port in ports:
            while True:
                try:
                    if (
                        httpx.get(
                            f"http://127.0.0.1:{port}/playground/ticker/poll/?timeout=0", timeout=2
                        ).status_code
                        == 200
                    ):
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "Daphne did not start"
                time.sleep(0.2)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


async def log_in(client: httpx.AsyncClient) -> str:
    await client.get("/accounts/login/")
    token = client.cookies["csrftoken"]
    response = await client.post(
        "/accounts/login/", data={"username": "two", "password": TEST_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    return client.cookies["csrftoken"]


async def scenario(port_a: int, port_b: int) -> None:
    stream = f"room-two-{secrets.token_hex(4)}"
    b = f"127.0.0.1:{port_b}"
    async with asyncio.timeout(45), httpx.AsyncClient(base_url=f"http://{b}", timeout=30) as reader:
        ws = await websockets.connect(f"ws://{b}/ws/playground/{stream}/", origin=f"http://{b}")
        hello = json.loads(await ws.recv())
        assert (hello["type"], hello["last_id"]) == ("hello", 0)

        sse_cm = reader.stream("GET", f"/playground/{stream}/events/")
        sse = await sse_cm.__aenter__()
        assert sse.status_code == 200
        sse_lines = sse.aiter_lines()
        while (line := await anext(sse_lines)) != "event: hello":
            pass
        held = asyncio.create_task(
            reader.get(f"/playground/{stream}/poll/", params={"after": 0, "timeout": 20})
        )
        await asyncio.sleep(0.3)

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}", timeout=10) as sender:
            token = await log_in(sender)
            sent = await sender.post(
                f"/playground/{stream}/send/",
                data={"text": "across processes"},
                headers={"X-CSRFToken": token},
            )
            assert sent.status_code == 202
            assert sent.json() == {"id": 1}

        while (msg := json.loads(await ws.recv())).get("type") != "chat":
            pass
        assert (msg["id"], msg["data"]["text"]) == (1, "across processes")
        while not (line := await anext(sse_lines)).startswith("id: "):
            pass
        assert line == "id: 1"
        assert await anext(sse_lines) == "event: chat"
        assert (
            json.loads((await anext(sse_lines)).removeprefix("data: "))["data"]["text"] == "across processes"
        )
        long_poll = (await held).json()
        assert [e["id"] for e in long_poll["events"]] == [1]
        short_poll = (
            await reader.get(f"/playground/{stream}/poll/", params={"after": 0, "timeout": 0})
        ).json()
        assert [e["data"]["text"] for e in short_poll["events"]] == ["across processes"]
        assert short_poll["epoch"] == msg["epoch"]

        # The cursor from B resumes on A with no gap: ids and buffer live in Redis.
        a = f"127.0.0.1:{port_a}"
        resumed = await websockets.connect(f"ws://{a}/ws/playground/{stream}/?after=0", origin=f"http://{a}")
        hello = json.loads(await resumed.recv())
        assert (hello["replayed"], hello["epoch"]) == (1, msg["epoch"])
        assert json.loads(await resumed.recv())["id"] == 1
        await resumed.close()
        await ws.close()
        await sse_cm.__aexit__(None, None, None)


def test_event_sent_through_one_process_reaches_the_other_on_all_transports(two_servers):
    asyncio.run(scenario(*two_servers))
