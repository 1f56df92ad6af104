"""Garbage-collector settings for long-running server processes (Daphne, uvicorn).

A process holding thousands of WebSockets has millions of objects; CPython's default thresholds run
full (generation 2) collections that walk all of them, 100-400 ms pauses in the middle of a
broadcast (measured with gc.callbacks in the fan-out benchmark; BENCHMARKS.md "Fan-out"). Two
standard remedies, applied once the application is imported:

- ``gc.freeze()`` moves everything alive after start-up (Django, the URL conf, templates loaded
  so far) to a permanent generation that collections no longer scan;
- a larger generation-0 threshold means fewer collections while connections come and go.

Reference cycles are still collected; only how often is changed. ``HANDSHAKE_GC=default`` keeps
CPython's settings (for comparison runs).
"""

import gc
import os

THRESHOLDS = (50_000, 20, 100)


def tune(mode: str | None = None) -> str:
    mode = mode or os.environ.get("HANDSHAKE_GC", "tuned")
    if mode == "default":
        return mode
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    return "tuned"
