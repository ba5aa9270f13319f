"""A command whose write the disk refuses mid-way: one ``error:`` line, exit 2, no traceback, and nothing changed.

The full disk is a real refusal of the command's own writes: the command runs in a subprocess
whose file writes the kernel stops at 32 KiB (RLIMIT_FSIZE; tests/disk_limit.py says why that
and not a mounted file system or a SQLite pragma). It opens and reads the store as usual, so the
failure comes where it would on a full disk: when the write's pages (or an upload's bytes) go
out. "Nothing changed" is checked on the whole database, dumped before and after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.disk_limit import SHM_BYTES, limited
from tests.mcp.test_mcp_http import PNG, seed
from tests.stores import blob_keys, open_store, reading

ROOT = Path(__file__).resolve().parents[2]
HUGE_REPLY = "🙂" * 20_000  # the longest reply there is, 80 KB in UTF-8: more than the limit lets the WAL hold


def workbench(*args: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "workbench", *args]
    return subprocess.run(
        limited(argv, limit) if limit is not None else argv, capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}, stdin=subprocess.DEVNULL,
    )


def dump(data: Path) -> list[str]:
    """Every row of the store, as SQL."""
    with reading(data) as db:
        return list(db.iterdump())


def uploads(data: Path) -> list[str]:
    store = open_store(data)
    try:
        return blob_keys(store)
    finally:
        store.close()


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "data"
    return data, seed(data)["a"]


def refused_for_the_disk(result: subprocess.CompletedProcess[str], data: Path, problem: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr == (
        f"error: cannot write to the store in {data.resolve()}: {problem}; free space there, or check the disk, and try again: "
        "nothing was changed\n"
    )
    assert result.stdout == ""


def test_a_write_the_disk_refuses_is_one_line_and_changes_nothing(store):
    """SQLite meets the limit writing the WAL (SQLITE_IOERR_WRITE): the command's transaction is rolled back."""
    data, a = store
    before = dump(data)
    refused = workbench("annotation", "reply", a, HUGE_REPLY, "--data-dir", str(data), limit=SHM_BYTES)
    refused_for_the_disk(refused, data, "a disk I/O error (SQLITE_IOERR_WRITE)")
    assert dump(data) == before
    # Space freed: the same command goes through, on the same store.
    done = workbench("annotation", "reply", a, HUGE_REPLY, "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert dump(data) != before


def test_an_upload_the_disk_refuses_leaves_no_part_file_behind(store, tmp_path: Path):
    """The evidence file is copied into the store before its row is written: that copy fails first (EFBIG)."""
    data, a = store
    image = tmp_path / "after.png"
    image.write_bytes(PNG + bytes(100_000))
    before, kept = dump(data), uploads(data)
    refused = workbench("annotation", "attach", a, "--after", str(image), "--data-dir", str(data), limit=SHM_BYTES)
    refused_for_the_disk(refused, data, "a disk I/O error (File too large)")
    assert dump(data) == before
    assert uploads(data) == kept  # the part written up to the limit is gone


def test_the_tuis_first_run_on_a_full_disk_is_one_line(tmp_path: Path):
    """`workbench` fills an empty store with demo data before the TUI starts (workbench/cli/entry.py,
    which does not load Typer): that write refused is the same line, and the store stays empty."""
    data = tmp_path / "empty"
    assert workbench("workspaces", "--data-dir", str(data)).returncode == 0  # a migrated store with nothing in it
    before = dump(data)
    for args in (["--data-dir", str(data)], ["tui", "--data-dir", str(data)]):
        refused_for_the_disk(workbench(*args, limit=SHM_BYTES), data, "a disk I/O error (SQLITE_IOERR_WRITE)")
    assert dump(data) == before


def test_a_team_servers_full_disk_is_the_same_line_naming_the_database(pg_cluster, tmp_path: Path):
    """`--database`: PostgreSQL's SQLSTATE 53100 (tests/disk_limit.py ``pg_disk_full``) is told as
    SQLite's full disk is, with the database (its URL without the password) as the place, and
    what to do on the database server; the command's writes are rolled back."""
    from storage.pg import PgStore
    from storage.pg_conn import redact
    from tests.disk_limit import pg_disk_freed, pg_disk_full

    with pg_cluster.database() as url:
        PgStore(url).close()  # migrated, so the command's first statement is its write
        pg_disk_full(url)
        refused = workbench("admin", "bootstrap", "--json", "--database", url, "--data-dir", str(tmp_path / "local"))
        assert refused.returncode == 2, (refused.stdout, refused.stderr)
        # --json: the group's report of the failed write is JSON too, though the command itself never saw it.
        assert json.loads(refused.stderr) == {"error": {"code": "store_write_failed", "message": (
            f"cannot write to the store in {redact(url)}: the database server's disk is full (SQLSTATE 53100: could not "
            "extend file \"base/16384/16385\": No space left on device); free space on the database server's disk and try "
            "again: nothing was changed"
        )}}
        assert refused.stdout == ""
        pg_disk_freed(url)
        store = PgStore(url)
        try:
            assert store.db.execute("SELECT count(*) FROM workspaces").fetchone()[0] == 0
        finally:
            store.close()
        done = workbench("admin", "bootstrap", "--json", "--database", url, "--data-dir", str(tmp_path / "local"))
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_output_to_a_full_disk_is_one_line(store, as_json):
    """A script's `… --json > out.json` on a full disk (here /dev/full, whose every write is ENOSPC) was
    OSError's traceback: the output it could not write is told as the store's full disk is."""
    data, _ = store
    argv = [sys.executable, "-m", "workbench", "annotations", "list", "--data-dir", str(data), *(["--json"] if as_json else [])]
    with open("/dev/full", "w") as full:
        refused = subprocess.run(argv, stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)}, stdin=subprocess.DEVNULL)
    said = "cannot write the output (No space left on device): it is incomplete"
    assert refused.returncode == 2
    if as_json:
        assert json.loads(refused.stderr) == {"error": {"code": "output_failed", "message": said}}
    else:
        assert refused.stderr == f"error: {said}\n"
