"""Quiz settings with defaults; override any of them in Django settings (e.g. QUIZZES_MOCK_MINUTES)."""

from datetime import timedelta
from pathlib import Path

from django.conf import settings

BANKS_DIR = Path(__file__).resolve().parent / "banks"

DEFAULT_MOCK_MINUTES = {"mid": 25, "senior": 25, "staff": 25}
DEFAULT_MOCK_QUESTIONS = {"mid": 10, "senior": 10, "staff": 10}


def mock_minutes(level: str) -> int:
    return {**DEFAULT_MOCK_MINUTES, **getattr(settings, "QUIZZES_MOCK_MINUTES", {})}[level]


def mock_question_count(level: str) -> int:
    return {**DEFAULT_MOCK_QUESTIONS, **getattr(settings, "QUIZZES_MOCK_QUESTIONS", {})}[level]


def grace() -> timedelta:
    """Latency allowance after a deadline: an answer sent at 0:00 still counts if it lands within this."""
    return timedelta(seconds=getattr(settings, "QUIZZES_DEADLINE_GRACE_SECONDS", 10))


def practice_sizes() -> tuple[int, ...]:
    return tuple(getattr(settings, "QUIZZES_PRACTICE_SIZES", (5, 10, 20)))
