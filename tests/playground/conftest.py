"""Playground fixtures: tiny timings, a fresh hub and in-memory layer per test (asyncio primitives
bind to the loop that first uses them, and every async test has its own loop)."""

import pytest
from channels.layers import channel_layers

from playground import log


@pytest.fixture(autouse=True)
def playground_settings(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.REDIS_URL = ""
    settings.PLAYGROUND_STORE = "memory"
    settings.PLAYGROUND_TICK_SECONDS = 0.05
    settings.PLAYGROUND_HEARTBEAT_SECONDS = 0.2
    settings.PLAYGROUND_HOUSEKEEPING_SECONDS = 0.05
    settings.PLAYGROUND_SSE_RETRY_MS = 3000
    settings.PLAYGROUND_REPLAY_SIZE = 1000
    settings.PLAYGROUND_MAX_CONNECTIONS_PER_IP = 40
    settings.PLAYGROUND_MAX_CONNECTIONS_PER_USER = 12
    settings.PLAYGROUND_SEND_RATE_PER_MINUTE = 30
    channel_layers.backends.pop("default", None)
    log.reset_hub()
    yield settings
    log.reset_hub()
    channel_layers.backends.pop("default", None)


@pytest.fixture
async def hub():
    h = log.get_hub()
    yield h
    await h.close()
