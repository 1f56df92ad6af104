"""The bank files themselves: schema, coverage per level, links into the lessons, the four common questions."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from quizzes.models import Question
from quizzes.services import bank_paths_default
from quizzes.validation import load_bank
from tests.quizzes.factories import KEY_AREAS, LESSONS

MATERIAL = (settings.MATERIAL_DIR / "communication-protocols.txt").read_text(encoding="utf-8")
COMMON_QUESTIONS = [
    "When would you choose REST over gRPC?",
    "How do you handle real-time updates in a web application?",
    "What are the trade-offs between synchronous and asynchronous communication?",
    "How do you ensure reliable message delivery in a distributed system?",
]
ALL_TYPES = {"single", "multiple", "ordering", "matching", "scenario", "red_flag", "free"}


def _banks():
    return {path.stem: load_bank(path) for path in bank_paths_default()}


def test_bank_files_one_per_level():
    banks = _banks()
    assert sorted(banks) == ["mid", "senior", "staff"]
    assert {name: bank.level for name, bank in banks.items()} == {
        "mid": "mid",
        "senior": "senior",
        "staff": "staff",
    }


@pytest.mark.parametrize("level", ["mid", "senior", "staff"])
def test_bank_has_at_least_40_questions_of_every_type(level):
    bank = _banks()[level]
    assert len(bank.questions) >= 40
    assert set(Counter(q.type for q in bank.questions)) == ALL_TYPES


@pytest.mark.parametrize("level", ["mid", "senior", "staff"])
def test_bank_ids_are_sequential_and_tags_known(level):
    bank = _banks()[level]
    assert [q.key for q in bank.questions] == [f"{level}-{n:03d}" for n in range(1, len(bank.questions) + 1)]
    for q in bank.questions:
        assert set(q.key_areas) <= set(KEY_AREAS), q.key
        assert q.anchor in LESSONS[q.lesson_slug], f"{q.key}: {q.source}"


def test_banks_cover_every_key_area_at_every_level():
    for level, bank in _banks().items():
        covered = Counter(slug for q in bank.questions for slug in q.key_areas)
        assert set(covered) == set(KEY_AREAS), level
        assert min(covered.values()) >= 4, (level, covered)


def test_four_common_questions_are_free_responses_with_the_material_answers():
    questions = [q for bank in _banks().values() for q in bank.questions]
    for prompt in COMMON_QUESTIONS:
        [question] = [q for q in questions if q.prompt == prompt]
        line = next(line for line in MATERIAL.splitlines() if line.startswith(prompt))
        assert question.type == "free"
        assert question.model_answer == line[len(prompt) :].strip()
        assert question.anchor == re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")


def test_imported_questions_link_to_sections_and_key_areas(banks):
    assert Question.objects.filter(section__isnull=True).count() == 0
    for question in Question.objects.prefetch_related("key_areas").select_related("section__lesson"):
        assert question.key_areas.exists(), question.key
        lesson_slug, anchor = question.source.split("#")
        assert (question.section.lesson.slug, question.section.anchor) == (lesson_slug, anchor)
    assert Question.objects.count() == sum(len(b.questions) for b in _banks().values())


def test_bank_json_is_formatted_for_review():
    """Two-space indented JSON, ending in a newline: diffs stay readable in review."""
    for path in bank_paths_default():
        text = Path(path).read_text(encoding="utf-8")
        assert text.endswith("}\n")
        json.loads(text)
