"""Sync state of a replica, the merging side: base copies, conflicts and the id map.

A ``sync_base`` row exists for an annotation exactly while it has unpushed field changes or
open conflicts. It holds the last server values of the mutable fields, so without a base
row the local row *is* the last server version; that is why the base can be taken lazily
from the row itself at the first local edit, and why the pull's fast path (no base row)
can overwrite the local row outright. The id map ties ids this replica made up to the ids
the server gave the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage.rows import json_dump, json_load, placeholders

# -- base copies ---------------------------------------------------------------------------


@dataclass(slots=True)
class Base:
    fields: dict[str, Any]
    version: int | None
    etag: str | None
    server_updated_at: int | None


def get_base(db: Connection, entity_type: str, entity_id: str) -> Base | None:
    row = db.execute(
        "SELECT fields, version, etag, server_updated_at FROM sync_base WHERE entity_type = ? AND entity_id = ?",
        [entity_type, entity_id],
    ).fetchone()
    return None if row is None else Base(json_load(row[0]) or {}, row[1], row[2], row[3])


def bases(db: Connection, entity_type: str, ids: Sequence[str]) -> dict[str, Base]:
    if not ids or db.execute("SELECT 1 FROM sync_base LIMIT 1").fetchone() is None:
        return {}
    marks = placeholders(ids)
    rows = db.execute(
        f"SELECT entity_id, fields, version, etag, server_updated_at FROM sync_base WHERE entity_type = ? AND entity_id IN ({marks})",
        [entity_type, *ids],
    )
    return {r[0]: Base(json_load(r[1]) or {}, r[2], r[3], r[4]) for r in rows}


def set_base(db: Connection, entity_type: str, entity_id: str, base: Base) -> None:
    db.execute(
        "INSERT INTO sync_base(entity_type, entity_id, fields, version, etag, server_updated_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(entity_type, entity_id) DO UPDATE SET fields = excluded.fields, version = excluded.version, "
        "etag = excluded.etag, server_updated_at = excluded.server_updated_at",
        [entity_type, entity_id, json_dump(base.fields), base.version, base.etag, base.server_updated_at],
    )


def delete_base(db: Connection, entity_type: str, entity_id: str) -> None:
    db.execute("DELETE FROM sync_base WHERE entity_type = ? AND entity_id = ?", [entity_type, entity_id])


# -- conflicts -----------------------------------------------------------------------------


@dataclass(slots=True)
class ConflictRow:
    id: int
    workspace_id: str
    entity_type: str
    entity_id: str
    field: str
    base_value: Any
    mine_value: Any
    theirs_value: Any
    theirs_version: int | None
    created_at: int
    updated_at: int


_CONFLICT_COLS = (
    "id, workspace_id, entity_type, entity_id, field, base_value, mine_value, theirs_value, theirs_version, created_at, updated_at"
)


def _conflict(row: Sequence[Any]) -> ConflictRow:
    values = list(row)
    for i in (5, 6, 7):
        values[i] = json_load(values[i])
    return ConflictRow(*values)


def record_conflict(
    db: Connection, *, workspace_id: str, entity_type: str, entity_id: str, field: str, base: Any, mine: Any, theirs: Any,
    theirs_version: int | None, at: int,
) -> None:
    db.execute(
        "INSERT INTO sync_conflicts(workspace_id, entity_type, entity_id, field, base_value, mine_value, theirs_value, theirs_version, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(entity_type, entity_id, field) DO UPDATE SET "
        "mine_value = excluded.mine_value, theirs_value = excluded.theirs_value, theirs_version = excluded.theirs_version, "
        "updated_at = excluded.updated_at",
        [workspace_id, entity_type, entity_id, field, json_dump(base), json_dump(mine), json_dump(theirs), theirs_version, at, at],
    )


def open_conflicts(db: Connection, entity_type: str, entity_id: str) -> dict[str, ConflictRow]:
    rows = db.execute(
        f"SELECT {_CONFLICT_COLS} FROM sync_conflicts WHERE entity_type = ? AND entity_id = ?", [entity_type, entity_id]
    )
    return {c.field: c for c in map(_conflict, rows)}


def list_conflicts(db: Connection, workspace_id: str) -> list[ConflictRow]:
    rows = db.execute(f"SELECT {_CONFLICT_COLS} FROM sync_conflicts WHERE workspace_id = ? ORDER BY id", [workspace_id])
    return [_conflict(r) for r in rows]


def get_conflict(db: Connection, conflict_id: int) -> ConflictRow | None:
    row = db.execute(f"SELECT {_CONFLICT_COLS} FROM sync_conflicts WHERE id = ?", [conflict_id]).fetchone()
    return None if row is None else _conflict(row)


def delete_conflict(db: Connection, conflict_id: int) -> None:
    db.execute("DELETE FROM sync_conflicts WHERE id = ?", [conflict_id])


def count_conflicts(db: Connection, workspace_id: str) -> int:
    return db.execute("SELECT count(*) FROM sync_conflicts WHERE workspace_id = ?", [workspace_id]).fetchone()[0]


# -- id map --------------------------------------------------------------------------------


def map_id(db: Connection, local_id: str, remote_id: str, entity_type: str, at: int) -> None:
    db.execute(
        "INSERT OR REPLACE INTO sync_id_map(local_id, remote_id, entity_type, created_at) VALUES (?, ?, ?, ?)",
        [local_id, remote_id, entity_type, at],
    )


def remote_id_of(db: Connection, local_id: str) -> str | None:
    row = db.execute("SELECT remote_id FROM sync_id_map WHERE local_id = ?", [local_id]).fetchone()
    return None if row is None else row[0]


def is_mapped_remote(db: Connection, remote_id: str) -> bool:
    return db.execute("SELECT 1 FROM sync_id_map WHERE remote_id = ?", [remote_id]).fetchone() is not None
