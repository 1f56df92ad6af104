"""Bank file schema (see quizzes/banks/README.md): pure checks, no database.

Every error names the file and the question id so a reviewer can find the line to fix.
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEVELS = ("mid", "senior", "staff")
TYPES = ("single", "multiple", "ordering", "matching", "scenario", "red_flag", "free")
CHOICE_TYPES = ("single", "scenario", "red_flag")
ID_RE = re.compile(r"^(mid|senior|staff)-\d{3}$")
SOURCE_RE = re.compile(r"^[a-z0-9-]+#[a-z0-9-]+$")
OPTION_ID_RE = re.compile(r"^[a-z0-9]{1,8}$")
MAX_TEXT = 4000

COMMON_KEYS = {"id", "type", "prompt", "key_areas", "source", "explanation"}
TYPE_KEYS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required extra keys, optional extra keys)
    "single": ({"options", "answer"}, set()),
    "multiple": ({"options", "answer"}, set()),
    "ordering": ({"items", "answer"}, set()),
    "matching": ({"left", "right", "answer"}, set()),
    "scenario": ({"context", "options", "answer"}, {"model_answer"}),
    "red_flag": ({"context", "options", "answer"}, set()),
    "free": ({"model_answer", "rubric"}, set()),
}


class BankError(ValueError):
    """A bank that cannot be imported; `errors` lists every problem found."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class BankQuestion:
    file: str
    key: str
    level: str
    type: str
    prompt: str
    key_areas: tuple[str, ...]
    source: str
    explanation: str
    position: int
    context: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    answer: Any = None
    model_answer: str = ""
    rubric: tuple[str, ...] = ()

    @property
    def lesson_slug(self) -> str:
        return self.source.split("#", 1)[0]

    @property
    def anchor(self) -> str:
        return self.source.split("#", 1)[1]


@dataclass(frozen=True)
class Bank:
    file: str
    level: str
    topic: str
    questions: tuple[BankQuestion, ...]


def _text(value: Any, name: str, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise BankError(f"{name} must be a non-empty string")
    if len(value) > MAX_TEXT:
        raise BankError(f"{name} is longer than {MAX_TEXT} characters")
    return value.strip()


def _choices(value: Any, name: str, *, minimum: int) -> dict[str, str]:
    if not isinstance(value, dict) or len(value) < minimum:
        raise BankError(f"{name} must be an object of at least {minimum} id → text entries")
    for key, text in value.items():
        if not OPTION_ID_RE.match(key):
            raise BankError(f"{name} id {key!r} must be 1-8 lowercase letters or digits")
        _text(text, f"{name}[{key}]")
    if len({text.strip().lower() for text in value.values()}) != len(value):
        raise BankError(f"{name} has duplicate texts")
    return {key: text.strip() for key, text in value.items()}


def validate_key(*, type_: str, data: Any, answer: Any, model_answer: str = "", rubric: Any = ()) -> None:
    """Check that the visible data and the key of one question fit its type."""
    if type_ not in TYPES:
        raise BankError(f"type must be one of {', '.join(TYPES)}")
    if not isinstance(data, dict):
        raise BankError("data must be an object")
    if type_ in (*CHOICE_TYPES, "multiple"):
        options = _choices(data.get("options"), "options", minimum=3)
        if type_ == "multiple":
            if (
                not isinstance(answer, list)
                or not answer
                or len(set(answer)) != len(answer)
                or not all(isinstance(a, str) and a in options for a in answer)
            ):
                raise BankError("answer must be a non-empty list of distinct option ids")
            if len(answer) == len(options):
                raise BankError("answer cannot be every option")
        elif not isinstance(answer, str) or answer not in options:
            raise BankError("answer must be one of the option ids")
    elif type_ == "ordering":
        items = _choices(data.get("items"), "items", minimum=3)
        if not isinstance(answer, list) or sorted(answer) != sorted(items):
            raise BankError("answer must list every item id exactly once, in the correct order")
    elif type_ == "matching":
        left = _choices(data.get("left"), "left", minimum=2)
        right = _choices(data.get("right"), "right", minimum=2)
        if not isinstance(answer, dict) or set(answer) != set(left):
            raise BankError("answer must map every left id to a right id")
        if not all(isinstance(v, str) and v in right for v in answer.values()):
            raise BankError("answer values must be right ids")
    elif type_ == "free":
        _text(model_answer, "model_answer")
        if not isinstance(rubric, list | tuple) or len(rubric) < 2:
            raise BankError("rubric must list at least 2 checkable points")
        for index, point in enumerate(rubric):
            _text(point, f"rubric[{index}]")
        if data:
            raise BankError("a free-response question has no options")


def _question(raw: Any, *, file: str, level: str, position: int) -> BankQuestion:
    if not isinstance(raw, dict):
        raise BankError(f"{file}: question #{position + 1}: must be an object")
    qid = raw.get("id")
    label = f"{file}: {qid if isinstance(qid, str) else f'question #{position + 1}'}"
    try:
        if not isinstance(qid, str) or not ID_RE.match(qid):
            raise BankError('id must look like "mid-001", "senior-012" or "staff-040"')
        if not qid.startswith(f"{level}-"):
            raise BankError(f'id must start with "{level}-" in the {level} bank')
        type_ = raw.get("type")
        if type_ not in TYPES:
            raise BankError(f"type must be one of {', '.join(TYPES)}")
        required, optional = TYPE_KEYS[type_]
        missing = (COMMON_KEYS | required) - set(raw)
        if missing:
            raise BankError(f"missing {', '.join(sorted(missing))}")
        unknown = set(raw) - COMMON_KEYS - required - optional
        if unknown:
            raise BankError(f"unknown field(s) {', '.join(sorted(unknown))} for type {type_}")
        key_areas = raw["key_areas"]
        if (
            not isinstance(key_areas, list)
            or not key_areas
            or not all(isinstance(k, str) and k for k in key_areas)
            or len(set(key_areas)) != len(key_areas)
        ):
            raise BankError("key_areas must be a non-empty list of distinct key-area slugs")
        source = raw["source"]
        if not isinstance(source, str) or not SOURCE_RE.match(source):
            raise BankError('source must be "<lesson-slug>#<section-anchor>"')
        data = {k: raw[k] for k in ("options", "items", "left", "right") if k in raw}
        validate_key(
            type_=type_,
            data=data,
            answer=raw.get("answer"),
            model_answer=raw.get("model_answer", ""),
            rubric=raw.get("rubric", ()),
        )
        return BankQuestion(
            file=file,
            key=qid,
            level=level,
            type=type_,
            prompt=_text(raw["prompt"], "prompt"),
            key_areas=tuple(key_areas),
            source=source,
            explanation=_text(raw["explanation"], "explanation"),
            position=position,
            context=_text(raw["context"], "context") if "context" in raw else "",
            data={k: {i: t.strip() for i, t in v.items()} for k, v in data.items()},
            answer=raw.get("answer"),
            model_answer=_text(raw["model_answer"], "model_answer") if "model_answer" in raw else "",
            rubric=tuple(p.strip() for p in raw.get("rubric", ())),
        )
    except BankError as exc:
        raise BankError([f"{label}: {e}" for e in exc.errors]) from exc


def parse_bank(text: str, *, file: str) -> Bank:
    """Parse and check one bank file's text; collects every question's errors before failing."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BankError(f"{file}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or set(raw) != {"level", "topic", "questions"}:
        raise BankError(f'{file}: top level must be an object with exactly "level", "topic" and "questions"')
    level, topic, items = raw["level"], raw["topic"], raw["questions"]
    if level not in LEVELS:
        raise BankError(f"{file}: level must be one of {', '.join(LEVELS)}")
    if not isinstance(topic, str) or not topic:
        raise BankError(f"{file}: topic must be a topic key such as communication-protocols")
    if not isinstance(items, list) or not items:
        raise BankError(f"{file}: questions must be a non-empty list")
    errors: list[str] = []
    questions: list[BankQuestion] = []
    seen: set[str] = set()
    for position, item in enumerate(items):
        qid = item.get("id") if isinstance(item, dict) else None
        if isinstance(qid, str) and qid in seen:
            errors.append(f"{file}: {qid}: duplicate id")
            continue
        seen.add(qid)
        try:
            questions.append(_question(item, file=file, level=level, position=position))
        except BankError as exc:
            errors.extend(exc.errors)
    if errors:
        raise BankError(errors)
    return Bank(file=file, level=level, topic=topic, questions=tuple(questions))


def load_bank(path: Path) -> Bank:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BankError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_bank(text, file=str(path))
