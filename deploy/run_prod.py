"""Run Handshake in production on one machine: N Daphne processes behind nginx, supervised.

    make run-prod        (or: .venv/bin/python deploy/run_prod.py --help)

1. Checks the environment: DJANGO_SECRET_KEY, DATABASE_URL (PostgreSQL) and REDIS_URL are required.
2. collectstatic, migrate, check --deploy, then import_material / import_questions when the
   project has them (skip with --no-import).
3. Starts N Daphne processes (config.settings.prod) on loopback ports and waits for each /healthz.
4. Renders deploy/nginx/handshake.conf.template into RUN_DIR/nginx.conf, tests it, starts
   Debian's nginx in the foreground and waits for /healthz through it.
5. Supervises: Ctrl-C or SIGTERM (`make stop-prod`) stops nginx, then Daphne, within a few
   seconds; if any process dies, everything is stopped and the exit status is 1.
"""

import argparse
import http.client
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from deploy.nginx_conf import ConfigError, NginxSettings, render  # noqa: E402

REQUIRED = {
    "DJANGO_SECRET_KEY": "a long random value, e.g. "
    "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`",
    "DATABASE_URL": "PostgreSQL, e.g. postgres://handshake@127.0.0.1:5432/handshake",
    "REDIS_URL": "e.g. redis://127.0.0.1:6379/0 (channel layer, replay buffer, login throttle)",
}
STOP_TIMEOUT = 12.0  # seconds for each process to stop before it is killed


def say(message: str) -> None:
    sys.stderr.write(f"run-prod: {message}\n")
    sys.stderr.flush()


def fail(message: str, status: int = 2) -> NoReturn:
    say(f"error: {message}")
    sys.exit(status)


@dataclass
class Config:
    processes: int
    listen: str
    base_port: int
    run_dir: Path
    log_dir: Path
    static_root: Path
    server_names: list[str]
    forwarded_proto: str
    tls_cert: Path | None
    tls_key: Path | None
    tls_listen: str
    nginx_user: str | None
    nginx: str
    do_setup: bool
    do_import: bool
    ready_timeout: float
    env: dict[str, str] = field(default_factory=dict)

    @property
    def daphne_ports(self) -> list[int]:
        return [self.base_port + i for i in range(self.processes)]

    @property
    def public_host(self) -> str:
        return self.server_names[0].lstrip(".")


def check_environment(env: dict[str, str]) -> list[str]:
    """Problems that stop a production start, each with what to do about it."""
    problems = [f"{name} is not set: {hint}" for name, hint in REQUIRED.items() if not env.get(name)]
    database = env.get("DATABASE_URL", "")
    if database and urlparse(database).scheme not in {"postgres", "postgresql", "pgsql"}:
        problems.append(
            f"DATABASE_URL must be a PostgreSQL URL (postgres://...), not {urlparse(database).scheme}://"
        )
    redis = env.get("REDIS_URL", "")
    if redis and urlparse(redis).scheme not in {"redis", "rediss", "unix"}:
        problems.append("REDIS_URL must be a redis:// (or rediss://, unix://) URL")
    return problems


def _default_run_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/run/handshake")
    return Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / f"handshake-{os.getuid()}"  # noqa: S108


def _default_nginx_user() -> str | None:
    if os.geteuid() != 0:
        return None  # nginx keeps the invoking user
    for name in ("www-data", "nginx", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return None


def parse_config(argv: list[str] | None, env: dict[str, str]) -> Config:
    parser = argparse.ArgumentParser(
        description="Run Handshake in production: N Daphne processes behind nginx.",
        epilog="Every option also reads an environment variable (shown in brackets).",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=int(env.get("HANDSHAKE_PROCESSES", 2)),
        help="[HANDSHAKE_PROCESSES] 2",
    )
    parser.add_argument(
        "--listen",
        default=env.get("HANDSHAKE_LISTEN", "80" if os.geteuid() == 0 else "8080"),
        help="[HANDSHAKE_LISTEN] nginx's HTTP address: 80 (root) or 8080; e.g. 127.0.0.1:8080",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        default=int(env.get("HANDSHAKE_DAPHNE_BASE_PORT", 8101)),
        help="[HANDSHAKE_DAPHNE_BASE_PORT] Daphne i listens on 127.0.0.1:(base + i); 8101",
    )
    parser.add_argument(
        "--run-dir", type=Path, default=Path(env.get("HANDSHAKE_RUN_DIR") or _default_run_dir())
    )
    parser.add_argument("--log-dir", type=Path, default=env.get("HANDSHAKE_LOG_DIR") or None)
    parser.add_argument(
        "--forwarded-proto",
        default=env.get("HANDSHAKE_FORWARDED_PROTO", ""),
        help="[HANDSHAKE_FORWARDED_PROTO] what nginx tells Django the scheme is: $scheme (default), "
        "or https behind a TLS-terminating load balancer",
    )
    parser.add_argument("--tls-cert", type=Path, default=env.get("HANDSHAKE_TLS_CERT") or None)
    parser.add_argument("--tls-key", type=Path, default=env.get("HANDSHAKE_TLS_KEY") or None)
    parser.add_argument("--tls-listen", default=env.get("HANDSHAKE_TLS_LISTEN", "443"))
    parser.add_argument(
        "--nginx", default=env.get("HANDSHAKE_NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    )
    parser.add_argument("--no-setup", action="store_true", help="skip collectstatic, migrate and imports")
    parser.add_argument("--no-import", action="store_true", help="skip import_material / import_questions")
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    if args.processes < 1:
        fail("--processes must be at least 1")
    if (args.tls_cert is None) != (args.tls_key is None):
        fail("set both HANDSHAKE_TLS_CERT and HANDSHAKE_TLS_KEY, or neither")
    forwarded = args.forwarded_proto or "$scheme"
    if args.tls_cert is None and forwarded == "$scheme" and env.get("DJANGO_SECURE_SSL_REDIRECT", "1") != "0":
        fail(
            "nginx has no TLS certificate, so Django would redirect every request to https://.\n"
            "  Either set HANDSHAKE_TLS_CERT and HANDSHAKE_TLS_KEY (nginx terminates TLS),\n"
            "  or HANDSHAKE_FORWARDED_PROTO=https when a TLS-terminating load balancer is in front,\n"
            "  or DJANGO_SECURE_SSL_REDIRECT=0 for a plain-HTTP trial on this machine (cookies stay\n"
            "  Secure: browsers keep them only on https:// and http://localhost)."
        )
    names = [
        h.strip() for h in env.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
    ]
    run_dir = args.run_dir.resolve()
    static_root = Path(env.get("DJANGO_STATIC_ROOT") or BASE_DIR / "staticfiles").resolve()
    return Config(
        processes=args.processes,
        listen=args.listen,
        base_port=args.base_port,
        run_dir=run_dir,
        log_dir=(args.log_dir or run_dir / "log").resolve(),
        static_root=static_root,
        server_names=names,
        forwarded_proto=forwarded,
        tls_cert=args.tls_cert.resolve() if args.tls_cert else None,
        tls_key=args.tls_key.resolve() if args.tls_key else None,
        tls_listen=args.tls_listen,
        nginx_user=env.get("HANDSHAKE_NGINX_USER") or _default_nginx_user(),
        nginx=args.nginx,
        do_setup=not args.no_setup,
        do_import=not args.no_import,
        ready_timeout=args.ready_timeout,
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "config.settings.prod",
            "DJANGO_STATIC_ROOT": str(static_root),
            "PYTHONUNBUFFERED": "1",
        },
    )


def nginx_settings(config: Config) -> NginxSettings:
    return NginxSettings(
        listen=config.listen,
        upstreams=[f"127.0.0.1:{port}" for port in config.daphne_ports],
        server_names=config.server_names,
        static_root=config.static_root,
        run_dir=config.run_dir,
        log_dir=config.log_dir,
        user=config.nginx_user,
        forwarded_proto=config.forwarded_proto,
        tls_cert=config.tls_cert,
        tls_key=config.tls_key,
        tls_listen=config.tls_listen,
    )


def _manage_command(*args: str) -> list[str]:
    return [sys.executable, str(BASE_DIR / "manage.py"), *args]


def _checked(args: tuple[str, ...], returncode: int, output: str) -> str:
    if returncode != 0:
        fail(f"`manage.py {' '.join(args)}` failed:\n{output}")
    return output


def manage(config: Config, *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        _manage_command(*args), cwd=BASE_DIR, env=config.env, capture_output=True, text=True, check=False
    )
    return _checked(args, result.returncode, result.stdout + result.stderr)


def manage_together(config: Config, *commands: tuple[str, ...]) -> list[str]:
    """Independent management commands at once; the first one to fail stops the others."""
    with tempfile.TemporaryDirectory() as scratch:
        outputs = [Path(scratch) / f"{index}.out" for index in range(len(commands))]
        processes = []
        for args, output in zip(commands, outputs, strict=True):
            with output.open("w") as sink:
                processes.append(
                    subprocess.Popen(  # noqa: S603
                        _manage_command(*args),
                        cwd=BASE_DIR,
                        env=config.env,
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                    )
                )
        while any(process.poll() is None for process in processes):
            failed = next((p for p in processes if p.returncode not in (None, 0)), None)
            if failed is not None:
                break
            time.sleep(0.1)
        stopped = []
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
                stopped.append(process)
        results = [
            (args, process.returncode, output.read_text(errors="replace"))
            for args, process, output in zip(commands, processes, outputs, strict=True)
            if process not in stopped
        ]
        return [_checked(*result) for result in sorted(results, key=lambda result: result[1] == 0)]


def set_up(config: Config) -> None:
    say(f"collecting static files into {config.static_root}, migrating the database, check --deploy")
    _, _, warnings = manage_together(
        config,
        ("collectstatic", "--noinput", "--verbosity", "0"),
        ("migrate", "--noinput", "--verbosity", "0"),
        ("check", "--deploy"),
    )
    if "System check identified no issues" not in warnings:
        say("check --deploy:\n" + warnings.strip())
    if not config.do_import:
        return
    commands = set(manage(config, "help", "--commands").split())
    if "import_material" in commands:
        for path in sorted((BASE_DIR / "courses" / "material").glob("*.txt")):
            say(f"importing {path.relative_to(BASE_DIR)}")
            manage(config, "import_material", str(path))
    if "import_questions" in commands and (BASE_DIR / "quizzes" / "banks").is_dir():
        say("importing question banks")
        manage(config, "import_questions")


def healthz(host: str, port: int, host_header: str, timeout: float = 2.0) -> int | None:
    """The status of GET /healthz, or None when nothing answers."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/healthz", headers={"Host": host_header})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def split_listen(listen: str) -> tuple[str, int]:
    """nginx's listen address as something to connect to ("80" -> 127.0.0.1:80)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    if host in {"", "*", "0.0.0.0"}:  # noqa: S104
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, int(port.split()[0])


def public_url(config: Config) -> str:
    scheme, listen, default = (
        ("https", config.tls_listen, 443) if config.tls_cert else ("http", config.listen, 80)
    )
    port = split_listen(listen)[1]
    return f"{scheme}://{config.public_host}" + ("" if port == default else f":{port}") + "/"


class Supervisor:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.daphnes: list[subprocess.Popen] = []
        self.nginx: subprocess.Popen | None = None
        self.stopping = False

    def _on_signal(self, signum: int, frame) -> None:
        self.stopping = True

    def _wait_ready(self, process: subprocess.Popen, name: str, host: str, port: int) -> None:
        deadline = time.monotonic() + self.config.ready_timeout
        while time.monotonic() < deadline and not self.stopping:
            if process.poll() is not None:
                self.shutdown()
                fail(f"{name} exited with status {process.returncode} before it was ready", 1)
            if healthz(host, port, self.config.public_host) == 200:
                return
            time.sleep(0.2)
        if self.stopping:
            self.shutdown()
            sys.exit(0)
        self.shutdown()
        fail(f"{name} was not ready (GET /healthz == 200) within {self.config.ready_timeout:.0f} s", 1)

    def start(self) -> None:
        config = self.config
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        config.run_dir.mkdir(parents=True, exist_ok=True)
        config.log_dir.mkdir(parents=True, exist_ok=True)
        config.run_dir.chmod(0o755)  # nginx workers (www-data) use the temp dirs inside
        (config.run_dir / "run-prod.pid").write_text(f"{os.getpid()}\n")

        daphne = Path(sys.executable).with_name("daphne")
        for index, port in enumerate(config.daphne_ports):
            command = [
                str(daphne) if daphne.exists() else "daphne",
                "-e",
                f"tcp:port={port}:backlog=1024:interface=127.0.0.1",
                "--proxy-headers",  # client address and scheme from nginx's X-Forwarded-*
                "--access-log",  # Django's JSON access lines replace Daphne's plain ones
                os.devnull,
                "config.asgi:application",
            ]
            self.daphnes.append(
                subprocess.Popen(command, cwd=BASE_DIR, env={**config.env, "HANDSHAKE_PROCESS": str(index)})  # noqa: S603
            )
        for index, (process, port) in enumerate(zip(self.daphnes, config.daphne_ports, strict=True)):
            self._wait_ready(process, f"Daphne {index} (127.0.0.1:{port})", "127.0.0.1", port)
        say(
            f"{config.processes} Daphne process(es) ready on 127.0.0.1:{config.daphne_ports[0]}-{config.daphne_ports[-1]}"
        )

        conf = config.run_dir / "nginx.conf"
        try:
            conf.write_text(render(nginx_settings(config)))
        except ConfigError as error:
            self.shutdown()
            fail(f"nginx configuration: {error}")
        nginx = [
            config.nginx,
            "-p",
            f"{config.run_dir}/",
            "-c",
            str(conf),
            "-e",
            str(config.log_dir / "nginx-error.log"),
        ]
        test = subprocess.run([*nginx, "-t", "-q"], capture_output=True, text=True, check=False)  # noqa: S603
        if test.returncode != 0:
            self.shutdown()
            fail(f"nginx rejected {conf}:\n{test.stderr}")
        self.nginx = subprocess.Popen(nginx)  # noqa: S603
        host, port = split_listen(config.listen)
        self._wait_ready(self.nginx, f"nginx ({config.listen})", host, port)
        say(
            f"ready: {public_url(config)} ({config.processes} Daphne processes behind nginx; "
            f"nginx logs in {config.log_dir}). Ctrl-C stops everything."
        )

    def supervise(self) -> int:
        while not self.stopping:
            for process in [*self.daphnes, self.nginx]:
                if process is not None and process.poll() is not None:
                    say(
                        f"{' '.join(map(str, process.args[:3]))} exited with status {process.returncode}: stopping"
                    )
                    self.shutdown()
                    return 1
            time.sleep(0.25)
        say("stopping")
        self.shutdown()
        return 0

    def shutdown(self) -> None:
        """nginx first (no new requests reach a stopping Daphne), then every Daphne; bounded."""
        for group in ([self.nginx] if self.nginx else [], self.daphnes):
            for process in group:
                if process.poll() is None:
                    process.terminate()
            deadline = time.monotonic() + STOP_TIMEOUT
            for process in group:
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        pid_file = self.config.run_dir / "run-prod.pid"
        if pid_file.exists() and pid_file.read_text().strip() == str(os.getpid()):
            pid_file.unlink()


def main(argv: list[str] | None = None) -> int:
    env = dict(os.environ)
    problems = check_environment(env)
    if problems:
        fail("cannot start in production:\n  - " + "\n  - ".join(problems))
    config = parse_config(argv, env)
    if not Path(config.nginx).exists() and shutil.which(config.nginx) is None:
        fail("nginx is not installed: `make nginx` (Debian: apt-get install -y nginx)")
    if config.do_setup:
        try:
            set_up(config)
        except KeyboardInterrupt:
            fail("interrupted during setup", 130)
    supervisor = Supervisor(config)
    supervisor.start()
    return supervisor.supervise()


if __name__ == "__main__":
    sys.exit(main())
