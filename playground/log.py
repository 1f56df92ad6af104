"""The id-numbered log every transport reads (REALTIME.md §1), its stores and the per-process hub.

One log per stream: ids come from a single writer (L1), events go into a bounded replay buffer
before anyone is woken (L2), ``since()`` reports gaps and resets explicitly (L3/L4). Two stores
share one interface: ``MemoryLog`` (default, per process) and ``RedisLog`` (``REDIS_URL``: ids and
buffer in Redis, so a client resuming on another Daphne process sees no gap). Each process runs one
``Hub``: one relay channel joined to every locally open stream's group (one channel-layer message
per process per event), local fan-out through the log's ``asyncio.Condition``, presence counts, the
ticker and room expiry. ``deliver()`` is the one generator the WebSocket and SSE transports iterate.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from playground.limits import MemoryCaps, RedisCaps

logger = logging.getLogger(__name__)

STREAM_RE = re.compile(r"^(ticker|room-[a-z0-9-]{1,40})$")
TYPE_RE = re.compile(r"^[a-z_]{1,20}$")
CONN_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
TICKER = "ticker"
TRANSPORTS = ("ws", "sse", "long_poll", "short_poll")

DEFAULTS: dict[str, Any] = {
    "PLAYGROUND_REPLAY_SIZE": 1000,
    "PLAYGROUND_TICK_SECONDS": 1.0,
    "PLAYGROUND_HEARTBEAT_SECONDS": 15.0,
    "PLAYGROUND_HOUSEKEEPING_SECONDS": 1.0,
    "PLAYGROUND_MAX_ROOMS": 200,
    "PLAYGROUND_ROOM_IDLE_SECONDS": 600.0,
    "PLAYGROUND_POLL_KEEPALIVE_SECONDS": 60.0,
    "PLAYGROUND_POLL_PRESENCE_SECONDS": 15.0,
    # Presence updates are coalesced: at most one per housekeeping tick for a small stream, one per
    # (subscribers / PLAYGROUND_PRESENCE_SUBSCRIBERS_PER_SECOND) s for a large one, capped below.
    "PLAYGROUND_PRESENCE_SUBSCRIBERS_PER_SECOND": 200,
    "PLAYGROUND_PRESENCE_MAX_SECONDS": 10.0,
    "PLAYGROUND_SSE_RETRY_MS": 3000,
    "PLAYGROUND_WS_MAX_BACKLOG_BYTES": 2
    * 1024
    * 1024,  # unread bytes queued for one socket before 4008 (> a full replay)
    "PLAYGROUND_SSE_LIFETIME_SECONDS": 900.0,
    "PLAYGROUND_STORE": "",  # "", "memory" or "redis"; "" means redis when REDIS_URL is set
}


def conf(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def dumps(obj: Any) -> str:
    """Compact JSON that never contains a raw CR or LF, so one SSE ``data:`` line always suffices."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def is_valid_stream(name: str) -> bool:
    return bool(STREAM_RE.match(name))


def group_name(stream: str) -> str:
    """Built here only, never from raw input (channels: ^[a-zA-Z0-9._-]+$, under 100 chars)."""
    return f"playground.{stream}"


class Item:
    """Something ``deliver()`` yields: an event (has an id) or a control message (has none)."""

    type: str

    def json(self) -> str:
        raise NotImplementedError

    def sse(self) -> str:
        raise NotImplementedError


@dataclass(slots=True, eq=False)
class Event(Item):
    id: int
    type: str
    ts: int
    data: Any
    epoch: str
    _json: str | None = field(default=None, repr=False)
    _sse: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "ts": self.ts, "data": self.data, "epoch": self.epoch}

    def json(self) -> str:  # serialised once, shared by every connection
        if self._json is None:
            self._json = dumps(self.as_dict())
        return self._json

    def sse(self) -> str:
        if self._sse is None:
            self._sse = f"id: {self.id}\nevent: {self.type}\ndata: {self.json()}\n\n"
        return self._sse

    @classmethod
    def from_dict(cls, d: dict[str, Any], raw: str | None = None) -> Event:
        return cls(int(d["id"]), d["type"], int(d["ts"]), d["data"], d.get("epoch", ""), raw)


@dataclass(slots=True, eq=False)
class Control(Item):
    """Control messages carry no id: hello, reset, heartbeat, presence (ignored by clients that don't know them)."""

    type: str
    fields: dict[str, Any]
    sse_id: int | None = None  # only `reset` moves Last-Event-ID (to the new log's newest id)

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.fields}

    def json(self) -> str:
        return dumps(self.as_dict())

    def sse(self) -> str:
        head = ": heartbeat\n" if self.type == "heartbeat" else ""
        idline = f"id: {self.sse_id}\n" if self.sse_id is not None else ""
        return f"{head}{idline}event: {self.type}\ndata: {self.json()}\n\n"


@dataclass(slots=True, eq=False)
class SharedControl(Control):
    """A control message sent unchanged to every connection (presence): serialised once."""

    _json: str | None = field(default=None, repr=False)
    _sse: str | None = field(default=None, repr=False)

    def json(self) -> str:
        if self._json is None:
            self._json = dumps(self.as_dict())
        return self._json

    def sse(self) -> str:
        if self._sse is None:
            self._sse = Control.sse(self)
        return self._sse


@dataclass(slots=True, frozen=True)
class Gap:
    """``since()`` could not answer: the cursor fell off the buffer, or came from another log (reset)."""

    oldest_id: int
    newest_id: int
    reset: bool = False


class DropConnection(Exception):
    """Raised by a delivery tap (fault plans) to end one connection abruptly."""


Tap = Callable[[Item], Awaitable[bool]]
"""Per-connection hook run before each item is written; False skips it (loss), it may sleep
(latency) or raise DropConnection. The fault-injection work plugs its plans in here."""


# --- stores -----------------------------------------------------------------------------------


class StreamStore(Protocol):
    name: str
    epoch: str
    newest: int
    cond: asyncio.Condition

    async def append(self, type: str, data: Any) -> Event: ...
    async def since(self, after: int) -> list[Event] | Gap: ...
    async def head(self) -> int: ...
    async def on_doorbell(self, event: dict[str, Any] | None) -> None: ...
    async def refresh(self) -> None: ...


class LogBase:
    """What the hub tracks per stream besides the events: waiters, presence, activity."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.waiting: set[asyncio.Future] = set()  # readers blocked on arm()'s future
        self.local = collections.Counter()  # ws / sse / long_poll held here now
        self.pollers: dict[str, tuple[str, float]] = {}  # key -> (kind, last seen, monotonic)
        self.presence: dict[str, int] = dict.fromkeys(TRANSPORTS, 0)
        self.presence_version = 0
        self.presence_item: Control = SharedControl("presence", {"counts": self.presence, "ts": now_ms()})
        self.presence_sent = 0.0  # monotonic time of the last presence change sent
        self.waiters = 0
        self.touched = time.monotonic()
        self.last_poll = 0.0

    def attach(self, transport: str) -> None:
        self.local[transport] += 1
        self.touched = time.monotonic()

    def detach(self, transport: str) -> None:
        self.local[transport] -= 1
        self.touched = time.monotonic()

    def saw_poller(self, key: str, kind: str) -> None:
        now = time.monotonic()
        self.pollers[key] = (kind, now)
        self.last_poll = self.touched = now

    def local_counts(self) -> dict[str, int]:
        horizon = time.monotonic() - conf("PLAYGROUND_POLL_PRESENCE_SECONDS")
        for key, (_, seen) in list(self.pollers.items()):
            if seen < horizon:
                del self.pollers[key]
        counts = {"ws": self.local["ws"], "sse": self.local["sse"], "long_poll": 0, "short_poll": 0}
        for kind, _ in self.pollers.values():
            counts[kind] += 1
        # A held long poll is present even before its key was recorded as seen.
        counts["long_poll"] = max(counts["long_poll"], self.local["long_poll"])
        return counts

    def live_subscribers(self) -> int:
        return self.local["ws"] + self.local["sse"] + self.local["long_poll"]

    def wake_all(self) -> None:
        """Wake every blocked reader: one ``set_result`` each, no lock to re-acquire one by one."""
        waiting, self.waiting = self.waiting, set()
        for fut in waiting:
            if not fut.done():
                fut.set_result(None)

    async def notify(self) -> None:
        self.wake_all()

    def arm(self, deadline: float) -> tuple[asyncio.Future, asyncio.TimerHandle]:
        """A future resolved by ``wake_all`` or at ``deadline`` (loop time); pair with ``disarm``.

        One future per blocked reader in a set (O(1) to leave, unlike ``asyncio.Condition``'s deque,
        which made a wake-up of N readers O(N^2)) and a plain timer handle instead of an
        ``asyncio.timeout`` context per wait: the fan-out path of every event. Plain calls, not a
        coroutine, so an idle reader holds no extra frames (README "Playground").
        """
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.waiting.add(fut)
        return fut, loop.call_at(deadline, _resolve, fut)

    def disarm(self, fut: asyncio.Future, timer: asyncio.TimerHandle) -> None:
        timer.cancel()
        self.waiting.discard(fut)

    async def wait(self, after: int, seconds: float) -> bool:
        """True once an event newer than ``after`` is in the local log, False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        self.waiters += 1
        try:
            while self.newest <= after:
                if loop.time() >= deadline:
                    return False
                fut, timer = self.arm(deadline)
                try:
                    await fut
                finally:
                    self.disarm(fut, timer)
            return True
        finally:
            self.waiters -= 1


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


class MemoryLog(LogBase):
    """Per-process log: ids, epoch and buffer live here (a restart is an explicit reset: new epoch)."""

    kind = "memory"

    def __init__(self, name: str, size: int) -> None:
        super().__init__(name)
        self.epoch = secrets.token_hex(4)
        self.newest = 0
        self.buf: collections.deque[Event] = collections.deque(maxlen=size)
        self.lock = asyncio.Lock()
        self.rung = 0  # newest id a doorbell has announced

    async def append(self, type: str, data: Any) -> Event:  # L1 + L2
        if not TYPE_RE.match(type):
            raise ValueError(f"bad event type {type!r}")
        async with self.lock:
            ev = Event(self.newest + 1, type, now_ms(), data, self.epoch)
            self.buf.append(ev)
            self.newest = ev.id  # waiters are woken by the relay's doorbell, after this
            return ev

    async def since(self, after: int) -> list[Event] | Gap:  # L3
        return self.since_now(after)

    def since_now(self, after: int) -> list[Event] | Gap:
        oldest = self.buf[0].id if self.buf else self.newest + 1
        if after > self.newest:
            return Gap(oldest, self.newest, reset=True)
        if after < oldest - 1:
            return Gap(oldest, self.newest)
        if after == self.newest:
            return []
        skip = after - (oldest - 1)  # ids in the buffer are contiguous
        want = len(self.buf) - skip
        if want <= 64:  # the live case (a reader one or a few events behind): O(want), not O(buffer)
            tail = list(itertools.islice(reversed(self.buf), want))
            tail.reverse()
            return tail
        return list(itertools.islice(self.buf, skip, None))

    async def head(self) -> int:
        return self.newest

    async def on_doorbell(self, event: dict[str, Any] | None) -> None:
        if event is not None:
            self.rung = max(self.rung, int(event["id"]))
        await self.notify()

    async def refresh(self) -> None:
        if self.rung < self.newest:  # a doorbell was lost (full relay channel): ring it ourselves
            self.rung = self.newest
            await self.notify()


APPEND_LUA = """
redis.call('SET', KEYS[3], ARGV[4], 'NX')
local epoch = redis.call('GET', KEYS[3])
local id = redis.call('INCR', KEYS[1])
local ev = '{"id":' .. id .. ',"type":' .. ARGV[1] .. ',"ts":' .. ARGV[2] .. ',"data":' .. ARGV[3]
  .. ',"epoch":"' .. epoch .. '"}'
redis.call('RPUSH', KEYS[2], ev)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[5]), -1)
if tonumber(ARGV[6]) > 0 then
  for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[6]) end
end
return ev
"""

SINCE_LUA = """
redis.call('SET', KEYS[3], ARGV[2], 'NX')
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local epoch = redis.call('GET', KEYS[3])
local len = redis.call('LLEN', KEYS[2])
local oldest = seq - len + 1
local start = tonumber(ARGV[1]) + 1 - oldest
if start < 0 then start = 0 end
local items = {}
if start < len then items = redis.call('LRANGE', KEYS[2], start, -1) end
return {seq, epoch, len, items}
"""


class RedisLog(LogBase):
    """Ids (INCR) and the capped buffer (RPUSH + LTRIM) in Redis, written by one Lua script (L1).

    Each process keeps a local tail fed by the relay's doorbells (refilled from Redis on a jump),
    so live fan-out costs no Redis round trip per connection; cursors older than the tail, or
    ahead of it, are answered from Redis, the truth.
    """

    kind = "redis"

    def __init__(self, name: str, size: int, redis: Any, ttl: int) -> None:
        super().__init__(name)
        self.redis, self.size, self.ttl = redis, size, ttl
        prefix = f"playground:log:{name}"
        self.keys = [f"{prefix}:seq", f"{prefix}:buf", f"{prefix}:epoch"]
        self.epoch = ""
        self.newest = 0
        self.tail: collections.deque[Event] = collections.deque(maxlen=size)
        self.merge = asyncio.Lock()
        self._append = redis.register_script(APPEND_LUA)
        self._since = redis.register_script(SINCE_LUA)

    async def _fetch(self, after: int) -> tuple[int, str, int, list[Event]]:
        """(newest id, epoch, oldest id, events after ``after``) read atomically from Redis."""
        seq, epoch, length, items = await self._since(keys=self.keys, args=[after, secrets.token_hex(4)])
        epoch = epoch.decode() if isinstance(epoch, bytes) else epoch
        events = [
            Event.from_dict(json.loads(raw), raw.decode() if isinstance(raw, bytes) else raw) for raw in items
        ]
        return int(seq), epoch, int(seq) - int(length) + 1, events

    async def load(self) -> None:
        seq, epoch, _, events = await self._fetch(0)
        self.tail.clear()
        self.tail.extend(events)
        self.epoch, self.newest = epoch, seq

    async def append(self, type: str, data: Any) -> Event:
        if not TYPE_RE.match(type):
            raise ValueError(f"bad event type {type!r}")
        args = [dumps(type), now_ms(), dumps(data), secrets.token_hex(4), self.size, self.ttl]
        raw = await self._append(keys=self.keys, args=args)
        raw = raw.decode() if isinstance(raw, bytes) else raw
        return Event.from_dict(json.loads(raw), raw)

    async def since(self, after: int) -> list[Event] | Gap:
        tail_oldest = self.tail[0].id if self.tail else self.newest + 1
        if tail_oldest - 1 <= after <= self.newest:
            if after == self.newest:
                return []
            return [e for e in self.tail if e.id > after]
        seq, _, oldest, events = await self._fetch(after)
        if after > seq:
            return Gap(oldest, seq, reset=True)
        if after < oldest - 1:
            return Gap(oldest, seq)
        return [e for e in events if e.id > after]

    async def head(self) -> int:
        return self.newest

    async def _merge(self, incoming: list[Event]) -> None:
        for ev in incoming:
            if ev.epoch != self.epoch:  # Redis lost the log (flush, expiry): adopt the new one
                await self.load()
                return
            if ev.id == self.newest + 1:
                self.tail.append(ev)
                self.newest = ev.id
            elif ev.id > self.newest + 1:  # a jump: refill from the store before fan-out (L7)
                _, _, _, events = await self._fetch(self.newest)
                for refill in events:
                    if refill.id == self.newest + 1:
                        self.tail.append(refill)
                        self.newest = refill.id
                if ev.id > self.newest:  # the refill could not bridge it: start again from Redis
                    await self.load()
                    return

    async def on_doorbell(self, event: dict[str, Any] | None) -> None:
        async with self.merge:
            if event is not None:
                await self._merge([Event.from_dict(event)])
        await self.notify()

    async def refresh(self) -> None:
        """Catch up after a lost doorbell (or a Redis restart) without waiting for the next event."""
        async with self.merge:
            seq, epoch, _, events = await self._fetch(self.newest)
            if epoch != self.epoch or seq < self.newest:
                await self.load()
            elif seq > self.newest:
                await self._merge(events)
            else:
                return
        await self.notify()


# --- the hub: one per process (per event loop) -------------------------------------------------


REDIS_POOL_SIZE = 200
REDIS_POOL_WAIT_SECONDS = 5  # longer than this and Redis is as good as down: STORE_ERRORS, 4503 / 503


class RoomsFull(Exception):
    """Too many live rooms: the caller answers 429 / closes with 4429."""


class StoreUnavailable(Exception):
    """The shared store (Redis) is unreachable: the caller answers 503 degraded / closes with 4503."""


try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is a pinned dependency
    RedisError = OSError  # type: ignore[assignment,misc]

STORE_ERRORS: tuple[type[BaseException], ...] = (StoreUnavailable, RedisError, OSError)
"""What a request or socket turns into a "degraded" answer instead of a 500 / 1011."""


class Hub:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.layer = get_channel_layer()
        self.proc = secrets.token_hex(4)
        self.logs: dict[str, MemoryLog | RedisLog] = {}
        self.channel: str | None = None
        self.tasks: list[asyncio.Task] = []
        self.ticker_task: asyncio.Task | None = None
        self.open_lock = asyncio.Lock()
        self.store = conf("PLAYGROUND_STORE") or ("redis" if settings.REDIS_URL else "memory")
        self.redis = None
        if self.store == "redis":
            import redis.asyncio as aioredis

            # A blocking pool: when a thousand clients reconnect at once (a process restart), a command
            # beyond the 200th connection waits for a free one instead of failing with "Too many
            # connections" (which closed ~1 in 3 storm reconnects with 4503 and sent them into backoff).
            pool = aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL, max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_WAIT_SECONDS
            )
            self.redis = aioredis.Redis.from_pool(pool)  # owns the pool: aclose() disconnects it
            self.caps: MemoryCaps | RedisCaps = RedisCaps(self.redis)
        else:
            self.caps = MemoryCaps()
        self.grouped_at: dict[str, float] = {}
        self.closed = False
        self.degraded = False  # Redis unreachable at the last housekeeping tick

    def check_store(self) -> None:
        """Refuse new work while the shared store is known to be down (a stale tail is not an answer)."""
        if self.degraded:
            raise StoreUnavailable("the stream store is unreachable")

    # opening a stream: relay in the group first (L5), then the log is usable
    async def open(self, stream: str) -> MemoryLog | RedisLog | None:
        if not is_valid_stream(stream):
            return None
        log = self.logs.get(stream)
        if log is not None:
            log.touched = time.monotonic()
            return log
        async with self.open_lock:
            if (log := self.logs.get(stream)) is not None:
                return log
            if stream != TICKER and sum(n != TICKER for n in self.logs) >= conf("PLAYGROUND_MAX_ROOMS"):
                self.expire_rooms(force=True)
                if sum(n != TICKER for n in self.logs) >= conf("PLAYGROUND_MAX_ROOMS"):
                    raise RoomsFull(stream)
            await self._start()
            await self.layer.group_add(group_name(stream), self.channel)
            self.grouped_at[stream] = time.monotonic()
            size = settings.PLAYGROUND_REPLAY_SIZE
            if self.store == "redis":
                ttl = 0 if stream == TICKER else 86400
                log = RedisLog(stream, size, self.redis, ttl)
                await log.load()
            else:
                log = MemoryLog(stream, size)
            self.logs[stream] = log
            return log

    async def publish(self, stream: str, type: str, data: Any) -> Event:
        """Append (the truth), then ring one doorbell per process through the channel layer."""
        log = await self.open(stream)
        if log is None:
            raise ValueError(f"unknown stream {stream!r}")
        ev = await log.append(type, data)
        await self.layer.group_send(
            group_name(stream), {"type": "playground.event", "stream": stream, "event": ev.as_dict()}
        )
        return ev

    async def _start(self) -> None:
        if self.channel is None:
            # The layer's default prefix on purpose: channels_redis runs ONE receive loop per process
            # (a shared lock) that pops only the lock holder's key, and a channel's key is its name up to
            # "!". Two prefixes mean two keys, and a receiver blocked on the other key for its whole
            # 5 s BZPOPMIN delays this one (measured: doorbells 1-4 s late on the process that also
            # listened for faults). One prefix, one key, every process-local channel demultiplexed.
            self.channel = await self.layer.new_channel()
            self.tasks = [
                self.loop.create_task(self._relay(), name="playground-relay"),
                self.loop.create_task(self._housekeeping(), name="playground-housekeeping"),
            ]

    async def _relay(self) -> None:
        while True:
            try:
                msg = await self.layer.receive(self.channel)
                log = self.logs.get(msg.get("stream", ""))
                if log is not None:
                    await log.on_doorbell(msg.get("event"))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("playground relay: message dropped")
                await asyncio.sleep(0.5)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(conf("PLAYGROUND_HOUSEKEEPING_SECONDS"))
            try:
                await self.tick_housekeeping()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("playground housekeeping failed")

    async def tick_housekeeping(self) -> None:
        if self.redis is None:
            return await self._housekeep()
        try:
            await self.redis.ping()
            await self._housekeep()
        except STORE_ERRORS:
            if not self.degraded:
                logger.warning("playground: Redis unreachable, answering 503 degraded until it is back")
            self.degraded = True
            return
        if self.degraded:
            logger.warning("playground: Redis is back")
        self.degraded = False

    async def _housekeep(self) -> None:
        now = time.monotonic()
        for stream, log in list(self.logs.items()):
            await log.refresh()
            counts = await self.presence_counts(stream, log.local_counts())
            if counts != log.presence and now - log.presence_sent >= self.presence_gap(counts):
                # Coalesced: the counts at the end of the window, one shared frame for everyone.
                log.presence, log.presence_sent = counts, now
                log.presence_item = SharedControl("presence", {"counts": counts, "ts": now_ms()})
                log.presence_version += 1
                await log.notify()
            if now - self.grouped_at.get(stream, now) > 3600:  # stay within the layer's group_expiry
                await self.layer.group_add(group_name(stream), self.channel)
                self.grouped_at[stream] = now
        await self.caps.keepalive()
        await self._drive_ticker()
        self.expire_rooms()

    @staticmethod
    def presence_gap(counts: dict[str, int]) -> float:
        """Seconds between two presence updates: every tick while small, slower as the room grows."""
        scaled = sum(counts.values()) / conf("PLAYGROUND_PRESENCE_SUBSCRIBERS_PER_SECOND")
        return min(scaled, conf("PLAYGROUND_PRESENCE_MAX_SECONDS"))

    async def presence_counts(self, stream: str, local: dict[str, int]) -> dict[str, int]:
        if self.redis is None:
            return local
        key = f"playground:presence:{stream}"
        stamp = now_ms()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, self.proc, dumps({"t": stamp, **local}))
            pipe.pexpire(key, 10_000)
            pipe.hgetall(key)
            *_, rows = await pipe.execute()
        horizon = stamp - max(3000, int(conf("PLAYGROUND_HOUSEKEEPING_SECONDS") * 3000))
        total = dict.fromkeys(TRANSPORTS, 0)
        for raw in rows.values():
            row = json.loads(raw)
            if row.pop("t", 0) >= horizon:
                for k in TRANSPORTS:
                    total[k] += int(row.get(k, 0))
        return total

    def ticker_wanted(self) -> bool:
        log = self.logs.get(TICKER)
        if log is None:
            return False
        recent_poll = time.monotonic() - log.last_poll < conf("PLAYGROUND_POLL_KEEPALIVE_SECONDS")
        return log.live_subscribers() > 0 or (log.last_poll > 0 and recent_poll)

    async def _drive_ticker(self) -> None:
        wanted = self.ticker_wanted()
        if wanted and self.redis is not None:
            wanted = await self._lead_ticker()
        running = self.ticker_task is not None and not self.ticker_task.done()
        if wanted and not running:
            self.ticker_task = self.loop.create_task(self._ticker(), name="playground-ticker")
        elif not wanted and running:
            self.ticker_task.cancel()
            self.ticker_task = None

    async def _lead_ticker(self) -> bool:
        """One ticker across processes: a Redis lock held (and renewed) by the publishing process."""
        key, ttl = "playground:ticker:leader", max(3000, int(conf("PLAYGROUND_HOUSEKEEPING_SECONDS") * 3000))
        if await self.redis.set(key, self.proc, nx=True, px=ttl):
            return True
        owner = await self.redis.get(key)
        if owner is not None and owner.decode() == self.proc:
            await self.redis.pexpire(key, ttl)
            return True
        return False

    async def _ticker(self) -> None:
        price = 100.0
        log = self.logs[TICKER]
        for ev in reversed(getattr(log, "buf", None) or getattr(log, "tail", ())):
            if isinstance(ev.data, dict) and isinstance(ev.data.get("price"), int | float):
                price = float(ev.data["price"])
                break
        while True:
            await asyncio.sleep(conf("PLAYGROUND_TICK_SECONDS"))
            price = max(1.0, round(price + (secrets.randbelow(201) - 100) / 100, 2))
            await self.publish(TICKER, "tick", {"price": price})

    def expire_rooms(self, *, force: bool = False) -> None:
        """Rooms idle for PLAYGROUND_ROOM_IDLE_SECONDS with nobody attached are dropped (new epoch next time)."""
        idle = conf("PLAYGROUND_ROOM_IDLE_SECONDS")
        now = time.monotonic()
        for stream, log in list(self.logs.items()):
            if stream == TICKER or log.live_subscribers() or log.waiters:
                continue
            if now - log.touched >= idle or (force and now - log.touched >= min(idle, 60)):
                del self.logs[stream]
                self.grouped_at.pop(stream, None)
                self.loop.create_task(self.layer.group_discard(group_name(stream), self.channel))

    async def close(self) -> None:
        self.closed = True
        for task in [*self.tasks, self.ticker_task]:
            if task is not None:
                task.cancel()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()


_hub: Hub | None = None


def get_hub() -> Hub:
    """The process's hub, recreated when the event loop changes (each async test has its own loop)."""
    global _hub
    loop = asyncio.get_running_loop()
    if _hub is None or _hub.loop is not loop or _hub.closed:
        _hub = Hub()
    return _hub


def reset_hub() -> None:
    global _hub
    _hub = None


# --- delivery: the one loop behind WebSocket and SSE -------------------------------------------


def new_conn_id() -> str:
    return secrets.token_urlsafe(6)


async def deliver(
    log: MemoryLog | RedisLog,
    after: int | None,
    *,
    transport: str,
    conn: str,
    heartbeat: float | None = None,
    tap: Tap | None = None,
    hello_extra: dict[str, Any] | None = None,
    newest: int | None = None,
) -> AsyncIterator[Item]:
    """hello, then the replay (or a reset, L4), then live events, presence and heartbeats.

    The caller has opened the log (relay in the group) before calling: subscribe, then replay,
    then go live (L5); events with ``id <= cursor`` are never sent twice. ``newest`` is the head
    read by the caller when the connection was accepted: with ``after=None`` the stream starts
    there, so an event published between accept and this generator's first step is not lost.
    """
    heartbeat = heartbeat or conf("PLAYGROUND_HEARTBEAT_SECONDS")
    loop = asyncio.get_running_loop()
    log.attach(transport)
    try:
        if newest is None:
            newest = await log.head()
        batch: list[Event] = []
        first: list[Item] = []
        if after is None:
            cursor = newest
        else:
            found = await log.since(after)
            cursor = after
            if isinstance(found, Gap) and found.reset:
                first.append(
                    Control("reset", {"last_id": found.newest_id, "epoch": log.epoch}, found.newest_id)
                )
                cursor = found.newest_id
            elif isinstance(found, Gap):  # fell off the buffer: send what it holds, the client sees the jump
                found = await log.since(found.oldest_id - 1)
                batch = [] if isinstance(found, Gap) else found
            else:
                batch = found
        hello = {"last_id": newest, "epoch": log.epoch, "resumed_from": after, "replayed": len(batch)}
        hello |= {"conn": conn, "transport": transport, "presence": log.presence, **(hello_extra or {})}
        first.insert(0, Control("hello", hello))
        presence_seen = log.presence_version
        opening, first, batch, found, hello = [*first, *batch], None, None, None, None
        while opening:  # popped as sent: an idle reader keeps none of its opening frames alive
            item = opening.pop(0)
            if tap is None or await tap(item):
                yield item
            if isinstance(item, Event):
                cursor = item.id
        del item
        beat_due = time.monotonic() + heartbeat
        while True:
            # Sleep until an event, a presence change or the heartbeat (LogBase.arm: no coroutine frame).
            if log.newest <= cursor and log.presence_version == presence_seen:
                fut, timer = log.arm(loop.time() + max(0.0, beat_due - time.monotonic()))
                log.waiters += 1
                try:
                    await fut
                finally:
                    log.disarm(fut, timer)
                    log.waiters -= 1
            if log.newest > cursor:
                found = await log.since(cursor)
                if isinstance(found, Gap) and found.reset:
                    item = Control("reset", {"last_id": found.newest_id, "epoch": log.epoch}, found.newest_id)
                    cursor = found.newest_id
                    if tap is None or await tap(item):
                        yield item
                    continue
                if isinstance(found, Gap):  # this reader fell behind the buffer: jump, the client reports it
                    found = await log.since(found.oldest_id - 1)
                batch = [] if isinstance(found, Gap) else found
                for ev in batch:
                    if ev.id <= cursor:
                        continue
                    cursor = ev.id
                    if tap is None or await tap(ev):
                        yield ev
            if log.presence_version != presence_seen:
                presence_seen = log.presence_version
                item = log.presence_item  # shared and serialised once per update
                if tap is None or await tap(item):
                    yield item
            if time.monotonic() >= beat_due:
                beat_due = time.monotonic() + heartbeat
                item = Control("heartbeat", {"ts": now_ms(), "last_id": cursor})
                if tap is None or await tap(item):
                    yield item
    finally:
        log.detach(transport)


def parse_after(value: str | None) -> int | None:
    """A cursor is 1-18 digits; anything else is refused (400 / 4008), never guessed."""
    if value is None or value == "":
        return None
    if not re.fullmatch(r"\d{1,18}", value):
        raise ValueError("after must be a non-negative integer")
    return int(value)


def parse_conn(value: str | None) -> str:
    return value if value and CONN_RE.match(value) else new_conn_id()
