"""Render deploy/nginx/handshake.conf.template into a complete nginx.conf.

Only ${UPPER_CASE} placeholders are replaced (nginx's own variables are lower case), and every
placeholder must be given a value: a typo fails loudly instead of producing a broken config.

    python deploy/nginx_conf.py --listen 127.0.0.1:8080 --upstream 127.0.0.1:8101 \\
        --upstream 127.0.0.1:8102 --static-root staticfiles --run-dir /tmp/hs > nginx.conf
"""

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "handshake.conf.template"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
SERVER_NAME = re.compile(r"^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$|^\[[0-9A-Fa-f:.]+\]$")


class ConfigError(ValueError):
    pass


@dataclass
class NginxSettings:
    listen: str  # "80", "127.0.0.1:8080", "[::]:80"
    upstreams: list[str]  # "127.0.0.1:8101" or "unix:/run/handshake/daphne-1.sock"
    server_names: list[str]
    static_root: Path
    run_dir: Path
    log_dir: Path | None = None
    user: str | None = None  # worker user when nginx starts as root (e.g. "www-data")
    worker_processes: str = "auto"
    worker_connections: int = 4096
    client_max_body_size: str = "1m"
    proxy_read_timeout: str = "75s"
    forwarded_proto: str = "$scheme"  # "https" behind a TLS-terminating load balancer
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_listen: str = "443"
    mime_types: Path = field(default_factory=lambda: Path("/etc/nginx/mime.types"))

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def values(self) -> dict[str, str]:
        if not self.upstreams:
            raise ConfigError("at least one Daphne upstream is needed")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("a TLS certificate needs its key and the other way round")
        if self.forwarded_proto not in {"$scheme", "https", "http"}:
            raise ConfigError("forwarded_proto must be $scheme, https or http")
        names = [nginx_server_name(name) for name in self.server_names]
        if not names:
            raise ConfigError("no server names: set DJANGO_ALLOWED_HOSTS to the site's host names")
        return {
            "USER_DIRECTIVE": f"user {self.user};" if self.user else "# (not root: workers run as this user)",
            "WORKER_PROCESSES": self.worker_processes,
            "WORKER_CONNECTIONS": str(self.worker_connections),
            "RUN_DIR": str(self.run_dir),
            "LOG_DIR": str(self.log_dir or self.run_dir),
            "MIME_TYPES": str(self.mime_types),
            "CLIENT_MAX_BODY_SIZE": self.client_max_body_size,
            "CLIENT_MAX_BODY_TEXT": human_size(self.client_max_body_size),
            "PROXY_READ_TIMEOUT": self.proxy_read_timeout,
            "UPSTREAM_SERVERS": "\n".join(
                f"        server {address} max_fails=1 fail_timeout=5s;" for address in self.upstreams
            ),
            "LISTEN": self.listen,
            "TLS_LISTEN": self.tls_listen,
            "TLS_CERT": str(self.tls_cert or ""),
            "TLS_KEY": str(self.tls_key or ""),
            "SERVER_NAMES": " ".join(names),
            "STATIC_ROOT": str(Path(self.static_root).resolve()),
            "FORWARDED_PROTO": self.forwarded_proto,
        }


def human_size(size: str) -> str:
    """nginx's size syntax for people: "1m" -> "1 MB", "512k" -> "512 KB", "2048" -> "2048 bytes"."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", size)
    if not match:
        raise ConfigError(f"not an nginx size: {size!r}")
    number, unit = match.groups()
    return f"{number} {unit.upper()}B" if unit else f"{number} bytes"


def nginx_server_name(host: str) -> str:
    """A Django ALLOWED_HOSTS entry as an nginx server_name (".example.com" means the same in both)."""
    if host == "*":
        raise ConfigError("ALLOWED_HOSTS '*' cannot be served by name: list the real host names")
    if not SERVER_NAME.match(host):
        raise ConfigError(f"not a host name nginx can serve: {host!r}")
    return host


def render(settings: NginxSettings, template: str | None = None) -> str:
    text = TEMPLATE.read_text() if template is None else template
    keep, drop = ("#tls:", "#plain:") if settings.tls else ("#plain:", "#tls:")
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(drop):
            continue
        if stripped.startswith(keep):
            line = line.replace(keep, "", 1)
        lines.append(line)
    values = settings.values()
    missing = sorted({name for name in PLACEHOLDER.findall("\n".join(lines)) if name not in values})
    if missing:
        raise ConfigError(f"no value for placeholder(s): {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], "\n".join(lines)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="80")
    parser.add_argument("--upstream", action="append", required=True)
    parser.add_argument(
        "--server-name", action="append", help="default: DJANGO_ALLOWED_HOSTS (comma-separated)"
    )
    parser.add_argument("--static-root", type=Path, required=True)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--user")
    parser.add_argument("--forwarded-proto", default="$scheme")
    parser.add_argument("--tls-cert", type=Path)
    parser.add_argument("--tls-key", type=Path)
    args = parser.parse_args(argv)
    names = args.server_name or [
        h.strip()
        for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
        if h.strip()
    ]
    settings = NginxSettings(
        listen=args.listen,
        upstreams=args.upstream,
        server_names=names,
        static_root=args.static_root,
        run_dir=args.run_dir,
        user=args.user,
        forwarded_proto=args.forwarded_proto,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    try:
        sys.stdout.write(render(settings))
    except ConfigError as error:
        sys.stderr.write(f"nginx_conf: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
