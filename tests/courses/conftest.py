import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    """Dashboard figures are cached per cohort version; ids repeat between tests, so start empty."""
    cache.clear()
    yield
    cache.clear()
