"""The benchmarks. Each takes the run's Context, records figures in ``ctx.results`` (the issue's keys)
and context numbers in ``ctx.details``; each starts the servers it needs and stops them itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import clients, procs

# --- context -----------------------------------------------------------------------------------


@dataclass
class Sizes:
    """Full run, or --quick (tiny: the smoke test's)."""

    wrk_seconds: float = 8.0
    echo_seconds: float = 6.0
    echo_clients: int = 100
    rtt_seconds: float = 8.0
    rtt_rate: float = 10.0  # pings per second per client
    fanout_events: int = 15
    broadcast_ws: tuple[int, int] = (1000, 5000)
    broadcast_sse: int = 1000
    broadcast_longpoll: int = 500
    idle: int = 1000
    max_ws: int = 10000
    storm: int = 1000
    wire_seconds: float = 20.0
    learners: int = 500
    weeks: int = 52
    ceiling_budget: float = 120.0  # seconds for the connection ramp
    settle: float = 2.0  # seconds for presence/housekeeping to settle around memory samples
    warm_each: bool = True  # a warm-up wrk second per URL before measuring

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            wrk_seconds=1.0,
            echo_seconds=0.5,
            echo_clients=10,
            rtt_seconds=1.0,
            fanout_events=5,
            broadcast_ws=(20, 40),
            broadcast_sse=20,
            broadcast_longpoll=20,
            idle=20,
            max_ws=50,
            storm=20,
            wire_seconds=3.0,
            learners=20,
            weeks=4,
            settle=0.3,
            warm_each=False,
        )


@dataclass
class Context:
    workdir: Path
    database_url: str
    seed: dict[str, Any]
    sizes: Sizes
    quick: bool
    results: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pool: dict[tuple[str, str], procs.Server] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return self.workdir / "servers.log"

    def env(self, redis_url: str = "", **extra: str) -> dict[str, str]:
        extra = {"DJANGO_SECRET_KEY": self.seed["secret_key"], **extra}
        return procs.server_env(
            database_url=self.database_url,
            static_root=str(self.workdir / "static"),
            redis_url=redis_url,
            extra=extra,
        )

    def daphne(self, *, redis_url: str = "", name: str = "daphne", **extra: str) -> procs.Server:
        """A fresh server (full run: no benchmark inherits another's memory or state); --quick reuses one."""
        if self.quick and not extra:
            key = (redis_url, name)
            if key not in self.pool:
                self.pool[key] = procs.daphne(procs.free_port(), self.env(redis_url), self.log, name=name)
                self.pool[key].shared = True
            return self.pool[key]
        return procs.daphne(procs.free_port(), self.env(redis_url, **extra), self.log, name=name)

    def stop_pool(self) -> None:
        for server in self.pool.values():
            server.stop()
        self.pool.clear()


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def dist(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": round(pct(values, 50), 2),
        "p95": round(pct(values, 95), 2),
        "p99": round(pct(values, 99), 2),
        "max": round(max(values), 2) if values else float("nan"),
    }


# --- HTTP pages (wrk) ----------------------------------------------------------------------------

WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
WRK_ERRORS = re.compile(r"Socket errors:.*")


def wait_idle(server: procs.Server, limit: float = 60.0) -> None:
    """Until the server has drained what the last run queued (slow pages keep it busy after wrk stops)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = procs.cpu_seconds(server.pid)
        time.sleep(0.3)
        if procs.cpu_seconds(server.pid) - before < 0.03:
            return


def wrk(port: int, path: str, seconds: float, *, cookie: str = "", connections: int = 4) -> dict[str, Any]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "20s"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    rate = float(WRK_RATE.search(out).group(1))
    bad = int(m.group(1)) if (m := WRK_NON2XX.search(out)) else 0
    errors = m.group(0) if (m := WRK_ERRORS.search(out)) else ""
    timeouts = int(m.group(1)) if (m := re.search(r"timeout (\d+)", errors)) else 0
    if bad or timeouts:
        raise RuntimeError(f"wrk {path}: {bad} non-2xx responses, {timeouts} timeouts\n{out}")
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    if rate == 0:
        raise RuntimeError(f"wrk {path}: no request completed in {seconds} s\n{out}")
    return {"rps": rate, "p99_ms": round(float(p99.group(1)) * scale[p99.group(2)], 2) if p99 else None}


def http_pages(ctx: Context) -> None:
    """Pages over the constant "ok" view, same server, same middleware; the baseline runs first and last."""
    seed, secs = ctx.seed, ctx.sizes.wrk_seconds
    cookie = f"{seed['session_cookie_name']}={seed['instructor_session']}"
    pages = [
        ("lesson_page_ratio", seed["lesson_path"], ""),
        ("search_ratio", seed["search_path"], ""),
        ("dashboard_500_ratio", seed["dashboard_path"], cookie),
    ]
    with ctx.daphne() as server:
        for path, c in [("/bench/ok/", ""), *[(p, c) for _, p, c in pages]]:
            # warm-up: imports, template compilation, the first database connection
            request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", headers={"Cookie": c})
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
                response.read()
            if ctx.sizes.warm_each:
                wrk(server.port, path, 1, cookie=c, connections=1)
            wait_idle(server)
        base = [wrk(server.port, "/bench/ok/", secs)]
        say(f"  baseline ok view: {base[0]['rps']:.0f} req/s")
        rows = {}
        for key, path, c in pages:
            wait_idle(server)
            rows[key] = wrk(server.port, path, secs, cookie=c)
            say(f"  {path}: {rows[key]['rps']:.1f} req/s (p99 {rows[key]['p99_ms']} ms)")
        wait_idle(server)
        base.append(wrk(server.port, "/bench/ok/", secs))
        baseline = statistics.mean(b["rps"] for b in base)
        for key, row in rows.items():
            ctx.results[key] = round(row["rps"] / baseline, 3)
        ctx.details["http"] = {
            "baseline_rps": [round(b["rps"], 1) for b in base],
            "pages": {k: {"path": p, **rows[k]} for k, p, _ in pages},
            "cohort_learners": seed["cohort_learners"],
        }


# --- WebSocket echo (websockets library client) -------------------------------------------------


async def echo_rate(uri: str, clients_n: int, seconds: float, origin: str) -> dict[str, float]:
    from websockets.asyncio.client import connect

    counts = [0] * clients_n
    counting = asyncio.Event()
    stop = asyncio.Event()

    async def one(i: int) -> None:
        async with connect(uri, origin=origin, compression=None, ping_interval=None, open_timeout=30) as ws:
            await ready.wait()
            while not stop.is_set():
                await ws.send(f'{{"type":"ping","t":{counts[i]}}}')
                while True:
                    reply = await ws.recv()
                    if reply.startswith('{"type":"pong"'):
                        break
                if counting.is_set():
                    counts[i] += 1

    ready = asyncio.Event()
    tasks = [asyncio.create_task(one(i)) for i in range(clients_n)]
    await asyncio.sleep(min(5.0, 0.2 + clients_n * 0.02))  # connected
    ready.set()
    await asyncio.sleep(min(0.5, seconds / 2))  # warm-up
    counting.set()
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - started
    total = sum(counts)
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"rate": total / elapsed}


async def rtt_fixed_rate(uri: str, clients_n: int, seconds: float, rate: float, origin: str) -> list[float]:
    """Each client pings at ``rate``/s on a fixed schedule; RTT counts from the intended send time."""
    from websockets.asyncio.client import connect

    rtts: list[float] = []

    async def one(offset: float) -> None:
        async with connect(uri, origin=origin, compression=None, ping_interval=None, open_timeout=30) as ws:
            await asyncio.sleep(offset)
            start = time.perf_counter()
            k = 0
            while (due := start + k / rate) < start + seconds:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                await ws.send(f'{{"type":"ping","t":{k}}}')
                while not (await ws.recv()).startswith('{"type":"pong"'):
                    pass
                rtts.append((time.perf_counter() - due) * 1000)
                k += 1

    await asyncio.gather(*(one(i / clients_n / rate) for i in range(clients_n)))
    return rtts


def ws_echo(ctx: Context) -> None:
    """All three servers up at once; per client count the baseline runs before and after the others."""
    n, secs = ctx.sizes.echo_clients, ctx.sizes.echo_seconds
    stream = "/ws/playground/room-echo/"
    ports = {name: procs.free_port() for name in ("websockets", "daphne", "uvicorn")}
    servers = {
        "websockets": procs.echo_server(ports["websockets"], ctx.log),
        "daphne": procs.daphne(ports["daphne"], ctx.env(), ctx.log),
        "uvicorn": procs.uvicorn(ports["uvicorn"], ctx.env(), ctx.log),
    }
    uris = {
        "websockets": f"ws://127.0.0.1:{ports['websockets']}/",
        "daphne": f"ws://127.0.0.1:{ports['daphne']}{stream}",
        "uvicorn": f"ws://127.0.0.1:{ports['uvicorn']}{stream}",
    }

    def origin(name: str) -> str:
        return f"http://127.0.0.1:{ports[name]}"

    rates: dict[str, dict[int, list[float]]] = {name: {1: [], n: []} for name in servers}
    try:
        for server in servers.values():  # start together, wait together
            server.spawn()
        for server in servers.values():
            server.wait()
        for name, uri in uris.items():  # warm-up: imports, the first database connection
            asyncio.run(echo_rate(uri, 2, 0.5, origin(name)))
        for clients_n in (1, n):
            for name in ("websockets", "daphne", "uvicorn", "websockets"):
                rate = asyncio.run(echo_rate(uris[name], clients_n, secs, origin(name)))["rate"]
                rates[name][clients_n].append(rate)
            say(
                f"  {clients_n} client(s): "
                + ", ".join(f"{k} {statistics.mean(v[clients_n]):.0f}/s" for k, v in rates.items())
            )
        rtts = asyncio.run(
            rtt_fixed_rate(uris["daphne"], n, ctx.sizes.rtt_seconds, ctx.sizes.rtt_rate, origin("daphne"))
        )
        ctx.results["ws_rtt_p99_ms_100"] = round(pct(rtts, 99), 2)
        ctx.details["ws_rtt_100"] = {"rate_per_client": ctx.sizes.rtt_rate, "clients": n, **dist(rtts)}
        say(f"  RTT at {n} x {ctx.sizes.rtt_rate:g}/s: {dist(rtts)}")
    finally:
        for server in servers.values():
            server.stop()
    mean = {name: {c: statistics.mean(v) for c, v in by_n.items()} for name, by_n in rates.items()}
    base = mean["websockets"]
    ctx.results["ws_echo_ratio_1"] = round(mean["daphne"][1] / base[1], 3)
    ctx.results["ws_echo_ratio_100"] = round(mean["daphne"][n] / base[n], 3)
    ctx.results["ws_echo_ratio_1_uvicorn"] = round(mean["uvicorn"][1] / base[1], 3)
    ctx.results["ws_echo_ratio_100_uvicorn"] = round(mean["uvicorn"][n] / base[n], 3)
    ctx.details["ws_echo"] = {k: {str(c): round(r, 1) for c, r in v.items()} for k, v in mean.items()}
    ctx.details["ws_echo"]["baseline_runs"] = {
        str(c): [round(r) for r in v] for c, v in rates["websockets"].items()
    }
    ctx.details["ws_echo"]["clients"] = n


# --- broadcast ----------------------------------------------------------------------------------


async def publisher(port: int, stream: str, session: str) -> clients.WSClient:
    pub = await clients.ws_connect(port, f"/ws/playground/{stream}/", session=session, keep_ids=False)
    await asyncio.wait_for(pub.hello, 30)
    return pub


async def publish_series(
    pub: clients.WSClient, count: int, interval: float, *, first: int = 0
) -> list[tuple[int, float]]:
    """Send ``count`` chat events, one every ``interval`` s on a fixed schedule: (seq, t0 ms)."""
    sent = []
    start = time.perf_counter()
    for k in range(count):
        await asyncio.sleep(max(0.0, start + k * interval - time.perf_counter()))
        t0 = clients.now_ms()
        pub.send_text(json.dumps({"type": "send", "text": f"b {first + k} {t0:.3f}"}))
        sent.append((first + k, t0))
    return sent


def spacing(n: int, quick: bool, per_client_ms: float = 0.5) -> float:
    """Seconds between events: each broadcast should start on an idle server, since the figure is one
    event's fan-out, not sustained throughput (at least 1 s, plus ~0.5 ms per subscriber; long polls
    also cost a new request per client per event)."""
    return 0.25 if quick else max(1.0, n * per_client_ms / 1000)


def fanout_result(receivers: list, sent: list[tuple[int, float]], warmup: int) -> dict[str, Any]:
    counted = {seq for seq, _ in sent[warmup:]}
    lat = [ms for r in receivers for seq, ms in r.latencies if seq in counted]
    expected = len(receivers) * len(counted)
    return {**dist(lat), "expected": expected, "missing": expected - len(lat)}


async def _settle(receivers: list, sent: list[tuple[int, float]], timeout: float) -> None:
    want = {seq for seq, _ in sent}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all({seq for seq, _ in r.latencies} >= want for r in receivers):
            return
        await asyncio.sleep(0.1)


async def ws_fanout(
    ports: list[int], n: int, events: int, interval: float, session: str, *, logged_in: bool = False
) -> dict[str, Any]:
    """Subscribers are visitors without a session cookie, or (``logged_in``) learners with one."""
    stream = f"room-fan{n}{'-in' if logged_in else ''}"
    sub_session = session if logged_in else None
    subs: list[clients.WSClient] = []
    errors = 0
    for i, port in enumerate(ports):  # split evenly across the given processes
        share = n // len(ports) + (1 if i < n % len(ports) else 0)
        got, err = await clients.ws_many(
            port, f"/ws/playground/{stream}/", share, keep_ids=False, session=sub_session
        )
        subs += got
        errors += err
    pub = await publisher(ports[0], stream, session)
    await asyncio.sleep(1.0)  # presence settles
    sent = await publish_series(pub, events, interval)
    await _settle(subs, sent, 10)
    out = fanout_result(subs, sent, warmup=2)
    out["connect_errors"] = errors
    for c in [*subs, pub]:
        c.close()
    await asyncio.sleep(0.5)
    return out


def broadcast_ws(ctx: Context) -> None:
    events, session = ctx.sizes.fanout_events, ctx.seed["publisher_session"]
    for n in ctx.sizes.broadcast_ws:
        with ctx.daphne() as server:
            interval = spacing(n, ctx.quick)
            count = events if n <= 1000 else max(5, events * 3 // 5)  # 5,000: fewer, slower events
            out = asyncio.run(ws_fanout([server.port], n, count, interval, session))
        key = f"broadcast_{1000 if n == ctx.sizes.broadcast_ws[0] else 5000}_ws_p95_ms"
        ctx.results[key] = out["p95"]
        ctx.details[key] = {"subscribers": n, "interval_s": interval, **out}
        say(f"  {n} WebSockets: {out}")
    n = ctx.sizes.broadcast_ws[0]  # context: the same with a session cookie on every subscriber
    with ctx.daphne() as server:
        interval = spacing(n, ctx.quick)
        out = asyncio.run(ws_fanout([server.port], n, events, interval, session, logged_in=True))
    ctx.details["broadcast_ws_logged_in"] = {"subscribers": n, "interval_s": interval, **out}
    say(f"  {n} WebSockets with session cookies: {out}")


def broadcast_ws_redis(ctx: Context, redis_url: str) -> None:
    n = ctx.sizes.broadcast_ws[0]
    a, b = ctx.daphne(redis_url=redis_url, name="daphne-a"), ctx.daphne(redis_url=redis_url, name="daphne-b")
    with a, b:
        interval = spacing(n, ctx.quick)
        out = asyncio.run(
            ws_fanout([a.port, b.port], n, ctx.sizes.fanout_events, interval, ctx.seed["publisher_session"])
        )
    ctx.results["broadcast_1000_ws_redis_p95_ms"] = out["p95"]
    ctx.details["broadcast_1000_ws_redis_p95_ms"] = {
        "subscribers": n,
        "processes": 2,
        "interval_s": interval,
        **out,
    }
    say(f"  {n} WebSockets on 2 processes + Redis: {out}")


async def sse_fanout(port: int, n: int, events: int, interval: float, session: str) -> dict[str, Any]:
    stream = f"room-sse{n}"
    sem = asyncio.Semaphore(200)
    subs: list[clients.SSEClient] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        async with sem:
            try:
                subs.append(await clients.sse_connect(port, f"/playground/{stream}/events/", session=None))
            except (OSError, TimeoutError, ConnectionError):
                errors += 1

    await asyncio.gather(*(one() for _ in range(n)))
    pub = await publisher(port, stream, session)
    await asyncio.sleep(1.0)
    sent = await publish_series(pub, events, interval)
    await _settle(subs, sent, 10)
    out = fanout_result(subs, sent, warmup=2)
    out["connect_errors"] = errors
    for c in [*subs, pub]:
        c.close()
    await asyncio.sleep(0.5)
    return out


async def longpoll_fanout(port: int, n: int, events: int, interval: float, session: str) -> dict[str, Any]:
    stream = f"room-lp{n}"
    pub = await publisher(port, stream, session)
    newest = (await pub.hello)["last_id"]
    stop = asyncio.Event()
    pollers = [clients.Poller(port, stream, timeout=25, cursor=newest, session=None) for _ in range(n)]
    tasks = [asyncio.create_task(p.run(stop)) for p in pollers]
    deadline = time.monotonic() + 60
    while sum(p.holding for p in pollers) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # every request reached the server and waits
    sent = await publish_series(pub, events, interval)
    await _settle(pollers, sent, 10)
    stop.set()
    out = fanout_result(pollers, sent, warmup=2)
    out["errors"] = sum(p.errors for p in pollers)
    out["requests"] = sum(p.requests for p in pollers)
    pub.close()
    for p in pollers:
        if p.conn is not None:
            p.conn.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return out


def broadcast_http(ctx: Context) -> None:
    events, session = ctx.sizes.fanout_events, ctx.seed["publisher_session"]
    n = ctx.sizes.broadcast_sse
    with ctx.daphne() as server:
        interval = spacing(n, ctx.quick)
        out = asyncio.run(sse_fanout(server.port, n, events, interval, session))
    ctx.results["broadcast_1000_sse_p95_ms"] = out["p95"]
    ctx.details["broadcast_1000_sse_p95_ms"] = {"subscribers": n, "interval_s": interval, **out}
    say(f"  {n} SSE streams: {out}")
    n = ctx.sizes.broadcast_longpoll
    with ctx.daphne() as server:
        interval = spacing(n, ctx.quick, per_client_ms=3.0)
        out = asyncio.run(longpoll_fanout(server.port, n, events, interval, session))
    ctx.results["broadcast_500_longpoll_p95_ms"] = out["p95"]
    ctx.details["broadcast_500_longpoll_p95_ms"] = {"clients": n, "interval_s": interval, **out}
    say(f"  {n} long-pollers: {out}")


# --- idle memory and the connection ceiling ------------------------------------------------------


async def _open_idle(kind: str, port: int, n: int) -> tuple[list, list, asyncio.Event]:
    stream = "room-idle"
    if kind == "ws":
        conns, errors = await clients.ws_many(
            port, f"/ws/playground/{stream}/", n, keep_ids=False, session=None
        )
        if errors:
            raise RuntimeError(f"{errors} idle WebSockets failed")
        return conns, [], asyncio.Event()
    if kind == "sse":
        sem = asyncio.Semaphore(200)

        async def one() -> clients.SSEClient:
            async with sem:
                return await clients.sse_connect(port, f"/playground/{stream}/events/", session=None)

        return list(await asyncio.gather(*(one() for _ in range(n)))), [], asyncio.Event()
    stop = asyncio.Event()
    pollers = [clients.Poller(port, stream, timeout=30, session=None) for _ in range(n)]
    tasks = [asyncio.create_task(p.run(stop)) for p in pollers]
    deadline = time.monotonic() + 60
    while sum(p.holding for p in pollers) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return pollers, tasks, stop


async def idle_measure(kind: str, server: procs.Server, n: int, settle: float) -> dict[str, Any]:
    warm, tasks, stop = await _open_idle(kind, server.port, 20)  # imports, pools, first allocations
    await _close_all(warm, tasks, stop)
    await asyncio.sleep(settle)
    before = server.status()
    conns, tasks, stop = await _open_idle(kind, server.port, n)
    await asyncio.sleep(settle)  # presence and housekeeping settle
    during = server.status()
    held = len(conns) if kind != "longpoll" else sum(p.holding for p in conns)
    await _close_all(conns, tasks, stop)
    return {
        "connections": held,
        "rss_before_kib": before["VmRSS"],
        "rss_during_kib": during["VmRSS"],
        "kib_per_connection": round((during["VmRSS"] - before["VmRSS"]) / n, 1),
        "threads_before": before["Threads"],
        "threads_during": during["Threads"],
    }


async def _close_all(conns: list, tasks: list, stop: asyncio.Event) -> None:
    stop.set()
    for c in conns:
        if not isinstance(c, clients.Poller):
            c.close()
        elif c.conn is not None:
            c.conn.close()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0.2)


def idle_memory(ctx: Context) -> None:
    n = ctx.sizes.idle
    for kind, key in (
        ("ws", "idle_kib_per_ws"),
        ("sse", "idle_kib_per_sse"),
        ("longpoll", "idle_kib_per_longpoll"),
    ):
        with ctx.daphne() as server:
            out = asyncio.run(idle_measure(kind, server, n, ctx.sizes.settle))
        ctx.results[key] = out["kib_per_connection"]
        ctx.details[key] = out
        say(f"  {n} idle {kind}: {out}")


async def ceiling(port: int, n: int, session: str, step: int, budget: float) -> dict[str, Any]:
    """Open WebSockets ``step`` at a time; after each step one broadcast must reach every socket.
    Held = the count after the last step with no failed handshake and a complete broadcast."""
    stream = "room-ceiling"
    started = time.perf_counter()
    pub = await publisher(port, stream, session)
    subs: list[clients.WSClient] = []
    held, errors, steps, lat = 0, 0, [], []
    seq = 0
    while len(subs) < n and time.perf_counter() - started < budget:
        t0 = time.perf_counter()
        got, errors = await clients.ws_many(
            port,
            f"/ws/playground/{stream}/",
            min(step, n - len(subs)),
            concurrency=200,
            timeout=30,
            keep_ids=False,
            session=None,
        )
        subs += got
        sent = await publish_series(pub, 1, 0, first=seq)
        seq += 1
        await _settle(subs, sent, 30)
        reached = sum(1 for s in subs if any(q == sent[0][0] for q, _ in s.latencies))
        lat = [ms for s in subs for q, ms in s.latencies if q == sent[0][0]]
        steps.append((len(subs), errors, reached, round(time.perf_counter() - t0, 1), round(pct(lat, 95))))
        if errors or reached < len(subs):
            break
        held = len(subs)
    for c in [*subs, pub]:
        c.close()
    await asyncio.sleep(1.0)
    return {
        "attempted": n,
        "held": held,
        "open_at_end": len(subs),
        "errors_last_step": errors,
        "seconds": round(time.perf_counter() - started, 1),
        "time_capped": len(subs) < n and not errors,
        "broadcast_p95_ms_at_end": round(pct(lat, 95), 1),
        "steps (open, errors, reached, s, p95 ms)": steps,
    }


def max_ws(ctx: Context) -> None:
    n = ctx.sizes.max_ws
    step = max(1, n // 10)
    with ctx.daphne() as server:
        out = asyncio.run(
            ceiling(server.port, n, ctx.seed["publisher_session"], step, ctx.sizes.ceiling_budget)
        )
        out["rss_kib"] = server.status()["VmRSS"]
    ctx.results["max_ws_per_process"] = out["held"]
    ctx.details["max_ws_per_process"] = out
    say(f"  ceiling: {out}")


# --- reconnect storm -----------------------------------------------------------------------------


class StormClient:
    """A WebSocket client that reconnects with backoff + jitter and resumes with ?after=<last id>."""

    def __init__(self, port: int, stream: str) -> None:
        self.port, self.stream = port, stream
        self.ids: list[int] = []
        self.conn: clients.WSClient | None = None
        self.resumed_at: float | None = None
        self.reconnects = 0
        self.resets = 0
        self.target: int | None = None

    def on_text(self, conn: clients.WSClient, payload: bytes, t: float) -> None:
        m = clients.EVENT_ID.match(payload)
        if m is not None:
            self.ids.append(int(m.group(1)))
            if self.resumed_at is None and self.target is not None and self.ids[-1] >= self.target:
                self.resumed_at = time.perf_counter()
        elif payload.startswith(b'{"type":"hello"'):
            hello = json.loads(payload)
            self.target = hello["last_id"]
            if self.reconnects and (not self.ids or self.ids[-1] >= self.target):
                self.resumed_at = time.perf_counter()
        elif payload.startswith(b'{"type":"reset"'):
            self.resets += 1

    async def connect(self) -> None:
        self.target = None
        path = f"/ws/playground/{self.stream}/"
        if self.ids:
            path += f"?after={self.ids[-1]}"
        self.conn = await clients.ws_connect(self.port, path, on_text=self.on_text, timeout=10, session=None)

    async def run(self, stop: asyncio.Event, import_random: Any) -> None:
        while not stop.is_set():
            if self.conn is None:
                return
            await self.conn.closed
            if stop.is_set():
                return
            delay = 0.1
            self.reconnects += 1
            self.resumed_at = None
            while not stop.is_set():
                await asyncio.sleep(import_random.uniform(0, delay))  # full jitter
                try:
                    await self.connect()
                    break
                except (OSError, TimeoutError, ConnectionError):
                    delay = min(2.0, delay * 2)


async def storm(a: procs.Server, b: procs.Server, n: int, session: str, quick: bool) -> dict[str, Any]:
    import random

    stream = "room-storm"
    pub = await publisher(b.port, stream, session)  # publishes through the process that stays up
    stop = asyncio.Event()
    sem = asyncio.Semaphore(100)
    storm_clients = [StormClient(a.port, stream) for _ in range(n)]

    async def first(c: StormClient) -> None:  # a refused handshake is retried, as a browser client would
        async with sem:
            for attempt in range(20):
                try:
                    return await c.connect()
                except (OSError, TimeoutError, ConnectionError):
                    await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
            await c.connect()

    await asyncio.gather(*(first(c) for c in storm_clients))
    tasks = [asyncio.create_task(c.run(stop, random)) for c in storm_clients]
    rate = 2.0  # 2,000 deliveries a second to the 1,000: twice the ticker's rate
    pub_task = asyncio.create_task(publish_series(pub, 10_000, 1 / rate))
    await asyncio.sleep(1.0 if quick else 2.0)
    killed = time.perf_counter()
    await asyncio.to_thread(a.stop)
    await asyncio.to_thread(a.start)
    restarted = time.perf_counter()
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline and not all(c.resumed_at for c in storm_clients):
        await asyncio.sleep(0.05)
    done = time.perf_counter()
    await asyncio.sleep(1.0)
    pub_task.cancel()
    await asyncio.sleep(1.0)  # the last events arrive
    stop.set()
    final = pub.last_id  # the publisher (on the process that stayed up) sees every event
    first = min((c.ids[0] for c in storm_clients if c.ids), default=final + 1)
    gaps = dups = 0
    for c in storm_clients:  # a client that never got an event missed all of them
        seen = set(c.ids)
        dups += len(c.ids) - len(seen)
        start = c.ids[0] if c.ids else first
        gaps += (final - start + 1) - len([i for i in seen if start <= i <= final])
    for c in storm_clients:
        if c.conn is not None:
            c.conn.close()
    pub.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    resumed = sum(1 for c in storm_clients if c.resumed_at)
    return {
        "clients": n,
        "resumed": resumed,
        "seconds": round(done - killed, 2),
        "restart_seconds": round(restarted - killed, 2),
        "gaps": gaps,
        "duplicates": dups,
        "resets": sum(c.resets for c in storm_clients),
        "publish_rate": rate,
    }


def reconnect_storm(ctx: Context, redis_url: str) -> None:
    n = ctx.sizes.storm
    a, b = ctx.daphne(redis_url=redis_url, name="daphne-a"), ctx.daphne(redis_url=redis_url, name="daphne-b")
    with a, b:
        out = asyncio.run(storm(a, b, n, ctx.seed["publisher_session"], ctx.quick))
    ctx.results["reconnect_storm_1000_s"] = out["seconds"] if out["resumed"] == n else None
    ctx.results["reconnect_storm_1000_gaps"] = out["gaps"]
    ctx.details["reconnect_storm"] = out
    say(f"  storm: {out}")


# --- bytes on the wire ---------------------------------------------------------------------------


async def wire(port: int, seconds: float, session: str) -> dict[str, Any]:
    """One client per transport on the ticker (an event a second) for ``seconds``: all bytes / events."""
    stop = asyncio.Event()
    ws = await clients.ws_connect(port, "/ws/playground/ticker/", session=session)
    sse = await clients.sse_connect(port, "/playground/ticker/events/", session=session)
    lp = clients.Poller(port, "ticker", timeout=25, session=session)
    sp = clients.Poller(port, "ticker", timeout=0, interval=1.0, session=session)
    tasks = [asyncio.create_task(p.run(stop)) for p in (lp, sp)]
    await asyncio.sleep(seconds)
    stop.set()
    out = {}
    for name, c in (("ws", ws), ("sse", sse), ("longpoll", lp), ("shortpoll_1s", sp)):
        out[name] = {
            "events": c.events,
            "rx": c.rx,
            "tx": c.tx,
            "requests": getattr(c, "requests", 1),
            "bytes_per_event": round((c.rx + c.tx) / c.events, 1) if c.events else None,
        }
    ws.close()
    sse.close()
    for p in (lp, sp):
        if p.conn is not None:
            p.conn.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return out


def bytes_per_event(ctx: Context) -> None:
    with ctx.daphne() as server:
        out = asyncio.run(wire(server.port, ctx.sizes.wire_seconds, ctx.seed["publisher_session"]))
    for name, row in out.items():
        ctx.results[f"bytes_per_event_{name}"] = row["bytes_per_event"]
    ctx.details["bytes_per_event"] = {"seconds": ctx.sizes.wire_seconds, **out}
    say(f"  wire bytes: { {k: v['bytes_per_event'] for k, v in out.items()} }")
