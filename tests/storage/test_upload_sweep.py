"""Upload files a killed writer left (storage/upload_sweep.py): removed once old, never while a writer may own them.

The leftovers are made by real processes killed with SIGKILL at the moment that leaves each
kind: inside ``put_blob`` before its rename (a ``.part``), and after an evidence copy but before
the row naming it commits (an orphan: a file, or on a real PostgreSQL a ``blobs`` row).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from storage import upload_sweep
from storage.db import Store
from tests.conftest import TEST_SETTINGS
from tests.images import PNG
from tests.pg_cluster import Cluster
from tests.stores import blob_keys
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.server.app import create_app
from workbench.services import annotations as ann_svc
from workbench.services import resolutions as res_svc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.local import local_user

ROOT = Path(__file__).resolve().parents[2]
LATER = 2 * upload_sweep.SWEEP_AGE_S  # "two hours from now", for files made now

# Each child stops at its point, says so, and waits to be killed.
KILLED_IN_PUT_BLOB = """
import os, sys, threading
from storage.db import Store
store = Store(sys.argv[1])
def stall(fd):
    print("writing", flush=True)
    threading.Event().wait()
os.fsync = stall
store.put_blob("resolutions/a1/after-1.png", b"half an upload")
"""
KILLED_BEFORE_THE_ROW = """
import sys, threading
from pathlib import Path
from workbench.services.context import Workbench
from workbench.services.local import local_user
from workbench.services import resolutions
wb = Workbench.open(sys.argv[1], mailer=None, database=sys.argv[4] if len(sys.argv) > 4 else None)
def stall(*a, **k):
    print("copied", flush=True)
    threading.Event().wait()
wb.store.write = stall
resolutions.attach_local_file(wb, local_user(wb), sys.argv[2], "after", Path(sys.argv[3]))
"""


def killed_at(script: str, said: str, *args: str) -> None:
    # As a context: its stdout pipe is closed after, not left to the collector (a ResourceWarning).
    with subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == said  # it reached the point: kill it there
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


def store_with_an_annotation(tmp: Path, database: str | None = None) -> tuple[Path, str]:
    data = tmp / "store"
    wb = Workbench.open(str(data), mailer=None, database=database)
    creds = bootstrap(wb)
    ann = ann_svc.submit_from_widget(
        wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(page_url="https://shop.example/", body="Low contrast"),
    )
    wb.store.close()
    return data, ann.id


def test_killed_writers_leftovers_are_removed_once_old_and_kept_while_young(tmp_path: Path):
    data, ann_id = store_with_an_annotation(tmp_path)
    picture = tmp_path / "after.png"
    picture.write_bytes(PNG)
    killed_at(KILLED_IN_PUT_BLOB, "writing", str(data))
    killed_at(KILLED_BEFORE_THE_ROW, "copied", str(data), ann_id, str(picture))
    wb = Workbench.open(str(data), mailer=None)
    kept = res_svc.attach_local_file(wb, local_user(wb), ann_id, "before", picture)  # a whole attach: file and row
    files = sorted(p.relative_to(wb.store.uploads_dir).as_posix() for p in wb.store.uploads_dir.rglob("*") if p.is_file())
    [part] = [f for f in files if f.endswith(".part")]
    [orphan] = [f for f in files if f not in (part, kept)]
    assert orphan.startswith(f"resolutions/{ann_id}/after-")

    # Just made: another process may still be about to commit their rows. Nothing goes.
    young = upload_sweep.sweep(wb.store)
    assert young.removed == [] and sorted(young.too_young) == sorted([part, orphan])

    old = upload_sweep.sweep(wb.store, now=time.time() + LATER)
    assert old.removed == sorted([part, orphan]) and old.freed_bytes == len(b"half an upload") + len(PNG)
    assert [p.relative_to(wb.store.uploads_dir).as_posix() for p in wb.store.uploads_dir.rglob("*") if p.is_file()] == [kept]
    assert wb.store.get_blob(kept) == PNG
    wb.store.close()


def test_a_file_linked_just_now_under_an_old_mtime_is_young(tmp_path: Path):
    """A sync re-keys pushed evidence by hard-linking the old file under the server's key before
    the row moves: the link keeps the file's old mtime, only its ctime says it was just made."""
    store = Store(tmp_path)
    try:
        store.put_blob("resolutions/a1/after-old.png", PNG)
        src = store.upload_path("resolutions/a1/after-old.png")
        hours_ago = time.time() - LATER
        os.utime(src, (hours_ago, hours_ago))
        os.link(src, store.upload_path("resolutions/a1/after-server.png"))
        swept = upload_sweep.sweep(store)
        assert swept.removed == [] and sorted(swept.too_young) == ["resolutions/a1/after-old.png", "resolutions/a1/after-server.png"]
    finally:
        store.close()


def test_sweep_uploads_command_reports_and_refuses_a_racy_age(tmp_path: Path):
    store = Store(tmp_path)
    store.put_blob("screenshots/x.png", PNG)  # no row names it
    store.close()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "workbench", "admin", "sweep-uploads", "--data-dir", str(tmp_path), *args], capture_output=True,
            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
        )

    r = cli("--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"removed": [], "freed_bytes": 0, "too_young": ["screenshots/x.png"], "dry_run": False}
    assert "Left 1 younger than 60 min" in cli().stderr
    refused = cli("--older-than", "0")
    assert refused.returncode == 2 and "--older-than" in refused.stderr


def test_serve_sweeps_when_it_starts(tmp_path: Path, monkeypatch):
    wb = Workbench.open(str(tmp_path), mailer=None)
    wb.store.put_blob("resolutions/a1/after-1.png.part", b"half")
    monkeypatch.setattr(upload_sweep, "SWEEP_AGE_S", -LATER)  # as if the server started two hours later
    app = create_app(wb, TEST_SETTINGS)
    with TestClient(app):
        app.state.sweep.result(timeout=30)
    assert not list(wb.store.uploads_dir.rglob("*.part"))
    wb.store.close()


def test_on_postgresql_a_killed_writers_blob_is_removed_once_old_and_kept_while_young(tmp_path: Path, pg_cluster: Cluster):
    """A screenshot's or an attached file's blob commits before the row that names it: a process
    killed between left a blob nothing named, and the sweep looked only at files."""
    url = pg_cluster.create()
    try:
        data, ann_id = store_with_an_annotation(tmp_path, url)
        picture = tmp_path / "after.png"
        picture.write_bytes(PNG)
        killed_at(KILLED_BEFORE_THE_ROW, "copied", str(data), ann_id, str(picture), url)
        wb = Workbench.open(str(data), mailer=None, database=url)
        kept = res_svc.attach_local_file(wb, local_user(wb), ann_id, "before", picture)  # a whole attach: blob and row
        [orphan] = [key for key in blob_keys(wb.store) if key != kept]
        assert orphan.startswith(f"resolutions/{ann_id}/after-")

        young = upload_sweep.sweep(wb.store)
        assert young.removed == [] and young.too_young == [orphan]
        assert upload_sweep.sweep(wb.store, now=time.time() + LATER, dry_run=True).removed == [orphan]
        assert blob_keys(wb.store) == sorted([kept, orphan])

        old = upload_sweep.sweep(wb.store, now=time.time() + LATER)
        assert old.removed == [orphan] and old.freed_bytes == len(PNG) and old.too_young == []
        assert blob_keys(wb.store) == [kept] and wb.store.get_blob(kept) == PNG
        wb.store.close()
    finally:
        pg_cluster.drop(url)


def test_on_postgresql_serve_sweeps_blobs_when_it_starts_and_the_command_sees_them(tmp_path: Path, pg_cluster: Cluster, monkeypatch):
    url = pg_cluster.create()
    try:
        wb = Workbench.open(str(tmp_path), mailer=None, database=url)
        wb.store.put_blob("screenshots/x.png", PNG)  # no row names it
        r = subprocess.run(
            [sys.executable, "-m", "workbench", "admin", "sweep-uploads", "--data-dir", str(tmp_path), "--json"], capture_output=True,
            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_DATABASE_URL": url}, timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == {"removed": [], "freed_bytes": 0, "too_young": ["screenshots/x.png"], "dry_run": False}

        monkeypatch.setattr(upload_sweep, "SWEEP_AGE_S", -LATER)  # as if the server started two hours later
        app = create_app(wb, TEST_SETTINGS)
        with TestClient(app):
            app.state.sweep.result(timeout=30)
        assert blob_keys(wb.store) == []
        wb.store.close()
    finally:
        pg_cluster.drop(url)


def test_sweep_uploads_prints_what_it_removed_on_stdout(tmp_path: Path, monkeypatch):
    """What was removed went to stderr with the notices: `sweep-uploads | grep` and `> swept.txt`
    read nothing, where --json's same result is on stdout."""
    from typer.testing import CliRunner

    from workbench.cli.main import app

    store = Store(tmp_path)
    store.put_blob("screenshots/x.png", PNG)  # no row names it
    store.close()
    swept = upload_sweep.sweep
    monkeypatch.setattr(upload_sweep, "sweep", lambda store, **kw: swept(store, **kw, now=time.time() + LATER))
    done = CliRunner().invoke(app, ["admin", "sweep-uploads", "--data-dir", str(tmp_path)])
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines() == ["removed screenshots/x.png", f"Removed 1 leftover upload(s), {len(PNG)} bytes."], done.stdout
    assert done.stderr == ""
