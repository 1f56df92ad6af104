import os
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.run_prod import check_environment, parse_config, public_url, split_listen

BASE_DIR = Path(__file__).resolve().parent.parent.parent

GOOD = {
    "DJANGO_SECRET_KEY": "k3y-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP",
    "DATABASE_URL": "postgres://handshake@127.0.0.1:5432/handshake",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_complete_environment_has_no_problems():
    assert check_environment(GOOD) == []


def test_each_missing_variable_is_named_with_a_hint():
    problems = check_environment({})
    assert [problem.split(" ")[0] for problem in problems] == [
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
    ]
    assert all(": " in problem for problem in problems)


def test_sqlite_and_non_redis_urls_are_refused():
    problems = check_environment(GOOD | {"DATABASE_URL": "sqlite:///db.sqlite3", "REDIS_URL": "http://x"})
    assert problems == [
        "DATABASE_URL must be a PostgreSQL URL (postgres://...), not sqlite://",
        "REDIS_URL must be a redis:// (or rediss://, unix://) URL",
    ]


def test_plain_http_without_a_way_to_know_about_https_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_config(["--listen", "127.0.0.1:18080"], dict(GOOD))
    assert exit_info.value.code == 2
    assert "HANDSHAKE_FORWARDED_PROTO=https" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra",
    [{"DJANGO_SECURE_SSL_REDIRECT": "0"}, {"HANDSHAKE_FORWARDED_PROTO": "https"}],
)
def test_plain_http_is_allowed_when_told_how(extra, tmp_path):
    config = parse_config(
        ["--run-dir", str(tmp_path), "--processes", "3", "--base-port", "9000"], GOOD | extra
    )
    assert config.daphne_ports == [9000, 9001, 9002]
    assert config.env["DJANGO_SETTINGS_MODULE"] == "config.settings.prod"
    assert config.log_dir == tmp_path / "log"
    assert config.server_names == ["127.0.0.1", "localhost"]


def test_half_a_tls_configuration_is_refused(capsys, tmp_path):
    with pytest.raises(SystemExit):
        parse_config(["--run-dir", str(tmp_path)], GOOD | {"HANDSHAKE_TLS_CERT": "/c.pem"})
    assert "HANDSHAKE_TLS_KEY" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("listen", "address"),
    [
        ("80", ("127.0.0.1", 80)),
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:80", ("127.0.0.1", 80)),
        ("[::]:8080", ("::1", 8080)),
        ("[::1]:81", ("::1", 81)),
    ],
)
def test_listen_address_to_connect_to(listen, address):
    assert split_listen(listen) == address


def test_public_url_shows_the_port_only_when_it_is_not_the_default(tmp_path):
    env = GOOD | {"DJANGO_ALLOWED_HOSTS": "handshake.example.com", "DJANGO_SECURE_SSL_REDIRECT": "0"}
    assert (
        public_url(parse_config(["--run-dir", str(tmp_path), "--listen", "80"], env))
        == "http://handshake.example.com/"
    )
    trial = parse_config(["--run-dir", str(tmp_path), "--listen", "127.0.0.1:8080"], env)
    assert public_url(trial) == "http://handshake.example.com:8080/"
    tls = parse_config(["--run-dir", str(tmp_path), "--tls-cert", "c.pem", "--tls-key", "k.pem"], env)
    assert public_url(tls) == "https://handshake.example.com/"


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HANDSHAKE_"))}
    keep.pop("DATABASE_URL", None)
    keep.pop("REDIS_URL", None)
    return keep | extra


@pytest.mark.slow
def test_make_run_prod_names_what_is_missing_before_installing_anything():
    result = subprocess.run(
        ["make", "--no-print-directory", "run-prod"],  # noqa: S607
        cwd=BASE_DIR,
        env=_clean_env(DJANGO_SECRET_KEY="k" * 60),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "make run-prod needs DATABASE_URL REDIS_URL in the environment" in result.stderr


@pytest.mark.slow
def test_a_failing_setup_step_stops_with_its_output(tmp_path):
    env = _clean_env(
        **GOOD | {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},  # nothing listens on port 1
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DJANGO_SECURE_SSL_REDIRECT="0",
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "deploy/run_prod.py", "--run-dir", str(tmp_path / "run"), "--no-import"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "run-prod: error: `manage.py migrate --noinput --verbosity 0` failed" in result.stderr
    assert "connection" in result.stderr.lower()
