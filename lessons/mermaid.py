"""Read mermaid sources enough to describe them: flowchart nodes/edges (alt text, the chooser) and
sequence messages. Pure functions; the diagram itself is drawn by mermaid in the browser."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

SKIP_STATEMENT_RE = re.compile(r"^(?:direction|classDef|class|style|linkStyle|click|%%)\b")
NODE_ID_RE = re.compile(r"[A-Za-z_][\w]*")
# (open, close, shape) - longest openers first.
SHAPES: tuple[tuple[str, str, str], ...] = (
    ("(((", ")))", "circle"),
    ("((", "))", "circle"),
    ("([", "])", "stadium"),
    ("[[", "]]", "subroutine"),
    ("[(", ")]", "cylinder"),
    ("{{", "}}", "hexagon"),
    ("[/", "/]", "parallelogram"),
    ("[\\", "\\]", "parallelogram"),
    ("[", "]", "rect"),
    ("(", ")", "round"),
    ("{", "}", "decision"),
    (">", "]", "flag"),
)
EDGE_RE = re.compile(
    r"""(?P<start><|o|x)?(?:
        (?P<open>--|==|-\.)\s*"(?P<quoted>[^"]*)"\s*(?P<close>-->|==>|\.->|---|===|\.-)
      | (?P<arrow>-{2,}>|={2,}>|-\.+->|-{3,}|={3,}|-\.+-|--o|--x|~~~)(?:\|(?P<pipe>[^|]*)\|)?
      | (?P<open2>--|==|-\.)\s+(?P<text>[^"|>]+?)\s+(?P<close2>-->|==>|\.->|---)
    )""",
    re.VERBOSE,
)
TAG_RE = re.compile(r"<[^>]+>")
BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)


class MermaidError(ValueError):
    pass


@dataclass
class Node:
    id: str
    lines: list[str]
    shape: str = "rect"
    group: str = ""

    @property
    def label(self) -> str:
        """A decision's lines are one question; other nodes read "name" plus a detail line."""
        if self.is_decision:
            return " ".join(self.lines) or self.id
        return self.lines[0] if self.lines else self.id

    @property
    def detail(self) -> str:
        return "" if self.is_decision else ", ".join(self.lines[1:])

    @property
    def full_label(self) -> str:
        return f"{self.label} ({self.detail})" if self.detail else self.label

    @property
    def is_decision(self) -> bool:
        return self.shape == "decision"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    style: str = "solid"  # solid, dotted, thick, invisible
    both_ways: bool = False


@dataclass
class Flowchart:
    direction: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    groups: list[tuple[str, list[str]]] = field(default_factory=list)

    def outgoing(self, node_id: str) -> list[Edge]:
        return [edge for edge in self.edges if edge.source == node_id and edge.target != node_id]

    def roots(self) -> list[str]:
        targets = {edge.target for edge in self.edges if edge.source != edge.target}
        linked = {edge.source for edge in self.edges} | targets
        return [node_id for node_id in self.nodes if node_id not in targets and node_id in linked]


def label_lines(raw: str) -> list[str]:
    raw = raw.replace("#quot;", '"').replace("#amp;", "&").replace("#lt;", "<").replace("#gt;", ">")
    parts = BR_RE.split(raw)
    lines = [html.unescape(TAG_RE.sub("", part)).strip() for part in parts]
    return [" ".join(line.split()) for line in lines if line.strip()]


def _read_node(text: str, pos: int, chart: Flowchart, group: str) -> tuple[str, int]:
    match = NODE_ID_RE.match(text, pos)
    if match is None:
        raise MermaidError(f"expected a node at {text[pos : pos + 20]!r}")
    node_id, pos = match.group(), match.end()
    for open_, close, shape in SHAPES:
        if text.startswith(open_, pos):
            start = pos + len(open_)
            if text.startswith('"', start):
                end_quote = text.find('"', start + 1)
                if end_quote < 0:
                    raise MermaidError(f"unterminated label of node {node_id}")
                label = text[start + 1 : end_quote]
                end = text.find(close, end_quote + 1)
            else:
                end = text.find(close, start)
                label = text[start:end]
            if end < 0:
                raise MermaidError(f"unterminated shape of node {node_id}")
            node = chart.nodes.get(node_id)
            if node is None:
                chart.nodes[node_id] = Node(
                    id=node_id, lines=label_lines(label) or [node_id], shape=shape, group=group
                )
            else:
                node.lines, node.shape = label_lines(label) or [node_id], shape
                node.group = node.group or group
            pos = end + len(close)
            break
    else:
        if node_id not in chart.nodes:
            chart.nodes[node_id] = Node(id=node_id, lines=[node_id], group=group)
    match = re.compile(r":::[\w-]+").match(text, pos)
    if match:
        pos = match.end()
    return node_id, pos


def _read_group(text: str, pos: int, chart: Flowchart, group: str) -> tuple[list[str], int]:
    ids = []
    while True:
        node_id, pos = _read_node(text, pos, chart, group)
        ids.append(node_id)
        ampersand = re.compile(r"\s*&\s*").match(text, pos)
        if not ampersand:
            return ids, pos
        pos = ampersand.end()


def flowchart_parse(source: str) -> Flowchart:
    lines = [line.strip() for line in source.strip().splitlines()]
    if not lines:
        raise MermaidError("empty diagram")
    header = lines[0].split()
    if header[0] not in {"graph", "flowchart"}:
        raise MermaidError(f"not a flowchart: {header[0]}")
    chart = Flowchart(direction=header[1] if len(header) > 1 else "TB")
    stack: list[tuple[str, list[str]]] = []
    for line in lines[1:]:
        if not line or SKIP_STATEMENT_RE.match(line):
            continue
        if line.startswith("subgraph"):
            title = line[len("subgraph") :].strip()
            bracket = re.match(r"^[\w-]+\s*\[(.*)\]$", title)
            if bracket:
                title = bracket.group(1)
            stack.append((" ".join(label_lines(title.strip('"'))), []))
            continue
        if line == "end":
            if stack:
                chart.groups.append(stack.pop())
            continue
        group = stack[-1][0] if stack else ""
        for statement in line.split(";"):
            statement = statement.strip()
            if statement:
                _parse_statement(statement, chart, group, stack)
    while stack:
        chart.groups.append(stack.pop())
    return chart


def _parse_statement(text: str, chart: Flowchart, group: str, stack: list[tuple[str, list[str]]]) -> None:
    before = set(chart.nodes)
    sources, pos = _read_group(text, 0, chart, group)
    while True:
        gap = re.compile(r"\s*").match(text, pos)
        pos = gap.end() if gap else pos
        if pos >= len(text):
            break
        match = EDGE_RE.match(text, pos)
        if match is None:
            raise MermaidError(f"cannot read {text[pos : pos + 30]!r}")
        arrow = match.group("arrow") or match.group("close") or match.group("close2") or ""
        opener = match.group("open") or match.group("open2") or arrow
        label = match.group("quoted") or match.group("pipe") or match.group("text") or ""
        label = " ".join(label_lines(label.strip().strip('"')))
        if "." in opener or "." in arrow:
            style = "dotted"
        elif "=" in opener:
            style = "thick"
        elif arrow == "~~~":
            style = "invisible"
        else:
            style = "solid"
        pos = match.end()
        gap = re.compile(r"\s*").match(text, pos)
        pos = gap.end() if gap else pos
        targets, pos = _read_group(text, pos, chart, group)
        for source in sources:
            for target in targets:
                chart.edges.append(
                    Edge(
                        source=source,
                        target=target,
                        label=label,
                        style=style,
                        both_ways=bool(match.group("start")),
                    )
                )
        sources = targets
    if stack:
        for node_id in chart.nodes:
            if node_id not in before:
                stack[-1][1].append(node_id)


# --- text alternatives -----------------------------------------------------------------------

DIRECTIONS = {
    "TB": "top to bottom",
    "TD": "top to bottom",
    "BT": "bottom to top",
    "LR": "left to right",
    "RL": "right to left",
}
DIAGRAM_NAMES = {
    "sequenceDiagram": "Sequence diagram",
    "classDiagram": "Class diagram",
    "stateDiagram": "State diagram",
    "stateDiagram-v2": "State diagram",
    "erDiagram": "Entity-relationship diagram",
    "journey": "User journey",
    "gantt": "Gantt chart",
    "pie": "Pie chart",
    "mindmap": "Mind map",
    "timeline": "Timeline",
}


def _edge_text(chart: Flowchart, edge: Edge) -> str:
    source, target = chart.nodes[edge.source].label, chart.nodes[edge.target].label
    arrow = "↔" if edge.both_ways else "→"
    label = f" ({edge.label})" if edge.label else ""
    dotted = " [dotted]" if edge.style == "dotted" else ""
    return (
        f"{source} {arrow}{label} {target}{dotted}"
        if not label
        else f"{source} {arrow} {target}{label}{dotted}"
    )


def flowchart_describe(chart: Flowchart) -> str:
    parts = [f"Flowchart, {DIRECTIONS.get(chart.direction, 'top to bottom')}, {len(chart.nodes)} nodes."]
    for title, ids in chart.groups:
        members = ", ".join(chart.nodes[node_id].full_label for node_id in ids if node_id in chart.nodes)
        if members:
            parts.append(f"{title}: {members}.")
    if chart.edges:
        parts.append("Connections: " + "; ".join(_edge_text(chart, edge) for edge in chart.edges) + ".")
    return " ".join(parts)


SEQ_MESSAGE_RE = re.compile(
    r"^(?P<a>[^-\s][^-]*?)\s*(?P<arrow>-{1,2}>>|-{1,2}>|-{1,2}x|-{1,2}\))[+-]?\s*(?P<b>[^:]+?)\s*:\s*(?P<text>.*)$"
)
SEQ_PARTICIPANT_RE = re.compile(r"^(?:participant|actor)\s+(?P<id>\S+)(?:\s+as\s+(?P<alias>.+))?$")
SEQ_NOTE_RE = re.compile(
    r"^note\s+(?:over|left of|right of)\s+(?P<who>[^:]+):\s*(?P<text>.*)$", re.IGNORECASE
)


def sequence_describe(source: str) -> str:
    names: dict[str, str] = {}
    steps: list[str] = []
    for raw in source.strip().splitlines()[1:]:
        line = raw.strip()
        if match := SEQ_PARTICIPANT_RE.match(line):
            names[match["id"]] = (match["alias"] or match["id"]).strip()
        elif match := SEQ_NOTE_RE.match(line):
            who = ", ".join(names.get(name.strip(), name.strip()) for name in match["who"].split(","))
            steps.append(f"note over {who}: {' '.join(label_lines(match['text']))}")
        elif match := SEQ_MESSAGE_RE.match(line):
            a, b = match["a"].strip(), match["b"].strip()
            names.setdefault(a, a)
            names.setdefault(b, b)
            dashed = " (reply)" if match["arrow"].startswith("--") else ""
            steps.append(f"{names[a]} → {names[b]}: {' '.join(label_lines(match['text']))}{dashed}")
    who = ", ".join(names.values())
    numbered = "; ".join(f"{n}. {step}" for n, step in enumerate(steps, start=1))
    return f"Sequence diagram between {who}. {numbered}.".replace(" .", ".")


def diagram_describe(source: str) -> str:
    """A text alternative for screen readers, built from the mermaid source."""
    kind = source.strip().split(None, 1)[0]
    try:
        if kind in {"graph", "flowchart"}:
            return flowchart_describe(flowchart_parse(source))
        if kind == "sequenceDiagram":
            return sequence_describe(source)
    except MermaidError:
        pass
    body = [
        " ".join(label_lines(re.sub(r"\s*(?:-->|->>|-->>|->|==>)\s*", " → ", line.strip())))
        for line in source.strip().splitlines()[1:]
        if line.strip()
    ]
    name = DIAGRAM_NAMES.get(kind, f"{kind} diagram")
    return f"{name}: " + "; ".join(line for line in body if line) + "."
