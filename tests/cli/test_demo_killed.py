"""`workbench demo` killed mid-way (as the TUI's first start, which fills an empty store the same
way): the next run must end with one whole demo, not a half one it can no longer complete.

A real `workbench demo` runs while this test takes the store's write lock between its commits and
looks at what is there; at the first commit that shows ``condition``, the test holds the lock (so
no later commit can land) and kills the process with SIGKILL. Then `workbench demo` runs again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Each a state the demo passes through, checked under the write lock: a kill at the first commit
# that shows it.
CONDITIONS = {
    "the workspace": "SELECT count(*) FROM workspaces",
    "the demo's second site": "SELECT count(*) > 1 FROM sites",
    "the annotations": "SELECT count(*) FROM annotations",
    "the feedback stores": "SELECT count(*) FROM stores",
}


def _demo(data: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "demo", "--data-dir", str(data)], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def _kill_when(data: Path, proc: subprocess.Popen[bytes], condition: str) -> None:
    """SIGKILL ``proc`` at its first commit after which ``condition`` holds (or let it finish)."""
    db_path = data / "workbench.db"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if not db_path.exists():
            time.sleep(0.002)
            continue
        db = sqlite3.connect(db_path, isolation_level=None, timeout=30)
        try:
            db.execute("BEGIN IMMEDIATE")  # between two of the demo's transactions
            try:
                if db.execute(condition).fetchone()[0]:
                    proc.send_signal(signal.SIGKILL)  # while the lock is held: nothing more lands
                    proc.wait(30)
                    return
            except sqlite3.OperationalError:
                pass  # the schema is still being made
            finally:
                db.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # locked through the busy timeout while the store is created
        finally:
            db.close()
        time.sleep(0.002)  # the lock free for a moment, so the demo's next write gets it
    proc.wait(120)


@pytest.mark.parametrize("condition", CONDITIONS.values(), ids=list(CONDITIONS))
def test_a_demo_killed_mid_way_is_completed_by_the_next_run(tmp_path: Path, condition: str):
    data = tmp_path / "data"
    _kill_when(data, _demo(data), condition)
    again = _demo(data)
    assert again.wait(120) == 0
    db = sqlite3.connect(data / "workbench.db")
    try:
        counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("workspaces", "sites", "stakeholders", "annotations", "feedback_sessions", "test_sessions")}
    finally:
        db.close()
    assert counts["workspaces"] == 1  # not a second "Acme Commerce"
    assert counts["sites"] == 3 and counts["stakeholders"] == 3  # not the demo's sites twice
    assert counts["annotations"] == 320
    assert counts["feedback_sessions"] > 0 and counts["test_sessions"] > 0  # not "demo data already present" without them
