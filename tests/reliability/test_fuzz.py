"""Fuzzed input (hypothesis) to the WebSocket message handler and the question bank validator:
every input gets a clear answer (an error frame / a BankError naming the problem), never a crash.
The material parser has its own property tests (tests/lessons/test_parsing_fuzz.py)."""

import asyncio
import json

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from config.asgi import application
from playground import log
from quizzes.validation import BankError, parse_bank

pytestmark = pytest.mark.reliability

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
frames = st.one_of(
    st.text(max_size=300),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["ping", "send", "PING", ""])},
        optional={"t": json_values, "text": json_values},
    ).map(json.dumps),
    st.binary(max_size=300),
)


async def exchange(batch: list[str | bytes]) -> list[dict]:
    comm = WebsocketCommunicator(
        application, "/ws/playground/room-fuzz/", headers=[(b"origin", b"http://testserver")]
    )
    connected, _ = await comm.connect()
    assert connected
    replies = []
    try:
        assert (await comm.receive_json_from())["type"] == "hello"
        for frame in [*batch, '{"type":"ping","t":1}']:
            key = "bytes" if isinstance(frame, bytes) else "text"  # send_to() refuses empty frames
            await comm.send_input({"type": "websocket.receive", key: frame})
            while True:  # one answer per frame: skip presence/heartbeat control messages
                msg = await comm.receive_json_from(timeout=2)
                if msg["type"] not in {"presence", "heartbeat"}:
                    replies.append(msg)
                    break
    finally:
        await comm.disconnect()
    return replies


@pytest.fixture
def memory_playground(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.REDIS_URL = ""
    settings.PLAYGROUND_STORE = "memory"
    return settings


@pytest.mark.slow
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(frames, min_size=1, max_size=6))
def test_ws_handler_answers_every_frame_and_stays_open(memory_playground, batch):
    channel_layers.backends.pop("default", None)
    log.reset_hub()
    replies = asyncio.run(exchange(batch))
    log.reset_hub()
    *answers, last = replies
    assert last["type"] == "pong"  # still open and answering after whatever came before
    assert last["t"] == 1
    assert len(answers) == len(batch)
    for reply in answers:
        assert reply["type"] in {"pong", "error"}
        if reply["type"] == "error":
            assert reply["code"] in {"bad_json", "unknown_type", "invalid", "login_required", "not_a_room"}
            assert reply["message"]


def bank_errors(text: str) -> list[str]:
    try:
        parse_bank(text, file="fuzz.json")
    except BankError as exc:
        return exc.errors or ["<BankError without errors>"]
    return []


@hsettings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=400), json_values.map(json.dumps)))
def test_bank_validator_raises_only_bank_errors(text):
    errors = bank_errors(text)  # anything but a BankError propagates and fails the test
    assert all(isinstance(e, str) and e.startswith("fuzz.json") for e in errors)


question = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["mid-001", "mid-1", "senior-002", ""]),
        "type": st.sampled_from(["single", "multiple", "ordering", "matching", "free", "nope"]),
    },
    optional={
        "prompt": json_values,
        "options": json_values,
        "answer": json_values,
        "key_areas": json_values,
        "source": st.sampled_from(["lesson#section", "bad", 3]),
        "explanation": json_values,
        "items": json_values,
        "left": json_values,
        "right": json_values,
        "model_answer": json_values,
        "rubric": json_values,
        "context": json_values,
    },
)


@hsettings(max_examples=200, deadline=None)
@given(
    level=st.sampled_from(["mid", "senior", "staff", "junior", 3]), questions=st.lists(question, max_size=4)
)
def test_bank_validator_on_near_valid_banks_raises_only_bank_errors(level, questions):
    text = json.dumps({"level": level, "topic": "communication-protocols", "questions": questions})
    errors = bank_errors(text)
    assert all(isinstance(e, str) and e.startswith("fuzz.json") for e in errors)
