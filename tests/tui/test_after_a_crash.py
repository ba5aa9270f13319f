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

from tests.session_helpers import wait_until_async
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


_START_AND_DEPLOY = """
import sys
from workbench.services import feedback_sessions, undo
from workbench.services.context import Workbench
from workbench.services.local import local_user

wb = Workbench.open(sys.argv[1], mailer=None)
me = local_user(wb)
session = undo.start_feedback_session(wb, me, sys.argv[2])  # what `n` runs, then its deploy worker
feedback_sessions.deploy(wb, session.id)
"""


async def test_a_round_whose_preview_deployment_was_killed_is_deployed_at_the_next_start(demo_wb: Workbench, tmp_path: Path):
    """`n` commits the round (``created``, "preparing") and deploys its preview in a worker; a kill
    -9 meanwhile left it preparing for good, since only `workbench serve` redeployed such rounds,
    and a store with a round in progress refuses to start another."""
    db = demo_wb.store.db
    store_id = db.execute(
        "SELECT s.id FROM stores s WHERE s.ai_built = 1 AND NOT EXISTS (SELECT 1 FROM feedback_sessions f WHERE f.store_id = s.id "
        "AND f.status NOT IN ('done', 'canceled', 'interrupted')) ORDER BY s.id LIMIT 1"
    ).fetchone()[0]
    ready = tmp_path / "deploying"
    # A deploy command that says it started, then takes long: where the process is killed.
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORKBENCH_DEPLOY_COMMAND": f"touch {ready} && sleep 60"}
    proc = subprocess.Popen(
        [sys.executable, "-c", _START_AND_DEPLOY, str(demo_wb.store.data_dir), store_id],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        await wait_until_async(lambda: ready.exists() or proc.poll() is not None, "the deployment's start", timeout=60)
        assert ready.exists(), "the deployment never started"
        os.killpg(proc.pid, signal.SIGKILL)  # the process and its deploy command, as a closed terminal does
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)

    def status() -> str:
        return db.execute("SELECT status FROM feedback_sessions WHERE store_id = ? ORDER BY created_at DESC, id DESC LIMIT 1",
                          [store_id]).fetchone()[0]

    assert status() == "created"  # what the kill left
    app = make_app(demo_wb, resume_jobs=True)  # as `workbench` starts; no deploy command here: the default preview
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: status() != "created", timeout=20)
    assert status() == "in_review"


async def test_an_upload_a_killed_writer_left_half_written_is_removed_at_the_next_start(demo_wb: Workbench, monkeypatch):
    """A kill inside ``put_blob`` leaves its ``.part`` file (tests/storage/test_upload_sweep.py kills
    a real writer there); `workbench serve` swept them at its start, an offline reviewer's TUI did
    not, so they stayed for good on a laptop that never serves."""
    from storage import upload_sweep

    demo_wb.store.put_blob("resolutions/a1/after-1.png.part", b"half")
    monkeypatch.setattr(upload_sweep, "SWEEP_AGE_S", -7200)  # as if the TUI started two hours later
    app = make_app(demo_wb, resume_jobs=True)  # as `workbench` starts
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: not list(demo_wb.store.uploads_dir.rglob("*.part")), timeout=20)
