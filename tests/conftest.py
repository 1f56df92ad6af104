"""Shared fixtures. Tests that need PostgreSQL, Redis or chromium skip with a reason,
unless REQUIRE_SERVICES=1 (CI), where a missing service fails the test instead."""

import logging
import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from channels.layers import channel_layers

from tests.factories import UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def require_service(name: str, available: bool) -> None:
    """Skip when a service is missing; fail instead under REQUIRE_SERVICES=1."""
    if available:
        return
    message = f"{name} is not available"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} and REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    """A new channel layer per test: each async test has its own event loop, and a layer (in memory or
    channels_redis, with REDIS_URL) binds its locks and connections to the first loop that uses it."""
    channel_layers.backends.pop("default", None)
    yield
    channel_layers.backends.pop("default", None)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """No test sees another's cached pages (lesson pages are cached by material version, which
    factory-made topics share). Test settings use the in-process locmem cache."""
    from django.core.cache import cache

    from lessons import selectors

    selectors.material_version_forget()
    cache.clear()
    yield
    selectors.material_version_forget()


@pytest.fixture
def redis_url() -> str:
    require_service("Redis at " + REDIS_URL, _reachable(REDIS_URL, 6379))
    return REDIS_URL


@pytest.fixture
def postgres_url() -> str:
    require_service("PostgreSQL at " + POSTGRES_URL, _reachable(POSTGRES_URL, 5432))
    return POSTGRES_URL


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require_service("chromium", path is not None)
    return path


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def learner(db):
    return UserFactory(username="learner")


@pytest.fixture
def other_learner(db):
    return UserFactory(username="other")


@pytest.fixture
def instructor(db):
    return UserFactory(username="instructor")


@pytest.fixture
def access_lines():
    """The structured payloads the access logger emits during the test (the test settings silence it)."""
    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.fields)

    log = logging.getLogger("handshake.access")
    handler, level = Collect(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield lines
    log.removeHandler(handler)
    log.setLevel(level)
