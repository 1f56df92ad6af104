"""material_import on the real material, a second topic, idempotency, malformed input."""

import re
import shutil

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from courses.models import Course, LessonProgress
from courses.services import lesson_complete
from lessons import search
from lessons.models import KeyArea, Lesson, Section, Topic
from lessons.services import MaterialError, material_import
from tests.lessons.conftest import COURSE_SLUG, MATERIAL, TCP
from tests.material_contract import LESSONS

CONTRACT = LESSONS
DIAGRAM_ANCHORS = [
    "communication-protocol-stack-network-and-application-layers",
    "communication-patterns-request-response-streaming-and-asynchronous",
    "synchronous-vs-asynchronous-communication-trade-offs",
    "protocol-selection-decision-tree-diagram",
    "protocol-composition-in-a-modern-system",
]


def snapshot() -> dict:
    return {
        "courses": list(Course.objects.values_list("id", "slug", "title")),
        "topics": list(Topic.objects.values_list("id", "key", "title", "source_sha256")),
        "lessons": list(
            Lesson.objects.order_by("id").values_list("id", "slug", "title", "position", "topic_id")
        ),
        "sections": list(
            Section.objects.order_by("id").values_list("id", "anchor", "lesson_id", "body_html", "position")
        ),
        "key_areas": list(KeyArea.objects.order_by("id").values_list("id", "slug", "section_id")),
    }


def test_import_creates_the_course_and_topic(material):
    assert material.course.slug == COURSE_SLUG
    assert material.course.title == "Communication Protocols in System Design"
    assert material.topic.key == "communication-protocols"
    assert material.topic.slug == "communication-protocols-in-system-design"
    assert len(material.topic.objectives) == 3
    assert material.counts == {
        "lessons": 13,
        "sections": 38,
        "objectives": 3,
        "diagrams": 5,
        "key_areas": 5,
        "interview_levels": 3,
        "questions": 4,
        "red_flags": 5,
        "takeaways": 5,
    }


def test_import_produces_exactly_the_contract_slugs(material):
    lessons = Lesson.objects.filter(course__slug=COURSE_SLUG).order_by("position")
    assert {
        lesson.slug: [s.anchor for s in lesson.sections.order_by("position")] for lesson in lessons
    } == CONTRACT
    assert list(lessons.values_list("slug", flat=True)) == list(CONTRACT)
    assert Lesson.objects.get(slug="protocol-selection-decision-tree").kind == Lesson.Kind.DECISION_TREE
    assert Lesson.objects.get(slug="questions-and-red-flags").title == "Questions and Red Flags"


def test_import_diagrams_have_titles_captions_sources_and_text_alternatives(material):
    diagrams = Section.objects.filter(kind=Section.Kind.DIAGRAM).order_by("lesson__position", "position")
    assert [d.anchor for d in diagrams] == DIAGRAM_ANCHORS
    assert [d.heading for d in diagrams] == [
        "Communication Protocol Stack: Network and Application Layers",
        "Communication Patterns: Request-Response, Streaming, and Asynchronous",
        "Synchronous vs Asynchronous Communication Trade-offs",
        "Protocol Selection Decision Tree",
        "Protocol Composition in a Modern System",
    ]
    for diagram in diagrams:
        assert diagram.caption.endswith(".")
        assert diagram.diagram_source.split()[0] in {"graph", "flowchart"}
        assert diagram.alt_text.startswith("Flowchart, ")
    tree = diagrams[3]
    assert tree.caption.startswith("Protocol selection follows a decision tree based on requirements")
    assert "Latency Requirement? → Bidirectional? (< 100ms)" in tree.alt_text


def test_import_key_areas_levels_questions_red_flags_takeaways(material):
    areas = KeyArea.objects.order_by("position")
    assert [(a.slug, a.name, a.section.anchor, a.section.kind) for a in areas][:2] == [
        ("communication-patterns", "Communication Patterns", "communication-patterns", "key_area"),
        (
            "synchronous-vs-asynchronous-communication",
            "Synchronous vs Asynchronous Communication",
            "synchronous-vs-asynchronous-communication",
            "key_area",
        ),
    ]
    assert list(areas.values_list("slug", flat=True)) == [
        "communication-patterns",
        "synchronous-vs-asynchronous-communication",
        "network-layer-protocols-tcp-vs-udp",
        "application-layer-protocols",
        "real-time-communication-protocols",
    ]
    counts = {kind: Section.objects.filter(kind=kind).count() for kind in Section.Kind.values}
    assert counts == {
        "objectives": 1,
        "prose": 6,
        "cheat_sheet": 1,
        "diagram": 5,
        "key_area": 5,
        "level": 3,
        "question": 4,
        "red_flag": 5,
        "takeaway": 5,
        "group": 3,
    }
    question = Section.objects.get(anchor="when-would-you-choose-rest-over-grpc")
    assert question.heading == "When would you choose REST over gRPC?"
    assert question.plain_text.startswith("Choose REST for public APIs where compatibility")
    assert question.body_html.startswith("<p>Choose REST for public APIs")
    staff = Section.objects.get(anchor="staff")
    assert staff.heading == "Staff+"


def test_every_part_of_the_material_is_on_exactly_one_page(material):
    lessons = Lesson.objects.prefetch_related("sections")
    page_text = {
        lesson.slug: "\n".join(
            [lesson.title, *(f"{s.heading}\n{s.plain_text}" for s in lesson.sections.all())]
        )
        for lesson in lessons
    }
    mermaid_lines = {
        line.strip()
        for source in Section.objects.values_list("diagram_source", flat=True)
        for line in source.splitlines()
    }
    lines = MATERIAL.read_text().splitlines()[1:]  # line 1 is the course title
    checked = 0
    for line in lines:
        text = line.strip()
        if not text or text in mermaid_lines or text == "Key Areas":
            continue  # "Key Areas" labels the key-area lessons (course page, each lesson's kicker)
        text = re.sub(r"^- ", "", text).rstrip(":")
        for part in (p for p in re.split(r"^name: | description: ", text) if p):
            # Every sentence (and lead) is on some page...
            for fragment in (f for f in re.split(r"(?<=[.?]) |(?<=\w): ", part) if f):
                assert any(fragment.rstrip(".") in body for body in page_text.values()), (
                    f"missing: {fragment!r}"
                )
                checked += 1
            # ...and each line's body (after a question, red-flag lead or takeaway lead) is on exactly one.
            body = re.split(r"(?<=[.?:]) ", part, maxsplit=1)[-1]
            if len(body) >= 60:
                pages = [slug for slug, page in page_text.items() if body in page]
                assert len(pages) == 1, f"{body[:60]!r} is on {pages}"
    assert checked > 250


def test_markdown_is_rendered_and_sanitised_once(material):
    cheat = Section.objects.get(anchor="cheat-sheet")
    assert cheat.kind == Section.Kind.CHEAT_SHEET
    assert cheat.body_html.startswith("<ul>\n<li>Synchronous: Caller waits for response (REST, RPC).")
    for body in Section.objects.values_list("body_html", flat=True):
        assert "<script" not in body
        assert "mermaid" not in body


def test_reading_time_per_lesson(material):
    minutes = dict(Lesson.objects.values_list("slug", "reading_minutes"))
    assert minutes["the-landscape"] == 4
    assert minutes["communication-patterns"] == 1
    assert all(value >= 1 for value in minutes.values())


def test_cross_topic_references_are_links_or_markers(material):
    connect = Section.objects.get(anchor="how-things-connect")
    assert connect.body_html.count("not in this course yet") == 8
    assert '<a class="topic-ref"' not in connect.body_html
    assert "covered in depth in the tcp and udp topics" in connect.plain_text
    assert "not in this course yet" not in connect.plain_text


def test_later_import_turns_markers_into_links(material, tmp_path):
    material_import(path=TCP, course_slug=COURSE_SLUG)
    connect = Section.objects.get(anchor="how-things-connect")
    tcp_overview = Lesson.objects.get(topic__key="tcp", slug="tcp-in-practice-overview")
    assert (
        f'<a class="topic-ref" href="{tcp_overview.get_absolute_url()}" rel="noopener noreferrer">tcp</a>'
        in connect.body_html
    )
    assert connect.body_html.count("not in this course yet") == 7
    why = Section.objects.get(topic__key="tcp", anchor="why-this-matters")
    assert 'href="/courses/communication-protocols-in-system-design/overview/"' in why.body_html


def test_second_topic_joins_the_course_with_its_own_shape(material):
    result = material_import(path=TCP, course_slug=COURSE_SLUG)
    assert result.counts == {
        "lessons": 7,
        "sections": 16,
        "objectives": 2,
        "diagrams": 2,
        "key_areas": 2,
        "interview_levels": 2,
        "questions": 0,
        "red_flags": 1,
        "takeaways": 3,
    }
    topic = Topic.objects.get(key="tcp")
    assert topic.course.slug == COURSE_SLUG
    assert topic.position == 2
    assert list(topic.lessons.order_by("position").values_list("slug", flat=True)) == [
        "tcp-in-practice-overview",
        "handshake-walkthrough",
        "reliability",
        "flow-and-congestion-control",
        "tcp-in-practice-interview-essentials",
        "red-flags-to-avoid",
        "tcp-in-practice-key-takeaways",
    ]
    handshake = Section.objects.get(topic=topic, anchor="three-way-handshake")
    assert handshake.kind == Section.Kind.DIAGRAM
    assert handshake.diagram_source.startswith("sequenceDiagram")
    assert handshake.alt_text.startswith(
        "Sequence diagram between Client, Server. 1. Client → Server: SYN (seq=x)"
    )
    assert handshake.plain_text.endswith(
        "Connection teardown uses FIN segments from each side, so closing also takes several packets."
    )
    assert list(topic.key_areas.values_list("slug", flat=True)) == [
        "reliability",
        "flow-and-congestion-control",
    ]
    # the first topic is untouched
    assert Lesson.objects.filter(topic=material.topic).count() == 13


def test_second_topic_alone_gets_its_own_course(db):
    result = material_import(path=TCP)
    assert result.course.slug == "tcp-in-practice"
    assert Lesson.objects.get(slug="handshake-walkthrough").kind == Lesson.Kind.READING
    assert Lesson.objects.filter(course=result.course).first().slug == "overview"


def test_reimport_is_idempotent_and_keeps_progress(material, learner):
    lesson = Lesson.objects.get(slug="communication-patterns")
    lesson_complete(user=learner, lesson=lesson)
    before = snapshot()
    again = material_import(path=MATERIAL)
    assert again.changes == {"references_updated": 0}
    assert snapshot() == before
    assert LessonProgress.objects.get(user=learner, lesson=lesson).completed_at is not None


def test_reimport_updates_in_place_and_deletes_what_disappeared(material, learner, tmp_path):
    kept = Lesson.objects.get(slug="real-world-context")
    gone = Lesson.objects.get(slug="application-layer-protocols")
    lesson_complete(user=learner, lesson=kept)
    lesson_complete(user=learner, lesson=gone)
    text = MATERIAL.read_text()
    lines = text.splitlines()
    lines = [line for line in lines if not line.startswith("name: Application Layer Protocols")]
    edited = "\n".join(lines).replace("Slack combines multiple protocols", "Slack mixes multiple protocols")
    path = tmp_path / "communication-protocols.txt"
    path.write_text(edited)
    section_id = Section.objects.get(anchor="real-world-context").pk
    result = material_import(path=path)
    assert result.changes["key_area_deleted"] == 1
    assert result.changes["section_deleted"] == 1
    assert result.changes["lesson_deleted"] == 1
    assert not Lesson.objects.filter(slug="application-layer-protocols").exists()
    section = Section.objects.get(anchor="real-world-context")
    assert section.pk == section_id
    assert "Slack mixes multiple protocols" in section.plain_text
    assert LessonProgress.objects.filter(user=learner).count() == 1
    assert LessonProgress.objects.get(user=learner).lesson_id == kept.pk
    assert KeyArea.objects.count() == 4


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        (b"", 1, "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, "binary file"),
        ("Title\nTL;DR\nText.\n\xe9t\xe9\n".encode("latin-1"), 4, "not valid UTF-8"),
        (b"Title\nSection\nText here is fine.\nDiagram\ngraph TB\nA --> B\n", 4, "has no caption"),
        (b"Title\nKey Areas\nname: Foo without a description\n", 3, "no 'description:'"),
    ],
)
def test_malformed_files_leave_the_database_unchanged(material, tmp_path, content, line, message):
    before = snapshot()
    path = tmp_path / "communication-protocols.txt"
    path.write_bytes(content)
    with pytest.raises(MaterialError) as info:
        material_import(path=path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)
    assert snapshot() == before


def test_failure_after_writes_rolls_everything_back(material, tmp_path, monkeypatch):
    before = snapshot()
    path = tmp_path / "communication-protocols.txt"
    path.write_text(MATERIAL.read_text().replace("Slack combines", "Slack mixes"))

    def explode() -> None:
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(search, "index_rebuild", explode)
    with pytest.raises(RuntimeError, match="index unavailable"):
        material_import(path=path)
    assert snapshot() == before


def test_missing_file_is_a_clear_error(db, tmp_path):
    with pytest.raises(MaterialError, match=r"nope\.txt:1: cannot read the file"):
        material_import(path=tmp_path / "nope.txt")


def test_search_index_holds_every_section(material):
    if connection.vendor != "sqlite":
        pytest.skip("the FTS5 table exists on SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM lessons_section_fts")
        assert cursor.fetchone()[0] == Section.objects.count() == 38


def test_import_material_command_prints_counts(db, capsys):
    call_command("import_material", str(MATERIAL))
    out = capsys.readouterr().out
    assert 'Imported "Communication Protocols in System Design" (communication-protocols)' in out
    assert (
        "13 lessons, 38 sections, 5 diagrams, 3 objectives, 5 key areas, 3 interview levels, "
        "4 questions, 5 red flags, 5 takeaways"
    ) in out
    call_command("import_material", str(MATERIAL))
    assert "changes: none (already up to date)" in capsys.readouterr().out


def test_import_material_command_fails_with_file_and_line(db, tmp_path):
    path = tmp_path / "broken.txt"
    shutil.copy(MATERIAL, path)
    path.write_text(
        path.read_text().replace("name: Communication Patterns description:", "name: Communication Patterns")
    )
    with pytest.raises(
        CommandError, match=rf"^{re.escape(str(path))}:94: key area line has no 'description:'"
    ):
        call_command("import_material", str(path))
    assert Course.objects.count() == 0


def test_import_material_command_course_option(material, capsys):
    call_command("import_material", str(TCP), "--course", COURSE_SLUG)
    assert f"into course {COURSE_SLUG}" in capsys.readouterr().out
