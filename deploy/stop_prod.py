"""`make stop-prod`: stop the `make run-prod` whose pid file is in HANDSHAKE_RUN_DIR (SIGTERM, bounded wait)."""

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.run_prod import _default_run_dir


def main() -> int:
    run_dir = Path(os.environ.get("HANDSHAKE_RUN_DIR") or _default_run_dir())
    pid_file = run_dir / "run-prod.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        sys.stderr.write(f"stop-prod: nothing to stop (no pid file at {pid_file})\n")
        return 0
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        sys.stderr.write("stop-prod: run-prod was not running; removed its stale pid file\n")
        return 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            sys.stderr.write("stop-prod: stopped\n")
            return 0
        time.sleep(0.2)
    sys.stderr.write(f"stop-prod: process {pid} is still running after 30 s\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
