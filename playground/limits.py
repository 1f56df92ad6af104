"""Caps on open connections (per IP and per user/session) and the send rate, per process or in Redis.

Channels has no rate limiting of its own (REALTIME.md §4). A lease is taken when a WebSocket, SSE
stream or held long poll starts and released in ``finally`` when it ends; in Redis, leases carry a
TTL refreshed while alive, so a crashed process frees its slots within ``ttl_ms``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def client_keys(ip: str | None, session_cookie: str | None) -> list[str]:
    """Cap keys for one client: its IP and, when it has one, its session.

    The session cookie is hashed, not looked up: no database query per poll. A forged cookie
    buys a fresh per-session pool but never escapes the per-IP cap.
    """
    keys = [f"ip:{ip or 'unknown'}"]
    if session_cookie:
        keys.append("s:" + hashlib.sha256(session_cookie.encode()).hexdigest()[:24])
    return keys


class Lease:
    def __init__(self, release: Callable[[], Awaitable[None]]) -> None:
        self._release: Callable[[], Awaitable[None]] | None = release

    async def release(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            await release()

    def release_from_thread(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        """A sync closer (Django calls response closers in a thread) that releases on ``loop``."""

        def close() -> None:
            if self._release is not None and not loop.is_closed():
                asyncio.run_coroutine_threadsafe(self.release(), loop)

        return close


def _limits() -> tuple[int, int]:
    return settings.PLAYGROUND_MAX_CONNECTIONS_PER_IP, settings.PLAYGROUND_MAX_CONNECTIONS_PER_USER


class MemoryCaps:
    """Open connections per IP and per user/session in this process; send tokens per user."""

    def __init__(self) -> None:
        self.open: collections.Counter[str] = collections.Counter()
        self.buckets: dict[str, tuple[float, float]] = {}

    async def acquire(self, keys: list[str]) -> Lease | None:
        per_ip, per_user = _limits()
        for key in keys:
            limit = per_ip if key.startswith("ip:") else per_user
            if self.open[key] >= limit:
                return None
        for key in keys:
            self.open[key] += 1

        async def release() -> None:
            for key in keys:
                self.open[key] -= 1
                if self.open[key] <= 0:
                    del self.open[key]

        return Lease(release)

    async def take_send_token(self, key: str) -> bool:
        """Token bucket: PLAYGROUND_SEND_RATE_PER_MINUTE refill, burst of up to 10."""
        rate = settings.PLAYGROUND_SEND_RATE_PER_MINUTE
        burst = float(max(1, min(10, rate)))
        now = time.time()
        tokens, stamp = self.buckets.get(key, (burst, now))
        tokens = min(burst, tokens + (now - stamp) * rate / 60.0)
        if tokens < 1:
            self.buckets[key] = (tokens, now)
            return False
        self.buckets[key] = (tokens - 1, now)
        return True

    async def keepalive(self) -> None:
        return None


ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then return 0 end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[3]) * 2)
end
return 1
"""

BUCKET_LUA = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or burst
local stamp = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - stamp) * rate / 60000)
local ok = 0
if tokens >= 1 then tokens = tokens - 1; ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000)
return ok
"""


class RedisCaps:
    """The same caps shared by every process: a sorted set per key (score = lease expiry), leases
    refreshed while alive, so a crashed process leaks no slots for longer than the TTL."""

    ttl_ms = 30_000

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.live: dict[str, list[str]] = {}
        self._acquire = redis.register_script(ACQUIRE_LUA)
        self._bucket = redis.register_script(BUCKET_LUA)

    async def acquire(self, keys: list[str]) -> Lease | None:
        per_ip, per_user = _limits()
        rkeys = [f"playground:caps:{k}" for k in keys]
        member = secrets.token_hex(8)
        limits = [per_ip if k.startswith("ip:") else per_user for k in keys]
        ok = await self._acquire(keys=rkeys, args=[now_ms(), member, self.ttl_ms, *limits])
        if not ok:
            return None
        self.live[member] = rkeys

        async def release() -> None:
            self.live.pop(member, None)
            with contextlib.suppress(Exception):  # best effort: the TTL frees the slot anyway
                async with self.redis.pipeline(transaction=False) as pipe:
                    for key in rkeys:
                        pipe.zrem(key, member)
                    await pipe.execute()

        return Lease(release)

    async def take_send_token(self, key: str) -> bool:
        rate = settings.PLAYGROUND_SEND_RATE_PER_MINUTE
        burst = max(1, min(10, rate))
        return bool(await self._bucket(keys=[f"playground:rate:{key}"], args=[rate, burst, now_ms()]))

    async def keepalive(self) -> None:
        if not self.live:
            return
        expiry = now_ms() + self.ttl_ms
        async with self.redis.pipeline(transaction=False) as pipe:
            for member, keys in list(self.live.items()):
                for key in keys:
                    pipe.zadd(key, {member: expiry}, xx=True)
            await pipe.execute()
