"""Walk a decision-tree flowchart one question at a time (the interactive protocol chooser)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lessons import mermaid

MAX_STEPS = 50
PARAGRAPH_RE = re.compile(r"<p>.*?</p>", re.DOTALL)
STOP_WORDS = frozenset({"only", "critical", "requirement", "type", "based", "api", "the", "and"})


class ChooserPathError(ValueError):
    pass


@dataclass(frozen=True)
class Choice:
    index: int
    label: str
    target: mermaid.Node
    path: str  # the path query value that answers this way


@dataclass(frozen=True)
class TrailStep:
    question: str
    answer: str
    passed: tuple[mermaid.Node, ...] = ()


@dataclass
class Walk:
    chart: mermaid.Flowchart
    node: mermaid.Node
    path: list[int]
    trail: list[TrailStep] = field(default_factory=list)
    passed: list[mermaid.Node] = field(default_factory=list)  # nodes passed on the way to the first question

    @property
    def finished(self) -> bool:
        return not self.chart.outgoing(self.node.id)

    @property
    def question(self) -> str:
        return self.node.label

    @property
    def choices(self) -> list[Choice]:
        prefix = ".".join(str(i) for i in self.path)
        choices = []
        for index, edge in enumerate(self.chart.outgoing(self.node.id)):
            target = self.chart.nodes[edge.target]
            path = f"{prefix}.{index}" if prefix else str(index)
            choices.append(Choice(index=index, label=edge.label or target.label, target=target, path=path))
        return choices

    @property
    def back_path(self) -> str | None:
        if not self.path:
            return None
        return ".".join(str(i) for i in self.path[:-1])

    def terms(self) -> list[str]:
        """Words that find the material's reasoning for where the walk ended and why."""
        return outcome_terms(self.node.label) + [
            word for step in self.trail for word in question_terms(step.question)
        ]


def path_parse(value: str) -> list[int]:
    if not value:
        return []
    if len(value) > 2 * MAX_STEPS or not re.fullmatch(r"\d{1,2}(?:\.\d{1,2})*", value):
        raise ChooserPathError("not a chooser path")
    return [int(part) for part in value.split(".")]


def _advance(chart: mermaid.Flowchart, node: mermaid.Node, passed: list[mermaid.Node]) -> mermaid.Node:
    """Follow single ways out of plain nodes (e.g. "Message Queue" -> "Guaranteed Delivery?")."""
    seen = {node.id}
    while not node.is_decision:
        edges = chart.outgoing(node.id)
        if len(edges) != 1 or edges[0].target in seen:
            break
        passed.append(node)
        node = chart.nodes[edges[0].target]
        seen.add(node.id)
    return node


def walk(chart: mermaid.Flowchart, path: list[int]) -> Walk:
    roots = chart.roots()
    if len(roots) != 1:
        raise ChooserPathError("the diagram has no single starting point")
    passed: list[mermaid.Node] = []
    node = _advance(chart, chart.nodes[roots[0]], passed)
    result = Walk(chart=chart, node=node, path=[], passed=passed)
    for index in path[:MAX_STEPS]:
        edges = chart.outgoing(node.id)
        if not 0 <= index < len(edges):
            raise ChooserPathError("no such answer")
        target = chart.nodes[edges[index].target]
        via: list[mermaid.Node] = []
        next_node = _advance(chart, target, via)
        result.trail.append(
            TrailStep(question=node.label, answer=edges[index].label or target.label, passed=tuple(via))
        )
        node = next_node
        result.path.append(index)
    result.node = node
    return result


def acronym(label: str) -> str:
    parts = [part for part in re.split(r"[\s-]+", label) if part]
    if len(parts) >= 2 and all(part[:1].isupper() for part in parts):
        return "".join(part[0] for part in parts)
    return ""


def outcome_terms(label: str) -> list[str]:
    terms = [label]
    if short := acronym(label):
        terms.append(short)
    first = re.split(r"[\s-]+", label)[0]
    if first != label and len(first) >= 3 and first.lower() not in STOP_WORDS:
        terms.append(first)
    if label.lower().endswith(("queue", "api")) or " " in label:
        terms.append(label.lower())
    return list(dict.fromkeys(terms))


def question_terms(question: str) -> list[str]:
    words = re.findall(r"[A-Za-z][A-Za-z-]{4,}", question)
    return [word for word in words if word.lower() not in STOP_WORDS]


def _mentions(text: str, term: str) -> bool:
    if term.isupper() or any(ch.isupper() for ch in term[1:]):  # SSE, gRPC, WebSockets: exact case
        return re.search(rf"(?<![\w-]){re.escape(term)}", text) is not None
    return re.search(rf"(?<![\w-]){re.escape(term)}", text, re.IGNORECASE) is not None


def reasoning_paragraphs(*, body_html: str, source: str, terms: list[str]) -> list[str]:
    """The section's sanitised paragraphs that mention the outcome or the questions asked."""
    html_paragraphs = PARAGRAPH_RE.findall(body_html)
    text_paragraphs = [p for p in source.split("\n\n") if p.strip()]
    if len(html_paragraphs) != len(text_paragraphs):
        return html_paragraphs
    chosen = [
        html
        for html, text in zip(html_paragraphs, text_paragraphs, strict=True)
        if any(_mentions(text, t) for t in terms)
    ]
    return chosen or html_paragraphs


def mention_count(text: str, terms: list[str]) -> int:
    return sum(len(re.findall(rf"(?<![\w-]){re.escape(term)}", text)) for term in terms)
