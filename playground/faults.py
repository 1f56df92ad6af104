"""Fault injection (REALTIME.md §3): plans per learner and connection, and the guards that apply them.

A learner is keyed by their session (the hashed session cookie, the same "s:" key the caps use, so no
ORM runs on any delivery path); a connection by the id its pane chose (``?conn=``, echoed in ``hello``).
Plans only ever reach the guards registered under the same learner key: other learners, and other
learners' ticker connections, are never touched.

A ``Guard`` wraps ``deliver()`` for one WebSocket or SSE connection: a reader task pulls items into a
queue (stamped on arrival), the writer side applies the plans (loss, latency with order kept, pause,
buffering proxy) and can be kicked at once (drop, offline, restart) without waiting for the next item.
Long polls go through ``guard_poll()``. The registry is per process; with REDIS_URL the ``Bus`` carries
every fault and heal to the other processes and keeps the learner's connection ids in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import secrets
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

from playground.log import Control, DropConnection, Event, Item

CLOSE_DROPPED = 4000
CLOSE_OFFLINE = 4001
CLOSE_RESTART = 4002
SSE_PROXY_BUFFER = 8192  # nginx's default proxy_buffer_size on 64-bit: one flush per 8 KiB
MAX_PLANS_PER_LEARNER = 12
MAX_QUEUE = 5000
POLL_CONN_MEMORY = 120.0  # a poll pane counts as a connection for this long after its last request
RESTART_MEMORY = 300.0  # how long a restart waits for a connection's next resume

KINDS = ("drop", "latency", "loss", "pause", "buffering", "offline", "restart")
KIND_HELP = {
    "drop": "ends the connection abruptly (WebSocket close 4000, SSE response ended, held poll 503)",
    "latency": "delays every write by ms (+ up to jitter_ms), order kept",
    "loss": "silently skips a share p of event writes (poll answers dropped as 503)",
    "pause": "no writes and no heartbeats for seconds",
    "buffering": "a buffering proxy: SSE output flushed in 8 KiB blocks, poll answers released in batches",
    "offline": "cuts the connections (WebSocket 4001, SSE/poll ended) and refuses new ones for seconds",
    "restart": "an emulated in-memory server restart: connections cut, then every resume gets an explicit reset",
}

_rand = secrets.SystemRandom()


def clock() -> float:
    return time.time()


class FaultClose(DropConnection):
    """A fault ended this connection; ``code`` is the WebSocket close code (SSE/poll just end)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class FaultError(ValueError):
    """Bad fault parameters: the view answers 400 with this message."""


# --- validation --------------------------------------------------------------------------------


def _number(params: dict, name: str, low: float, high: float, default: Any, *, integer: bool) -> Any:
    value = params.get(name, default)
    if value is None:
        raise FaultError(f"{name} is required")
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer and isinstance(value, float):
        ok = value.is_integer()
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        kind = "an integer" if integer else "a number"
        raise FaultError(f"{name} must be {kind} between {low:g} and {high:g}")
    if not low <= value <= high:
        raise FaultError(f"{name} must be between {low:g} and {high:g} (got {value:g})")
    return int(value) if integer else float(value)


SCHEMA: dict[str, dict[str, tuple[float, float, Any, bool]]] = {
    # name: (low, high, default, integer)
    "drop": {},
    "latency": {"ms": (0, 5000, None, True), "jitter_ms": (0, 2000, 0, True), "seconds": (1, 300, 60, True)},
    "loss": {"p": (0, 1, None, False), "seconds": (1, 300, 60, True)},
    "pause": {"seconds": (1, 60, None, True)},
    "buffering": {"batch_seconds": (1, 30, 5, True), "seconds": (1, 300, 60, True)},
    "offline": {"seconds": (1, 60, None, True)},
    "restart": {"downtime_seconds": (0, 30, 2, True)},
}


def validate(kind: Any, params: Any) -> dict[str, Any]:
    """The cleaned parameters for one fault, or FaultError with a message a learner can act on."""
    if not isinstance(kind, str) or kind not in SCHEMA:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise FaultError("params must be an object")
    schema = SCHEMA[kind]
    unknown = sorted(set(params) - set(schema))
    if unknown:
        raise FaultError(f"unknown parameter for {kind}: {', '.join(map(str, unknown))}")
    return {name: _number(params, name, lo, hi, d, integer=i) for name, (lo, hi, d, i) in schema.items()}


def plan_seconds(kind: str, params: dict[str, Any]) -> float:
    """How long a plan stays active (every fault expires on its own)."""
    if kind == "restart":
        return float(params["downtime_seconds"])
    return float(params.get("seconds", 0))


# --- the registry ------------------------------------------------------------------------------


_ids = itertools.count(secrets.randbelow(1 << 30) + 1)  # distinct across processes (heal by id)


@dataclass(slots=True)
class Plan:
    id: int
    learner: str
    kind: str
    params: dict[str, Any]
    conn: str | None  # None: every connection of the learner
    started: float
    until: float

    def active(self, now: float) -> bool:
        return now < self.until

    def applies(self, conn: str) -> bool:
        return self.conn is None or self.conn == conn

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "params": self.params,
            "conn": self.conn,
            "expires_in": round(max(0.0, self.until - now), 1),
            "description": KIND_HELP[self.kind],
        }


@dataclass(slots=True)
class ConnInfo:
    transport: str
    seen: float
    open: int = 0


@dataclass
class LearnerState:
    plans: list[Plan] = field(default_factory=list)
    conns: dict[str, ConnInfo] = field(default_factory=dict)
    guards: set[Guard] = field(default_factory=set)
    pending_drop: set[str] = field(default_factory=set)  # poll conns with no request in flight
    restart_at: float = 0.0
    reset_done: set[str] = field(default_factory=set)  # conns already answered "fresh log" after it


class Registry:
    SWEEP_SECONDS = 60.0

    def __init__(self) -> None:
        self.learners: dict[str, LearnerState] = {}
        self.swept = clock()

    def state(self, learner: str) -> LearnerState:
        if clock() - self.swept > self.SWEEP_SECONDS:  # forget learners with nothing left, now and then
            self.swept = clock()
            for key in list(self.learners):
                if key != learner:
                    self.prune(key)
        return self.learners.setdefault(learner, LearnerState())

    def prune(self, learner: str) -> LearnerState | None:
        st = self.learners.get(learner)
        if st is None:
            return None
        now = clock()
        st.plans = [p for p in st.plans if p.active(now)]
        for conn, info in list(st.conns.items()):
            if not info.open and now - info.seen > POLL_CONN_MEMORY:
                del st.conns[conn]
        if st.restart_at and now - st.restart_at > RESTART_MEMORY:
            st.restart_at, st.reset_done = 0.0, set()
        if not st.plans and not st.conns and not st.guards and not st.restart_at:
            del self.learners[learner]
            return None
        return st

    def seen(self, learner: str, conn: str, transport: str, *, opened: int = 0) -> None:
        st = self.state(learner)
        info = st.conns.get(conn)
        if info is None:
            info = st.conns[conn] = ConnInfo(transport, clock())
        info.transport, info.seen = transport, clock()
        info.open += opened

    def owns(self, learner: str, conn: str) -> bool:
        st = self.prune(learner)
        return st is not None and conn in st.conns

    def plans_for(self, learner: str, conn: str) -> list[Plan]:
        st = self.learners.get(learner)
        if st is None:
            return []
        now = clock()
        return [p for p in st.plans if p.active(now) and p.applies(conn)]

    def refusal(self, learner: str, conn: str) -> FaultClose | None:
        """Offline, or a restart still in its downtime: new connections are refused."""
        for plan in self.plans_for(learner, conn):
            if plan.kind == "offline":
                return FaultClose(CLOSE_OFFLINE, "offline (emulated)")
            if plan.kind == "restart":
                return FaultClose(CLOSE_OFFLINE, "server restarting (emulated)")
        return None

    def take_reset(self, learner: str, conn: str) -> bool:
        """True once per connection id after a restart: answer its resume as a fresh log would."""
        st = self.learners.get(learner)
        if st is None or not st.restart_at or conn in st.reset_done:
            return False
        st.reset_done.add(conn)
        return True

    def add(
        self,
        learner: str,
        kind: str,
        params: dict[str, Any],
        conn: str | None,
        *,
        plan_id: int | None = None,
        remote: bool = False,
    ) -> Plan | None:
        """Apply a fault here; ``remote`` when another process received the POST (no limit re-checked)."""
        st = self.prune(learner) or self.state(learner)
        now = clock()
        if kind == "drop":
            self.kick(st, conn, FaultClose(CLOSE_DROPPED, "dropped (fault)"), polls_pending=True)
            return None
        if not remote and len(st.plans) >= MAX_PLANS_PER_LEARNER:
            raise FaultError(f"at most {MAX_PLANS_PER_LEARNER} faults at once: heal some first")
        if kind in ("offline", "restart"):
            conn = None  # the whole learner goes offline / the whole server restarts
        plan = Plan(plan_id or next(_ids), learner, kind, params, conn, now, now + plan_seconds(kind, params))
        st.plans.append(plan)
        if kind == "offline":
            self.kick(st, None, FaultClose(CLOSE_OFFLINE, "offline (emulated)"))
        elif kind == "restart":
            st.restart_at, st.reset_done = now, set()
            self.kick(st, None, FaultClose(CLOSE_RESTART, "server restart (emulated)"))
        elif kind == "pause":
            for guard in st.guards:
                guard.poke()
        return plan

    def kick(
        self, st: LearnerState, conn: str | None, reason: FaultClose, *, polls_pending: bool = False
    ) -> int:
        hit = 0
        for guard in list(st.guards):
            if conn is None or guard.conn == conn:
                guard.kick(reason)
                hit += 1
        if polls_pending:
            held = {g.conn for g in st.guards}
            for name, info in st.conns.items():
                if (
                    info.transport in ("long_poll", "short_poll")
                    and name not in held
                    and conn in (None, name)
                ):
                    st.pending_drop.add(name)
        return hit

    def heal(self, learner: str, *, conn: str | None = None, plan_id: int | None = None) -> int:
        st = self.prune(learner)
        if st is None:
            return 0
        keep = []
        for plan in st.plans:
            hit = (plan_id is None or plan.id == plan_id) and (conn is None or plan.conn in (None, conn))
            if plan_id is None and conn is not None and plan.conn is None:
                hit = False  # healing one pane leaves faults aimed at every pane
            if not hit:
                keep.append(plan)
        healed = len(st.plans) - len(keep)
        st.plans = keep
        if conn is None and plan_id is None:
            st.pending_drop.clear()
        for guard in st.guards:
            guard.poke()
        return healed

    def snapshot(self, learner: str) -> dict[str, Any]:
        st = self.prune(learner)
        now = clock()
        if st is None:
            return {"active": [], "connections": []}
        conns = [
            {"conn": name, "transport": info.transport, "open": info.open > 0}
            for name, info in sorted(st.conns.items())
        ]
        return {"active": [p.as_dict(now) for p in st.plans], "connections": conns}


registry = Registry()


# --- several processes (REDIS_URL) -----------------------------------------------------------------

FAULT_GROUP = "playground.faults"
CONN_TTL = 600


class Bus:
    """With REDIS_URL, faults and heals reach every Daphne process: one channel-layer message per
    process per fault (group ``playground.faults``), and each learner's connection ids live in Redis
    so the process that answers the POST knows connections held by the others."""

    def __init__(self) -> None:
        self.origin = secrets.token_hex(6)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task | None = None
        self.channel: str | None = None

    @staticmethod
    def redis() -> Any:
        from playground.log import get_hub

        return get_hub().redis

    async def ensure(self) -> None:
        """Join the group once per process (event loop), so faults posted elsewhere arrive here."""
        if self.redis() is None:
            return
        loop = asyncio.get_running_loop()
        if self.loop is loop and self.task is not None and not self.task.done():
            return
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        self.channel = await layer.new_channel()  # the default prefix: see Hub._start (playground/log.py)
        await layer.group_add(FAULT_GROUP, self.channel)
        self.loop, self.task = (
            loop,
            loop.create_task(self._listen(layer, self.channel), name="playground-faults"),
        )

    async def _listen(self, layer: Any, channel: str) -> None:
        while True:
            try:
                msg = await layer.receive(channel)
                if msg.get("origin") != self.origin:
                    self.apply(msg)
            except asyncio.CancelledError:
                raise
            except Exception:  # a malformed message must not end the listener
                await asyncio.sleep(0.2)

    def apply(self, msg: dict[str, Any]) -> None:
        if msg.get("op") == "add":
            registry.add(
                msg["learner"], msg["kind"], msg["params"], msg["conn"], plan_id=msg["id"], remote=True
            )
        elif msg.get("op") == "heal":
            registry.heal(msg["learner"], conn=msg["conn"], plan_id=msg["id"])

    async def publish(self, **msg: Any) -> None:
        if self.redis() is None:
            return
        await self.ensure()
        from channels.layers import get_channel_layer

        await get_channel_layer().group_send(
            FAULT_GROUP, {"type": "playground.fault", "origin": self.origin, **msg}
        )

    async def announce(self, learner: str, conn: str, transport: str) -> None:
        redis = self.redis()
        if redis is None:
            return
        await self.ensure()
        with contextlib.suppress(Exception):  # best effort: the POST then answers 404 for that pane
            key = f"playground:faults:conns:{learner}"
            async with redis.pipeline(transaction=False) as pipe:
                pipe.hset(key, conn, transport)
                pipe.expire(key, CONN_TTL)
                await pipe.execute()

    async def connections(self, learner: str) -> dict[str, str]:
        """conn id -> transport for the learner's connections on every process (empty without Redis)."""
        redis = self.redis()
        if redis is None:
            return {}
        with contextlib.suppress(Exception):
            rows = await redis.hgetall(f"playground:faults:conns:{learner}")
            return {k.decode(): v.decode() for k, v in rows.items()}
        return {}

    async def known(self, learner: str, conn: str) -> bool:
        redis = self.redis()
        if redis is None:
            return False
        with contextlib.suppress(Exception):
            return bool(await redis.hexists(f"playground:faults:conns:{learner}", conn))
        return False


bus = Bus()


def learner_key(keys: list[str]) -> str | None:
    """The session key among the cap keys (``client_keys``); anonymous clients without one get no faults."""
    return next((k for k in keys if k.startswith("s:")), None)


# --- streaming connections (WebSocket, SSE) -----------------------------------------------------


class Guard:
    """Applies a learner's plans to one WebSocket or SSE connection."""

    def __init__(self, learner: str, conn: str, transport: str) -> None:
        self.learner, self.conn, self.transport = learner, conn, transport
        self.kicked: FaultClose | None = None
        self._wake: asyncio.Event | None = None
        self._direct: asyncio.Task | None = None  # the task awaiting the source on the fast path
        self._interrupted = False

    def kick(self, reason: FaultClose) -> None:
        self.kicked = self.kicked or reason
        self.poke()
        task = self._direct
        if task is not None and not self._interrupted:
            # Fast path: the connection's own task is waiting on the source; end the wait now.
            self._interrupted = True
            task.cancel()

    async def _next_direct(self, source: AsyncIterator[Item]) -> Any:
        """The next item straight from the source (no reader task, queue or futures)."""
        self._direct = asyncio.current_task()
        try:
            return await anext(source)
        except asyncio.CancelledError:
            if self._interrupted and self.kicked:
                self._interrupted = False
                if self._direct is not None and self._direct.uncancel() == 0:
                    raise self.kicked from None
            raise
        finally:
            self._direct = None

    def poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _sleep_until(self, deadline: float) -> None:
        """Sleep (wall clock) until ``deadline``; a kick ends it at once, a poke re-reads the plans."""
        while True:
            if self.kicked:
                raise self.kicked
            left = deadline() - clock() if callable(deadline) else deadline - clock()
            if left <= 0:
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), left)

    async def _next_queued(self, queue: asyncio.Queue) -> tuple[float, Any]:
        """The next (arrival, item) from the reader's queue, or (0, None) when poked first."""
        getter = asyncio.ensure_future(queue.get())
        waker = asyncio.ensure_future(self._wake.wait())
        await asyncio.wait({getter, waker}, return_when=asyncio.FIRST_COMPLETED)
        waker.cancel()
        if not getter.done():
            getter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await getter
            if getter.cancelled():
                self._wake.clear()
                return 0.0, None
        return getter.result()

    def _pause_end(self) -> float:
        plans = [p for p in registry.plans_for(self.learner, self.conn) if p.kind == "pause"]
        return max((p.until for p in plans), default=0.0)

    async def wrap(self, source: AsyncIterator[Item]) -> AsyncIterator[Item]:
        self._wake = asyncio.Event()
        st = registry.state(self.learner)
        st.guards.add(self)
        registry.seen(self.learner, self.conn, self.transport, opened=1)
        queue: asyncio.Queue = asyncio.Queue(maxsize=MAX_QUEUE)
        done = object()

        async def read() -> None:
            try:
                async for item in source:
                    await queue.put((clock(), item))
            except Exception as exc:  # delivery failed: re-raised on the writer side
                await queue.put((clock(), exc))
            else:
                await queue.put((clock(), done))

        reader: asyncio.Task | None = None
        try:
            await bus.announce(self.learner, self.conn, self.transport)
            if refused := registry.refusal(self.learner, self.conn):
                raise refused
            reset_pending = registry.take_reset(self.learner, self.conn)
            reset_upto: int | None = None
            held: list[Item] = []
            held_bytes = 0
            last_out = 0.0
            while True:
                if self.kicked:
                    raise self.kicked
                if reader is None and not held and not registry.plans_for(self.learner, self.conn):
                    # No plan for this connection: pull straight from the source. A plan posted while
                    # it waits applies to the item it gets (checked below), and a kick cancels the
                    # wait; once a plan exists the reader task stamps arrivals (latency keeps order).
                    try:
                        item = await self._next_direct(source)
                    except StopAsyncIteration:
                        return
                    arrived = clock()
                else:
                    if reader is None:
                        reader = asyncio.create_task(read())
                    arrived, item = await self._next_queued(queue)
                    if item is None:
                        continue
                if item is done:
                    return
                if isinstance(item, Exception):
                    raise item

                if reset_pending and isinstance(item, Control) and item.type == "hello":
                    # Emulated restart: the buffer this cursor points into is gone. Answer as a fresh
                    # in-memory log would (L4): an explicit reset to the newest id, no replay.
                    reset_pending = False
                    if item.fields.get("resumed_from") is not None:
                        reset_upto = int(item.fields["last_id"])
                        item.fields.update(replayed=0, restarted=True)
                        yield item
                        reset = {"last_id": reset_upto, "epoch": item.fields.get("epoch"), "emulated": True}
                        yield Control("reset", reset, reset_upto)
                        continue
                if reset_upto is not None and isinstance(item, Event) and item.id <= reset_upto:
                    continue
                plans = registry.plans_for(self.learner, self.conn)
                if isinstance(item, Event) and any(
                    p.kind == "loss" and _rand.random() < p.params["p"] for p in plans
                ):
                    continue  # the buffer keeps it: the client sees the jump and resumes (L7)
                await self._sleep_until(self._pause_end)  # pause: nothing, not even heartbeats
                delay = 0.0
                for p in plans:
                    if p.kind == "latency":
                        delay = max(delay, (p.params["ms"] + _rand.uniform(0, p.params["jitter_ms"])) / 1000)
                if delay:
                    last_out = max(arrived + delay, last_out)  # order kept: never before the previous write
                    await self._sleep_until(last_out)
                buffering = self.transport == "sse" and any(p.kind == "buffering" for p in plans)
                if buffering:
                    held.append(item)
                    held_bytes += len(item.sse().encode())
                    if held_bytes < SSE_PROXY_BUFFER:
                        continue
                    for out in held:
                        yield out
                    held, held_bytes = [], 0
                    continue
                for out in held:  # buffering was healed: flush what the "proxy" held
                    yield out
                held, held_bytes = [], 0
                yield item
        finally:
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader
            with contextlib.suppress(Exception):
                await source.aclose()
            st.guards.discard(self)
            registry.seen(self.learner, self.conn, self.transport, opened=-1)


def guarded(
    source: AsyncIterator[Item], *, keys: list[str], conn: str, transport: str
) -> AsyncIterator[Item]:
    """``deliver()`` as seen through the learner's fault plans (unchanged for clients without a session)."""
    learner = learner_key(keys)
    if learner is None:
        return source
    return Guard(learner, conn, transport).wrap(source)


# --- polls -------------------------------------------------------------------------------------


POLL_DROPPED = (503, '{"error":"dropped","message":"the server ended this request (fault: drop)"}')
POLL_LOST = (503, '{"error":"lost","message":"the answer was discarded (fault: loss)"}')
POLL_OFFLINE = (503, '{"error":"offline","message":"offline (emulated fault): try again later"}')


async def guard_poll(
    work: Awaitable[tuple[int, str]],
    *,
    keys: list[str],
    conn: str,
    after: int | None,
    newest: int,
    kind: str,
) -> tuple[int, str]:
    """One poll through the learner's plans; ``work`` is the poll's own answer (not yet awaited)."""
    learner = learner_key(keys)
    if learner is None:
        return await work
    st = registry.state(learner)
    registry.seen(learner, conn, kind)
    await bus.announce(learner, conn, kind)
    refused = registry.refusal(learner, conn)
    restarted = not refused and after is not None and registry.take_reset(learner, conn)
    if refused or restarted or conn in st.pending_drop:
        work.close()  # never started
        if refused:
            return POLL_OFFLINE
        if restarted:  # a fresh in-memory log knows nothing of this cursor (L3/L4): the contract's 410
            return 410, f'{{"error":"gap","oldest_id":{newest + 1},"reset":true}}'
        st.pending_drop.discard(conn)
        return POLL_DROPPED
    guard = Guard(learner, conn, kind)
    guard._wake = asyncio.Event()
    st.guards.add(guard)
    registry.seen(learner, conn, kind, opened=1)
    try:
        task = asyncio.ensure_future(work)
        while not task.done():
            waker = asyncio.ensure_future(guard._wake.wait())
            await asyncio.wait({task, waker}, return_when=asyncio.FIRST_COMPLETED)
            waker.cancel()
            guard._wake.clear()
            if guard.kicked:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return POLL_DROPPED if guard.kicked.code == CLOSE_DROPPED else POLL_OFFLINE
        answer = task.result()
        plans = registry.plans_for(learner, conn)
        try:
            await guard._sleep_until(guard._pause_end)
            delay = max(
                (
                    (p.params["ms"] + _rand.uniform(0, p.params["jitter_ms"])) / 1000
                    for p in plans
                    if p.kind == "latency"
                ),
                default=0.0,
            )
            if delay:
                await guard._sleep_until(clock() + delay)
            batch = [p for p in plans if p.kind == "buffering"]
            if batch and answer[0] == 200:  # released only at the proxy's next batch boundary
                plan = batch[0]
                step = plan.params["batch_seconds"]
                await guard._sleep_until(
                    plan.started + step * (math.floor((clock() - plan.started) / step) + 1)
                )
        except FaultClose as kicked:
            return POLL_DROPPED if kicked.code == CLOSE_DROPPED else POLL_OFFLINE
        if answer[0] == 200 and any(p.kind == "loss" and _rand.random() < p.params["p"] for p in plans):
            return POLL_LOST  # the cursor did not move: the retry asks for the same events again
        return answer
    finally:
        st.guards.discard(guard)
        registry.seen(learner, conn, kind, opened=-1)
