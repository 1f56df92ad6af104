"""Walking a decision tree (pure)."""

import pytest

from lessons.chooser import ChooserPathError, outcome_terms, path_parse, reasoning_paragraphs, walk
from lessons.mermaid import flowchart_parse
from lessons.parsing import topic_parse
from tests.lessons.conftest import MATERIAL


@pytest.fixture(scope="module")
def chart():
    return flowchart_parse(topic_parse(MATERIAL.read_text()).diagrams[3].source)


def test_walk_starts_at_the_first_question(chart):
    state = walk(chart, [])
    assert [node.label for node in state.passed] == ["Protocol Selection"]
    assert state.question == "Latency Requirement?"
    assert [(c.label, c.path) for c in state.choices] == [("< 100ms", "0"), ("Seconds OK", "1")]
    assert state.back_path is None
    assert not state.finished


def test_walk_to_an_outcome(chart):
    state = walk(chart, [0, 1, 1, 2, 0])
    assert state.finished
    assert state.node.label == "gRPC"
    assert state.node.detail == "Type-safe, Fast"
    assert [(s.question, s.answer) for s in state.trail] == [
        ("Latency Requirement?", "< 100ms"),
        ("Bidirectional?", "No"),
        ("Server Push Only?", "No"),
        ("Client Type?", "Service-to-Service"),
        ("Performance Critical?", "Yes"),
    ]
    assert state.back_path == "0.1.1.2"


def test_walk_passes_through_plain_nodes(chart):
    state = walk(chart, [1])
    assert state.question == "Guaranteed Delivery?"
    assert [node.label for node in state.trail[0].passed] == ["Message Queue"]


@pytest.mark.parametrize("path", [[2], [0, 0, 0], [0, 5]])
def test_walk_rejects_impossible_paths(chart, path):
    with pytest.raises(ChooserPathError):
        walk(chart, path)


@pytest.mark.parametrize(("value", "parsed"), [("", []), ("0", [0]), ("0.1.12", [0, 1, 12])])
def test_path_parse(value, parsed):
    assert path_parse(value) == parsed


@pytest.mark.parametrize("value", ["a", "0.", ".0", "-1", "0..1", "123", "1" + ".1" * 60])
def test_path_parse_rejects(value):
    with pytest.raises(ChooserPathError):
        path_parse(value)


def test_outcome_terms():
    assert outcome_terms("Server-Sent Events") == [
        "Server-Sent Events",
        "SSE",
        "Server",
        "server-sent events",
    ]
    assert outcome_terms("gRPC") == ["gRPC"]
    assert outcome_terms("TCP-based Queue")[:2] == ["TCP-based Queue", "TCP"]


def test_reasoning_picks_paragraphs_that_mention_the_outcome():
    body = "<p>About gRPC.</p>\n<p>About REST.</p>"
    assert reasoning_paragraphs(body_html=body, source="About gRPC.\n\nAbout REST.", terms=["gRPC"]) == [
        "<p>About gRPC.</p>"
    ]
    # nothing matches: every paragraph
    assert len(reasoning_paragraphs(body_html=body, source="About gRPC.\n\nAbout REST.", terms=["UDP"])) == 2
