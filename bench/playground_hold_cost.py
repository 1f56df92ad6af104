"""What one held SSE stream or long poll costs the server: threads and RSS, both ways.

Runs Daphne twice per transport: once with config.asgi:application (StreamsApp serves the
streaming GETs before Django) and once with Django's ASGI handler alone (the async views), opens N
held requests, and reports (threads, RSS) deltas per request. Usage:

    .venv/bin/python -m bench.playground_hold_cost [N]

Daphne imports this module too (``django_only``), so importing it stays cheap.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if os.environ.get("HOLD_COST_SERVER") == "1":  # imported by Daphne as the Django-only app
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
    from django.core.asgi import get_asgi_application

    django_only = get_asgi_application()

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_stats(pid: int) -> tuple[int, int]:
    threads = rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            threads = int(line.split()[1])
        elif line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return threads, rss


async def _hold(port: int, path: str, n: int) -> list:
    import httpx

    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60)
    streams = []
    for i in range(n):
        headers = {"cookie": f"sessionid=bench{i}"}
        if "/events/" in path:
            cm = client.stream("GET", path.format(i=i), headers=headers)
            response = await cm.__aenter__()
            if response.status_code != 200:
                raise RuntimeError(f"SSE answered {response.status_code}")
            chunks = response.aiter_bytes()
            await anext(chunks)  # the first comment: the stream is open
            streams.append((cm, chunks))  # keep the iterator: collecting it would close the stream
        else:  # a held poll answers only after its timeout: keep it in flight as a task
            streams.append(asyncio.create_task(client.get(path.format(i=i), headers=headers)))
    return [client, streams]


async def measure(app: str, path: str, n: int) -> dict:
    port = _free_port()
    env = os.environ | {
        "HOLD_COST_SERVER": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DJANGO_SECRET_KEY": "bench-only-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tempfile.gettempdir()}/playground-hold-cost.sqlite3",
        "PLAYGROUND_MAX_CONNECTIONS_PER_IP": "100000",
        "PLAYGROUND_MAX_CONNECTIONS_PER_USER": "100000",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_ACCESS_LOG": "0",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
    }
    env.pop("REDIS_URL", None)
    cmd = [sys.executable, "-m", "daphne", "-e", f"tcp:port={port}:backlog=1024:interface=127.0.0.1", app]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import httpx

        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/playground/ticker/poll/?timeout=0", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for _ in range(3):  # warm up both paths
            httpx.get(f"http://127.0.0.1:{port}/playground/room-bench/poll/?timeout=0", timeout=5)
        time.sleep(0.5)
        before = _proc_stats(server.pid)
        client, streams = await _hold(port, path, n)
        await asyncio.sleep(2.0)
        held = _proc_stats(server.pid)
        check = httpx.get(f"http://127.0.0.1:{port}/playground/room-bench/poll/?timeout=0", timeout=5).json()
        for cm in streams:
            if isinstance(cm, asyncio.Task):
                cm.cancel()
            else:
                await cm[1].aclose()
                await cm[0].__aexit__(None, None, None)
        await asyncio.gather(*[t for t in streams if isinstance(t, asyncio.Task)], return_exceptions=True)
        await client.aclose()
        return {
            "threads_per_request": (held[0] - before[0]) / n,
            "kib_per_request": (held[1] - before[1]) / n,
            "threads": (before[0], held[0]),
            "rss_kib": (before[1], held[1]),
            "presence": check["presence"],
        }
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=ROOT,
        check=True,
        env=os.environ | {"DATABASE_URL": f"sqlite:///{tempfile.gettempdir()}/playground-hold-cost.sqlite3"},
    )
    paths = {
        "sse": "/playground/room-bench/events/?conn={i}",
        "long_poll": "/playground/room-bench/poll/?timeout=30&conn={i}",
    }
    apps = {
        "StreamsApp (config.asgi)": "config.asgi:application",
        "Django views": "bench.playground_hold_cost:django_only",
    }
    print(f"{n} held requests per run (Daphne, 1 process)")
    for kind, path in paths.items():
        for label, app in apps.items():
            r = asyncio.run(measure(app, path, n))
            print(
                f"{kind:9} {label:25} threads/request {r['threads_per_request']:.2f} "
                f"({r['threads'][0]}->{r['threads'][1]})  KiB/request {r['kib_per_request']:.1f}  "
                f"server saw {r['presence']}"
            )


if __name__ == "__main__":
    main()
