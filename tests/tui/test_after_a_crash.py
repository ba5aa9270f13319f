"""What a process killed mid-action leaves behind, finished by the next `workbench` (the TUI) to start.

Each test kills a real `workbench` process with SIGKILL at a point it waits for by condition,
then opens the app over the same store as a user would next, and checks nothing stays half-done.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.tui.conftest import SIZE, make_app, wait_for
from workbench.services.context import Workbench

REPO = Path(__file__).resolve().parents[2]


def _notification(wb: Workbench, resolution_id: str) -> str:
    return wb.store.db.execute("SELECT notification_status FROM resolutions WHERE id = ?", [resolution_id]).fetchone()[0]


async def test_a_resolution_whose_attach_was_killed_before_notifying_is_notified_at_the_next_start(demo_wb: Workbench):
    """`annotation attach` commits the resolution, then notifies the submitter (by email here). A
    kill -9 between the two left the notification pending, and only `workbench serve` ever swept
    pending ones: offline, the submitter was never told, while `u` says a resolution cannot be
    undone because the submitter is notified."""
    db = demo_wb.store.db
    ann_id = db.execute(
        "SELECT id FROM annotations WHERE submitter_email IS NOT NULL AND status != 'resolved' ORDER BY id LIMIT 1"
    ).fetchone()[0]
    before = {r[0] for r in db.execute("SELECT id FROM resolutions")}
    # An SMTP server that takes the connection and never greets: the CLI waits in the mailer,
    # after the resolution's commit, which is where it is killed.
    smtp = socket.socket()
    smtp.bind(("127.0.0.1", 0))
    smtp.listen(1)
    smtp.settimeout(60)
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORKBENCH_SMTP_URL": f"smtp://127.0.0.1:{smtp.getsockname()[1]}"}
    cli = subprocess.Popen(
        [sys.executable, "-m", "workbench", "annotation", "attach", ann_id, "--data-dir", str(demo_wb.store.data_dir),
         "--explanation", "Fixed in the next release"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        conn, _ = smtp.accept()  # the CLI is sending the notification
        cli.send_signal(signal.SIGKILL)
        cli.wait(10)
        conn.close()
    finally:
        smtp.close()
        if cli.poll() is None:
            cli.kill()
    (res_id,) = {r[0] for r in db.execute("SELECT id FROM resolutions")} - before
    assert _notification(demo_wb, res_id) == "pending"  # what the kill left

    app = make_app(demo_wb, resume_jobs=True)  # as `workbench` starts
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: _notification(demo_wb, res_id) != "pending", timeout=20)
    # No mailer in this app: the notice goes on the thread, once.
    assert _notification(demo_wb, res_id) == "replied"
    notices = db.execute(
        "SELECT count(*) FROM replies WHERE annotation_id = ? AND author_kind = 'system' AND body LIKE '%Fixed in the next release%'",
        [ann_id],
    ).fetchone()[0]
    assert notices == 1
