"""The topic-file parser: pure, no database."""

from pathlib import Path

import pytest

from lessons.parsing import (
    BulletList,
    ParseError,
    SectionRole,
    decode,
    topic_parse,
)

MATERIAL = Path(__file__).resolve().parents[2] / "courses" / "material" / "communication-protocols.txt"
TCP = Path(__file__).resolve().parent / "data" / "tcp.txt"


@pytest.fixture(scope="module")
def topic():
    return topic_parse(MATERIAL.read_text())


def test_material_title_and_objectives(topic):
    assert topic.title == "Communication Protocols in System Design"
    assert len(topic.objectives) == 3
    assert topic.objectives[0].startswith("Differentiate between synchronous and asynchronous")


def test_material_sections_in_order(topic):
    assert [(s.heading, s.role) for s in topic.sections] == [
        ("TL;DR", SectionRole.INTRO),
        ("Cheat Sheet", SectionRole.INTRO),
        ("Why This Matters", SectionRole.INTRO),
        ("The Landscape", SectionRole.PROSE),
        ("Key Areas", SectionRole.KEY_AREAS),
        ("Protocol Selection Decision Tree", SectionRole.PROSE),
        ("How Things Connect", SectionRole.PROSE),
        ("Real-World Context", SectionRole.PROSE),
        ("Interview Essentials", SectionRole.INTERVIEW),
        ("Mid-Level", SectionRole.LEVEL),
        ("Senior", SectionRole.LEVEL),
        ("Staff+", SectionRole.LEVEL),
        ("Common Interview Questions", SectionRole.QUESTIONS),
        ("Red Flags to Avoid", SectionRole.RED_FLAGS),
        ("Key Takeaways", SectionRole.TAKEAWAYS),
    ]


def test_material_diagrams_have_titles_sources_and_captions(topic):
    diagrams = topic.diagrams
    assert [(d.title, d.diagram_type, d.line) for d in diagrams] == [
        ("Communication Protocol Stack: Network and Application Layers", "graph", 22),
        ("Communication Patterns: Request-Response, Streaming, and Asynchronous", "graph", 52),
        ("Synchronous vs Asynchronous Communication Trade-offs", "graph", 73),
        ("Protocol Selection Decision Tree", "flowchart", 104),
        ("Protocol Composition in a Modern System", "graph", 129),
    ]
    assert diagrams[0].source.splitlines()[0] == "graph TB"
    assert diagrams[0].source.splitlines()[-1] == 'UDP -."Used by QUIC/HTTP3".-> HTTP2'
    assert diagrams[3].caption.startswith("Protocol selection follows a decision tree")
    assert all(d.caption.endswith(".") for d in diagrams)


def test_material_key_areas_levels_questions_red_flags_takeaways(topic):
    assert [k.name for k in topic.key_areas] == [
        "Communication Patterns",
        "Synchronous vs Asynchronous Communication",
        "Network Layer Protocols (TCP vs UDP)",
        "Application Layer Protocols",
        "Real-Time Communication Protocols",
    ]
    assert topic.key_areas[2].description.startswith("TCP (Transmission Control Protocol) provides")
    assert [level.heading for level in topic.levels] == ["Mid-Level", "Senior", "Staff+"]
    assert [q.question for q in topic.questions] == [
        "When would you choose REST over gRPC?",
        "How do you handle real-time updates in a web application?",
        "What are the trade-offs between synchronous and asynchronous communication?",
        "How do you ensure reliable message delivery in a distributed system?",
    ]
    assert all(q.answer for q in topic.questions)
    assert topic.questions[0].answer.startswith("Choose REST for public APIs")
    assert [r.lead for r in topic.red_flags] == [
        "Claiming one protocol is always better",
        "Not understanding the OSI model layers",
        "Ignoring operational complexity",
        "Not considering failure modes",
        "Overengineering with exotic protocols",
    ]
    assert [t.lead for t in topic.takeaways] == [
        "Communication protocols operate in layers",
        "Synchronous vs asynchronous is a fundamental trade-off",
        "Match protocols to requirements, not trends",
        "Real-world systems compose multiple protocols",
        "Operational complexity matters as much as performance",
    ]


def test_material_cheat_sheet_is_a_list(topic):
    cheat = topic.sections[1]
    assert cheat.parts == [cheat.parts[0]]
    assert isinstance(cheat.parts[0], BulletList)
    assert len(cheat.parts[0].items) == 4


def test_second_topic_with_other_shape():
    topic = topic_parse(TCP.read_text())
    assert topic.title == "TCP in Practice"
    assert len(topic.objectives) == 2
    assert [d.diagram_type for d in topic.diagrams] == ["sequenceDiagram", "stateDiagram-v2"]
    assert topic.diagrams[0].title == "Three-Way Handshake"
    assert topic.diagrams[0].caption.startswith("The three-way handshake costs one round trip")
    assert [k.name for k in topic.key_areas] == ["Reliability", "Flow and Congestion Control"]
    assert [s.heading for s in topic.sections if s.role is SectionRole.PROSE] == ["Handshake Walkthrough"]
    assert [level.heading for level in topic.levels] == ["Senior", "Staff+"]
    assert topic.questions == []
    assert len(topic.red_flags) == 1
    assert [t.lead for t in topic.takeaways] == [
        "TCP is a byte stream",
        "Handshakes cost round trips",
        "Loss causes stalls",
    ]


def test_other_diagram_types_and_blank_lines():
    text = "\n".join(
        [
            "Tiny",
            "",
            "Overview Of Things",
            "Some text that explains the idea in a sentence.",
            "",
            "Pets",
            "pie title Pets adopted",
            '"Dogs" : 386',
            '"Cats" : 85',
            "Dogs were adopted far more often than cats in this made-up shelter survey.",
            "Plan",
            "gantt",
            "dateFormat YYYY-MM-DD",
            "Design :a1, 2024-01-01, 30d",
            "Build it :after a1, 20d",
            "The plan puts design first and building second for about fifty days.",
        ]
    )
    topic = topic_parse(text)
    assert [d.diagram_type for d in topic.diagrams] == ["pie", "gantt"]
    assert topic.sections[0].heading == "Overview Of Things"
    assert topic.sections[0].role is SectionRole.PROSE


def test_unknown_headings_become_prose_sections():
    topic = topic_parse("Topic\nBackground Story\nIt started with a paragraph that ends properly.\n")
    assert [(s.heading, s.role) for s in topic.sections] == [("Background Story", SectionRole.PROSE)]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "the file is empty"),
        ("\n\n   \n", 1, "the file is empty"),
        ("Title\nSection\nText here is fine.\nDiagram\ngraph TB\nA --> B\n", 4, "has no caption"),
        (
            "Title\nSection\nText here is fine.\nDiagram\ngraph TB\nA --> B\nKey Areas\nname: X description: y.\n",
            4,
            "has no caption",
        ),
        ("Title\nKey Areas\nname: Foo without a description\n", 3, "no 'description:'"),
        ("Title\nKey Areas\nname:  description: text\n", 3, "empty name"),
        (
            "Title\nCommon Interview Questions\nThis line has no question mark at all.\n",
            3,
            "'question? answer'",
        ),
        ("Title\nRed Flags to Avoid\nThis red flag has only one sentence.\n", 3, "red flag line"),
        ("Title\nKey Takeaways\nThis takeaway has no colon at all.\n", 3, "'lead: explanation'"),
        ("Title\ngraph TB\nA --> B\nCaption sentence that is long enough here.\n", 2, "has no title line"),
        ("Title\nAfter this topic, you will be able to:\nTL;DR\nText.\n", 2, "objectives"),
        ("Title\n", 1, "no sections"),
        ("Title\nKey Areas\n", 2, "has no entries"),
        (
            "Title\nSection\nA long paragraph line that ends with a full stop and leads into a diagram.\ngraph TB\nA --> B\n"
            "Caption sentence that is long enough here.\n",
            3,
            "needs a short title line",
        ),
    ],
)
def test_malformed_input_raises_with_line(text, line, message):
    with pytest.raises(ParseError) as info:
        topic_parse(text)
    assert info.value.line == line
    assert message in info.value.message
    assert str(info.value).startswith(f"line {line}: ")


def test_decode_rejects_binary_and_non_utf8():
    with pytest.raises(ParseError, match="binary file") as info:
        decode(b"Title\nSection\n\x00\x01\x02")
    assert info.value.line == 3
    with pytest.raises(ParseError, match="not valid UTF-8") as info:
        decode(b"Title\n\xff\xfe broken")
    assert info.value.line == 2
    assert decode("Title\n".encode("utf-8-sig")) == "Title\n"
