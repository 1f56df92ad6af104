import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.nginx_conf import ConfigError, NginxSettings, human_size, nginx_server_name, render
from tests.conftest import require_service


def _settings(tmp_path: Path, **overrides) -> NginxSettings:
    values = {
        "listen": "127.0.0.1:18080",
        "upstreams": ["127.0.0.1:18101", "127.0.0.1:18102"],
        "server_names": ["handshake.example.com", ".example.org"],
        "static_root": tmp_path / "static",
        "run_dir": tmp_path,
    } | overrides
    return NginxSettings(**values)


def _marked_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith(("#tls:", "#plain:"))]


def test_plain_render_fills_every_placeholder_and_keeps_nginx_variables(tmp_path):
    text = render(_settings(tmp_path))
    assert "${" not in text
    assert _marked_lines(text) == []
    assert "ssl_certificate" not in text
    assert "        listen 127.0.0.1:18080;\n" in text
    assert "server_name handshake.example.com .example.org;" in text
    assert "server 127.0.0.1:18101 max_fails=1 fail_timeout=5s;" in text
    assert "server 127.0.0.1:18102 max_fails=1 fail_timeout=5s;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
    assert "proxy_read_timeout 75s;" in text
    assert "client_max_body_size 1m;" in text
    assert f"alias {(tmp_path / 'static').resolve()}/$1;" in text


def test_sse_location_turns_buffering_off_and_gzip_off(tmp_path):
    text = render(_settings(tmp_path))
    block = text.split("location ~ ^/playground/[^/]+/events/$ {", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in block
    assert "gzip off;" in block
    assert "proxy_ignore_headers" not in text  # X-Accel-Buffering from the view is honoured


def test_tls_render_listens_with_ssl_and_redirects_plain_http(tmp_path):
    text = render(
        _settings(
            tmp_path,
            tls_cert=tmp_path / "cert.pem",
            tls_key=tmp_path / "key.pem",
            tls_listen="127.0.0.1:18443",
        )
    )
    assert "listen 127.0.0.1:18443 ssl http2;" in text
    assert f"ssl_certificate {tmp_path / 'cert.pem'};" in text
    assert "return 301 https://$host$request_uri;" in text
    assert "ssl_reject_handshake on;" in text
    assert _marked_lines(text) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"upstreams": []}, "at least one Daphne upstream"),
        ({"server_names": []}, "no server names"),
        ({"server_names": ["*"]}, "cannot be served by name"),
        ({"server_names": ["bad host;"]}, "not a host name"),
        ({"tls_cert": Path("/c.pem")}, "needs its key"),
        ({"forwarded_proto": "$http_x_forwarded_proto"}, "forwarded_proto"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        render(_settings(tmp_path, **overrides))


def test_unknown_placeholder_fails_loudly(tmp_path):
    with pytest.raises(ConfigError, match="TYPO"):
        render(_settings(tmp_path), template="events {}\n# ${TYPO}\n")


def test_nginx_refusals_have_readable_pages(tmp_path):
    text = render(_settings(tmp_path))
    assert "error_page 413 @too_large;" in text
    assert "a form may send at most 1 MB." in text
    assert "error_page 502 503 504 =503 @unavailable;" in text


@pytest.mark.parametrize(("size", "text"), [("1m", "1 MB"), ("512k", "512 KB"), ("2048", "2048 bytes")])
def test_human_size(size, text):
    assert human_size(size) == text


def test_server_names_follow_allowed_hosts_syntax():
    assert nginx_server_name(".example.com") == ".example.com"
    assert nginx_server_name("127.0.0.1") == "127.0.0.1"


@pytest.mark.slow
@pytest.mark.parametrize("tls", [False, True])
def test_rendered_config_passes_nginx_t(tmp_path, tls):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    require_service("nginx", nginx is not None)
    extra = {}
    if tls:
        openssl = shutil.which("openssl")
        require_service("openssl", openssl is not None)
        command = f"req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout {tmp_path}/key.pem"
        subprocess.run(  # noqa: S603
            [openssl, *command.split(), "-out", str(tmp_path / "cert.pem")], capture_output=True, check=True
        )
        extra = {"tls_cert": tmp_path / "cert.pem", "tls_key": tmp_path / "key.pem"}
    conf = tmp_path / "nginx.conf"
    conf.write_text(render(_settings(tmp_path, **extra)))
    result = subprocess.run(  # noqa: S603
        [nginx, "-t", "-p", f"{tmp_path}/", "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
