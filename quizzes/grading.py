"""Per-type answer handling, pure: parse a submitted form, score it, and lay a question out for display.

Nothing here reads the database. The display helpers only use a question's visible `data`, so a page
rendered from them cannot leak the key (ordering items are never shown in their correct order).
"""

import random
from dataclasses import dataclass
from typing import Any

from django.utils.crypto import salted_hmac
from fsrs import Rating

MAX_FREE_TEXT = 5000
MAX_JUSTIFICATION = 2000
PASS_MARK = 0.6  # a self-graded free response "counts as correct" from 60 % of its rubric points


class ResponseError(ValueError):
    """A submitted answer of the wrong shape; the message is shown to the learner."""


def token(seed: str, option_id: str) -> str:
    """The opaque value an option carries in a form: bank ids ("a" is often right) never reach the page."""
    return salted_hmac("quizzes.option", f"{seed}:{option_id}", algorithm="sha256").hexdigest()[:12]


def _tokens(items: dict[str, str], seed: str) -> dict[str, str]:
    return {token(seed, key): key for key in items}


def seed_practice(session_id: int, question_id: int) -> str:
    return f"practice-{session_id}-{question_id}"


def seed_mock(attempt_id: int, question_id: int) -> str:
    return f"mock-{attempt_id}-{question_id}"


def seed_review(card_id: int, reps: int) -> str:
    return f"review-{card_id}-{reps}"


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


def parse_response(*, type_: str, data: dict, post: Any, seed: str) -> dict:
    """Turn form fields into the stored response for a question of `type_`; ResponseError if malformed.

    Option values are the tokens `display()` rendered for the same seed; they map back to bank ids here.
    """
    if type_ in ("single", "scenario", "red_flag"):
        choice = _one(post, "choice")
        if not choice:
            raise ResponseError("Choose one of the options.")
        choice = _tokens(data["options"], seed).get(choice)
        if choice is None:
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
        known = _tokens(data["options"], seed)
        if len(set(choices)) != len(choices) or not set(choices) <= set(known):
            raise ResponseError("Those options are not part of this question.")
        return {"choices": sorted(known[c] for c in choices)}
    if type_ == "ordering":
        order = _many(post, "order")
        known = _tokens(data["items"], seed)
        if sorted(order) != sorted(known):
            raise ResponseError("Put every item in exactly one position.")
        return {"order": [known[o] for o in order]}
    if type_ == "matching":
        matches = {}
        known = _tokens(data["right"], seed)
        for left in data["left"]:
            value = _one(post, f"match-{left}")
            if not value:
                raise ResponseError("Match every item on the left.")
            if value not in known:
                raise ResponseError("That match is not one of the choices.")
            matches[left] = known[value]
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
    """Choices in a stable per-seed order, each carrying its opaque token as id."""
    keys = list(items)
    random.Random(seed).shuffle(keys)  # noqa: S311 - presentation order, not security
    return [Choice(id=token(seed, k), text=items[k]) for k in keys]


def display(*, type_: str, data: dict, answer: Any, seed: str) -> dict[str, list[Choice]]:
    """Options / items / columns in a stable per-learner order that never gives the key away."""
    if type_ == "ordering":
        items = _shuffled(data["items"], seed)
        if [c.id for c in items] == [token(seed, a) for a in answer]:
            items = items[1:] + items[:1]
        return {"items": items}
    if type_ == "matching":
        return {
            "left": [Choice(id=k, text=v) for k, v in data["left"].items()],
            "right": sorted(
                (Choice(id=token(seed, k), text=v) for k, v in data["right"].items()), key=lambda c: c.text
            ),
        }
    if "options" in data:
        return {"options": _shuffled(data["options"], seed)}
    return {}


def prefill_tokens(*, response: dict, seed: str) -> dict:
    """A saved response (bank ids) in the tokens the form uses, to show a learner their own answer."""
    if not response:
        return {}
    out = dict(response)
    if "choice" in response:
        out["choice"] = token(seed, response["choice"])
    if "choices" in response:
        out["choices"] = [token(seed, c) for c in response["choices"]]
    if "order" in response:
        out["order"] = [token(seed, i) for i in response["order"]]
    if "matches" in response:
        out["matches"] = {left: token(seed, right) for left, right in response["matches"].items()}
    return out


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
