import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def _stop_prod(run_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "deploy/stop_prod.py"],
        cwd=BASE_DIR,
        env={"HANDSHAKE_RUN_DIR": str(run_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=40,
        check=False,
    )


def test_nothing_running_is_not_an_error(tmp_path):
    result = _stop_prod(tmp_path)
    assert result.returncode == 0
    assert "nothing to stop" in result.stderr


def test_stale_pid_file_is_removed(tmp_path):
    (tmp_path / "run-prod.pid").write_text("999999999\n")
    result = _stop_prod(tmp_path)
    assert result.returncode == 0
    assert "stale pid file" in result.stderr
    assert not (tmp_path / "run-prod.pid").exists()


def test_a_running_supervisor_gets_sigterm_and_stop_prod_waits_for_it(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    reaper = threading.Thread(target=sleeper.wait)  # reap it at once, as a real parent would
    reaper.start()
    try:
        (tmp_path / "run-prod.pid").write_text(f"{sleeper.pid}\n")
        started = time.monotonic()
        result = _stop_prod(tmp_path)
        assert result.returncode == 0, result.stderr
        assert "stopped" in result.stderr
        reaper.join(timeout=5)
        assert sleeper.returncode == -15  # SIGTERM
        assert time.monotonic() - started < 20
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        reaper.join(timeout=5)
