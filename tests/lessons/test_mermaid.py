"""Reading mermaid sources: flowchart nodes/edges, text alternatives, decision-tree detection (pure)."""

import pytest

from lessons.mermaid import MermaidError, diagram_describe, flowchart_parse
from lessons.outline import is_decision_tree
from lessons.parsing import topic_parse
from tests.lessons.conftest import MATERIAL


@pytest.fixture(scope="module")
def diagrams():
    return topic_parse(MATERIAL.read_text()).diagrams


def test_flowchart_nodes_shapes_groups_and_edges(diagrams):
    chart = flowchart_parse(diagrams[0].source)
    assert chart.direction == "TB"
    assert chart.nodes["REST"].lines == ["REST API", "Resource-oriented"]
    assert chart.nodes["REST"].full_label == "REST API (Resource-oriented)"
    assert [title for title, _ in chart.groups] == ["Application Layer", "Transport Layer", "Network Layer"]
    assert chart.groups[2][1] == ["TCP", "UDP"]
    assert len(chart.edges) == 11
    dotted = chart.edges[-1]
    assert (dotted.source, dotted.target, dotted.label, dotted.style) == (
        "UDP",
        "HTTP2",
        "Used by QUIC/HTTP3",
        "dotted",
    )


def test_flowchart_edge_label_forms(diagrams):
    patterns = flowchart_parse(diagrams[1].source)
    assert patterns.edges[0].label == "1. Request"
    both = next(edge for edge in patterns.edges if edge.both_ways)
    assert (both.source, both.target, both.label) == ("C3", "S3", "Continuous Data Flow")
    tree = flowchart_parse(diagrams[3].source)
    assert tree.nodes["Latency"].is_decision
    assert tree.nodes["Latency"].label == "Latency Requirement?"
    assert [(e.label, e.target) for e in tree.outgoing("ClientType")] == [
        ("Browser", "REST"),
        ("Mobile App", "Mobile"),
        ("Service-to-Service", "Internal"),
    ]
    assert tree.roots() == ["Start"]


def test_chains_ampersands_and_bare_nodes():
    chart = flowchart_parse("flowchart LR\nA --> B --> C\nD & E -.-> F\nG{Ready?} -- yes --> H(Go)")
    assert [(e.source, e.target) for e in chart.edges] == [
        ("A", "B"),
        ("B", "C"),
        ("D", "F"),
        ("E", "F"),
        ("G", "H"),
    ]
    assert chart.edges[2].style == "dotted"
    assert chart.edges[4].label == "yes"
    assert chart.nodes["H"].shape == "round"


def test_unreadable_flowchart_raises():
    with pytest.raises(MermaidError, match="cannot read"):
        flowchart_parse("graph TB\nA ~> B")
    with pytest.raises(MermaidError, match="not a flowchart"):
        flowchart_parse("sequenceDiagram\nA->>B: hi")


def test_describe_flowchart_sequence_and_others(diagrams):
    assert diagram_describe(diagrams[3].source).startswith(
        "Flowchart, top to bottom, 18 nodes. Connections: Protocol Selection → Latency Requirement?; "
        "Latency Requirement? → Bidirectional? (< 100ms);"
    )
    assert diagram_describe("sequenceDiagram\nparticipant C as Client\nC->>S: SYN\nS-->>C: SYN-ACK") == (
        "Sequence diagram between Client, S. 1. Client → S: SYN; 2. S → Client: SYN-ACK (reply)."
    )
    assert diagram_describe('pie title Pets\n"Dogs" : 386') == 'Pie chart: "Dogs" : 386.'
    assert diagram_describe("stateDiagram-v2\n[*] --> Listen") == "State diagram: [*] → Listen."


def test_only_flowcharts_with_decisions_are_decision_trees(diagrams):
    assert [is_decision_tree(d.source) for d in diagrams] == [False, False, False, True, False]
    assert not is_decision_tree("sequenceDiagram\nA->>B: hi")
    assert not is_decision_tree("graph TB\nA{One way?} --> B")  # a decision needs two ways out
    assert not is_decision_tree(
        "graph TB\nA{x?} -->|y| B\nA -->|n| C\nD{z?} -->|y| B\nD -->|n| C"
    )  # two roots
