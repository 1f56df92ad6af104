"""The WebSocket baseline: a plain `websockets` server answering the playground's ping with its pong.

Same JSON in and out as playground/consumers.py (``{"type": "ping", "t": n}`` ->
``{"type": "pong", "t": n, "ts": server ms}``), no compression (Daphne negotiates none either).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.server import ServerConnection, serve


async def handler(ws: ServerConnection) -> None:
    async for raw in ws:
        try:
            msg = json.loads(raw)
        except ValueError:
            continue
        if isinstance(msg, dict) and msg.get("type") == "ping":
            reply = {"type": "pong", "t": msg.get("t"), "ts": time.time_ns() // 1_000_000}
            await ws.send(json.dumps(reply, separators=(",", ":")))


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, backlog=4096, max_size=1 << 20):
        await asyncio.Future()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
