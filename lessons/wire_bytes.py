"""Measured wire bytes per delivered event, from the last `make bench` run (bench/results.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

RESULTS = Path(settings.BASE_DIR) / "bench" / "results.json"
LESSON_SLUG = "real-time-communication-protocols"
TRANSPORTS = (
    ("bytes_per_event_ws", "WebSocket"),
    ("bytes_per_event_sse", "Server-Sent Events"),
    ("bytes_per_event_longpoll", "Long polling"),
    ("bytes_per_event_shortpoll_1s", "Short polling (every 1 s)"),
)


@dataclass(frozen=True)
class Measured:
    transport: str
    bytes_per_event: float


def measured_rows(path: Path) -> list[Measured]:
    """One row per transport with a numeric figure; [] when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    rows = []
    for key, label in TRANSPORTS:
        value = data.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            rows.append(Measured(transport=label, bytes_per_event=float(value)))
    return rows


@cache
def measured() -> tuple[Measured, ...]:
    """Read once per process."""
    return tuple(measured_rows(RESULTS))
