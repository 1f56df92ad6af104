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
def _clear_cache(monkeypatch):
    """Lesson pages cache their rendered articles: no test sees another test's cache."""
    from django.core.cache import cache

    from lessons import selectors

    # Deterministic: only an import (or a test, explicitly) makes the version be read again.
    monkeypatch.setattr(selectors, "MATERIAL_VERSION_SECONDS", 3600.0)
    selectors.material_version_forget()
    cache.clear()
    yield
    cache.clear()
    selectors.material_version_forget()
