"""Parse a topic file (the course material's plain-text format) into dataclasses.

A pure function of the file's text, tested without a database. The format, by structure:

    Title line
    After this topic, you will be able to:
    - objective
    Heading line                       (short, no closing full stop)
    Paragraph lines                    (one paragraph per line; "- " lines make a list)
    Diagram title line                 (the line right before a mermaid header)
    graph TB / sequenceDiagram / ...   (mermaid source, up to the caption)
    Caption paragraph
    Key Areas -> "name: ... description: ..." lines
    Interview Essentials -> level headings (Mid-Level, Senior, Staff+) with paragraphs
    Common Interview Questions -> "question? answer" lines
    Red Flags to Avoid -> "lead sentence. explanation" lines
    Key Takeaways -> "lead: explanation" lines

Unknown headings become ordinary sections. Malformed input raises ParseError with a 1-based line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class ParseError(ValueError):
    def __init__(self, message: str, *, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line


class SectionRole(StrEnum):
    INTRO = "intro"  # TL;DR, Cheat Sheet, Why This Matters
    PROSE = "prose"  # The Landscape, How Things Connect, unknown headings, ...
    KEY_AREAS = "key_areas"
    INTERVIEW = "interview"
    LEVEL = "level"
    QUESTIONS = "questions"
    RED_FLAGS = "red_flags"
    TAKEAWAYS = "takeaways"


@dataclass(frozen=True)
class Paragraph:
    text: str
    line: int


@dataclass(frozen=True)
class BulletList:
    items: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Diagram:
    title: str
    source: str  # mermaid, header line included
    caption: str
    line: int  # the title line

    @property
    def diagram_type(self) -> str:
        return self.source.split(None, 1)[0]


@dataclass(frozen=True)
class KeyArea:
    name: str
    description: str
    line: int


@dataclass(frozen=True)
class Question:
    question: str
    answer: str
    line: int


@dataclass(frozen=True)
class RedFlag:
    lead: str
    explanation: str
    line: int


@dataclass(frozen=True)
class Takeaway:
    lead: str
    explanation: str
    line: int


Part = Paragraph | BulletList | Diagram | KeyArea | Question | RedFlag | Takeaway


@dataclass
class Section:
    heading: str
    role: SectionRole
    line: int
    parts: list[Part] = field(default_factory=list)

    def of_type[T](self, kind: type[T]) -> list[T]:
        return [part for part in self.parts if isinstance(part, kind)]


@dataclass
class Topic:
    title: str
    objectives: list[str]
    sections: list[Section]

    def _all[T](self, kind: type[T]) -> list[T]:
        return [part for section in self.sections for part in section.of_type(kind)]

    @property
    def diagrams(self) -> list[Diagram]:
        return self._all(Diagram)

    @property
    def key_areas(self) -> list[KeyArea]:
        return self._all(KeyArea)

    @property
    def questions(self) -> list[Question]:
        return self._all(Question)

    @property
    def red_flags(self) -> list[RedFlag]:
        return self._all(RedFlag)

    @property
    def takeaways(self) -> list[Takeaway]:
        return self._all(Takeaway)

    @property
    def levels(self) -> list[Section]:
        return [section for section in self.sections if section.role is SectionRole.LEVEL]


# --- line classification ---------------------------------------------------------------------

OBJECTIVES_RE = re.compile(r"^after this topic,? you will be able to:?$", re.IGNORECASE)
MERMAID_HEADER_RE = re.compile(
    r"^(?:(?:graph|flowchart)(?:\s+(?:TB|TD|BT|RL|LR))?"
    r"|sequenceDiagram|classDiagram(?:-v2)?|stateDiagram(?:-v2)?|erDiagram|journey|gantt|pie"
    r"|mindmap|timeline|gitGraph|quadrantChart|requirementDiagram|C4(?:Context|Container|Component|Dynamic|Deployment)"
    r"|sankey-beta|xychart-beta|block-beta|packet-beta|architecture-beta|kanban|radar-beta)(?:\s.*)?$"
)
KEY_AREA_RE = re.compile(r"^name:\s*(?P<name>.*?)\s*description:\s*(?P<description>.*)$", re.IGNORECASE)
LEVEL_RE = re.compile(r"^(?:junior|entry|mid|senior|staff|principal|lead)\b", re.IGNORECASE)
# Lines that are mermaid statements even when they read like prose (sequence notes, gantt tasks...).
MERMAID_STATEMENT_RE = re.compile(
    r"^\s|^(?:note|participant|actor|loop|alt|else|opt|par|and|rect|end|critical|break|autonumber|activate"
    r"|deactivate|title|section|classDef|class|style|linkStyle|click|subgraph|direction|dateFormat|axisFormat"
    r"|accTitle|accDescr|state|%%)\b",
    re.IGNORECASE,
)
MERMAID_TOKEN_RE = re.compile(r"--|->|==>|:::|\|")

KNOWN_HEADINGS: dict[str, SectionRole] = {
    "tl;dr": SectionRole.INTRO,
    "tldr": SectionRole.INTRO,
    "cheat sheet": SectionRole.INTRO,
    "why this matters": SectionRole.INTRO,
    "key areas": SectionRole.KEY_AREAS,
    "interview essentials": SectionRole.INTERVIEW,
    "common interview questions": SectionRole.QUESTIONS,
    "interview questions": SectionRole.QUESTIONS,
    "red flags to avoid": SectionRole.RED_FLAGS,
    "red flags": SectionRole.RED_FLAGS,
    "key takeaways": SectionRole.TAKEAWAYS,
    "takeaways": SectionRole.TAKEAWAYS,
}
HEADING_MAX_CHARS = 90
HEADING_MAX_WORDS = 12
CAPTION_MIN_WORDS = 6


def normalise_heading(text: str) -> str:
    return " ".join(text.strip().rstrip(":").split()).lower()


def heading_text(line: str) -> str:
    """The heading as shown: a trailing colon ("Cheat Sheet:") is punctuation, not text."""
    return line.strip().rstrip(":").strip()


def is_mermaid_header(line: str) -> bool:
    return bool(MERMAID_HEADER_RE.match(line.strip())) and not line[:1].isspace()


def looks_like_heading(line: str) -> bool:
    text = line.strip()
    if not text or text.startswith("- ") or KEY_AREA_RE.match(text) or text.lower().startswith("name:"):
        return False
    if normalise_heading(text) in KNOWN_HEADINGS:
        return True
    return (
        len(text) <= HEADING_MAX_CHARS
        and len(text.split()) <= HEADING_MAX_WORDS
        and text[-1] not in ".!?,;"
        and not is_mermaid_header(text)
    )


def looks_like_caption(line: str) -> bool:
    """A prose paragraph (not a mermaid statement): several words ending a sentence."""
    text = line.rstrip()
    if not text or MERMAID_STATEMENT_RE.match(text) or MERMAID_TOKEN_RE.search(text):
        return False
    return len(text.split()) >= CAPTION_MIN_WORDS and text[-1] in '.!?)"”' and text[0].isupper()


# --- the parser --------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """Bytes -> text, or ParseError for binary / non-UTF-8 files."""
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ParseError("this is a binary file (NUL byte), not a UTF-8 topic file", line=line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError(
            f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})", line=line
        ) from None


def topic_parse(text: str) -> Topic:
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        if "\x00" in text:
            raise ParseError(
                "this is a binary file (NUL byte), not a topic file",
                line=text[: text.index("\x00")].count("\n") + 1,
            )
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.i = 0  # index of the next line to read
        self.sections: list[Section] = []
        self.group: SectionRole | None = None  # the enclosing group (key areas, interview, ...)

    # helpers
    def lineno(self, index: int | None = None) -> int:
        return (self.i if index is None else index) + 1

    def skip_blank(self) -> None:
        while self.i < len(self.lines) and not self.lines[self.i].strip():
            self.i += 1

    def next_nonblank(self, index: int) -> int | None:
        index += 1
        while index < len(self.lines):
            if self.lines[index].strip():
                return index
            index += 1
        return None

    def is_diagram_title(self, index: int) -> bool:
        following = self.next_nonblank(index)
        return following is not None and is_mermaid_header(self.lines[following])

    def parse(self) -> Topic:
        self.skip_blank()
        if self.i >= len(self.lines):
            raise ParseError("the file is empty: expected a title line", line=1)
        title = self.lines[self.i].strip()
        if not looks_like_heading(title) or is_mermaid_header(title):
            raise ParseError(f"expected a short title line, found {title[:60]!r}", line=self.lineno())
        self.i += 1
        objectives = self.parse_objectives()
        while True:
            self.skip_blank()
            if self.i >= len(self.lines):
                break
            self.parse_line()
        if not self.sections:
            last = max(i for i, line in enumerate(self.lines) if line.strip()) + 1
            raise ParseError("the topic has no sections after its title", line=last)
        for section in self.sections:
            if section.role in {
                SectionRole.KEY_AREAS,
                SectionRole.QUESTIONS,
                SectionRole.RED_FLAGS,
                SectionRole.TAKEAWAYS,
            } and not any(not isinstance(part, Paragraph | BulletList | Diagram) for part in section.parts):
                raise ParseError(f"section {section.heading!r} has no entries", line=section.line)
            if section.role is SectionRole.INTERVIEW and not any(
                s.role is SectionRole.LEVEL for s in self.sections
            ):
                raise ParseError(f"section {section.heading!r} has no level headings", line=section.line)
        return Topic(title=title, objectives=objectives, sections=self.sections)

    def parse_objectives(self) -> list[str]:
        self.skip_blank()
        if self.i >= len(self.lines) or not OBJECTIVES_RE.match(self.lines[self.i].strip()):
            return []
        marker = self.lineno()
        self.i += 1
        objectives: list[str] = []
        while self.i < len(self.lines):
            text = self.lines[self.i].strip()
            if not text:
                self.i += 1
                continue
            if not text.startswith("- "):
                break
            objective = text[2:].strip()
            if not objective:
                raise ParseError("empty objective bullet", line=self.lineno())
            objectives.append(objective)
            self.i += 1
        if not objectives:
            raise ParseError(
                '"After this topic, you will be able to:" is not followed by "- " objectives', line=marker
            )
        return objectives

    def current(self) -> Section:
        if not self.sections:
            self.sections.append(Section(heading="Introduction", role=SectionRole.INTRO, line=self.lineno()))
        return self.sections[-1]

    def parse_line(self) -> None:
        raw = self.lines[self.i]
        text = raw.strip()
        if is_mermaid_header(text):
            raise ParseError(
                f"mermaid diagram {text.split()[0]!r} has no title line before it", line=self.lineno()
            )
        if self.is_diagram_title(self.i):
            self.parse_diagram()
            return
        if looks_like_heading(text):
            self.start_section(text)
            return
        section = self.current()
        if text.lower().startswith("name:"):
            match = KEY_AREA_RE.match(text)
            if match is None:
                raise ParseError(
                    "key area line has no 'description:' (expected 'name: ... description: ...')",
                    line=self.lineno(),
                )
            if section.role is not SectionRole.KEY_AREAS:
                raise ParseError("key area line outside the Key Areas section", line=self.lineno())
            name, description = match["name"].strip(), match["description"].strip()
            if not name:
                raise ParseError("key area line has an empty name", line=self.lineno())
            if not description:
                raise ParseError(f"key area {name!r} has an empty description", line=self.lineno())
            section.parts.append(KeyArea(name=name, description=description, line=self.lineno()))
            self.i += 1
            return
        if text.startswith("- "):
            start = self.lineno()
            items = []
            while self.i < len(self.lines) and self.lines[self.i].strip().startswith("- "):
                item = self.lines[self.i].strip()[2:].strip()
                if not item:
                    raise ParseError("empty list item", line=self.lineno())
                items.append(item)
                self.i += 1
            section.parts.append(BulletList(items=tuple(items), line=start))
            return
        role = section.role
        if role is SectionRole.KEY_AREAS and section.of_type(KeyArea):
            raise ParseError(
                "expected a key area line ('name: ... description: ...') in the Key Areas section",
                line=self.lineno(),
            )
        if role is SectionRole.QUESTIONS:
            question, sep, answer = text.partition("? ")
            if not sep or not answer.strip():
                raise ParseError("interview question line must read 'question? answer'", line=self.lineno())
            section.parts.append(
                Question(question=question.strip() + "?", answer=answer.strip(), line=self.lineno())
            )
        elif role is SectionRole.RED_FLAGS:
            lead, sep, explanation = text.partition(". ")
            if not sep or not explanation.strip():
                raise ParseError("red flag line must read 'lead sentence. explanation'", line=self.lineno())
            section.parts.append(
                RedFlag(lead=lead.strip(), explanation=explanation.strip(), line=self.lineno())
            )
        elif role is SectionRole.TAKEAWAYS:
            lead, sep, explanation = text.partition(": ")
            if not sep or not explanation.strip() or not lead.strip():
                raise ParseError("takeaway line must read 'lead: explanation'", line=self.lineno())
            section.parts.append(
                Takeaway(lead=lead.strip(), explanation=explanation.strip(), line=self.lineno())
            )
        else:
            section.parts.append(Paragraph(text=text, line=self.lineno()))
        self.i += 1

    def start_section(self, text: str) -> None:
        heading = heading_text(text)
        if not heading:
            raise ParseError("empty heading", line=self.lineno())
        role = KNOWN_HEADINGS.get(normalise_heading(text))
        if role is None:
            if self.group is SectionRole.INTERVIEW and LEVEL_RE.match(heading):
                role = SectionRole.LEVEL
            else:
                role = SectionRole.PROSE
        if role is not SectionRole.LEVEL:
            self.group = role
        self.sections.append(Section(heading=heading, role=role, line=self.lineno()))
        self.i += 1

    def parse_diagram(self) -> None:
        title_index = self.i
        title = self.lines[title_index].strip()
        if title.startswith("- ") or len(title) > HEADING_MAX_CHARS or title.endswith("."):
            raise ParseError(
                "a mermaid diagram needs a short title line right before its header, found a paragraph",
                line=self.lineno(title_index),
            )
        header_index = self.next_nonblank(title_index)
        if header_index is None:  # is_diagram_title() saw a header, so this cannot happen
            raise ParseError(f"diagram {title!r} has no mermaid header", line=self.lineno(title_index))
        source_lines = [self.lines[header_index].rstrip()]
        index = header_index + 1
        caption: str | None = None
        while index < len(self.lines):
            raw = self.lines[index]
            text = raw.strip()
            if not text:
                index += 1
                continue
            if looks_like_caption(raw):
                caption = text
                break
            stop = (
                normalise_heading(text) in KNOWN_HEADINGS
                or text.lower().startswith("name:")
                or is_mermaid_header(raw)
                or self.is_diagram_title(index)
            )
            if stop:
                break
            source_lines.append(raw.rstrip())
            index += 1
        if caption is None:
            raise ParseError(
                f"diagram {title!r} has no caption: expected a caption paragraph after its mermaid source",
                line=self.lineno(title_index),
            )
        if len(source_lines) < 2:
            raise ParseError(
                f"diagram {title!r} has a mermaid header but no diagram source",
                line=self.lineno(header_index),
            )
        section = self.current()
        if section.role not in {SectionRole.INTRO, SectionRole.PROSE}:
            raise ParseError(
                f"diagram {title!r} inside {section.heading!r}: diagrams belong in prose sections",
                line=self.lineno(title_index),
            )
        section.parts.append(
            Diagram(
                title=title, source="\n".join(source_lines), caption=caption, line=self.lineno(title_index)
            )
        )
        self.i = index + 1
