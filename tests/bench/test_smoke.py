"""The benchmark scripts run end to end at tiny sizes (`bench.run --quick`), so they cannot rot.

The figures of a quick run mean nothing; what is checked is that every benchmark ran, every key of
issue 8's table came out as a number, and the report was written where it was asked to be.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import FIGURES
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parent.parent.parent


def _stamps() -> dict[str, float | None]:
    paths = [ROOT / "BENCHMARKS.md", ROOT / "bench" / "results.json"]
    return {p.name: p.stat().st_mtime if p.exists() else None for p in paths}


@pytest.mark.slow
@pytest.mark.own_services  # builds its own SQLite database and redis-server: CI's PostgreSQL pass skips it
def test_bench_quick_run_writes_every_figure(tmp_path):
    require_service("wrk (make wrk)", shutil.which("wrk") is not None)
    require_service("redis-server", shutil.which("redis-server") is not None)
    before = _stamps()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PLAYGROUND_"))}
    done = subprocess.run(  # noqa: S603 (our own argv)
        [sys.executable, "-m", "bench.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results) == list(FIGURES)
    missing = {key: value for key, value in results.items() if not isinstance(value, int | float)}
    assert missing == {}
    assert results["reconnect_storm_1000_gaps"] == 0
    report = (tmp_path / "BENCHMARKS.md").read_text()
    assert report.startswith("# Benchmarks\n")
    for key in FIGURES:
        assert f"`{key}`" in report
    assert "Benchmarks that failed" not in report
    assert _stamps() == before  # --out: the committed report is left alone
