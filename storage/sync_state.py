"""Sync state of a replica: remotes, the outbox, base copies, conflicts, pull cursors, the id map.

Invariants the rest of sync relies on:

- An outbox entry is written in the same transaction as the local change it carries (the
  services call ``enqueue_*`` inside their ``store.write()`` block), and only for rows of a
  replica workspace (one that mirrors a remote): changes to local-only workspaces have no
  remote to reach, so they cost nothing extra.
- Every entry's ``Idempotency-Key`` is chosen here, at enqueue time, before any send.
- A ``sync_base`` row exists for an annotation exactly while it has unpushed field changes or
  open conflicts. It holds the last server values of the mutable fields, so without a base
  row the local row *is* the last server version; that is why the base can be taken lazily
  from the row itself at the first local edit, and why the pull's fast path (no base row)
  can overwrite the local row outright.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from storage.annotations import _annotation_row
from storage.rows import json_dump, json_load
from workbench.domain.merge import ANNOTATION_FIELDS, merge
from workbench.domain.records import Annotation, Persona, Reply, Resolution, Site

# -- remotes -------------------------------------------------------------------------------


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


def add_remote(db: Database, name: str, url: str, at: int) -> None:
    db.execute(
        "INSERT INTO sync_remotes(name, url, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET url = excluded.url",
        [name, url, at],
    )


def get_remote(db: Database, name: str) -> Remote | None:
    row = db.execute(f"SELECT {_REMOTE_COLS} FROM sync_remotes WHERE name = ?", [name]).fetchone()
    return None if row is None else _remote(row)


def list_remotes(db: Database) -> list[Remote]:
    return [_remote(r) for r in db.execute(f"SELECT {_REMOTE_COLS} FROM sync_remotes ORDER BY created_at, name")]


def update_remote(db: Database, name: str, **values: Any) -> None:
    if "study_ids" in values:
        values["study_ids"] = json_dump(values["study_ids"])
    if "capabilities" in values:
        values["capabilities"] = json_dump(values["capabilities"])
    sets = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE sync_remotes SET {sets} WHERE name = ?", [*values.values(), name])


def remove_remote(db: Database, name: str) -> None:
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
    db.execute("DELETE FROM sync_remotes WHERE name = ?", [name])


def is_replica(db: Database, workspace_id: str) -> bool:
    """Whether this workspace mirrors a remote (its changes go to an outbox)."""
    return db.execute("SELECT 1 FROM sync_remotes WHERE workspace_id = ?", [workspace_id]).fetchone() is not None


def remote_of_workspace(db: Database, workspace_id: str) -> str | None:
    row = db.execute("SELECT name FROM sync_remotes WHERE workspace_id = ?", [workspace_id]).fetchone()
    return None if row is None else row[0]


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
    db: Database,
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
    cur = db.execute(
        "INSERT INTO sync_outbox(workspace_id, op, entity_type, entity_id, local_id, payload, idempotency_key, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [workspace_id, op, entity_type, entity_id, local_id, json_dump(payload), f"wb-{uuid.uuid4()}", at, at],
    )
    return int(cur.lastrowid)


def _mutable(ann: Annotation) -> dict[str, Any]:
    return {f: getattr(ann, f) for f in ANNOTATION_FIELDS}


def enqueue_annotation_patch(db: Database, before: Annotation, fields: Iterable[str], at: int) -> None:
    """A local triage change (status, summary, assignee) of ``before`` (the row as it was)."""
    if not is_replica(db, before.workspace_id):
        return
    # No base row means the row is the last server version: that is the base.
    db.execute(
        "INSERT OR IGNORE INTO sync_base(entity_type, entity_id, fields, version, server_updated_at) VALUES ('annotation', ?, ?, ?, ?)",
        [before.id, json_dump(_mutable(before)), before.version, before.updated_at],
    )
    enqueue(
        db, workspace_id=before.workspace_id, op="annotation.patch", entity_type="annotation", entity_id=before.id,
        payload={"fields": sorted(fields)}, at=at,
    )


def enqueue_reply(db: Database, reply: Reply, at: int) -> None:
    if not is_replica(db, reply.workspace_id):
        return
    enqueue(
        db, workspace_id=reply.workspace_id, op="annotation.reply", entity_type="annotation", entity_id=reply.annotation_id,
        local_id=reply.id, payload={"body": reply.body, "author_name": reply.author_name}, at=at,
    )


def enqueue_resolution(db: Database, res: Resolution, at: int) -> None:
    if not is_replica(db, res.workspace_id):
        return
    enqueue(
        db, workspace_id=res.workspace_id, op="annotation.resolution", entity_type="annotation", entity_id=res.annotation_id,
        local_id=res.id,
        payload={"before_key": res.before_key, "after_key": res.after_key, "diff_url": res.diff_url, "explanation": res.explanation},
        at=at,
    )


def enqueue_run_personas(db: Database, ann: Annotation, persona_ids: list[str], reply_ids: list[str], at: int) -> None:
    if not is_replica(db, ann.workspace_id):
        return
    enqueue(
        db, workspace_id=ann.workspace_id, op="annotation.run_personas", entity_type="annotation", entity_id=ann.id,
        payload={"persona_ids": persona_ids, "reply_ids": reply_ids}, at=at,
    )


def entries(db: Database, workspace_id: str, state: str | None = "pending") -> list[Entry]:
    if state is None:
        rows = db.execute(f"SELECT {_ENTRY_COLS} FROM sync_outbox WHERE workspace_id = ? ORDER BY seq", [workspace_id])
    else:
        rows = db.execute(
            f"SELECT {_ENTRY_COLS} FROM sync_outbox WHERE workspace_id = ? AND state = ? ORDER BY seq", [workspace_id, state]
        )
    return [_entry(r) for r in rows]


def get_entry(db: Database, seq: int) -> Entry | None:
    row = db.execute(f"SELECT {_ENTRY_COLS} FROM sync_outbox WHERE seq = ?", [seq]).fetchone()
    return None if row is None else _entry(row)


def update_entry(db: Database, seq: int, **values: Any) -> None:
    if "payload" in values:
        values["payload"] = json_dump(values["payload"])
    if "ambiguous" in values:
        values["ambiguous"] = int(bool(values["ambiguous"]))
    sets = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"UPDATE sync_outbox SET {sets} WHERE seq = ?", [*values.values(), seq])


def delete_entry(db: Database, seq: int) -> None:
    db.execute("DELETE FROM sync_outbox WHERE seq = ?", [seq])


def count_entries(db: Database, workspace_id: str) -> dict[str, int]:
    rows = db.execute("SELECT state, count(*) FROM sync_outbox WHERE workspace_id = ? GROUP BY state", [workspace_id])
    return dict(rows.fetchall())


def has_patch_entries(db: Database, annotation_id: str) -> bool:
    return (
        db.execute(
            "SELECT 1 FROM sync_outbox WHERE entity_type = 'annotation' AND entity_id = ? AND op = 'annotation.patch'",
            [annotation_id],
        ).fetchone()
        is not None
    )


def patch_fields_pending(db: Database, annotation_id: str, exclude_seq: int | None = None) -> set[str]:
    """Fields named by the annotation's patch entries still in the outbox."""
    out: set[str] = set()
    for seq, payload in db.execute(
        "SELECT seq, payload FROM sync_outbox WHERE entity_type = 'annotation' AND entity_id = ? AND op = 'annotation.patch'",
        [annotation_id],
    ):
        if seq != exclude_seq:
            out.update((json_load(payload) or {}).get("fields", []))
    return out


# -- base copies ---------------------------------------------------------------------------


@dataclass(slots=True)
class Base:
    fields: dict[str, Any]
    version: int | None
    etag: str | None
    server_updated_at: int | None


def get_base(db: Database, entity_type: str, entity_id: str) -> Base | None:
    row = db.execute(
        "SELECT fields, version, etag, server_updated_at FROM sync_base WHERE entity_type = ? AND entity_id = ?",
        [entity_type, entity_id],
    ).fetchone()
    return None if row is None else Base(json_load(row[0]) or {}, row[1], row[2], row[3])


def bases(db: Database, entity_type: str, ids: Sequence[str]) -> dict[str, Base]:
    if not ids or db.execute("SELECT 1 FROM sync_base LIMIT 1").fetchone() is None:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = db.execute(
        f"SELECT entity_id, fields, version, etag, server_updated_at FROM sync_base WHERE entity_type = ? AND entity_id IN ({marks})",
        [entity_type, *ids],
    )
    return {r[0]: Base(json_load(r[1]) or {}, r[2], r[3], r[4]) for r in rows}


def set_base(db: Database, entity_type: str, entity_id: str, base: Base) -> None:
    db.execute(
        "INSERT INTO sync_base(entity_type, entity_id, fields, version, etag, server_updated_at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(entity_type, entity_id) DO UPDATE SET fields = excluded.fields, version = excluded.version, "
        "etag = excluded.etag, server_updated_at = excluded.server_updated_at",
        [entity_type, entity_id, json_dump(base.fields), base.version, base.etag, base.server_updated_at],
    )


def delete_base(db: Database, entity_type: str, entity_id: str) -> None:
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
    db: Database, *, workspace_id: str, entity_type: str, entity_id: str, field: str, base: Any, mine: Any, theirs: Any,
    theirs_version: int | None, at: int,
) -> None:
    db.execute(
        "INSERT INTO sync_conflicts(workspace_id, entity_type, entity_id, field, base_value, mine_value, theirs_value, theirs_version, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(entity_type, entity_id, field) DO UPDATE SET "
        "mine_value = excluded.mine_value, theirs_value = excluded.theirs_value, theirs_version = excluded.theirs_version, "
        "updated_at = excluded.updated_at",
        [workspace_id, entity_type, entity_id, field, json_dump(base), json_dump(mine), json_dump(theirs), theirs_version, at, at],
    )


def open_conflicts(db: Database, entity_type: str, entity_id: str) -> dict[str, ConflictRow]:
    rows = db.execute(
        f"SELECT {_CONFLICT_COLS} FROM sync_conflicts WHERE entity_type = ? AND entity_id = ?", [entity_type, entity_id]
    )
    return {c.field: c for c in map(_conflict, rows)}


def list_conflicts(db: Database, workspace_id: str) -> list[ConflictRow]:
    rows = db.execute(f"SELECT {_CONFLICT_COLS} FROM sync_conflicts WHERE workspace_id = ? ORDER BY id", [workspace_id])
    return [_conflict(r) for r in rows]


def get_conflict(db: Database, conflict_id: int) -> ConflictRow | None:
    row = db.execute(f"SELECT {_CONFLICT_COLS} FROM sync_conflicts WHERE id = ?", [conflict_id]).fetchone()
    return None if row is None else _conflict(row)


def delete_conflict(db: Database, conflict_id: int) -> None:
    db.execute("DELETE FROM sync_conflicts WHERE id = ?", [conflict_id])


def count_conflicts(db: Database, workspace_id: str) -> int:
    return db.execute("SELECT count(*) FROM sync_conflicts WHERE workspace_id = ?", [workspace_id]).fetchone()[0]


# -- pull cursors --------------------------------------------------------------------------


@dataclass(slots=True)
class PullState:
    watermark: int | None  # `since` of the next run (None: never completed, pull everything)
    run_since: int | None  # an interrupted run: the `since` it used ...
    run_next: int | None  # ... the watermark it will leave when it completes ...
    run_cursor: str | None  # ... and the cursor of the next page to fetch
    in_run: bool = False


def get_pull(db: Database, remote: str, resource: str) -> PullState:
    row = db.execute(
        "SELECT watermark, run_since, run_next, run_cursor, run_next IS NOT NULL FROM sync_cursors WHERE remote = ? AND resource = ?",
        [remote, resource],
    ).fetchone()
    return PullState(None, None, None, None) if row is None else PullState(row[0], row[1], row[2], row[3], bool(row[4]))


def save_pull(db: Database, remote: str, resource: str, state: PullState) -> None:
    db.execute(
        "INSERT INTO sync_cursors(remote, resource, watermark, run_since, run_next, run_cursor) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(remote, resource) DO UPDATE SET watermark = excluded.watermark, run_since = excluded.run_since, "
        "run_next = excluded.run_next, run_cursor = excluded.run_cursor",
        [remote, resource, state.watermark, state.run_since, state.run_next if state.in_run else None, state.run_cursor],
    )


# -- id map --------------------------------------------------------------------------------


def map_id(db: Database, local_id: str, remote_id: str, entity_type: str, at: int) -> None:
    db.execute(
        "INSERT OR REPLACE INTO sync_id_map(local_id, remote_id, entity_type, created_at) VALUES (?, ?, ?, ?)",
        [local_id, remote_id, entity_type, at],
    )


def remote_id_of(db: Database, local_id: str) -> str | None:
    row = db.execute("SELECT remote_id FROM sync_id_map WHERE local_id = ?", [local_id]).fetchone()
    return None if row is None else row[0]


def is_mapped_remote(db: Database, remote_id: str) -> bool:
    return db.execute("SELECT 1 FROM sync_id_map WHERE remote_id = ?", [remote_id]).fetchone() is not None


# -- applying the server's rows to the replica ---------------------------------------------

_ANN_FIELDS = [f.name for f in dataclasses.fields(Annotation)]
_ANN_UPSERT = (
    f"INSERT INTO annotations ({', '.join(_ANN_FIELDS)}) VALUES ({', '.join('?' for _ in _ANN_FIELDS)}) "
    "ON CONFLICT(id) DO UPDATE SET " + ", ".join(f"{f} = excluded.{f}" for f in _ANN_FIELDS if f != "id")
)
_ANN_INSERT = f"INSERT INTO annotations ({', '.join(_ANN_FIELDS)}) VALUES ({', '.join('?' for _ in _ANN_FIELDS)})"


@dataclass(slots=True)
class Applied:
    inserted: int = 0
    updated: int = 0
    conflicts: int = 0
    thread_moved: list[str] = dataclasses.field(default_factory=list)  # server updated_at moved: thread may have changed


def apply_annotations(
    db: Database, anns: Sequence[Annotation], *, at: int, sent: dict[str, dict[str, Any]] | None = None,
    etags: dict[str, str] | None = None, exclude_seq: int | None = None,
) -> Applied:
    """Bring server versions of annotations into the replica, merging where local changes wait.

    ``sent`` maps an annotation id to field values just pushed (their echo is no conflict);
    ``etags`` carries ETags the server returned; ``exclude_seq`` names an outbox entry the
    caller is completing in this transaction.
    """
    out = Applied()
    if not anns:
        return out
    ids = [a.id for a in anns]
    marks = ", ".join("?" for _ in ids)
    local = {
        r[0]: r
        for r in db.execute(
            f"SELECT id, status, summary, assignee_id, updated_at, version FROM annotations WHERE id IN ({marks})", ids
        )
    }
    base_rows = bases(db, "annotation", ids)
    inserts: list[tuple] = []
    replaces: list[tuple] = []
    for a in anns:
        cur = local.get(a.id)
        if cur is None:
            inserts.append(_annotation_row(a))
            out.thread_moved.append(a.id)
            continue
        base = base_rows.get(a.id)
        theirs = {f: getattr(a, f) for f in ANNOTATION_FIELDS}
        if base is None:
            if cur[5] == a.version and cur[4] == a.updated_at and (cur[1], cur[2], cur[3]) == (a.status, a.summary, a.assignee_id):
                continue
            if cur[4] != a.updated_at:
                out.thread_moved.append(a.id)
            replaces.append(_annotation_row(a))
            continue
        if base.server_updated_at != a.updated_at:
            out.thread_moved.append(a.id)
        out.conflicts += _merge_one(db, a, cur, base, theirs, at=at, sent=(sent or {}).get(a.id), etag=(etags or {}).get(a.id), exclude_seq=exclude_seq)
        out.updated += 1
    if inserts:
        db.conn.executemany(_ANN_INSERT, inserts)
        out.inserted = len(inserts)
    if replaces:
        db.conn.executemany(_ANN_UPSERT, replaces)
        out.updated += len(replaces)
    return out


def _merge_one(
    db: Database, a: Annotation, cur: Sequence[Any], base: Base, theirs: dict[str, Any], *, at: int,
    sent: dict[str, Any] | None, etag: str | None, exclude_seq: int | None,
) -> int:
    mine = {"status": cur[1], "summary": cur[2], "assignee_id": cur[3]}
    base_fields = dict(base.fields)
    if sent:
        base_fields.update(sent)
    merged = merge(base_fields, mine, theirs, ANNOTATION_FIELDS)
    existing = open_conflicts(db, "annotation", a.id)
    for name, (m, t) in merged.conflicts.items():
        record_conflict(
            db, workspace_id=a.workspace_id, entity_type="annotation", entity_id=a.id, field=name,
            base=existing[name].base_value if name in existing else base_fields.get(name), mine=m, theirs=t,
            theirs_version=a.version, at=at,
        )
    still_open = set(merged.conflicts)
    for name, c in existing.items():
        if name in merged.conflicts:
            continue
        if merged.values[name] == theirs[name]:
            delete_conflict(db, c.id)  # both sides agree now
        else:
            still_open.add(name)
            db.execute(
                "UPDATE sync_conflicts SET theirs_value = ?, theirs_version = ?, updated_at = ? WHERE id = ?",
                [json_dump(theirs[name]), a.version, at, c.id],
            )
    row = dataclasses.replace(a, **merged.values)
    db.conn.execute(_ANN_UPSERT, _annotation_row(row))
    if merged.values == theirs and not still_open and not patch_fields_pending(db, a.id, exclude_seq):
        delete_base(db, "annotation", a.id)
    else:
        set_base(db, "annotation", a.id, Base(theirs, a.version, etag, a.updated_at))
    return len(merged.conflicts)


def set_annotation_etag(db: Database, annotation_id: str, etag: str | None, version: int) -> None:
    db.execute(
        "UPDATE sync_base SET etag = ? WHERE entity_type = 'annotation' AND entity_id = ? AND version = ?",
        [etag, annotation_id, version],
    )


_REPLY_FIELDS = [f.name for f in dataclasses.fields(Reply)]
_REPLY_INSERT = (
    f"INSERT INTO replies ({', '.join(_REPLY_FIELDS)}) SELECT {', '.join('?' for _ in _REPLY_FIELDS)} "
    "WHERE EXISTS (SELECT 1 FROM annotations WHERE id = ?) AND NOT EXISTS (SELECT 1 FROM replies WHERE id = ?)"
)


def apply_replies(db: Database, replies: Iterable[Reply]) -> int:
    """Insert server replies not yet present (replies never change); skips unknown annotations."""
    rows = [(*(getattr(r, f) for f in _REPLY_FIELDS), r.annotation_id, r.id) for r in replies]
    if not rows:
        return 0
    return max(0, db.conn.executemany(_REPLY_INSERT, rows).rowcount)


_RES_FIELDS = [f.name for f in dataclasses.fields(Resolution)]
_RES_UPSERT = (
    f"INSERT INTO resolutions ({', '.join(_RES_FIELDS)}) SELECT {', '.join('?' for _ in _RES_FIELDS)} "
    "WHERE EXISTS (SELECT 1 FROM annotations WHERE id = ?) ON CONFLICT(id) DO UPDATE SET "
    "notification_status = excluded.notification_status, notified_at = excluded.notified_at "
    "WHERE notification_status IS NOT excluded.notification_status OR notified_at IS NOT excluded.notified_at"
)


def apply_resolutions(db: Database, resolutions: Iterable[Resolution]) -> int:
    rows = [(*(getattr(r, f) for f in _RES_FIELDS), r.annotation_id) for r in resolutions]
    if not rows:
        return 0
    return max(0, db.conn.executemany(_RES_UPSERT, rows).rowcount)


def replace_local_reply(db: Database, local_id: str, server: Reply, at: int) -> None:
    """A pushed reply came back with its server id: one row, the server's."""
    db.execute("DELETE FROM replies WHERE id = ?", [local_id])
    apply_replies(db, [server])
    map_id(db, local_id, server.id, "reply", at)


def replace_local_resolution(db: Database, local_id: str, server: Resolution, at: int) -> None:
    db.execute("DELETE FROM resolutions WHERE id = ?", [local_id])
    apply_resolutions(db, [server])
    map_id(db, local_id, server.id, "resolution", at)


def rekey_upload(db: Database, old_key: str, new_key: str) -> None:
    if old_key == new_key:
        return
    db.execute("DELETE FROM uploads WHERE key = ?", [new_key])
    db.execute("UPDATE uploads SET key = ? WHERE key = ?", [new_key, old_key])


def reply_ids(db: Database, annotation_id: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM replies WHERE annotation_id = ?", [annotation_id])}


def resolution_ids(db: Database, annotation_id: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM resolutions WHERE annotation_id = ?", [annotation_id])}


def delete_replies(db: Database, ids: Iterable[str]) -> None:
    db.conn.executemany("DELETE FROM replies WHERE id = ?", [(i,) for i in ids])


def delete_resolution(db: Database, resolution_id: str) -> None:
    db.execute("DELETE FROM resolutions WHERE id = ?", [resolution_id])


def upsert_site(db: Database, site: Site) -> bool:
    """Insert or refresh a mirrored site (its secrets are the server's: placeholders here)."""
    cur = db.execute(
        "INSERT INTO sites (id, workspace_id, name, url, widget_token, mcp_token, mcp_token_hash, loader_secret_id, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, url = excluded.url, "
        "updated_at = excluded.updated_at WHERE name IS NOT excluded.name OR url IS NOT excluded.url OR updated_at IS NOT excluded.updated_at",
        [site.id, site.workspace_id, site.name, site.url, site.widget_token, site.mcp_token, site.mcp_token_hash,
         site.loader_secret_id, site.created_at, site.updated_at],
    )
    return cur.rowcount > 0


def mirror_personas(db: Database, workspace_id: str, personas: Sequence[Persona]) -> int:
    """Make the replica's personas exactly the server's list (same ids); returns rows changed."""
    from storage.personas import _row  # the repository's own row encoding

    keep = [p.id for p in personas]
    before = db.conn.total_changes
    if keep:
        marks = ", ".join("?" for _ in keep)
        db.execute(f"DELETE FROM personas WHERE workspace_id = ? AND id NOT IN ({marks})", [workspace_id, *keep])
    else:
        db.execute("DELETE FROM personas WHERE workspace_id = ?", [workspace_id])
    fields = [f.name for f in dataclasses.fields(Persona)]
    sql = (
        f"INSERT INTO personas ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)}) ON CONFLICT(id) DO UPDATE SET "
        + ", ".join(f"{f} = excluded.{f}" for f in fields if f != "id")
        + " WHERE " + " OR ".join(f"{f} IS NOT excluded.{f}" for f in fields if f != "id")
    )
    db.conn.executemany(sql, [_row(p) for p in personas])
    return db.conn.total_changes - before


# -- work left by an interrupted pull ------------------------------------------------------


def add_todo(db: Database, remote: str, kind: str, ids: Iterable[str]) -> None:
    db.conn.executemany("INSERT OR IGNORE INTO sync_todo(remote, kind, entity_id) VALUES (?, ?, ?)", [(remote, kind, i) for i in ids])


def todo(db: Database, remote: str, kind: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT entity_id FROM sync_todo WHERE remote = ? AND kind = ? ORDER BY entity_id", [remote, kind])]


def done_todo(db: Database, remote: str, kind: str, entity_id: str) -> None:
    db.execute("DELETE FROM sync_todo WHERE remote = ? AND kind = ? AND entity_id = ?", [remote, kind, entity_id])


def get_digest(db: Database, remote: str, resource: str) -> str | None:
    """The digest of the last applied copy of a small, unpaged resource (sites, personas)."""
    row = db.execute("SELECT run_cursor FROM sync_cursors WHERE remote = ? AND resource = ?", [remote, f"digest:{resource}"]).fetchone()
    return None if row is None else row[0]


def set_digest(db: Database, remote: str, resource: str, digest: str) -> None:
    db.execute(
        "INSERT INTO sync_cursors(remote, resource, run_cursor) VALUES (?, ?, ?) "
        "ON CONFLICT(remote, resource) DO UPDATE SET run_cursor = excluded.run_cursor",
        [remote, f"digest:{resource}", digest],
    )
