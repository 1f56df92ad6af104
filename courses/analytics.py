"""Pure computations for cohort dashboards: no database, no Django. Tested against hand-computed data.

- Facility: the mean item score (0..1); for right/wrong items, the share of correct answers.
- Discrimination: the corrected item-total correlation (point-biserial for right/wrong items): Pearson's r
  between a learner's score on the item and their mean score on the *other* items they answered, over the
  learners who answered the item and at least one other. Positive: stronger learners do better on it.
- Option distribution: how often each option of a choice question was picked (multiple choice: each pick).
- Flags, once an item has MIN_ANSWERS_FOR_FLAGS answers: too easy, too hard, negative discrimination
  (below -0.05, so that noise around zero is not flagged).
"""

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MIN_ANSWERS_FOR_FLAGS = 5
TOO_EASY = 0.9  # facility at or above
TOO_HARD = 0.3  # facility at or below
NEGATIVE_DISCRIMINATION = -0.05  # below this (not just noise around zero) stronger learners do worse
INACTIVE_AFTER = timedelta(days=7)
MASTERY_THRESHOLD = 0.5  # below this in a key area (with enough answers) puts a learner at risk
MASTERY_MIN_ANSWERS = 3
MASTERY_WINDOW = timedelta(days=90)  # mastery is current: graded answers of the last 90 days
REVIEW_MINUTES_PER_ANSWER = 1  # review time is estimated: one minute per reviewed card


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r, or None with fewer than 3 pairs or no spread on either side."""
    n = len(xs)
    if n != len(ys) or n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sxx * syy)


@dataclass
class ItemAccumulator:
    """Streams one question's responses: constant memory per question whatever the cohort size."""

    n: int = 0
    total: float = 0.0
    options: Counter = field(default_factory=Counter)
    # sums for the correlation over learners who also answered other items
    pairs: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    syy: float = 0.0
    sxy: float = 0.0

    def add(self, *, score: float, rest: float | None, chosen: Iterable[str] = ()) -> None:
        self.n += 1
        self.total += score
        self.options.update(chosen)
        if rest is not None:
            self.pairs += 1
            self.sx += score
            self.sy += rest
            self.sxx += score * score
            self.syy += rest * rest
            self.sxy += score * rest

    @property
    def facility(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def discrimination(self) -> float | None:
        n = self.pairs
        if n < 3:
            return None
        cxx = self.sxx - self.sx * self.sx / n
        cyy = self.syy - self.sy * self.sy / n
        if cxx <= 1e-12 or cyy <= 1e-12:
            return None
        return (self.sxy - self.sx * self.sy / n) / math.sqrt(cxx * cyy)


def rest_score(*, total: float, count: int, score: float) -> float | None:
    """The learner's mean over their other items, or None when this was their only item."""
    if count < 2:
        return None
    return (total - score) / (count - 1)


def item_flags(*, n: int, facility: float | None, discrimination: float | None) -> list[str]:
    if n < MIN_ANSWERS_FOR_FLAGS or facility is None:
        return []
    flags = []
    if facility >= TOO_EASY:
        flags.append("too easy")
    if facility <= TOO_HARD:
        flags.append("too hard")
    if discrimination is not None and discrimination < NEGATIVE_DISCRIMINATION:
        flags.append("negative discrimination")
    return flags


def chosen_options(response: object) -> list[str]:
    """The option ids a stored response picked: {"choice": id} or {"choices": [ids]}."""
    if not isinstance(response, dict):
        return []
    if isinstance(response.get("choice"), str):
        return [response["choice"]]
    picks = response.get("choices")
    if isinstance(picks, list):
        return [p for p in picks if isinstance(p, str)]
    return []


def option_distribution(*, options: dict[str, str], counts: Counter, correct: object) -> list[dict]:
    """Each option with its pick count and share of picks, in the question's option order."""
    picks = sum(counts[key] for key in options)
    keys = set(correct) if isinstance(correct, list) else {correct}
    return [
        {
            "key": key,
            "text": text,
            "count": counts[key],
            "share": counts[key] / picks if picks else 0.0,
            "correct": key in keys,
        }
        for key, text in options.items()
    ]


# --- Learners ---------------------------------------------------------------------------------


def latest(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return max(present) if present else None


def at_risk_reasons(
    *,
    now: datetime,
    joined_at: datetime,
    last_active: datetime | None,
    week_progress: float,
    weekly_target: int,
    target_unit: str,
    target_applies: bool,
    mastery: list[tuple[str, float | None, int]],
    course_finished: bool = False,
) -> list[str]:
    """Why a learner needs attention, in plain words; empty when they are on track.

    mastery: (key area name, mean score or None, number of graded answers) per key area.
    """
    reasons = []
    if last_active is None:
        if now - joined_at >= INACTIVE_AFTER:
            reasons.append(f"No activity since joining {(now - joined_at).days} days ago")
    elif now - last_active >= INACTIVE_AFTER:
        reasons.append(f"No activity for {(now - last_active).days} days")
    if target_applies and not course_finished and weekly_target > 0 and week_progress < weekly_target:
        shown = f"{week_progress:g}"
        reasons.append(f"Behind weekly target: {shown} of {weekly_target} {target_unit} in the last 7 days")
    weak = sorted(
        (score, name)
        for name, score, count in mastery
        if score is not None and count >= MASTERY_MIN_ANSWERS and score < MASTERY_THRESHOLD
    )
    if weak:
        listed = ", ".join(f"{name} {round(score * 100)}%" for score, name in weak)
        reasons.append(f"Mastery below {round(MASTERY_THRESHOLD * 100)}%: {listed}")
    return reasons


def heat_bucket(score: float | None) -> str:
    """A colour class for a mastery cell; the number itself is always shown in the table."""
    if score is None:
        return "none"
    if score < 0.4:
        return "low"
    if score < 0.6:
        return "mid"
    if score < 0.8:
        return "good"
    return "high"
