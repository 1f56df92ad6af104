"""config/gc_tuning.py: the server process's collector settings."""

import gc

import pytest

from config import gc_tuning


@pytest.fixture
def restore_gc():
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tuned_freezes_startup_objects_and_raises_thresholds(restore_gc):
    gc.unfreeze()
    assert gc_tuning.tune("tuned") == "tuned"
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == gc_tuning.THRESHOLDS
    assert gc.isenabled()  # cycles are still collected, only less often


def test_default_leaves_the_collector_alone(restore_gc, monkeypatch):
    gc.unfreeze()
    before = gc.get_threshold()
    monkeypatch.setenv("HANDSHAKE_GC", "default")
    assert gc_tuning.tune() == "default"
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
