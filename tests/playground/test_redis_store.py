"""The Redis store (REDIS_URL): ids and buffer shared across processes, caps and rate shared, presence
summed, one ticker leader. Two stores for one stream stand in for two Daphne processes."""

import asyncio
import secrets

import pytest

from playground.limits import RedisCaps
from playground.log import Gap, Hub, RedisLog, get_hub, reset_hub

pytestmark = pytest.mark.services


@pytest.fixture
async def redis(redis_url):
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    created = []
    yield client, created
    for pattern in created:
        keys = [k async for k in client.scan_iter(match=pattern)]
        if keys:
            await client.delete(*keys)
    await client.aclose()


def room(created):
    name = f"room-t{secrets.token_hex(5)}"
    created.append(f"playground:*{name}*")
    return name


async def test_two_stores_share_ids_and_buffer(redis):
    client, created = redis
    stream = room(created)
    a, b = RedisLog(stream, 1000, client, 60), RedisLog(stream, 1000, client, 60)
    await a.load()
    await b.load()
    assert a.epoch == b.epoch
    events = await asyncio.gather(
        *(a.append("chat", {"n": n}) for n in range(25)), *(b.append("chat", {"n": n}) for n in range(25))
    )
    assert sorted(e.id for e in events) == list(range(1, 51))  # L1: one writer (INCR in the script)
    replay = await b.since(40)  # b's local tail is empty: answered from Redis
    assert [e.id for e in replay] == list(range(41, 51))
    assert replay[0].as_dict() == next(e for e in events if e.id == 41).as_dict()


async def test_gap_and_reset_from_redis(redis):
    client, created = redis
    stream = room(created)
    log = RedisLog(stream, 5, client, 60)
    await log.load()
    for n in range(10):
        await log.append("chat", {"n": n})
    assert await log.since(1) == Gap(6, 10)
    assert [e.id for e in await log.since(5)] == [6, 7, 8, 9, 10]
    assert await log.since(11) == Gap(6, 10, reset=True)


async def test_doorbell_jump_is_refilled_from_redis(redis):
    client, created = redis
    stream = room(created)
    writer, reader = RedisLog(stream, 100, client, 60), RedisLog(stream, 100, client, 60)
    await writer.load()
    await reader.load()
    events = [await writer.append("chat", {"n": n}) for n in range(4)]
    await reader.on_doorbell(events[0].as_dict())
    await reader.on_doorbell(events[3].as_dict())  # doorbells for 2 and 3 were lost
    assert [e.id for e in reader.tail] == [1, 2, 3, 4]
    assert reader.newest == 4


async def test_refresh_catches_up_without_a_doorbell(redis):
    client, created = redis
    stream = room(created)
    writer, reader = RedisLog(stream, 100, client, 60), RedisLog(stream, 100, client, 60)
    await writer.load()
    await reader.load()
    await writer.append("chat", {"n": 0})
    await reader.refresh()
    assert reader.newest == 1
    assert await reader.wait(0, 0.01) is True


async def test_lost_redis_log_is_a_new_epoch(redis):
    client, created = redis
    stream = room(created)
    log = RedisLog(stream, 100, client, 60)
    await log.load()
    await log.append("chat", {"n": 0})
    old = log.epoch
    await client.delete(*log.keys)
    await log.refresh()
    assert log.epoch != old
    assert log.newest == 0


async def test_caps_are_shared_between_processes(redis, settings):
    client, created = redis
    created.append("playground:caps:*shared-cap*")
    settings.PLAYGROUND_MAX_CONNECTIONS_PER_USER = 2
    one, two = RedisCaps(client), RedisCaps(client)
    keys = [f"ip:shared-cap-{secrets.token_hex(3)}", f"s:shared-cap-{secrets.token_hex(3)}"]
    first = await one.acquire(keys)
    second = await two.acquire(keys)
    assert first is not None
    assert second is not None
    assert await one.acquire(keys) is None
    await second.release()
    third = await two.acquire(keys)
    assert third is not None
    await first.release()
    await third.release()


async def test_send_rate_is_shared(redis, settings):
    client, created = redis
    created.append("playground:rate:*shared-rate*")
    settings.PLAYGROUND_SEND_RATE_PER_MINUTE = 2
    one, two = RedisCaps(client), RedisCaps(client)
    key = f"user:shared-rate-{secrets.token_hex(3)}"
    assert [
        await one.take_send_token(key),
        await two.take_send_token(key),
        await one.take_send_token(key),
    ] == [True, True, False]


async def test_presence_sums_processes_and_one_ticker_leader(redis_url, settings):
    settings.PLAYGROUND_STORE = "redis"
    settings.REDIS_URL = redis_url
    first, second = Hub(), Hub()
    stream = f"room-p{secrets.token_hex(5)}"
    try:
        assert await first.presence_counts(stream, {"ws": 2, "sse": 1, "long_poll": 0, "short_poll": 0}) == {
            "ws": 2,
            "sse": 1,
            "long_poll": 0,
            "short_poll": 0,
        }
        total = await second.presence_counts(stream, {"ws": 1, "sse": 0, "long_poll": 3, "short_poll": 1})
        assert total == {"ws": 3, "sse": 1, "long_poll": 3, "short_poll": 1}
        await first.redis.delete("playground:ticker:leader")
        assert [await first._lead_ticker(), await second._lead_ticker(), await first._lead_ticker()] == [
            True,
            False,
            True,
        ]
    finally:
        await first.redis.delete(f"playground:presence:{stream}", "playground:ticker:leader")
        await first.close()
        await second.close()


async def test_doorbell_arrives_while_the_faults_bus_listens_on_the_same_layer(redis_url, settings):
    """channels_redis runs one receive loop per process and pops only the key of whoever holds its
    lock. The relay and the faults bus once used two channel prefixes (two keys): the bus's 5 s
    BZPOPMIN then held doorbells back for seconds on the process that also listened for faults."""
    from channels.layers import channel_layers

    from playground import faults

    settings.PLAYGROUND_STORE = "redis"
    settings.REDIS_URL = redis_url
    settings.PLAYGROUND_HOUSEKEEPING_SECONDS = 60  # no refresh() to paper over a late doorbell
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}
    }
    channel_layers.backends.pop("default", None)
    reset_hub()
    hub = get_hub()
    stream = f"room-d{secrets.token_hex(5)}"
    try:
        stream_log = await hub.open(stream)
        await faults.bus.ensure()
        assert hub.layer.non_local_name(hub.channel) == hub.layer.non_local_name(faults.bus.channel)
        await asyncio.sleep(0.3)  # both listeners are blocked in receive() now
        for n in range(1, 4):
            await hub.publish(stream, "chat", {"n": n})
            assert await stream_log.wait(n - 1, 2.0) is True, f"doorbell {n} held back"
    finally:
        if faults.bus.task is not None:
            faults.bus.task.cancel()
        faults.bus.task = None
        await hub.redis.delete(*stream_log.keys)
        await hub.close()
        reset_hub()
        channel_layers.backends.pop("default", None)


async def test_a_burst_beyond_the_pool_waits_for_a_connection_instead_of_failing(
    redis_url, settings, monkeypatch
):
    """A reconnect storm: many more simultaneous Redis commands than pooled connections."""
    from playground import log as log_module

    monkeypatch.setattr(log_module, "REDIS_POOL_SIZE", 3)
    settings.PLAYGROUND_STORE = "redis"
    settings.REDIS_URL = redis_url
    hub = Hub()
    ip = f"ip:burst-{secrets.token_hex(4)}"
    try:
        leases = await asyncio.gather(*(hub.caps.acquire([f"{ip}-{n}"]) for n in range(30)))
        assert all(lease is not None for lease in leases)
        await asyncio.gather(*(lease.release() for lease in leases))
    finally:
        await hub.close()
