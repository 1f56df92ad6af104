"""import_questions: validation with file and id in every error, atomic, idempotent, stable ids."""

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from quizzes.models import Question
from quizzes.services import bank_paths_default, question_import
from quizzes.validation import BankError, parse_bank
from tests.quizzes.factories import AnswerFactory

MID = Path(bank_paths_default()[0]).with_name("mid.json")


def _bank(questions, level="mid"):
    return {"level": level, "topic": "communication-protocols", "questions": questions}


def _single(qid="mid-001", **overrides):
    question = {
        "id": qid,
        "type": "single",
        "key_areas": ["communication-patterns"],
        "source": "communication-patterns#communication-patterns",
        "prompt": "Which?",
        "options": {"a": "One", "b": "Two", "c": "Three"},
        "answer": "a",
        "explanation": "Because.",
    }
    question.update(overrides)
    return question


def _write(tmp_path, name, bank):
    path = tmp_path / name
    path.write_text(json.dumps(bank), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("question", "message"),
    [
        (_single(id="q1"), 'id must look like "mid-001"'),
        (_single(qid="senior-001"), 'id must start with "mid-"'),
        (_single(type="essay"), "type must be one of"),
        (_single(answer="z"), "answer must be one of the option ids"),
        (_single(options={"a": "One", "b": "One", "c": "Two"}), "options has duplicate texts"),
        (_single(key_areas=[]), "key_areas must be a non-empty list"),
        (_single(source="no-anchor"), 'source must be "<lesson-slug>#<section-anchor>"'),
        (_single(explanation="  "), "explanation must be a non-empty string"),
        (_single(rubric=["x"]), "unknown field(s) rubric for type single"),
        (
            {
                "id": "mid-001",
                "type": "free",
                "key_areas": ["communication-patterns"],
                "prompt": "?",
                "source": "a#b",
                "explanation": "e",
                "model_answer": "m",
                "rubric": ["only one"],
            },
            "rubric must list at least 2 checkable points",
        ),
        (
            _single(type="ordering", options=None)
            | {"items": {"a": "1", "b": "2", "c": "3"}, "answer": ["a", "b"]},
            "unknown field(s) options",
        ),
        (
            {k: v for k, v in _single(type="matching").items() if k not in ("options", "answer")}
            | {"left": {"1": "x", "2": "y"}, "right": {"a": "p", "b": "q"}, "answer": {"1": "a"}},
            "answer must map every left id to a right id",
        ),
        ({k: v for k, v in _single().items() if k != "prompt"}, "missing prompt"),
    ],
)
def test_parse_bank_invalid_question_names_file_and_id(question, message):
    with pytest.raises(BankError) as exc:
        parse_bank(json.dumps(_bank([question])), file="banks/mid.json")
    [error] = exc.value.errors
    assert error.startswith("banks/mid.json: ")
    assert message in error


def test_parse_bank_collects_every_error():
    bank = _bank([_single(answer="z"), _single(qid="mid-002", source="bad"), _single(qid="mid-002")])
    with pytest.raises(BankError) as exc:
        parse_bank(json.dumps(bank), file="x.json")
    assert exc.value.errors == [
        "x.json: mid-001: answer must be one of the option ids",
        'x.json: mid-002: source must be "<lesson-slug>#<section-anchor>"',
        "x.json: mid-002: duplicate id",
    ]


def test_parse_bank_rejects_bad_json_and_top_level():
    with pytest.raises(BankError, match=r"^x.json: not valid JSON"):
        parse_bank("{", file="x.json")
    with pytest.raises(BankError, match=r'^x.json: top level must be an object with exactly "level"'):
        parse_bank(json.dumps({"questions": []}), file="x.json")


def test_question_import_unknown_source_and_key_area_are_errors(content, tmp_path):
    path = _write(
        tmp_path,
        "mid.json",
        _bank([_single(source="overview#nowhere"), _single(qid="mid-002", key_areas=["gossip-protocols"])]),
    )
    with pytest.raises(BankError) as exc:
        question_import(paths=[path])
    assert exc.value.errors == [
        f"{path}: mid-001: source 'overview#nowhere' is not a lesson section",
        f"{path}: mid-002: unknown key area 'gossip-protocols'",
    ]
    assert Question.objects.count() == 0


def test_question_import_without_material_says_to_import_it_first(db, tmp_path):
    path = _write(tmp_path, "mid.json", _bank([_single()]))
    with pytest.raises(BankError, match="topic 'communication-protocols' is not imported"):
        question_import(paths=[path])


def test_question_import_is_atomic_when_one_file_is_bad(content, tmp_path):
    good = _write(tmp_path, "mid.json", _bank([_single()]))
    bad = _write(tmp_path, "senior.json", _bank([_single(qid="senior-001", answer="q")], level="senior"))
    with pytest.raises(BankError, match="senior-001: answer must be one of the option ids"):
        question_import(paths=[good, bad])
    assert Question.objects.count() == 0


def test_question_import_duplicate_id_across_files(content, tmp_path):
    one = _write(tmp_path, "a.json", _bank([_single()]))
    two = _write(tmp_path, "b.json", _bank([_single()]))
    with pytest.raises(BankError, match=r"b.json: mid-001: id already used in .*a.json"):
        question_import(paths=[one, two])


def test_question_import_twice_changes_nothing(banks):
    stamps = dict(Question.objects.values_list("key", "updated_at"))
    again = question_import(paths=bank_paths_default())
    assert (again.created, again.updated, again.deleted, again.deactivated) == ([], [], [], [])
    assert len(again.unchanged) == len(stamps)
    assert dict(Question.objects.values_list("key", "updated_at")) == stamps


def test_question_import_updates_by_stable_id_and_prunes(content, tmp_path):
    first = _write(tmp_path, "mid.json", _bank([_single(), _single(qid="mid-002"), _single(qid="mid-003")]))
    assert question_import(paths=[first]).created == ["mid-001", "mid-002", "mid-003"]
    answered = Question.objects.get(key="mid-003")
    AnswerFactory(question=answered)
    pk = Question.objects.get(key="mid-001").pk

    second = _write(
        tmp_path,
        "mid.json",
        _bank(
            [
                _single(
                    prompt="Which, now?", key_areas=["communication-patterns", "application-layer-protocols"]
                )
            ]
        ),
    )
    result = question_import(paths=[second])

    assert (result.updated, result.deleted, result.deactivated) == (["mid-001"], ["mid-002"], ["mid-003"])
    question = Question.objects.get(key="mid-001")
    assert (question.pk, question.prompt) == (pk, "Which, now?")
    assert sorted(question.key_areas.values_list("slug", flat=True)) == [
        "application-layer-protocols",
        "communication-patterns",
    ]
    assert Question.objects.get(key="mid-003").is_active is False


def test_question_import_leaves_other_levels_and_admin_questions(content, tmp_path):
    question_import(
        paths=[_write(tmp_path, "senior.json", _bank([_single(qid="senior-001")], level="senior"))]
    )
    Question.objects.create(
        key="mid-900",
        level="mid",
        type="single",
        prompt="Admin?",
        data={"options": {"a": "1", "b": "2", "c": "3"}},
        answer="a",
        explanation="e",
        source="overview#tl-dr",
    )
    question_import(paths=[_write(tmp_path, "mid.json", _bank([_single()]))])
    assert sorted(Question.objects.values_list("key", flat=True)) == ["mid-001", "mid-900", "senior-001"]


def test_import_questions_command_defaults_to_every_bank(content):
    out = StringIO()
    call_command("import_questions", stdout=out)
    total = Question.objects.count()
    assert total == sum(len(json.loads(p.read_text())["questions"]) for p in bank_paths_default()) >= 45
    assert (
        out.getvalue().strip()
        == f"Questions from {len(bank_paths_default())} file(s): {total} created, 0 updated, 0 unchanged, 0 deleted, 0 deactivated"
    )


def test_import_questions_command_reports_every_problem(content, tmp_path):
    path = _write(
        tmp_path, "mid.json", _bank([_single(source="x#y"), _single(qid="mid-002", key_areas=["nope"])])
    )
    with pytest.raises(CommandError) as exc:
        call_command("import_questions", str(path))
    assert str(exc.value).splitlines() == [
        "2 problem(s), nothing imported:",
        f"  {path}: mid-001: source 'x#y' is not a lesson section",
        f"  {path}: mid-002: unknown key area 'nope'",
    ]
    assert Question.objects.count() == 0


def test_import_questions_after_the_real_material_import(db, tmp_path):
    """The Makefile runs import_material then import_questions on a fresh database."""
    services = pytest.importorskip("lessons.services")
    if not hasattr(services, "material_import"):
        pytest.skip("lessons.services.material_import has not landed yet")
    call_command("import_material", "courses/material/communication-protocols.txt", stdout=StringIO())
    result = question_import(paths=bank_paths_default())
    assert len(result.created) == Question.objects.count() >= 45
    assert Question.objects.filter(section__isnull=True).count() == 0


def test_bank_copy_can_be_imported_by_path(content, tmp_path):
    copy = tmp_path / "mid.json"
    shutil.copy(MID, copy)
    result = question_import(paths=[copy])
    assert len(result.created) == len(json.loads(MID.read_text())["questions"])
