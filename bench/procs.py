"""Processes under test: Daphne, uvicorn, the plain `websockets` echo server, a private redis-server.

Servers run pinned to CPU 0 (``taskset``), the load generator (this process, and wrk) on CPU 1,
so the two never share a core (on a 1-CPU machine nothing is pinned). Each server writes its
output to a log file in the run directory, never to a pipe that could fill up and stall it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SERVER_CPU, CLIENT_CPU = "0", "1"


def pinning() -> bool:
    return (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


def pin_self() -> None:
    """Move the load generator (this process and its children, e.g. wrk) onto the client CPU."""
    if pinning():
        os.sched_setaffinity(0, {int(CLIENT_CPU)})


def raise_nofile() -> int:
    """Raise the open-file limit to the hard limit (inherited by the servers started later)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout} s")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (KiB) and Threads from /proc/<pid>/status."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "Threads"}:
            out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    port: int
    argv: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    started: list[float] = field(default_factory=list)
    shared: bool = False  # --quick: one server serves several benchmarks; `with` leaves it running

    def start(self, timeout: float = 60.0) -> Server:
        return self.spawn().wait(timeout)

    def wait(self, timeout: float = 60.0) -> Server:
        wait_port(self.port, timeout, self.proc)
        return self

    def spawn(self) -> Server:
        argv = ["taskset", "-c", SERVER_CPU, *self.argv] if pinning() else self.argv
        with self.log.open("ab") as log:
            log.write(f"\n=== {self.name}: {' '.join(argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(  # taskset execs the server: same pid
                argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append(time.monotonic())
        return self

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.proc.pid

    def status(self) -> dict[str, int]:
        return proc_status(self.pid)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
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

    def __enter__(self) -> Server:
        if self.shared and self.proc is not None and self.proc.poll() is None:
            return self
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if not self.shared:
            self.stop()


def server_env(
    *, database_url: str, static_root: str, redis_url: str = "", extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Production settings, with the bench view on and the playground caps raised for load."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLAYGROUND_"))}
    env.pop("REDIS_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.prod",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url,
            "DJANGO_STATIC_ROOT": static_root,
            "HANDSHAKE_BENCH_VIEWS": "1",
            "PLAYGROUND_MAX_CONNECTIONS_PER_IP": "1000000",
            "PLAYGROUND_MAX_CONNECTIONS_PER_USER": "1000000",
            "PLAYGROUND_SEND_RATE_PER_MINUTE": "100000000",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra or {})
    return env


def daphne(port: int, env: dict[str, str], log: Path, *, backlog: int = 4096, name: str = "daphne") -> Server:
    endpoint = f"tcp:port={port}:backlog={backlog}:interface=127.0.0.1"
    # As deploy/run_prod.py runs it: Django's JSON access lines replace Daphne's plain ones.
    argv = [str(VENV_BIN / "daphne"), "-e", endpoint, "--access-log", os.devnull, "config.asgi:application"]
    return Server(name, port, argv, env, log)


def uvicorn(port: int, env: dict[str, str], log: Path, *, backlog: int = 4096) -> Server:
    argv = [
        str(VENV_BIN / "uvicorn"),
        "--host=127.0.0.1",
        f"--port={port}",
        f"--backlog={backlog}",
        "--ws=websockets-sansio",
        "--ws-per-message-deflate=false",
        "--no-access-log",
        "--log-level=warning",
        "--lifespan=off",
        "config.asgi:application",
    ]
    return Server("uvicorn", port, argv, env, log)


def echo_server(port: int, log: Path) -> Server:
    argv = [sys.executable, "-m", "bench.echo_server", "--port", str(port)]
    return Server("websockets-echo", port, argv, dict(os.environ), log)


def redis_server(port: int, workdir: Path, log: Path) -> Server | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(workdir), "--maxclients", "10000"]
    server = Server("redis", port, argv, dict(os.environ), log)
    server.argv = argv
    return server
