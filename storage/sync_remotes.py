"""The remotes a replica syncs with (table ``sync_remotes``): each one's server, the workspace,
storefront and studies of it this store mirrors, and how its last sync went.

Apart from the outbox (``storage.sync_state``, which re-exports these) so that asking whether a
workspace is a replica, which the inbox's first paint does, loads no more than this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage.rows import json_dump, json_load


@dataclass(slots=True)
class Remote:
    name: str
    url: str
    workspace_id: str | None
    store_id: str | None
    study_ids: list[str]
    capabilities: dict[str, Any]
    created_at: int
    last_sync_at: int | None
    last_error: str | None


_REMOTE_COLS = "name, url, workspace_id, store_id, study_ids, capabilities, created_at, last_sync_at, last_error"


def _remote(row: Sequence[Any]) -> Remote:
    values = list(row)
    values[4] = json_load(values[4]) or []
    values[5] = json_load(values[5]) or {}
    return Remote(*values)


def add_remote(db: Connection, name: str, url: str, at: int) -> None:
    if not isinstance(db, Connection):
        raise ValueError("a replica is a local SQLite store; a PostgreSQL store is a team server's")
    db.execute(
        "INSERT INTO sync_remotes(name, url, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET url = excluded.url",
        [name, url, at],
    )


def get_remote(db: Connection, name: str) -> Remote | None:
    row = db.execute(f"SELECT {_REMOTE_COLS} FROM sync_remotes WHERE name = ?", [name]).fetchone()
    return None if row is None else _remote(row)


def list_remotes(db: Connection) -> list[Remote]:
    return [_remote(r) for r in db.execute(f"SELECT {_REMOTE_COLS} FROM sync_remotes ORDER BY created_at, name")]


def update_remote(db: Connection, name: str, **values: Any) -> None:
    if "study_ids" in values:
        values["study_ids"] = json_dump(values["study_ids"])
    if "capabilities" in values:
        values["capabilities"] = json_dump(values["capabilities"])
    sets = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE sync_remotes SET {sets} WHERE name = ?", [*values.values(), name])


def remove_remote(db: Connection, name: str) -> None:
    """Forget a remote and all its sync state; the replica's rows stay as local data."""
    remote = get_remote(db, name)
    if remote is None:
        return
    if remote.workspace_id is not None:
        ws = remote.workspace_id
        db.execute("DELETE FROM sync_outbox WHERE workspace_id = ?", [ws])
        db.execute("DELETE FROM sync_conflicts WHERE workspace_id = ?", [ws])
        db.execute(
            "DELETE FROM sync_base WHERE entity_type = 'annotation' AND entity_id IN "
            "(SELECT id FROM annotations WHERE workspace_id = ?)",
            [ws],
        )
    db.execute("DELETE FROM sync_cursors WHERE remote = ?", [name])
    db.execute("DELETE FROM sync_todo WHERE remote = ?", [name])
    db.execute("DELETE FROM sync_picture_failures WHERE remote = ?", [name])
    db.execute("DELETE FROM sync_remotes WHERE name = ?", [name])


def is_replica(db: Connection, workspace_id: str) -> bool:
    """Whether this workspace mirrors a remote (its changes go to an outbox)."""
    if not isinstance(db, Connection):
        return False  # PostgreSQL holds a team server's store, never a replica (add_remote refuses): no round trip
    return db.execute("SELECT 1 FROM sync_remotes WHERE workspace_id = ?", [workspace_id]).fetchone() is not None


def remote_of_workspace(db: Connection, workspace_id: str) -> str | None:
    row = db.execute("SELECT name FROM sync_remotes WHERE workspace_id = ?", [workspace_id]).fetchone()
    return None if row is None else row[0]
