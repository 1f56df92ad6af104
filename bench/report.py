"""results.json (one key per figure of issue 8) and BENCHMARKS.md (machine, versions, method, tables)."""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.scenarios import Context

ROOT = Path(__file__).resolve().parent.parent
FINDINGS = Path(__file__).resolve().parent / "FINDINGS.md"

# key -> (what, target text, check or None for "reported", benchmark that produces it)
FIGURES: dict[str, tuple[str, str, Any, str]] = {
    "lesson_page_ratio": (
        "lesson page req/s over the constant ok view",
        ">= 0.7",
        lambda v: v >= 0.7,
        "http_pages",
    ),
    "search_ratio": (
        "search results page req/s over the ok view",
        ">= 0.3",
        lambda v: v >= 0.3,
        "http_pages",
    ),
    "ws_echo_ratio_1": (
        "WS ping/pong round trips/s over plain `websockets`, 1 client",
        ">= 0.6",
        lambda v: v >= 0.6,
        "ws_echo",
    ),
    "ws_echo_ratio_100": ("the same, 100 clients", ">= 0.3", lambda v: v >= 0.3, "ws_echo"),
    "ws_echo_ratio_1_uvicorn": ("the same under uvicorn, 1 client", "reported", None, "ws_echo"),
    "ws_echo_ratio_100_uvicorn": ("the same under uvicorn, 100 clients", "reported", None, "ws_echo"),
    "ws_rtt_p99_ms_100": ("WS round-trip p99 (ms), 100 clients at a fixed rate", "reported", None, "ws_echo"),
    "broadcast_1000_ws_p95_ms": (
        "publish to receipt p95 (ms), 1,000 WS, one process",
        "< 200",
        lambda v: v < 200,
        "broadcast_ws",
    ),
    "broadcast_5000_ws_p95_ms": ("the same, 5,000 WS", "< 500", lambda v: v < 500, "broadcast_ws"),
    "broadcast_1000_ws_redis_p95_ms": (
        "1,000 WS on two Daphne processes, Redis layer",
        "< 200",
        lambda v: v < 200,
        "broadcast_ws_redis",
    ),
    "broadcast_1000_sse_p95_ms": (
        "1,000 SSE streams, one process",
        "< 200",
        lambda v: v < 200,
        "broadcast_http",
    ),
    "broadcast_500_longpoll_p95_ms": (
        "500 long-polling clients, one process",
        "< 300",
        lambda v: v < 300,
        "broadcast_http",
    ),
    "idle_kib_per_ws": (
        "server RSS per idle WebSocket (KiB), 1,000 open",
        "<= 32",
        lambda v: v <= 32,
        "idle_memory",
    ),
    "idle_kib_per_sse": ("the same per held SSE stream", "<= 25", lambda v: v <= 25, "idle_memory"),
    "idle_kib_per_longpoll": ("the same per held long poll", "<= 25", lambda v: v <= 25, "idle_memory"),
    "max_ws_per_process": (
        "WebSockets one Daphne process holds with no errors",
        ">= 10000",
        lambda v: v >= 10000,
        "max_ws",
    ),
    "reconnect_storm_1000_s": (
        "1,000 WS reconnect and resume after a restart (s)",
        "< 10",
        lambda v: v < 10,
        "reconnect_storm",
    ),
    "reconnect_storm_1000_gaps": (
        "events missed across that restart",
        "0",
        lambda v: v == 0,
        "reconnect_storm",
    ),
    "bytes_per_event_ws": ("wire bytes per delivered event, WebSocket", "reported", None, "bytes_per_event"),
    "bytes_per_event_sse": ("the same, SSE", "reported", None, "bytes_per_event"),
    "bytes_per_event_longpoll": ("the same, long polling", "reported", None, "bytes_per_event"),
    "bytes_per_event_shortpoll_1s": (
        "the same, short polling every 1 s",
        "reported",
        None,
        "bytes_per_event",
    ),
    "dashboard_500_ratio": (
        "cohort dashboard (500 learners, a year) req/s over the ok view",
        ">= 0.2",
        lambda v: v >= 0.2,
        "http_pages",
    ),
}


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def results_json(ctx: Context, only: list[str]) -> dict[str, Any]:
    return {
        key: _clean(ctx.results.get(key)) for key, (*_, bench) in FIGURES.items() if not only or bench in only
    }


def _status(key: str, value: Any) -> str:
    check = FIGURES[key][2]
    if value is None:
        return "not measured"
    if check is None:
        return "reported"
    return "met" if check(value) else "**missed**"


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine() -> list[tuple[str, str]]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in (
            "Django",
            "channels",
            "daphne",
            "channels-redis",
            "redis",
            "uvicorn",
            "websockets",
            "Twisted",
        )
    )
    wrk = _run(["wrk", "--version"]).splitlines()
    redis = _run(["redis-server", "--version"])
    return [
        ("CPU", f"{os.cpu_count()} x {cpu}"),
        ("Memory", f"{mem_kib / 1024 / 1024:.1f} GiB"),
        ("Kernel", platform.release()),
        ("Load average at the end", " ".join(f"{x:.2f}" for x in os.getloadavg())),
        ("Python", platform.python_version()),
        ("Packages", versions),
        ("Tools", f"{wrk[0].split(' [')[0] if wrk else '?'}; {redis.split(' sha=')[0] if redis else '?'}"),
        ("Git commit", _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])),
    ]


METHOD = """\
- **One machine, two cores, loopback.** Every server runs pinned to CPU 0 (`taskset -c 0`), the load
  generator (bench/run.py's asyncio clients, and wrk) pinned to CPU 1. Absolute numbers depend on the
  machine and on whatever else runs on it, so every figure is a ratio against a baseline measured in
  the same run, or a latency distribution. Servers run `config.settings.prod` (DEBUG off, JSON access
  log on, as deployed) on a copy of a seeded SQLite database, with `HANDSHAKE_BENCH_VIEWS=1` (adds the
  constant `/bench/ok/` view, nothing else) and the playground's caps and send rate raised through
  their environment variables. The in-memory channel layer unless a figure says Redis (a private
  `redis-server` on a free port).
- **Pages (wrk).** `wrk -t1 -c4 -d8s --timeout 20s` on the baseline view, then the lesson page (the median-sized
  lesson), search (`?q=websocket reconnect`), the cohort dashboard (instructor session cookie; 500
  learners with a year of activity seeded by courses/demo.py's generator), then the baseline again;
  ratio = page req/s / mean baseline req/s. One warm-up second per URL first; before each run the
  server is left to drain what the previous one queued (its CPU time stops growing).
- **WebSocket echo.** The `websockets` library as client; each client sends the contract's ping and
  waits for the pong. Baseline: a plain `websockets` server answering the same JSON
  (bench/echo_server.py, no compression on either side). 1 and 100 clients, 6 s each after a warm-up;
  the same against uvicorn (`--ws websockets-sansio`). RTT: 100 clients each pinging 10 times a second on
  a fixed schedule, measured from the *intended* send time (no coordinated omission).
- **Broadcast.** Subscribers are lean raw-socket clients (bench/clients.py) that stamp arrival in
  `data_received`. A logged-in publisher sends chat messages through the playground's own WebSocket
  `send` (the production path: rate limit, channel layer, relay, local fan-out) carrying its send
  time; latency = arrival - send time on the same clock, for every (event, subscriber) pair, 15
  events (9 for 5,000), the first two as warm-up, spaced so that each starts on an idle server (1 s,
  2.5 s for 5,000, 1.5 s for 500 long-pollers): the figure is one event's fan-out, not throughput.
  Subscribers send no session cookie (anonymous readers of a public stream; the logged-in variant is
  in the details). Long-pollers re-poll at once after each answer.
- **Idle memory.** A fresh server per transport; 20 connections opened and closed (warm-up), then RSS
  before and with N idle connections held 2 s; KiB per connection = delta / N. Threads counted too.
- **Ceiling.** WebSockets opened to one process 1,000 at a time (200 handshakes in flight, listen
  backlog 4096, open-file limit raised to the hard limit) up to 10,000 or 120 s; after each step one
  broadcast must reach every socket. Held = the count after the last step with no failed handshake
  and a complete broadcast.
- **Reconnect storm.** Two Daphne processes on Redis; 1,000 clients on process A, a publisher on B
  sending 2 events/s throughout (2,000 deliveries a second). A is stopped (SIGTERM) and started again; clients reconnect with
  full-jitter backoff (0.1 s doubling to 2 s) and `?after=<last id>`. Time = from the stop until
  every client has reconnected and received everything published up to its resume; gaps = ids
  missing between each client's first id and the last id published, duplicates counted apart.
- **Bytes per event.** One client per transport on the `ticker` stream (one event a second) for 20 s,
  all bytes in both directions over the socket (request and response headers, WS handshake and
  framing, SSE lines, heartbeats, hello/presence control messages) divided by events delivered. Every
  request carries the header block Chromium sends to a same-origin page (user agent, accept headers,
  session and CSRF cookies: bench/clients.py BROWSER_HEADERS), so header costs are realistic.
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def markdown(ctx: Context, only: list[str]) -> str:
    results = results_json(ctx, only)
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (bench/run.py); machine-readable figures in bench/results.json. "
        "Reliability tests (restarts, outages, hostile input) live in tests/reliability/ (`pytest -m reliability`).",
        "",
        f"Run: {'quick (tiny sizes, not representative)' if ctx.quick else 'full'}, "
        f"{ctx.details.get('total_seconds', '?')} s in total; bench database {ctx.seed.get('db_cache', '?')} "
        f"(seeding takes {ctx.seed.get('seed_seconds', '?')} s when not cached).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in machine()],
        "",
        "## Results",
        "",
        "| key | what | result | target | status |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, value in results.items():
        what, target, *_ = FIGURES[key]
        lines.append(f"| `{key}` | {what} | {_fmt(value)} | {target} | {_status(key, value)} |")
    errors = ctx.details.get("errors") or {}
    if errors:
        lines += ["", "Benchmarks that failed in this run:", ""]
        lines += [f"- `{name}`: {msg}" for name, msg in errors.items()]
    lines += ["", "## Details (context for the figures above; absolute numbers are this machine's)", ""]
    lines += _details(ctx)
    lines += ["", "## Method", "", METHOD]
    if FINDINGS.exists():
        lines += [FINDINGS.read_text().rstrip(), ""]
    return "\n".join(lines) + "\n"


def _details(ctx: Context) -> list[str]:
    d = ctx.details
    out: list[str] = []
    if "http" in d:
        h = d["http"]
        out += [
            "**Pages** (wrk, req/s; baseline before and after: "
            + ", ".join(map(str, h["baseline_rps"]))
            + ")",
            "",
        ]
        out += ["| page | path | req/s | p99 ms |", "| --- | --- | --- | --- |"]
        for key, row in h["pages"].items():
            out.append(f"| {key} | `{row['path']}` | {row['rps']:.1f} | {row['p99_ms']} |")
        out.append("")
    if "ws_echo" in d:
        e = d["ws_echo"]
        n = e["clients"]
        out += [
            "**WebSocket echo** (round trips/s)",
            "",
            f"| server | 1 client | {n} clients |",
            "| --- | --- | --- |",
        ]
        for name in ("websockets", "daphne", "uvicorn"):
            if name in e:
                out.append(f"| {name} | {e[name]['1']} | {e[name][str(n)]} |")
        out.append("")
    if "ws_rtt_100" in d:
        r = d["ws_rtt_100"]
        out += [
            f"**RTT** {r['clients']} clients x {r['rate_per_client']}/s: p50 {r['p50']} ms, p95 {r['p95']} ms, "
            f"p99 {r['p99']} ms, max {r['max']} ms ({r['n']} samples)",
            "",
        ]
    fan = [k for k in d if k.startswith("broadcast_")]
    if fan:
        out += [
            "**Broadcast** (publish to receipt, ms)",
            "",
            "| figure | receivers | p50 | p95 | p99 | max | samples | missing |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for k in fan:
            r = d[k]
            who = r.get("subscribers") or r.get("clients")
            out.append(
                f"| `{k}` | {who} | {r['p50']} | {r['p95']} | {r['p99']} | {r['max']} | {r['n']} | {r['missing']} |"
            )
        out.append("")
    idle = [k for k in d if k.startswith("idle_kib_per_")]
    if idle:
        out += [
            "**Idle connections** (server process)",
            "",
            "| transport | held | RSS before KiB | RSS with them KiB | KiB each | threads before -> with |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for k in idle:
            r = d[k]
            out.append(
                f"| {k.removeprefix('idle_kib_per_')} | {r['connections']} | {r['rss_before_kib']} | "
                f"{r['rss_during_kib']} | {r['kib_per_connection']} | {r['threads_before']} -> {r['threads_during']} |"
            )
        out.append("")
    if "max_ws_per_process" in d:
        out += ["**Ceiling**: " + json.dumps(d["max_ws_per_process"]), ""]
    if "reconnect_storm" in d:
        out += ["**Reconnect storm**: " + json.dumps(d["reconnect_storm"]), ""]
    if "bytes_per_event" in d:
        b = d["bytes_per_event"]
        out += [
            f"**Bytes on the wire** (ticker, {b['seconds']:g} s)",
            "",
            "| transport | events | requests | bytes received | bytes sent | per event |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name in ("ws", "sse", "longpoll", "shortpoll_1s"):
            r = b[name]
            out.append(
                f"| {name} | {r['events']} | {r['requests']} | {r['rx']} | {r['tx']} | {r['bytes_per_event']} |"
            )
        out.append("")
    return out


def summary_lines(ctx: Context, only: list[str]) -> list[str]:
    return [
        f"  {key:32} {_fmt(v):>10}  ({FIGURES[key][1]}: {_status(key, v)})"
        for key, v in results_json(ctx, only).items()
    ]
