"""Log rules L1-L5 (REALTIME.md §1), local fan-out and the ticker."""

import asyncio
import json

import pytest

from playground import log
from playground.log import Control, Event, Gap, MemoryLog, deliver, group_name


async def test_append_concurrent_ids_are_one_to_hundred():  # L1
    stream = MemoryLog("room-a", 1000)
    events = await asyncio.gather(*(stream.append("chat", {"n": n}) for n in range(100)))
    assert sorted(e.id for e in events) == list(range(1, 101))
    assert [e.id for e in stream.buf] == list(range(1, 101))
    assert stream.newest == 100


async def test_append_rejects_bad_type():
    with pytest.raises(ValueError, match="bad event type"):
        await MemoryLog("room-a", 10).append("Bad-Type", {})


async def test_since_edges_gap_and_reset():  # L3
    stream = MemoryLog("room-a", 5)
    for n in range(10):
        await stream.append("chat", {"n": n})
    assert [e.id for e in stream.buf] == [6, 7, 8, 9, 10]
    assert await stream.since(10) == []
    assert [e.id for e in await stream.since(5)] == [6, 7, 8, 9, 10]  # oldest - 1
    assert [e.id for e in await stream.since(8)] == [9, 10]
    assert await stream.since(4) == Gap(6, 10)  # oldest - 2 fell off
    assert await stream.since(11) == Gap(6, 10, reset=True)  # a cursor from the future


async def test_since_on_empty_log():
    stream = MemoryLog("room-a", 5)
    assert await stream.since(0) == []
    assert await stream.since(1) == Gap(1, 0, reset=True)


async def test_wait_true_on_event_false_on_timeout(hub):
    stream = await hub.open("room-w")
    assert await stream.wait(0, 0.05) is False
    waiter = asyncio.create_task(stream.wait(0, 5))
    await asyncio.sleep(0)
    await hub.publish("room-w", "chat", {"text": "hi"})
    assert await waiter is True
    assert stream.waiters == 0


async def test_wake_all_wakes_every_blocked_reader_once_and_leaves_no_waiters():
    stream = MemoryLog("room-w", 10)
    readers = [asyncio.create_task(stream.wait(0, 30)) for _ in range(200)]
    await asyncio.sleep(0)
    assert len(stream.waiting) == 200
    assert stream.waiters == 200
    await stream.append("chat", {"n": 1})
    stream.wake_all()
    await asyncio.wait_for(asyncio.gather(*readers), 2)
    assert stream.waiting == set()
    assert stream.waiters == 0


async def test_cancelled_reader_leaves_the_others_waiting():
    stream = MemoryLog("room-w", 10)
    gone = asyncio.create_task(stream.wait(0, 30))
    stays = asyncio.create_task(stream.wait(0, 30))
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert len(stream.waiting) == 1
    assert not stays.done()
    await stream.append("chat", {"n": 1})
    stream.wake_all()
    assert await asyncio.wait_for(stays, 2) is True
    assert stream.waiting == set()


async def test_wake_without_a_new_event_keeps_a_poll_waiting_until_its_timeout():
    stream = MemoryLog("room-w", 10)
    waiter = asyncio.create_task(stream.wait(0, 0.2))
    await asyncio.sleep(0)
    stream.wake_all()  # e.g. a presence change: nothing newer than the cursor
    await asyncio.sleep(0.05)
    assert not waiter.done()
    assert await waiter is False
    assert stream.waiting == set()
    assert stream.waiters == 0


async def test_arm_resolves_at_its_deadline_and_disarm_leaves_no_waiter():
    stream = MemoryLog("room-w", 10)
    loop = asyncio.get_running_loop()
    fut, timer = stream.arm(loop.time() + 0.05)
    assert stream.waiting == {fut}
    await asyncio.wait_for(fut, 2)
    stream.disarm(fut, timer)
    assert stream.waiting == set()


def test_event_serialisation_is_one_data_line():
    ev = Event(7, "chat", 1767225600123, {"text": "two\nlines\r\u2028é", "empty": ""}, "b7f3c2")
    block = ev.sse()
    assert block.endswith("\n\n")
    lines = block[:-2].split("\n")
    assert lines[:2] == ["id: 7", "event: chat"]
    assert len(lines) == 3
    assert json.loads(lines[2].removeprefix("data: ")) == ev.as_dict()
    assert len(block.encode()) == len(f"id: 7\nevent: chat\ndata: {ev.json()}\n\n".encode())


def test_control_sse_blocks():
    assert (
        Control("reset", {"last_id": 3}, 3).sse()
        == 'id: 3\nevent: reset\ndata: {"type":"reset","last_id":3}\n\n'
    )
    beat = Control("heartbeat", {"ts": 1, "last_id": 2}).sse()
    assert beat == ': heartbeat\nevent: heartbeat\ndata: {"type":"heartbeat","ts":1,"last_id":2}\n\n'


def test_parse_after():
    assert log.parse_after(None) is None
    assert log.parse_after("") is None
    assert log.parse_after("0") == 0
    assert log.parse_after("42") == 42
    for bad in ["-1", "1.5", "abc", "1" * 19, " 1"]:
        with pytest.raises(ValueError, match="non-negative"):
            log.parse_after(bad)


def test_stream_names():
    assert log.is_valid_stream("ticker")
    assert log.is_valid_stream("room-a-1")
    for bad in ["nope", "room-", "room-A", "room-" + "a" * 41, "ticker2", "room-a_b", "../x"]:
        assert not log.is_valid_stream(bad)


async def test_open_unknown_stream_is_none(hub):
    assert await hub.open("nope") is None
    assert await hub.open("room-UPPER") is None


async def test_rooms_are_capped(hub, settings):
    settings.PLAYGROUND_MAX_ROOMS = 2
    stream = await hub.open("room-a")
    stream.attach("ws")
    other = await hub.open("room-b")
    other.attach("ws")
    with pytest.raises(log.RoomsFull):
        await hub.open("room-c")
    assert await hub.open("ticker") is not None  # the ticker never counts as a room


async def test_idle_room_is_dropped_and_restarts_with_new_epoch(hub, settings):
    settings.PLAYGROUND_ROOM_IDLE_SECONDS = 0
    first = await hub.open("room-idle")
    await hub.publish("room-idle", "chat", {"text": "x"})
    hub.expire_rooms()
    await asyncio.sleep(0)
    assert "room-idle" not in hub.logs
    second = await hub.open("room-idle")
    assert second is not first
    assert second.epoch != first.epoch
    assert second.newest == 0


async def test_one_publish_one_layer_message_for_fifty_subscribers(hub):
    stream = await hub.open("room-fan")
    sends = []
    layer = hub.layer
    original = layer.send

    async def counting_send(channel, message):
        sends.append(channel)
        return await original(channel, message)

    layer.send = counting_send
    readers = [deliver(stream, None, transport="ws", conn=f"c{i}") for i in range(50)]
    hellos = [await anext(r) for r in readers]
    assert {h.type for h in hellos} == {"hello"}
    assert stream.local["ws"] == 50
    nexts = [asyncio.create_task(anext(r)) for r in readers]
    await asyncio.sleep(0.01)
    ev = await hub.publish("room-fan", "chat", {"text": "hello all"})
    got = await asyncio.gather(*nexts)
    assert len(sends) == 1
    assert list(layer.groups[group_name("room-fan")]) == [hub.channel]
    assert [g.id for g in got] == [ev.id] * 50
    for r in readers:
        await r.aclose()
    assert stream.local["ws"] == 0
    assert stream.waiters == 0


async def test_deliver_subscribe_replay_live_no_dup(hub):  # L5
    stream = await hub.open("room-d")
    for n in range(3):
        await hub.publish("room-d", "chat", {"n": n})
    reader = deliver(stream, 1, transport="sse", conn="x")
    hello = await anext(reader)
    assert hello.as_dict() == {
        "type": "hello",
        "last_id": 3,
        "epoch": stream.epoch,
        "resumed_from": 1,
        "replayed": 2,
        "conn": "x",
        "transport": "sse",
        "presence": {"ws": 0, "sse": 0, "long_poll": 0, "short_poll": 0},
    }
    assert [(await anext(reader)).id for _ in range(2)] == [2, 3]
    pending = asyncio.create_task(anext(reader))
    await asyncio.sleep(0)
    await hub.publish("room-d", "chat", {"n": 3})
    assert (await pending).id == 4
    await reader.aclose()


async def test_deliver_none_starts_from_newest(hub):
    stream = await hub.open("room-n")
    await hub.publish("room-n", "chat", {"n": 0})
    reader = deliver(stream, None, transport="ws", conn="x")
    hello = await anext(reader)
    assert hello.fields["last_id"] == 1
    assert hello.fields["replayed"] == 0
    pending = asyncio.create_task(anext(reader))
    await asyncio.sleep(0)
    await hub.publish("room-n", "chat", {"n": 1})
    assert (await pending).id == 2
    await reader.aclose()


async def test_deliver_future_cursor_sends_reset(hub):  # L4
    stream = await hub.open("room-r")
    await hub.publish("room-r", "chat", {"n": 0})
    reader = deliver(stream, 99, transport="ws", conn="x")
    assert (await anext(reader)).type == "hello"
    reset = await anext(reader)
    assert reset.as_dict() == {"type": "reset", "last_id": 1, "epoch": stream.epoch}
    assert reset.sse_id == 1
    pending = asyncio.create_task(anext(reader))
    await asyncio.sleep(0)
    await hub.publish("room-r", "chat", {"n": 1})
    assert (await pending).id == 2
    await reader.aclose()


async def test_deliver_fallen_off_cursor_gets_what_buffer_holds(hub, settings):  # L4
    settings.PLAYGROUND_REPLAY_SIZE = 5
    stream = await hub.open("room-g")
    for n in range(10):
        await hub.publish("room-g", "chat", {"n": n})
    reader = deliver(stream, 1, transport="ws", conn="x")
    hello = await anext(reader)
    assert hello.fields["replayed"] == 5
    assert [(await anext(reader)).id for _ in range(5)] == [6, 7, 8, 9, 10]
    await reader.aclose()


async def test_deliver_heartbeat_and_presence(hub):  # L6
    stream = await hub.open("room-h")
    reader = deliver(stream, None, transport="sse", conn="x", heartbeat=0.1)
    await anext(reader)
    seen = set()
    while not {"heartbeat", "presence"} <= seen:
        item = await asyncio.wait_for(anext(reader), 2)
        seen.add(item.type)
        if item.type == "presence":
            assert item.fields["counts"] == {"ws": 0, "sse": 1, "long_poll": 0, "short_poll": 0}
        if item.type == "heartbeat":
            assert item.fields["last_id"] == 0
    await reader.aclose()


async def test_deliver_tap_can_skip_and_drop(hub):
    stream = await hub.open("room-t")
    for n in range(3):
        await hub.publish("room-t", "chat", {"n": n})

    async def tap(item):
        if isinstance(item, Event) and item.id == 2:
            return False
        if isinstance(item, Event) and item.id == 3:
            raise log.DropConnection
        return True

    reader = deliver(stream, 0, transport="ws", conn="x", tap=tap)
    assert (await anext(reader)).type == "hello"
    assert (await anext(reader)).id == 1
    with pytest.raises(log.DropConnection):
        await anext(reader)
    assert stream.local["ws"] == 0


async def test_ticker_runs_while_subscribed_and_stops_after(hub):
    ticker = await hub.open("ticker")
    reader = deliver(ticker, None, transport="ws", conn="x")
    await anext(reader)
    first = await asyncio.wait_for(anext(reader), 3)
    while first.type != "tick":
        first = await asyncio.wait_for(anext(reader), 3)
    assert set(first.data) == {"price"}
    second = await asyncio.wait_for(anext(reader), 3)
    while second.type != "tick":
        second = await asyncio.wait_for(anext(reader), 3)
    assert second.id == first.id + 1
    await reader.aclose()
    for _ in range(100):
        await asyncio.sleep(0.05)
        if hub.ticker_task is None:
            break
    assert hub.ticker_task is None
    stopped_at = ticker.newest
    await asyncio.sleep(0.2)
    assert ticker.newest == stopped_at


async def test_lost_doorbell_is_rung_by_housekeeping(hub):
    stream = await hub.open("room-l")
    waiter = asyncio.create_task(stream.wait(0, 5))
    await asyncio.sleep(0)
    await stream.append("chat", {"text": "no doorbell"})  # appended without group_send
    assert await asyncio.wait_for(waiter, 2) is True


def test_presence_is_coalesced_for_large_streams(settings):
    settings.PLAYGROUND_PRESENCE_SUBSCRIBERS_PER_SECOND = 200
    settings.PLAYGROUND_PRESENCE_MAX_SECONDS = 10.0
    small = {"ws": 10, "sse": 5, "long_poll": 0, "short_poll": 0}
    assert log.Hub.presence_gap(small) == 0.075  # every housekeeping tick
    assert log.Hub.presence_gap({"ws": 1000, "sse": 0, "long_poll": 0, "short_poll": 0}) == 5.0
    assert log.Hub.presence_gap({"ws": 5000, "sse": 500, "long_poll": 0, "short_poll": 0}) == 10.0


async def test_presence_frame_is_shared_and_serialised_once(hub):
    stream = await hub.open("room-p")
    first = deliver(stream, None, transport="ws", conn="a", heartbeat=30)
    second = deliver(stream, None, transport="sse", conn="b", heartbeat=30)
    await anext(first), await anext(second)
    await hub.tick_housekeeping()
    one, two = await asyncio.wait_for(anext(first), 2), await asyncio.wait_for(anext(second), 2)
    assert one is two is stream.presence_item
    assert json.loads(one.json()) == {
        "type": "presence",
        "counts": {"ws": 1, "sse": 1, "long_poll": 0, "short_poll": 0},
        "ts": one.fields["ts"],
    }
    assert one.json() is two.json()
    await first.aclose(), await second.aclose()


async def test_since_returns_exactly_the_tail_for_every_cursor():  # L3, both the short and the long tail
    stream = MemoryLog("room-tail", size=100)
    for n in range(150):
        await stream.append("chat", {"n": n})
    assert isinstance(await stream.since(49), Gap)  # fell off the buffer
    for after in (50, 51, 85, 86, 100, 120, 149):
        assert [e.id for e in await stream.since(after)] == list(range(after + 1, 151))
    assert await stream.since(150) == []
