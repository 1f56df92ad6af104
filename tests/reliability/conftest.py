"""Reliability fixtures: a private Redis, the test process's hub pointed at it, live Daphne processes."""

import signal

import pytest
from channels.layers import channel_layers

from playground import log
from tests.reliability import live


@pytest.fixture
def redis_proc(tmp_path):
    proc = live.private_redis(tmp_path).start()
    yield proc
    proc.stop(signal.SIGKILL)


@pytest.fixture
def redis_hub_settings(settings, redis_proc):
    """This process publishes into the same Redis as the live servers (the cross-process path)."""
    url = f"redis://127.0.0.1:{redis_proc.port}/0"
    settings.REDIS_URL = url
    settings.PLAYGROUND_STORE = "redis"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": url, "max_connections": 100}], "capacity": 1000},
        }
    }
    channel_layers.backends.pop("default", None)
    log.reset_hub()
    yield url
    log.reset_hub()
    channel_layers.backends.pop("default", None)


@pytest.fixture
def servers():
    started: list[live.Proc] = []
    yield started
    for proc in started:  # teardown: no graceful shutdown to wait for
        proc.stop(signal.SIGKILL)
