from pathlib import Path

import pytest

from lessons.services import material_import

MATERIAL = Path(__file__).resolve().parents[2] / "courses" / "material" / "communication-protocols.txt"
TCP = Path(__file__).resolve().parent / "data" / "tcp.txt"
COURSE_SLUG = "communication-protocols-in-system-design"


@pytest.fixture
def material(db):
    """The committed course material, imported."""
    return material_import(path=MATERIAL)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Lesson pages cache their rendered articles: no test sees another test's cache."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
