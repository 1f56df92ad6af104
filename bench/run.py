"""`make bench`: run the benchmark suite on loopback, write BENCHMARKS.md and bench/results.json.

    .venv/bin/python -m bench.run            full run (under 10 minutes on 2 cores)
    .venv/bin/python -m bench.run --quick    tiny sizes (the smoke test's), about a minute
    .venv/bin/python -m bench.run --only ws_echo,broadcast_ws --out /tmp/b

Every figure is a ratio or a distribution measured in this run against a baseline measured in
this run (bench/scenarios.py). Servers run pinned to CPU 0, the load generator on CPU 1.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import procs, report, scenarios
from bench.scenarios import Context, Sizes, say

ROOT = procs.ROOT
CACHE = Path(os.environ.get("HANDSHAKE_BENCH_CACHE") or Path(tempfile.gettempdir()) / "handshake-bench-cache")
CACHE_HOURS = 12  # sessions in a cached database last a day

# name -> (function, needs Redis)
SUITE = {
    "http_pages": (scenarios.http_pages, False),
    "ws_echo": (scenarios.ws_echo, False),
    "broadcast_ws": (scenarios.broadcast_ws, False),
    "broadcast_ws_redis": (scenarios.broadcast_ws_redis, True),
    "broadcast_http": (scenarios.broadcast_http, False),
    "idle_memory": (scenarios.idle_memory, False),
    "max_ws": (scenarios.max_ws, False),
    "reconnect_storm": (scenarios.reconnect_storm, True),
    "bytes_per_event": (scenarios.bytes_per_event, False),
}


def db_key(sizes: Sizes) -> str:
    """The database depends on the migrations, the material, the banks and the seeders."""
    digest = hashlib.sha256(f"{sizes.learners}:{sizes.weeks}".encode())
    patterns = [
        "*/migrations/*.py",
        "courses/material/*",
        "quizzes/banks/*",
        "courses/demo.py",
        "bench/seed.py",
    ]
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def build_db(workdir: Path, sizes: Sizes) -> tuple[str, dict]:
    """A SQLite bench database, seeded once per content hash and copied for each run."""
    CACHE.mkdir(parents=True, exist_ok=True)
    key = db_key(sizes)
    cached, meta = CACHE / f"{key}.sqlite3", CACHE / f"{key}.json"
    fresh = cached.exists() and meta.exists() and time.time() - meta.stat().st_mtime < CACHE_HOURS * 3600
    if not fresh:
        say(f"seeding the bench database: {sizes.learners} learners, {sizes.weeks} weeks (cached by content)")
        started = time.perf_counter()
        tmp = CACHE / f"{key}.{os.getpid()}.tmp.sqlite3"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        env.pop("REDIS_URL", None)
        secret = secrets.token_urlsafe(64)  # sessions are signed: the bench servers reuse this key
        env |= {
            "DATABASE_URL": f"sqlite:///{tmp}",
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DJANGO_SECRET_KEY": secret,
        }
        args = ["--learners", str(sizes.learners), "--weeks", str(sizes.weeks)]
        out = subprocess.run(
            [sys.executable, "-m", "bench.seed", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if out.returncode != 0:
            raise RuntimeError(f"bench.seed failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
        seed = json.loads(out.stdout.strip().splitlines()[-1])
        seed["secret_key"] = secret
        seed["seed_seconds"] = round(time.perf_counter() - started, 1)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{tmp}{suffix}").unlink()
        tmp.replace(cached)
        meta.write_text(json.dumps(seed))
        say(f"  seeded in {seed['seed_seconds']} s")
    db = workdir / "bench.sqlite3"
    shutil.copyfile(cached, db)
    seed = json.loads(meta.read_text())
    seed["db_cache"] = "reused" if fresh else "built"
    return f"sqlite:///{db}", seed


def collectstatic(ctx: Context) -> None:
    """Production settings serve hashed static names from a manifest: build it as deploy does
    (cached by the static files' names, sizes and mtimes, like the database)."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    for base in [ROOT / "static", *ROOT.glob("*/static")]:
        for path in sorted(base.rglob("*")):
            if path.is_file():
                stat = path.stat()
                digest.update(f"{path.relative_to(ROOT)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    cached = CACHE / f"static-{digest.hexdigest()[:16]}"
    target = ctx.workdir / "static"
    if not cached.exists():
        tmp = CACHE / f"static-{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        env = ctx.env() | {"DJANGO_STATIC_ROOT": str(tmp)}
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        if cached.exists():  # another run finished first
            shutil.rmtree(tmp)
        else:
            tmp.replace(cached)
    target.symlink_to(cached, target_is_directory=True)
    say(f"collectstatic ({time.perf_counter() - started:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(SUITE)}")
    parser.add_argument("--out", type=Path, default=None, help="write BENCHMARKS.md and results.json here")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (server logs)")
    args = parser.parse_args(argv)

    only = [n for n in args.only.split(",") if n]
    unknown = set(only) - set(SUITE)
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    if shutil.which("wrk") is None and (not only or "http_pages" in only):
        parser.error("wrk is missing: `apt-get install -y wrk` (make bench installs it)")

    procs.pin_self()
    nofile = procs.raise_nofile()
    sizes = Sizes.quick() if args.quick else Sizes()
    workdir = Path(tempfile.mkdtemp(prefix="handshake-bench-"))
    started = time.perf_counter()
    say(f"bench: {'quick' if args.quick else 'full'} run in {workdir} (open files {nofile})")
    database_url, seed = build_db(workdir, sizes)
    ctx = Context(workdir=workdir, database_url=database_url, seed=seed, sizes=sizes, quick=args.quick)
    CACHE.mkdir(parents=True, exist_ok=True)
    collectstatic(ctx)
    ctx.details["open_files_limit"] = nofile
    errors: dict[str, str] = {}
    redis: procs.Server | None = None
    try:
        for name, (func, needs_redis) in SUITE.items():
            if only and name not in only:
                continue
            say(f"{name} ...")
            t0 = time.perf_counter()
            try:
                if needs_redis:
                    if redis is None:
                        redis = procs.redis_server(procs.free_port(), workdir, ctx.log)
                        if redis is None:
                            raise RuntimeError("redis-server is not installed")
                        redis.start()
                    subprocess.run(  # a clean slate for each Redis benchmark
                        ["redis-cli", "-p", str(redis.port), "FLUSHALL"], check=False, capture_output=True
                    )
                    func(ctx, f"redis://127.0.0.1:{redis.port}/0")
                else:
                    func(ctx)
            except Exception as exc:
                errors[name] = f"{type(exc).__name__}: {exc}"
                say(f"  FAILED: {errors[name]}")
                (workdir / f"{name}.traceback").write_text(traceback.format_exc())
            say(f"  ({time.perf_counter() - t0:.0f} s)")
            if needs_redis and ctx.quick:  # a flushed Redis must not meet a process that used the old one
                ctx.stop_pool()
    finally:
        ctx.stop_pool()
        if redis is not None:
            redis.stop()
    ctx.details["errors"] = errors
    ctx.details["total_seconds"] = round(time.perf_counter() - started, 1)
    out = args.out or ROOT
    results_path = (out / "results.json") if args.out else ROOT / "bench" / "results.json"
    out.mkdir(parents=True, exist_ok=True)
    results = report.results_json(ctx, only)
    results_path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    (out / "BENCHMARKS.md").write_text(report.markdown(ctx, only))
    say(f"done in {ctx.details['total_seconds']} s: {results_path} and {out / 'BENCHMARKS.md'}")
    for line in report.summary_lines(ctx, only):
        print(line)
    if not args.keep and not errors:
        shutil.rmtree(workdir, ignore_errors=True)
    elif errors:
        say(f"server logs and tracebacks kept in {workdir}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
