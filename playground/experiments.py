"""Guided experiments: each one a question to predict, a set-up (panes, stream, timed faults), a run and
an explanation that quotes the measured numbers. Data, not models: the lessons link to them by anchor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TRANSPORT_NAMES = {
    "ws": "WebSocket",
    "sse": "SSE",
    "long_poll": "Long polling",
    "short_poll": "Short polling",
}
METRICS = (
    "events",
    "detect_ms",
    "recover_ms",
    "lost",
    "duplicated",
    "recovered",
    "extra_requests",
    "extra_bytes",
    "requests",
    "bytes",
    "latency_p50_ms",
    "reconnects",
    "rtt_ms",
)


@dataclass(frozen=True)
class Experiment:
    slug: str
    title: str
    summary: str
    question: str
    choices: tuple[tuple[str, str], ...]
    answer: str
    sections: tuple[tuple[str, str], ...]  # (lesson slug, section anchor) it illustrates
    panes: tuple[str, ...]
    stream: str
    duration: int  # seconds the run lasts (faults are healed at the end, then recovery is measured)
    faults: tuple[
        dict[str, Any], ...
    ] = ()  # {"at": s, "kind": ..., "params": {...}, "target": "all" | transport}
    poll_interval_ms: int = 1000
    chat: bool = False  # each pane sends messages and measures the round trip
    explanation: str = ""
    material: str = ""  # the point of the lesson the numbers illustrate
    extra: dict[str, Any] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        """What the page module needs to set up and run it (rendered with json_script)."""
        return {
            "slug": self.slug,
            "panes": list(self.panes),
            "stream": self.stream,
            "duration": self.duration,
            "faults": [dict(f) for f in self.faults],
            "poll_interval_ms": self.poll_interval_ms,
            "chat": self.chat,
        }

    def choice_text(self, key: str) -> str:
        return dict(self.choices).get(key, "")


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment(
        slug="sse-is-enough-for-a-live-dashboard",
        title="SSE is enough for a live dashboard",
        summary="A one-way price feed over SSE and over a WebSocket, side by side.",
        question="For a one-way live feed (server to browser only), how will SSE compare with a WebSocket?",
        choices=(
            ("ws-much-faster", "The WebSocket delivers events noticeably sooner"),
            (
                "about-same",
                "About the same latency; SSE spends a few more bytes per event on its text framing",
            ),
            ("sse-polls", "SSE has to poll, so it makes one request per event"),
        ),
        answer="about-same",
        sections=(
            ("real-time-communication-protocols", "real-time-communication-protocols"),
            ("questions-and-red-flags", "how-do-you-handle-real-time-updates-in-a-web-application"),
        ),
        panes=("ws", "sse"),
        stream="ticker",
        duration=8,
        material="Match protocols to requirements: a one-way feed does not need a bidirectional socket.",
        explanation=(
            "Each transport kept the one connection it opened at set-up: during the run SSE made {sse.requests} "
            "new request(s) and the WebSocket {ws.requests}. Median latency was {sse.latency_p50_ms} ms for SSE and {ws.latency_p50_ms} ms "
            "for the WebSocket, and they received {sse.events} and {ws.events} events. SSE's text framing "
            "(id, event and data lines) cost {sse.bytes} bytes against {ws.bytes} for WebSocket frames, a "
            "small premium for automatic reconnection with Last-Event-ID and plain HTTP."
        ),
    ),
    Experiment(
        slug="what-long-polling-costs",
        title="What long polling costs in requests and header bytes",
        summary="Long polling, short polling every half second and SSE on the same ticker.",
        question="The ticker publishes once a second. Per event delivered, how many HTTP requests will short "
        "polling every half second make compared with long polling?",
        choices=(
            ("same", "The same: both make one request per event"),
            ("short-more", "Short polling makes more, many of them empty; long polling about one per event"),
            ("long-more", "Long polling makes more, because each request is held open"),
        ),
        answer="short-more",
        sections=(
            ("application-layer-protocols", "application-layer-protocols"),
            ("communication-patterns", "communication-patterns"),
        ),
        panes=("long_poll", "short_poll", "sse"),
        stream="ticker",
        duration=10,
        poll_interval_ms=500,
        material="Every poll pays for a full HTTP request and response head; a stream pays once.",
        explanation=(
            "Long polling made {long_poll.requests} requests for {long_poll.events} events and short polling "
            "{short_poll.requests} requests for {short_poll.events} events (about half of them came back empty); SSE "
            "needed {sse.requests} new requests: its one stream was opened at set-up. Each "
            "request carries its headers both ways: {long_poll.bytes} bytes for long polling and "
            "{short_poll.bytes} for short polling against {sse.bytes} for the SSE stream."
        ),
    ),
    Experiment(
        slug="chat-needs-both-directions",
        title="Chat needs both directions",
        summary="Send chat messages from a WebSocket and from an SSE pane and time the round trip.",
        question="Which pane can send a chat message on the connection it already has open?",
        choices=(
            ("both", "Both: SSE and WebSocket are both persistent connections"),
            ("ws-only", "Only the WebSocket; SSE needs a separate HTTP POST for every message"),
            ("sse-only", "Only SSE, because it is plain HTTP"),
        ),
        answer="ws-only",
        sections=(
            ("communication-patterns", "communication-patterns"),
            ("synchronous-vs-asynchronous-communication", "synchronous-vs-asynchronous-communication"),
        ),
        panes=("ws", "sse"),
        stream="room-experiments",
        duration=8,
        chat=True,
        material="Bidirectional, low-latency messaging is what WebSockets are for.",
        explanation=(
            "The WebSocket sent its messages as frames on the socket it already had open ({ws.requests} new "
            "requests, send-to-echo round trip {ws.rtt_ms} ms); the SSE pane had to make a separate POST per "
            "message ({sse.requests} requests, round trip {sse.rtt_ms} ms). SSE is one-way: fine for a feed, awkward for chat."
        ),
    ),
    Experiment(
        slug="who-recovers-from-a-dropped-connection",
        title="Who recovers from a dropped connection, and how",
        summary="Drop every pane's connection at once and watch each transport resume from its cursor.",
        question="The server drops every connection for a moment. Within the replay buffer, which transports "
        "lose events?",
        choices=(
            ("all-lose", "All of them lose the events sent while they were away"),
            ("ws-loses", "The WebSocket loses them; SSE and polling resume"),
            ("none-lose", "None: each resumes from its last event id and the missed events are replayed"),
        ),
        answer="none-lose",
        sections=(
            (
                "questions-and-red-flags",
                "how-do-you-ensure-reliable-message-delivery-in-a-distributed-system",
            ),
            ("questions-and-red-flags", "not-considering-failure-modes"),
        ),
        panes=("ws", "sse", "long_poll"),
        stream="ticker",
        duration=12,
        faults=({"at": 3, "kind": "drop", "params": {}, "target": "all"},),
        material="Reliable delivery comes from ids and resumption, not from the transport.",
        explanation=(
            "After the drop the WebSocket noticed in {ws.detect_ms} ms and was back in {ws.recover_ms} ms "
            "(backoff with jitter, then ?after=), SSE in {sse.detect_ms} / {sse.recover_ms} ms (the browser "
            "waited retry and sent Last-Event-ID) and long polling in {long_poll.detect_ms} / "
            "{long_poll.recover_ms} ms (a 503, then the same cursor). Events lost: {ws.lost}, {sse.lost}, "
            "{long_poll.lost}; replayed: {ws.recovered}, {sse.recovered}, {long_poll.recovered}; duplicates: "
            "{ws.duplicated}, {sse.duplicated}, {long_poll.duplicated}."
        ),
    ),
    Experiment(
        slug="buffering-proxies-break-streaming",
        title="Buffering proxies break streaming",
        summary="Put a buffering proxy in front of SSE and long polling and watch events arrive in bursts.",
        question="A proxy buffers responses in 8 KiB blocks. What happens to a stream of small SSE events?",
        choices=(
            ("nothing", "Nothing: SSE events are tiny, they pass straight through"),
            ("bursts", "They arrive late and in bursts, once enough bytes pile up"),
            ("lost", "They are lost"),
        ),
        answer="bursts",
        sections=(
            ("real-time-communication-protocols", "real-time-communication-protocols"),
            ("questions-and-red-flags", "ignoring-operational-complexity"),
        ),
        panes=("sse", "long_poll", "ws"),
        stream="ticker",
        duration=14,
        faults=(
            {"at": 2, "kind": "buffering", "params": {"seconds": 10, "batch_seconds": 4}, "target": "sse"},
            {
                "at": 2,
                "kind": "buffering",
                "params": {"seconds": 10, "batch_seconds": 4},
                "target": "long_poll",
            },
        ),
        material="Streaming needs every hop to flush: X-Accel-Buffering: no, proxy_buffering off.",
        explanation=(
            "Behind the buffering proxy SSE's median latency rose to {sse.latency_p50_ms} ms and long polling's "
            "to {long_poll.latency_p50_ms} ms, while the WebSocket (not buffered after the upgrade) stayed at "
            "{ws.latency_p50_ms} ms. Nothing was lost ({sse.lost} / {long_poll.lost}): the events were late, "
            "which is why the playground sends X-Accel-Buffering: no."
        ),
    ),
    Experiment(
        slug="latency-and-the-price-of-polling-intervals",
        title="Latency and the price of polling intervals",
        summary="Add 300 ms of delay and compare a WebSocket, long polling and short polling every 2 s.",
        question="With 300 ms of added delay, which transport shows the highest median event latency?",
        choices=(
            ("ws", "The WebSocket"),
            ("long_poll", "Long polling, because it needs a new request after every answer"),
            (
                "short_poll",
                "Short polling every 2 s: events wait about half an interval before being asked for",
            ),
        ),
        answer="short_poll",
        sections=(
            ("synchronous-vs-asynchronous-communication", "synchronous-vs-asynchronous-communication"),
            ("network-layer-protocols-tcp-vs-udp", "network-layer-protocols-tcp-vs-udp"),
        ),
        panes=("ws", "long_poll", "short_poll"),
        stream="ticker",
        duration=12,
        poll_interval_ms=2000,
        faults=({"at": 1, "kind": "latency", "params": {"ms": 300, "seconds": 10}, "target": "all"},),
        material="Polling trades latency for simplicity: the blind window is about half the interval.",
        explanation=(
            "Median latency: WebSocket {ws.latency_p50_ms} ms, long polling {long_poll.latency_p50_ms} ms, short "
            "polling every 2 s {short_poll.latency_p50_ms} ms. The added 300 ms hit everyone; short polling adds "
            "on average half its interval on top, and made {short_poll.requests} requests to do it."
        ),
    ),
    Experiment(
        slug="a-restart-without-a-shared-log",
        title="A server restart without a shared log",
        summary="Restart the (in-memory) server under every pane: the replay buffer is gone.",
        question="The server restarts and its in-memory replay buffer is lost. What should each client show?",
        choices=(
            ("seamless", "Nothing: they reconnect and carry on"),
            ("explicit-gap", "An explicit reset or gap with the number of events it cannot account for"),
            ("duplicates", "Duplicated events, because ids start again"),
        ),
        answer="explicit-gap",
        sections=(
            ("how-things-connect", "how-things-connect"),
            ("key-takeaways", "operational-complexity-matters-as-much-as-performance"),
        ),
        panes=("ws", "sse", "long_poll"),
        stream="ticker",
        duration=12,
        faults=({"at": 3, "kind": "restart", "params": {"downtime_seconds": 2}, "target": "all"},),
        material="State that must survive a process lives outside the process (Redis here, with REDIS_URL).",
        explanation=(
            "Each client was told, not left guessing: the WebSocket reported {ws.lost} event(s) it cannot "
            "account for, SSE {sse.lost} and long polling {long_poll.lost} (a 410 from its cursor), then each "
            "went on from the newest event. With REDIS_URL the log lives in Redis and a restart loses nothing."
        ),
    ),
)

BY_SLUG = {e.slug: e for e in EXPERIMENTS}


def experiment_get(slug: str) -> Experiment | None:
    return BY_SLUG.get(slug)


def experiments_for_section(anchor: str) -> list[Experiment]:
    """The experiments a lesson section links to (the lesson template includes a small partial)."""
    return [e for e in EXPERIMENTS if any(a == anchor for _, a in e.sections)]


class _Numbers:
    """One transport's numbers for the explanation: unknown or missing values read as "n/a"."""

    def __init__(self, values: dict[str, Any] | None) -> None:
        self.values = values or {}

    def __getattr__(self, name: str) -> str:
        value = self.values.get(name)
        if value is None:
            return "n/a"
        return f"{value:g}" if isinstance(value, float) else str(value)


def explanation_for(experiment: Experiment, results: dict[str, dict[str, Any]]) -> str:
    """The experiment's explanation with its measured numbers filled in (a plain string: autoescaped)."""
    numbers = {t: _Numbers(results.get(t)) for t in TRANSPORT_NAMES}
    return experiment.explanation.format_map(numbers)
