"""Per-type answer handling, pure: parse a submitted form, score it, and lay a question out for display.

Nothing here reads the database. The display helpers only use a question's visible `data`, so a page
rendered from them cannot leak the key (ordering items are never shown in their correct order).
"""

import random
from dataclasses import dataclass
from typing import Any

from fsrs import Rating

MAX_FREE_TEXT = 5000
MAX_JUSTIFICATION = 2000
PASS_MARK = 0.6  # a self-graded free response "counts as correct" from 60 % of its rubric points


class ResponseError(ValueError):
    """A submitted answer of the wrong shape; the message is shown to the learner."""


@dataclass(frozen=True)
class Choice:
    id: str
    text: str


def _one(post: Any, name: str) -> str | None:
    values = post.getlist(name) if hasattr(post, "getlist") else [post.get(name)]
    values = [v for v in values if v is not None]
    if len(values) > 1:
        raise ResponseError(f"Send one value for {name!r}, not {len(values)}.")
    return values[0] if values else None


def _many(post: Any, name: str) -> list[str]:
    if hasattr(post, "getlist"):
        return [v for v in post.getlist(name) if v != ""]
    value = post.get(name)
    return list(value) if isinstance(value, list) else ([] if value in (None, "") else [value])


def parse_response(*, type_: str, data: dict, post: Any) -> dict:
    """Turn form fields into the stored response for a question of `type_`; ResponseError if malformed."""
    if type_ in ("single", "scenario", "red_flag"):
        choice = _one(post, "choice")
        if not choice:
            raise ResponseError("Choose one of the options.")
        if choice not in data["options"]:
            raise ResponseError("That option is not part of this question.")
        response: dict[str, Any] = {"choice": choice}
        if type_ == "scenario":
            justification = (_one(post, "justification") or "").strip()
            if len(justification) > MAX_JUSTIFICATION:
                raise ResponseError(f"Keep the justification under {MAX_JUSTIFICATION} characters.")
            response["justification"] = justification
        return response
    if type_ == "multiple":
        choices = _many(post, "choice")
        if not choices:
            raise ResponseError("Choose at least one option.")
        if len(set(choices)) != len(choices) or not set(choices) <= set(data["options"]):
            raise ResponseError("Those options are not part of this question.")
        return {"choices": sorted(choices)}
    if type_ == "ordering":
        order = _many(post, "order")
        if sorted(order) != sorted(data["items"]):
            raise ResponseError("Put every item in exactly one position.")
        return {"order": order}
    if type_ == "matching":
        matches = {}
        for left in data["left"]:
            value = _one(post, f"match-{left}")
            if not value:
                raise ResponseError("Match every item on the left.")
            if value not in data["right"]:
                raise ResponseError("That match is not one of the choices.")
            matches[left] = value
        return {"matches": matches}
    if type_ == "free":
        text = (_one(post, "text") or "").strip()
        if not text:
            raise ResponseError("Write your answer before submitting.")
        if len(text) > MAX_FREE_TEXT:
            raise ResponseError(f"Keep your answer under {MAX_FREE_TEXT} characters (it has {len(text)}).")
        return {"text": text}
    raise ResponseError("Unknown question type.")


def score_response(*, type_: str, answer: Any, response: dict) -> tuple[float | None, bool | None]:
    """(score 0..1, is_correct); (None, None) for a free response until it is self-graded."""
    if type_ in ("single", "scenario", "red_flag"):
        correct = response["choice"] == answer
        return (1.0 if correct else 0.0), correct
    if type_ == "multiple":
        picked, key = set(response["choices"]), set(answer)
        if picked == key:
            return 1.0, True
        partial = max(0, len(picked & key) - len(picked - key)) / len(key)
        return round(partial, 4), False
    if type_ == "ordering":
        order = response["order"]
        right = sum(1 for got, want in zip(order, answer, strict=True) if got == want)
        return round(right / len(answer), 4), right == len(answer)
    if type_ == "matching":
        matches = response["matches"]
        right = sum(1 for left, want in answer.items() if matches.get(left) == want)
        return round(right / len(answer), 4), right == len(answer)
    return None, None


def parse_rubric_marks(*, rubric: list[str], post: Any) -> list[int]:
    """The rubric points a learner says their answer met, as sorted distinct indexes."""
    raw = _many(post, "met")
    try:
        marks = sorted({int(value) for value in raw})
    except (TypeError, ValueError) as exc:
        raise ResponseError("Tick rubric points by their checkboxes.") from exc
    if len(marks) != len(raw) or any(m < 0 or m >= len(rubric) for m in marks):
        raise ResponseError("Those rubric points are not part of this question.")
    return marks


def self_grade_score(*, rubric: list[str], met: list[int]) -> tuple[float, bool]:
    score = round(len(met) / len(rubric), 4)
    return score, score >= PASS_MARK


def rating_for(score: float) -> Rating:
    """Wrong answers come back soonest (Again); partly right ones a little later (Hard)."""
    if score >= 1:
        return Rating.Good
    if score >= PASS_MARK:
        return Rating.Hard
    return Rating.Again


def _shuffled(items: dict[str, str], seed: str) -> list[Choice]:
    choices = [Choice(id=k, text=v) for k, v in items.items()]
    random.Random(seed).shuffle(choices)  # noqa: S311 - presentation order, not security
    return choices


def display(*, type_: str, data: dict, answer: Any, seed: str) -> dict[str, list[Choice]]:
    """Options / items / columns in a stable per-learner order that never gives the key away."""
    if type_ == "ordering":
        items = _shuffled(data["items"], seed)
        if [c.id for c in items] == list(answer):
            items = items[1:] + items[:1]
        return {"items": items, "positions": list(range(1, len(items) + 1))}
    if type_ == "matching":
        return {
            "left": [Choice(id=k, text=v) for k, v in data["left"].items()],
            "right": sorted((Choice(id=k, text=v) for k, v in data["right"].items()), key=lambda c: c.text),
        }
    if "options" in data:
        return {"options": _shuffled(data["options"], seed)}
    return {}


def describe_response(*, type_: str, data: dict, response: dict) -> list[str]:
    """The learner's answer as readable lines (for feedback and review)."""
    if not response:
        return []
    if type_ in ("single", "scenario", "red_flag"):
        lines = [data["options"].get(response.get("choice"), "?")]
        if response.get("justification"):
            lines.append(f"Justification: {response['justification']}")
        return lines
    if type_ == "multiple":
        return [data["options"].get(c, "?") for c in response.get("choices", [])]
    if type_ == "ordering":
        return [f"{n}. {data['items'].get(i, '?')}" for n, i in enumerate(response.get("order", []), 1)]
    if type_ == "matching":
        return [
            f"{data['left'][left]} → {data['right'].get(right, '?')}"
            for left, right in response.get("matches", {}).items()
            if left in data["left"]
        ]
    if type_ == "free":
        return [response.get("text", "")]
    return []


def describe_key(*, type_: str, data: dict, answer: Any) -> list[str]:
    """The correct answer as readable lines (only ever rendered after answering)."""
    if type_ in ("single", "scenario", "red_flag"):
        return [data["options"][answer]]
    if type_ == "multiple":
        return [data["options"][a] for a in answer]
    if type_ == "ordering":
        return [f"{n}. {data['items'][i]}" for n, i in enumerate(answer, 1)]
    if type_ == "matching":
        return [f"{data['left'][left]} → {data['right'][right]}" for left, right in answer.items()]
    return []
