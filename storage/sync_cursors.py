"""Pull progress of a replica per remote: cursors of paged resources, digests of unpaged ones,
the work an interrupted pull left behind, and the pictures it could not fetch."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from sqlite3 import Connection

# -- pull cursors --------------------------------------------------------------------------


@dataclass(slots=True)
class PullState:
    watermark: int | None  # `since` of the next run (None: never completed, pull everything)
    run_since: int | None  # an interrupted run: the `since` it used ...
    run_next: int | None  # ... the watermark it will leave when it completes ...
    run_cursor: str | None  # ... and the cursor of the next page to fetch
    in_run: bool = False


def get_pull(db: Connection, remote: str, resource: str) -> PullState:
    row = db.execute(
        "SELECT watermark, run_since, run_next, run_cursor, run_next IS NOT NULL FROM sync_cursors WHERE remote = ? AND resource = ?",
        [remote, resource],
    ).fetchone()
    return PullState(None, None, None, None) if row is None else PullState(row[0], row[1], row[2], row[3], bool(row[4]))


def save_pull(db: Connection, remote: str, resource: str, state: PullState) -> None:
    db.execute(
        "INSERT INTO sync_cursors(remote, resource, watermark, run_since, run_next, run_cursor) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(remote, resource) DO UPDATE SET watermark = excluded.watermark, run_since = excluded.run_since, "
        "run_next = excluded.run_next, run_cursor = excluded.run_cursor",
        [remote, resource, state.watermark, state.run_since, state.run_next if state.in_run else None, state.run_cursor],
    )


# -- work left by an interrupted pull ------------------------------------------------------


def add_todo(db: Connection, remote: str, kind: str, ids: Iterable[str]) -> None:
    db.executemany("INSERT OR IGNORE INTO sync_todo(remote, kind, entity_id) VALUES (?, ?, ?)", [(remote, kind, i) for i in ids])


def todo(db: Connection, remote: str, kind: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT entity_id FROM sync_todo WHERE remote = ? AND kind = ? ORDER BY entity_id", [remote, kind])]


def done_todo(db: Connection, remote: str, kind: str, entity_id: str) -> None:
    db.execute("DELETE FROM sync_todo WHERE remote = ? AND kind = ? AND entity_id = ?", [remote, kind, entity_id])


def get_digest(db: Connection, remote: str, resource: str) -> str | None:
    """The digest of the last applied copy of a small, unpaged resource (sites, personas)."""
    row = db.execute("SELECT run_cursor FROM sync_cursors WHERE remote = ? AND resource = ?", [remote, f"digest:{resource}"]).fetchone()
    return None if row is None else row[0]


def set_digest(db: Connection, remote: str, resource: str, digest: str) -> None:
    db.execute(
        "INSERT INTO sync_cursors(remote, resource, run_cursor) VALUES (?, ?, ?) "
        "ON CONFLICT(remote, resource) DO UPDATE SET run_cursor = excluded.run_cursor",
        [remote, f"digest:{resource}", digest],
    )


def forget_digests(db: Connection, remote: str) -> None:
    """Forget every digest of ``remote``: the next pull rewrites the mirrored rows, changed or not."""
    db.execute("DELETE FROM sync_cursors WHERE remote = ? AND resource LIKE 'digest:%'", [remote])


# -- pictures a pull could not fetch ---------------------------------------------------------


@dataclass(slots=True, frozen=True)
class PictureFailure:
    attempts: int  # failed fetches in a row
    failed_pass: int  # the pictures pass of the last one (``picture_failed``'s ``at_pass``)
    failed_at: int  # and its time, ms


def picture_failures(db: Connection, remote: str) -> dict[str, PictureFailure]:
    rows = db.execute("SELECT key, attempts, failed_pass, failed_at FROM sync_picture_failures WHERE remote = ?", [remote])
    return {r[0]: PictureFailure(r[1], r[2], r[3]) for r in rows}


def picture_failed(db: Connection, remote: str, key: str, at_pass: int, at: int) -> None:
    db.execute(
        "INSERT INTO sync_picture_failures(remote, key, attempts, failed_pass, failed_at) VALUES (?, ?, 1, ?, ?) "
        "ON CONFLICT(remote, key) DO UPDATE SET attempts = sync_picture_failures.attempts + 1, "
        "failed_pass = excluded.failed_pass, failed_at = excluded.failed_at",
        [remote, key, at_pass, at],
    )


def picture_fetched(db: Connection, remote: str, key: str) -> None:
    db.execute("DELETE FROM sync_picture_failures WHERE remote = ? AND key = ?", [remote, key])


def forget_picture_failures(db: Connection, remote: str) -> None:
    db.execute("DELETE FROM sync_picture_failures WHERE remote = ?", [remote])
