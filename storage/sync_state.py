"""Sync state of a replica, the sending side: its outbox.

Invariants the rest of sync relies on:

- An outbox entry is written in the same transaction as the local change it carries (the
  services call ``sync.ops``' ``enqueue`` inside their ``store.write()`` block), and only for rows of a
  replica workspace (one that mirrors a remote): changes to local-only workspaces have no
  remote to reach, so they cost nothing extra.
- Every entry's ``Idempotency-Key`` is chosen here, at enqueue time, before any send.

Which ops exist and what their payloads hold is declared once, in the registry ``sync.ops`` and
the op types it names (the services enqueue through it); this module stores entries without
looking inside them, except for the pending patches' field names, which the pull's merge must
know.

The rest of the sync state lives beside it: the remotes in ``storage.sync_remotes``, base copies,
conflicts and the id map in ``storage.sync_merge_state`` (both re-exported here for the services
that reach them through this module), pull cursors in ``storage.sync_cursors``, and the
application of pulled rows in ``storage.sync_mirror``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage.annotations import get_annotation
from storage.rows import json_dump, json_load
from storage.sync_merge_state import (  # noqa: F401 - re-exported: callers reach these through sync_state
    Base,
    ConflictRow,
    bases,
    count_conflicts,
    delete_base,
    delete_conflict,
    get_base,
    get_conflict,
    is_mapped_remote,
    list_conflicts,
    map_id,
    open_conflicts,
    record_conflict,
    remote_id_of,
    set_base,
)
from storage.sync_remotes import (  # noqa: F401 - re-exported: callers reach these through sync_state
    Remote,
    add_remote,
    get_remote,
    is_replica,
    list_remotes,
    remote_of_workspace,
    remove_remote,
    update_remote,
)
from workbench.domain.merge import ANNOTATION_FIELDS
from workbench.domain.outbox import OpName
from workbench.domain.records import Annotation

# -- outbox --------------------------------------------------------------------------------


@dataclass(slots=True)
class Entry:
    seq: int
    workspace_id: str
    op: str
    entity_type: str
    entity_id: str
    local_id: str | None
    payload: dict[str, Any]
    idempotency_key: str
    state: str  # pending | refused
    attempts: int
    ambiguous: bool
    last_status: int | None
    last_error: str | None
    created_at: int
    updated_at: int


_ENTRY_COLS = (
    "seq, workspace_id, op, entity_type, entity_id, local_id, payload, idempotency_key, state, attempts, ambiguous, "
    "last_status, last_error, created_at, updated_at"
)


def _entry(row: Sequence[Any]) -> Entry:
    values = list(row)
    values[6] = json_load(values[6]) or {}
    values[10] = bool(values[10])
    return Entry(*values)


def enqueue(
    db: Connection,
    *,
    workspace_id: str,
    op: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any],
    at: int,
    local_id: str | None = None,
) -> int:
    """Append an entry; its Idempotency-Key is fixed now, before any send."""
    # RETURNING, not lastrowid: both engines answer it (psycopg has no lastrowid). fetchall ends the statement.
    ((seq,),) = db.execute(
        "INSERT INTO sync_outbox(workspace_id, op, entity_type, entity_id, local_id, payload, idempotency_key, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
        [workspace_id, op, entity_type, entity_id, local_id, json_dump(payload), f"wb-{uuid.uuid4()}", at, at],
    ).fetchall()
    return seq


def seed_base(db: Connection, before: Annotation) -> None:
    """Before a replica's first local change of an annotation: ``before`` (no base row means the
    row is the last server version) becomes the base the change is merged against."""
    db.execute(
        "INSERT OR IGNORE INTO sync_base(entity_type, entity_id, fields, version, server_updated_at) VALUES ('annotation', ?, ?, ?, ?)",
        [before.id, json_dump({f: getattr(before, f) for f in ANNOTATION_FIELDS}), before.version, before.updated_at],
    )


def entries(db: Connection, workspace_id: str, state: str | None = "pending") -> list[Entry]:
    if state is None:
        rows = db.execute(f"SELECT {_ENTRY_COLS} FROM sync_outbox WHERE workspace_id = ? ORDER BY seq", [workspace_id])
    else:
        rows = db.execute(
            f"SELECT {_ENTRY_COLS} FROM sync_outbox WHERE workspace_id = ? AND state = ? ORDER BY seq", [workspace_id, state]
        )
    return [_entry(r) for r in rows]


def last_entity_entry(db: Connection, entity_type: str, entity_id: str) -> Entry | None:
    """One row's newest entry in the outbox, in any state."""
    row = db.execute(
        f"SELECT {_ENTRY_COLS} FROM sync_outbox WHERE entity_type = ? AND entity_id = ? ORDER BY seq DESC LIMIT 1", [entity_type, entity_id]
    ).fetchone()
    return None if row is None else _entry(row)


def get_entry(db: Connection, seq: int) -> Entry | None:
    row = db.execute(f"SELECT {_ENTRY_COLS} FROM sync_outbox WHERE seq = ?", [seq]).fetchone()
    return None if row is None else _entry(row)


def update_entry(db: Connection, seq: int, **values: Any) -> None:
    if "payload" in values:
        values["payload"] = json_dump(values["payload"])
    if "ambiguous" in values:
        values["ambiguous"] = int(bool(values["ambiguous"]))
    sets = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE sync_outbox SET {sets} WHERE seq = ?", [*values.values(), seq])


def delete_entry(db: Connection, seq: int) -> None:
    db.execute("DELETE FROM sync_outbox WHERE seq = ?", [seq])


def count_entries(db: Connection, workspace_id: str) -> dict[str, int]:
    rows = db.execute("SELECT state, count(*) FROM sync_outbox WHERE workspace_id = ? GROUP BY state", [workspace_id])
    return dict(rows.fetchall())


def patch_fields_pending(db: Connection, annotation_id: str, exclude_seq: int | None = None) -> set[str]:
    """Fields named by the annotation's patch entries still in the outbox."""
    out: set[str] = set()
    for seq, payload in db.execute(
        "SELECT seq, payload FROM sync_outbox WHERE entity_type = 'annotation' AND entity_id = ? AND op = ?",
        [annotation_id, OpName.ANNOTATION_PATCH.value],
    ):
        if seq != exclude_seq:
            out.update((json_load(payload) or {}).get("fields", []))
    return out


def patch_entries(db: Connection, annotation_id: str) -> list[Entry]:
    """The annotation's patch entries in the outbox, oldest first."""
    rows = db.execute(
        f"SELECT {_ENTRY_COLS} FROM sync_outbox WHERE entity_type = 'annotation' AND entity_id = ? AND op = ? ORDER BY seq",
        [annotation_id, OpName.ANNOTATION_PATCH.value],
    )
    return [_entry(r) for r in rows]


def drop_base_if_settled(db: Connection, workspace_id: str, annotation_id: str) -> None:
    """Forget an annotation's base once nothing of it waits (no patch, no conflict) and the row
    equals it again: the row is then the server's version, as it is for every untouched row."""
    if patch_fields_pending(db, annotation_id) or open_conflicts(db, "annotation", annotation_id):
        return
    base = get_base(db, "annotation", annotation_id)
    local = get_annotation(db, workspace_id, annotation_id)
    if base is not None and local is not None and all(getattr(local, f) == base.fields.get(f) for f in ANNOTATION_FIELDS):
        delete_base(db, "annotation", annotation_id)


# -- the local rows an entry created (dropped when the entry is discarded or answered) -------


def delete_replies(db: Connection, ids: Iterable[str]) -> None:
    db.executemany("DELETE FROM replies WHERE id = ?", [(i,) for i in ids])


def delete_resolution(db: Connection, resolution_id: str) -> None:
    db.execute("DELETE FROM resolutions WHERE id = ?", [resolution_id])
