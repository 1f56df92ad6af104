"""Split a parsed topic into lesson pages and sections with stable slugs (pure, no database).

Generic rules: intro sections (objectives, TL;DR, cheat sheet, why this matters) -> "overview"; each prose
heading (known or not) -> its own lesson, its diagrams as sections after it; each key area -> its own lesson;
interview levels -> one lesson; common questions + red flags -> "questions-and-red-flags"; takeaways -> one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils.text import slugify

from lessons import mermaid
from lessons.parsing import (
    BulletList,
    Diagram,
    KeyArea,
    Paragraph,
    Question,
    RedFlag,
    Section,
    SectionRole,
    Takeaway,
    Topic,
)

WORDS_PER_MINUTE = 200
MINUTES_PER_DIAGRAM = 0.5


@dataclass
class SectionPlan:
    anchor: str
    heading: str
    kind: str  # lessons.models.Section.Kind value
    source: str = ""  # markdown
    plain_text: str = ""
    diagram_source: str = ""
    caption: str = ""
    alt_text: str = ""
    key_area_name: str = ""
    line: int = 0


@dataclass
class LessonPlan:
    slug: str
    title: str
    kind: str  # lessons.models.Lesson.Kind value
    sections: list[SectionPlan] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(len(f"{s.heading} {s.plain_text}".split()) for s in self.sections)

    @property
    def reading_minutes(self) -> int:
        diagrams = sum(1 for s in self.sections if s.kind == "diagram")
        return max(1, math.ceil(self.words / WORDS_PER_MINUTE + diagrams * MINUTES_PER_DIAGRAM))

    @property
    def summary(self) -> str:
        for section in self.sections:
            if section.plain_text and section.kind != "objectives":
                text = section.plain_text.split("\n")[0]
                return text if len(text) <= 220 else text[:217].rsplit(" ", 1)[0] + "…"
        return ""


def slug_of(text: str) -> str:
    return (
        slugify(text.replace("+", "").replace("/", " ").replace(";", " ").replace("&", " and ")) or "section"
    )


def _body(parts: list) -> tuple[str, str]:
    """Markdown source and plain text of paragraphs and bullet lists."""
    markdown, plain = [], []
    for part in parts:
        if isinstance(part, Paragraph):
            markdown.append(part.text)
            plain.append(part.text)
        elif isinstance(part, BulletList):
            markdown.append("\n".join(f"- {item}" for item in part.items))
            plain.extend(part.items)
    return "\n\n".join(markdown), "\n".join(plain)


def is_decision_tree(source: str) -> bool:
    """A flowchart the chooser can walk: one root, decisions with two or more labelled ways out."""
    if source.split(None, 1)[0] not in {"graph", "flowchart"}:
        return False
    try:
        chart = mermaid.flowchart_parse(source)
    except mermaid.MermaidError:
        return False
    decisions = [node for node in chart.nodes.values() if node.is_decision]
    return (
        bool(decisions)
        and len(chart.roots()) == 1
        and all(len(chart.outgoing(node.id)) >= 2 for node in decisions)
    )


class _Anchors:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, text: str, *, diagram: bool = False) -> str:
        anchor = slug_of(text)
        if anchor in self.used and diagram:
            anchor = f"{anchor}-diagram"
        base, n = anchor, 2
        while anchor in self.used:
            anchor, n = f"{base}-{n}", n + 1
        self.used.add(anchor)
        return anchor


def topic_outline(topic: Topic) -> list[LessonPlan]:
    anchors = _Anchors()
    lessons: list[LessonPlan] = []
    by_slug: dict[str, LessonPlan] = {}

    def lesson(slug: str, title: str, kind: str) -> LessonPlan:
        if slug in by_slug:
            return by_slug[slug]
        base, n = slug, 2
        while slug in by_slug:
            slug, n = f"{base}-{n}", n + 1
        plan = LessonPlan(slug=slug, title=title, kind=kind)
        lessons.append(plan)
        by_slug[slug] = plan
        return plan

    def group_section(plan: LessonPlan, section: Section, kind: str = "group") -> None:
        source, plain = _body(section.parts)
        plan.sections.append(
            SectionPlan(
                anchor=anchors.take(section.heading),
                heading=section.heading,
                kind=kind,
                source=source,
                plain_text=plain,
                line=section.line,
            )
        )

    overview = None
    if topic.objectives or any(s.role is SectionRole.INTRO for s in topic.sections):
        overview = lesson("overview", "Overview", "overview")
    if topic.objectives and overview is not None:
        overview.sections.append(
            SectionPlan(
                anchor=anchors.take("objectives"),
                heading="Objectives",
                kind="objectives",
                source="After this topic, you will be able to:\n\n"
                + "\n".join(f"- {o}" for o in topic.objectives),
                plain_text="After this topic, you will be able to:\n" + "\n".join(topic.objectives),
                line=2,
            )
        )
    questions_lesson: LessonPlan | None = None
    interview_lesson: LessonPlan | None = None
    has_questions = any(s.role is SectionRole.QUESTIONS for s in topic.sections)
    has_red_flags = any(s.role is SectionRole.RED_FLAGS for s in topic.sections)

    for section in topic.sections:
        role = section.role
        if role in {SectionRole.INTRO, SectionRole.PROSE}:
            if role is SectionRole.INTRO and overview is not None:
                plan = overview
            else:
                has_tree = any(is_decision_tree(d.source) for d in section.of_type(Diagram))
                plan = lesson(
                    slug_of(section.heading), section.heading, "decision_tree" if has_tree else "reading"
                )
            kind = "cheat_sheet" if section.heading.lower().startswith("cheat sheet") else "prose"
            _prose_with_diagrams(plan, section, anchors, kind)
        elif role is SectionRole.KEY_AREAS:
            if section.of_type(Paragraph) or section.of_type(BulletList):
                group_section(lesson(slug_of(section.heading), section.heading, "reading"), section, "prose")
            for area in section.of_type(KeyArea):
                plan = lesson(slug_of(area.name), area.name, "key_area")
                plan.sections.append(
                    SectionPlan(
                        anchor=anchors.take(area.name),
                        heading=area.name,
                        kind="key_area",
                        source=area.description,
                        plain_text=area.description,
                        key_area_name=area.name,
                        line=area.line,
                    )
                )
        elif role is SectionRole.INTERVIEW:
            interview_lesson = lesson(slug_of(section.heading), section.heading, "interview")
            if section.parts:
                group_section(interview_lesson, section)
        elif role is SectionRole.LEVEL:
            plan = interview_lesson or lesson("interview-essentials", "Interview Essentials", "interview")
            group_section(plan, section, "level")
        elif role in {SectionRole.QUESTIONS, SectionRole.RED_FLAGS}:
            if questions_lesson is None:
                if has_questions and has_red_flags:
                    questions_lesson = lesson(
                        "questions-and-red-flags", "Questions and Red Flags", "questions"
                    )
                else:
                    questions_lesson = lesson(slug_of(section.heading), section.heading, "questions")
            group_section(questions_lesson, section)
            for item in section.parts:
                if isinstance(item, Question):
                    questions_lesson.sections.append(
                        SectionPlan(
                            anchor=anchors.take(item.question),
                            heading=item.question,
                            kind="question",
                            source=item.answer,
                            plain_text=item.answer,
                            line=item.line,
                        )
                    )
                elif isinstance(item, RedFlag):
                    questions_lesson.sections.append(
                        SectionPlan(
                            anchor=anchors.take(item.lead),
                            heading=item.lead,
                            kind="red_flag",
                            source=item.explanation,
                            plain_text=item.explanation,
                            line=item.line,
                        )
                    )
        elif role is SectionRole.TAKEAWAYS:
            plan = lesson(slug_of(section.heading), section.heading, "takeaways")
            group_section(plan, section)
            for item in section.of_type(Takeaway):
                plan.sections.append(
                    SectionPlan(
                        anchor=anchors.take(item.lead),
                        heading=item.lead,
                        kind="takeaway",
                        source=item.explanation,
                        plain_text=item.explanation,
                        line=item.line,
                    )
                )
    return lessons


def _prose_with_diagrams(plan: LessonPlan, section: Section, anchors: _Anchors, kind: str) -> None:
    """The heading's text up to its first diagram; each diagram then carries the text that follows it."""
    chunks: list[tuple[Diagram | None, list]] = [(None, [])]
    for part in section.parts:
        if isinstance(part, Diagram):
            chunks.append((part, []))
        else:
            chunks[-1][1].append(part)
    for diagram, parts in chunks:
        source, plain = _body(parts)
        if diagram is None:
            plan.sections.append(
                SectionPlan(
                    anchor=anchors.take(section.heading),
                    heading=section.heading,
                    kind=kind,
                    source=source,
                    plain_text=plain,
                    line=section.line,
                )
            )
            continue
        plan.sections.append(
            SectionPlan(
                anchor=anchors.take(diagram.title, diagram=True),
                heading=diagram.title,
                kind="diagram",
                source=source,
                plain_text="\n".join(filter(None, [diagram.caption, plain])),
                diagram_source=diagram.source,
                caption=diagram.caption,
                alt_text=mermaid.diagram_describe(diagram.source),
                line=diagram.line,
            )
        )
