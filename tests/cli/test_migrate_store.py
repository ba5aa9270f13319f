"""`workbench admin migrate-store`: a real SQLite store with demo data copied into a real PostgreSQL,
verified, then served by both engines with the same answers; the dry run writes nothing; a
tampered row, a non-empty target and --replace are each reported as they are."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from storage.pg import PgStore
from storage.pg_conn import sql_text
from storage.pg_schema import target
from tests.conftest import ServerProcess, bearer
from tests.pg_cluster import Cluster
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.demo import load_demo

BLOB_KEY = "ws/ann/before.png"
BLOB = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A data directory with the demo data, credentials and one upload (made once for the module)."""
    data = tmp_path_factory.mktemp("migrate") / "data"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    load_demo(wb)
    wb.store.put_blob(BLOB_KEY, BLOB)
    wb.store.close()
    return data, creds


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    with pg_cluster.database() as url:
        yield url


def migrate(data: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", "admin", "migrate-store", "--from", str(data), "--to", url, *extra],
        capture_output=True, text=True, timeout=120,
    )


def report(run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return json.loads(run.stdout)


def sqlite_counts(data: Path) -> dict[str, int]:
    import sqlite3

    db = sqlite3.connect(data / "workbench.db")
    try:
        return {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in target().tables}
    finally:
        db.close()


def pg_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(sql_text(f'SELECT count(*) FROM "{t}"')).fetchone()[0] for t in [*target().tables, "blobs"]}  # pyright: ignore[reportOptionalSubscript]  # count(*) always returns a row


def all_annotations(base: str, token: str, site_id: str) -> list[dict[str, Any]]:
    """Every page of one site's list, as the API gives it."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "50", **({"cursor": cursor} if cursor else {})}
        r = httpx.get(f"{base}/api/v1/sites/{site_id}/annotations", params=params, headers=bearer(token), timeout=10)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def test_copy_verifies_and_postgresql_serves_what_sqlite_served(sqlite_store: tuple[Path, dict[str, Any]], pg_url: str, tmp_path: Path) -> None:
    data, creds = sqlite_store
    run = migrate(data, pg_url, "--json")
    assert run.returncode == 0, run.stderr
    out = report(run)
    assert out["ok"] is True and out["mismatched"] == []
    by_table = {t["table"]: t for t in out["tables"]}
    assert set(by_table) == {*target().tables, "blobs"}
    counts = sqlite_counts(data)
    assert {t: by_table[t]["target_rows"] for t in counts} == counts
    assert counts["annotations"] > 100 and counts["replies"] > 100
    assert pg_counts(pg_url) == {**counts, "blobs": 1}

    store = PgStore(pg_url, migrate=False)
    try:
        assert store.get_blob(BLOB_KEY) == BLOB
    finally:
        store.close()

    on_sqlite = ServerProcess(data)
    served = tmp_path / "pg-host"
    served.mkdir()
    on_pg = ServerProcess(served, "--database", pg_url)
    try:
        token = creds["member_token"]  # a token minted on SQLite: its hash was copied
        sites = httpx.get(f"{on_sqlite.url}/api/v1/sites", headers=bearer(token), timeout=10).json()
        site_ids = [s["id"] for s in (sites["items"] if isinstance(sites, dict) else sites)]
        assert len(site_ids) >= 2
        listed: list[dict[str, Any]] = []
        for site_id in site_ids:
            from_sqlite = all_annotations(on_sqlite.url, token, site_id)
            assert from_sqlite, site_id
            assert all_annotations(on_pg.url, token, site_id) == from_sqlite
            listed += from_sqlite
        assert len(listed) == counts["annotations"]
        some = listed[0]["id"]
        detail = [httpx.get(f"{s.url}/api/v1/annotations/{some}", headers=bearer(token), timeout=10) for s in (on_sqlite, on_pg)]
        assert detail[0].status_code == detail[1].status_code == 200
        assert detail[0].json() == detail[1].json()
        # A sign-in session signed on SQLite verifies on PostgreSQL: the secret is in the copied meta table.
        me = httpx.get(f"{on_pg.url}/api/v1/sites", headers=bearer(creds["owner_session"], creds["workspace_id"]), timeout=10)
        assert me.status_code == 200, me.text
        # A write on PostgreSQL appends audit rows: the identities were moved past the copied ids.
        patched = httpx.patch(f"{on_pg.url}/api/v1/annotations/{some}", json={"summary": "after the move"}, headers=bearer(token), timeout=10)
        assert patched.status_code == 200, patched.text
    finally:
        on_sqlite.stop()
        on_pg.stop()
    import sqlite3

    copied = [r[0] for r in sqlite3.connect(data / "workbench.db").execute("SELECT id FROM audit ORDER BY id")]
    with psycopg.connect(pg_url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM audit ORDER BY id").fetchall()]
    assert ids[: len(copied)] == copied and len(ids) > len(copied)


def test_dry_run_says_what_it_would_copy_and_writes_nothing(sqlite_store: tuple[Path, dict[str, Any]], pg_cluster: Cluster, pg_url: str) -> None:
    data, _ = sqlite_store
    before = pg_counts(pg_url)
    with psycopg.connect(pg_url) as conn:
        version = conn.execute("SELECT n FROM store_version").fetchone()
    run = migrate(data, pg_url, "--dry-run", "--json")
    assert run.returncode == 0, run.stderr
    out = report(run)
    assert out["mode"] == "dry-run" and "empty" in out["target_note"]
    assert {t["table"]: t["rows"] for t in out["tables"]} == {**sqlite_counts(data), "blobs": 1}
    assert out["blob_bytes"] == len(BLOB)
    assert all(t["target_rows"] is None for t in out["tables"])
    assert pg_counts(pg_url) == before and set(before.values()) == {0}
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT n FROM store_version").fetchone() == version

    # A database with no schema yet: the dry run does not create one.
    with psycopg.connect(pg_cluster.admin_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE bare_target")
    bare = pg_cluster.url("bare_target")
    try:
        run = migrate(data, bare, "--dry-run")
        assert run.returncode == 0, run.stderr
        assert "schema would be created" in run.stdout and "Nothing was written" in run.stdout
        with psycopg.connect(bare) as conn:
            assert conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone() == (0,)
    finally:
        pg_cluster.drop(bare)


def test_a_tampered_row_is_reported_as_a_mismatch(sqlite_store: tuple[Path, dict[str, Any]], pg_url: str) -> None:
    data, _ = sqlite_store
    assert migrate(data, pg_url, "--json").returncode == 0
    clean = migrate(data, pg_url, "--verify", "--json")
    assert clean.returncode == 0 and report(clean)["ok"] is True, clean.stdout + clean.stderr
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE annotations SET body = body || '!' WHERE id = (SELECT min(id) FROM annotations)")
        conn.execute("UPDATE blobs SET data = data || '\\x00'::bytea")
    run = migrate(data, pg_url, "--verify", "--json")
    assert run.returncode == 1, run.stdout + run.stderr
    out = report(run)
    # annotation_changes too: PostgreSQL's trigger counted the tampering UPDATE as a change.
    assert out["mismatched"] == ["annotation_changes", "annotations", "blobs"]
    ann = next(t for t in out["tables"] if t["table"] == "annotations")
    assert ann["rows"] == ann["target_rows"] and ann["checksum"] != ann["target_checksum"]
    text = migrate(data, pg_url, "--verify")
    assert text.returncode == 1 and "Mismatch in annotation_changes, annotations, blobs" in text.stdout


def test_a_target_holding_data_is_refused_unless_replaced(sqlite_store: tuple[Path, dict[str, Any]], pg_url: str) -> None:
    data, _ = sqlite_store
    assert migrate(data, pg_url).returncode == 0
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO blobs (key, data) VALUES ('stray', '\\x01'::bytea)")
    again = migrate(data, pg_url)
    assert again.returncode == 2
    assert "already holds data" in again.stderr and "--replace" in again.stderr
    assert pg_counts(pg_url)["blobs"] == 2  # refused before anything was written
    refused = migrate(data, pg_url, "--json")  # what it is, for a script: data there, not a bad command line
    assert refused.returncode == 2 and json.loads(refused.stderr)["error"]["code"] == "conflict"
    replaced = migrate(data, pg_url, "--replace", "--json")
    assert replaced.returncode == 0, replaced.stderr
    assert report(replaced)["ok"] is True
    assert pg_counts(pg_url) == {**sqlite_counts(data), "blobs": 1}


def test_an_unreachable_target_is_named_without_its_password(sqlite_store: tuple[Path, dict[str, Any]]) -> None:
    data, _ = sqlite_store
    run = migrate(data, "postgresql://bench:hunter2secret@127.0.0.1:1/nowhere", "--dry-run")
    assert run.returncode == 2
    assert "postgresql://bench:***@127.0.0.1:1/nowhere" in run.stderr
    assert "hunter2secret" not in run.stderr + run.stdout


def test_progress_totals_are_the_source_row_counts_and_a_phase_without_one_shows_its_count(
    sqlite_store: tuple[Path, dict[str, Any]], pg_url: str,
) -> None:
    """--verify drew "412/?" while reading the source and checking the target: no total was given
    though the source's row counts are cheap to know. The read phase now has them; the target's
    check has none (its count would be a second scan), and shows the count alone."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from workbench.services import migrate_store as svc

    data, _ = sqlite_store
    assert migrate(data, pg_url, "--json").returncode == 0
    calls: list[tuple[str, int, int | None]] = []
    assert svc.verify(data, pg_url, lambda what, done, total: calls.append((what, done, total))).ok
    counts = sqlite_counts(data)
    reads = [c for c in calls if c[0].startswith("read ") and c[0] != "read blobs"]  # the blobs: the test below
    assert {what.removeprefix("read ") for what, _, _ in reads} == {t for t, n in counts.items() if n}
    for what, done, total in reads:
        assert total is not None and total == counts[what.removeprefix("read ")] and done <= total, (what, done, total)
    assert all(total is None for what, _, total in calls if what.startswith("verify ") and what != "verify blobs")

    from workbench.cli.migrate_store import progress_columns

    shown = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None, record=True)
    with Progress(*progress_columns(), console=shown, auto_refresh=False) as progress:
        progress.add_task("read annotations", total=counts["annotations"], completed=counts["annotations"])
        progress.add_task("verify annotations", total=None, completed=12_000)
        shown.print(progress.make_tasks_table(progress.tasks))
    text = shown.export_text()
    assert f"{counts['annotations']:,}/{counts['annotations']:,}" in text and "12,000" in text, text
    assert "/?" not in text, text


def test_reading_the_blobs_back_shows_progress_with_their_total(tmp_path: Path, pg_url: str) -> None:
    """The verify phase went silent on the blobs, the slowest part of a store with many uploads:
    every table before them counted, then nothing while each file and each row's bytes were read
    back. Both sides now count them against their total (the files listed; the target's count)."""
    from workbench.services import migrate_store as svc

    data = tmp_path / "data"
    wb = Workbench.open(str(data), mailer=None)
    for i in range(3):
        wb.store.put_blob(f"ws/ann/{i}.png", BLOB)
    wb.store.close()

    def blob_progress(run: Any) -> list[tuple[str, int, int | None]]:
        calls: list[tuple[str, int, int | None]] = []
        assert run(lambda what, done, total: calls.append((what, done, total))).ok
        return [c for c in calls if c[0].endswith(" blobs")]

    copied = blob_progress(lambda cb: svc.copy(data, pg_url, progress=cb))
    assert [c for c in copied if c[0] == "verify blobs"] == [("verify blobs", n, 3) for n in range(4)], copied
    verified = blob_progress(lambda cb: svc.verify(data, pg_url, cb))
    assert verified == [("read blobs", n, 3) for n in range(4)] + [("verify blobs", n, 3) for n in range(4)], verified


def test_a_store_that_cannot_be_used_has_the_code_every_command_gives_it(sqlite_store: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """A source with no store and a target that cannot be reached were `usage_error` under --json,
    where every other command calls a store it cannot open `store_unusable`: the command line was right."""
    data, _ = sqlite_store
    for source, url in ((tmp_path / "none", "postgresql://bench@127.0.0.1:1/nowhere"), (data, "postgresql://bench@127.0.0.1:1/nowhere")):
        run = migrate(source, url, "--dry-run", "--json")
        assert (run.returncode, run.stdout) == (2, ""), run.stderr
        assert json.loads(run.stderr)["error"]["code"] == "store_unusable", run.stderr
