"""Applying the server's rows to a replica: annotations (merged where local changes wait),
replies, resolutions, sites and personas, and swapping pushed local rows for the server's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage import audit as audit_repo
from storage.annotations import _annotation_row
from storage.rows import json_dump, placeholders
from storage.sync_merge_state import Base, bases, delete_base, delete_conflict, map_id, open_conflicts, record_conflict, set_base
from storage.sync_state import patch_fields_pending
from workbench.domain.merge import ANNOTATION_FIELDS, merge
from workbench.domain.records import Annotation, Persona, Reply, Resolution, Site

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
    # Updated (counted in ``updated``) with no status, summary or assignee changed here: only the
    # server's version and time moved (a thread row, or the echo of a change pushed from here).
    unchanged_fields: list[str] = dataclasses.field(default_factory=list)


def apply_annotations(
    db: Connection, anns: Sequence[Annotation], *, at: int, sent: dict[str, dict[str, Any]] | None = None,
    etags: dict[str, str] | None = None, exclude_seq: int | None = None, audit_actor: str | None = None,
) -> Applied:
    """Bring server versions of annotations into the replica, merging where local changes wait.

    ``sent`` maps an annotation id to field values just pushed (their echo is no conflict);
    ``etags`` carries ETags the server returned; ``exclude_seq`` names an outbox entry the
    caller is completing in this transaction. With ``audit_actor`` (``sync:<remote>``) each
    field a server version changes here is recorded in the audit log as ``annotation.pulled``
    at the server's ``updated_at``, so the annotation's history shows changes made elsewhere.
    """
    out = Applied()
    if not anns:
        return out
    ids = [a.id for a in anns]
    marks = placeholders(ids)
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
            if (cur[1], cur[2], cur[3]) == (a.status, a.summary, a.assignee_id):
                out.unchanged_fields.append(a.id)
            if audit_actor:
                _record_pulled(db, a, cur, theirs, audit_actor)
            continue
        if base.server_updated_at != a.updated_at:
            out.thread_moved.append(a.id)
        conflicts, now = _merge_one(db, a, cur, base, theirs, at=at, sent=(sent or {}).get(a.id), etag=(etags or {}).get(a.id), exclude_seq=exclude_seq)
        out.conflicts += conflicts
        out.updated += 1
        if now == {"status": cur[1], "summary": cur[2], "assignee_id": cur[3]}:
            out.unchanged_fields.append(a.id)
        if audit_actor:
            _record_pulled(db, a, cur, now, audit_actor)
    if inserts:
        db.executemany(_ANN_INSERT, inserts)
        out.inserted = len(inserts)
    if replaces:
        db.executemany(_ANN_UPSERT, replaces)
        out.updated += len(replaces)
    return out


def _record_pulled(db: Connection, a: Annotation, cur: Sequence[Any], now: dict[str, Any], actor: str) -> None:
    """An audit row for the fields a server version changed in this replica (none: no row)."""
    before = {"status": cur[1], "summary": cur[2], "assignee_id": cur[3]}
    changes = {f: [before[f], now[f]] for f in ANNOTATION_FIELDS if before[f] != now[f]}
    if changes:
        audit_repo.record(
            db, workspace_id=a.workspace_id, at=a.updated_at, actor_id=actor, action="annotation.pulled",
            entity_type="annotation", entity_id=a.id, detail={"changes": changes, "version": a.version},
        )


def _merge_one(
    db: Connection, a: Annotation, cur: Sequence[Any], base: Base, theirs: dict[str, Any], *, at: int,
    sent: dict[str, Any] | None, etag: str | None, exclude_seq: int | None,
) -> tuple[int, dict[str, Any]]:
    """Merge one server version over local changes: (conflicts recorded, the field values now)."""
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
    db.execute(_ANN_UPSERT, _annotation_row(row))
    if merged.values == theirs and not still_open and not patch_fields_pending(db, a.id, exclude_seq):
        delete_base(db, "annotation", a.id)
    else:
        set_base(db, "annotation", a.id, Base(theirs, a.version, etag, a.updated_at))
    return len(merged.conflicts), merged.values


def set_annotation_etag(db: Connection, annotation_id: str, etag: str | None, version: int) -> None:
    db.execute(
        "UPDATE sync_base SET etag = ? WHERE entity_type = 'annotation' AND entity_id = ? AND version = ?",
        [etag, annotation_id, version],
    )


# Each row takes its annotation's site (the thread feed's ranges are per site, m037), and none is
# written for an annotation the replica does not hold.
_REPLY_FIELDS = [f.name for f in dataclasses.fields(Reply)]
_REPLY_INSERT = (
    f"INSERT INTO replies ({', '.join(_REPLY_FIELDS)}, site_id) SELECT {', '.join('?' for _ in _REPLY_FIELDS)}, a.site_id "
    "FROM annotations a WHERE a.id = ? AND NOT EXISTS (SELECT 1 FROM replies WHERE id = ?)"
)


def apply_replies(db: Connection, replies: Iterable[Reply]) -> int:
    """Insert server replies not yet present (replies never change); skips unknown annotations."""
    rows = [(*(getattr(r, f) for f in _REPLY_FIELDS), r.annotation_id, r.id) for r in replies]
    if not rows:
        return 0
    return max(0, db.executemany(_REPLY_INSERT, rows).rowcount)


_RES_FIELDS = [f.name for f in dataclasses.fields(Resolution)]
_RES_UPSERT = (
    f"INSERT INTO resolutions ({', '.join(_RES_FIELDS)}, site_id) SELECT {', '.join('?' for _ in _RES_FIELDS)}, a.site_id "
    "FROM annotations a WHERE a.id = ? ON CONFLICT(id) DO UPDATE SET "
    "notification_status = excluded.notification_status, notified_at = excluded.notified_at "
    "WHERE resolutions.notification_status IS NOT excluded.notification_status OR resolutions.notified_at IS NOT excluded.notified_at"
)


def apply_resolutions(db: Connection, resolutions: Iterable[Resolution]) -> int:
    rows = [(*(getattr(r, f) for f in _RES_FIELDS), r.annotation_id) for r in resolutions]
    if not rows:
        return 0
    return max(0, db.executemany(_RES_UPSERT, rows).rowcount)


def replace_local_reply(db: Connection, local_id: str, server: Reply, at: int) -> None:
    """A pushed reply came back with its server id: one row, the server's."""
    db.execute("DELETE FROM replies WHERE id = ?", [local_id])
    apply_replies(db, [server])
    map_id(db, local_id, server.id, "reply", at)


def replace_local_resolution(db: Connection, local_id: str, server: Resolution, at: int) -> None:
    db.execute("DELETE FROM resolutions WHERE id = ?", [local_id])
    apply_resolutions(db, [server])
    map_id(db, local_id, server.id, "resolution", at)


def rekey_upload(db: Connection, old_key: str, new_key: str) -> None:
    if old_key == new_key:
        return
    db.execute("DELETE FROM uploads WHERE key = ?", [new_key])
    db.execute("UPDATE uploads SET key = ? WHERE key = ?", [new_key, old_key])


def reply_ids(db: Connection, annotation_id: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM replies WHERE annotation_id = ?", [annotation_id])}


def resolution_ids(db: Connection, annotation_id: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM resolutions WHERE annotation_id = ?", [annotation_id])}


def upsert_site(db: Connection, site: Site) -> bool:
    """Insert or refresh a mirrored site (its secrets are the server's: placeholders here)."""
    cur = db.execute(
        "INSERT INTO sites (id, workspace_id, name, url, widget_token, mcp_token, mcp_token_hash, loader_secret_id, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, url = excluded.url, "
        "updated_at = excluded.updated_at WHERE name IS NOT excluded.name OR url IS NOT excluded.url OR updated_at IS NOT excluded.updated_at",
        [site.id, site.workspace_id, site.name, site.url, site.widget_token, site.mcp_token, site.mcp_token_hash,
         site.loader_secret_id, site.created_at, site.updated_at],
    )
    return cur.rowcount > 0


def mirror_personas(db: Connection, workspace_id: str, personas: Sequence[Persona]) -> int:
    """Make the replica's personas exactly the server's list (same ids); returns rows changed."""
    from storage.personas import _row  # the repository's own row encoding

    keep = [p.id for p in personas]
    before = db.total_changes
    if keep:
        marks = placeholders(keep)
        db.execute(f"DELETE FROM personas WHERE workspace_id = ? AND id NOT IN ({marks})", [workspace_id, *keep])
    else:
        db.execute("DELETE FROM personas WHERE workspace_id = ?", [workspace_id])
    fields = [f.name for f in dataclasses.fields(Persona)]
    sql = (
        f"INSERT INTO personas ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)}) ON CONFLICT(id) DO UPDATE SET "
        + ", ".join(f"{f} = excluded.{f}" for f in fields if f != "id")
        + " WHERE " + " OR ".join(f"{f} IS NOT excluded.{f}" for f in fields if f != "id")
    )
    db.executemany(sql, [_row(p) for p in personas])
    return db.total_changes - before
