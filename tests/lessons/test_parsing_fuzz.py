"""Any text either parses or raises ParseError with a line inside the file; outlines keep anchors unique."""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessons.mermaid import MermaidError, diagram_describe, flowchart_parse
from lessons.outline import topic_outline
from lessons.parsing import ParseError, topic_parse

LINES = st.sampled_from(
    [
        "Title Line",
        "After this topic, you will be able to:",
        "- an objective or bullet",
        "TL;DR",
        "Cheat Sheet:",
        "Key Areas",
        "Interview Essentials",
        "Senior",
        "Staff+",
        "Common Interview Questions",
        "Red Flags to Avoid",
        "Key Takeaways",
        "Unknown Heading",
        "A paragraph that is long enough to read as prose in the lesson.",
        "Why is this? Because it is explained in a full answer here.",
        "A lead sentence. And an explanation of it follows here.",
        "A lead: and the explanation that follows the colon.",
        "name: Area description: What the area covers in some detail.",
        "name: Broken area",
        "graph TB",
        "flowchart LR",
        "sequenceDiagram",
        "A --> B",
        'A{"Choice?"} -->|"yes"| B["Done"]',
        "end",
        "",
        "\t",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(LINES, max_size=25))
def test_parser_never_crashes(lines):
    text = "\n".join(lines)
    try:
        topic = topic_parse(text)
    except ParseError as exc:
        line = exc.line
    else:
        line = None
    if line is not None:
        assert 1 <= line <= max(1, len(text.split("\n")))
        return
    anchors = [section.anchor for lesson in topic_outline(topic) for section in lesson.sections]
    assert len(anchors) == len(set(anchors))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parser_on_arbitrary_text(text):
    with contextlib.suppress(ParseError):
        topic_parse(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "A --> B",
                "B -->|x| C",
                "C{q?}",
                'D["d"] -.-> A',
                "subgraph S",
                "end",
                "A ~~~ B",
                "%% c",
                "E & F --> G",
            ]
        ),
        max_size=12,
    )
)
def test_flowchart_reader_raises_only_mermaid_errors(lines):
    source = "\n".join(["graph TB", *lines])
    with contextlib.suppress(MermaidError):
        flowchart_parse(source)
    assert diagram_describe(source)


@pytest.mark.parametrize("text", ["Title\n" + "TL;DR\nText.\n" * 500])
def test_repeated_headings_get_unique_anchors(text):
    lessons = topic_outline(topic_parse(text))
    anchors = [section.anchor for lesson in lessons for section in lesson.sections]
    assert len(anchors) == len(set(anchors)) == 500
