"""Records of POST writes sent with an ``Idempotency-Key``, keyed by (scope, key), so a retry is answered once.

States:

- ``in_flight``: claimed by a running request (a concurrent retry gets 409). A row left in
  flight by a request no longer running wrote nothing (see ``applied``), so it may be claimed
  again: its server process died (another ``boot_id``, no longer live: see ``Store.boot_alive``),
  or it ended without its release (the disk refused that write too).
- ``applied``: the request's own write transaction committed. ``Claim.before_commit`` sets
  this inside that transaction (``storage.db.write_hook``), so a write and its record commit
  together: a crash between them cannot leave a write that a retry would apply again.
  ``audit_id`` is the first audit entry that transaction wrote (what it created or changed).
- ``done``: the response is stored (``response_body`` may be NULL: a response that carried a
  secret is never kept).

The scope is an opaque digest chosen by the server (credential, workspace, method, path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage.rows import json_load

RETENTION_MS = 24 * 3600 * 1000


@dataclass(slots=True)
class Stored:
    body_hash: str
    state: str
    status_code: int | None
    content_type: str | None
    response_body: bytes | None
    boot_id: str
    audit_id: int | None
    created_at: int


def claim(
    db: Connection, *, scope: str, key: str, method: str, path: str, body_hash: str, boot_id: str, at: int,
    still_running: Callable[[str], bool],
) -> Stored | None:
    """Claim the key for this request; returns the existing record when it was already claimed.

    ``still_running`` tells whether the request that left a claim in flight, by its server
    process's boot id, may still run: then it is a concurrent request (409), else a leftover."""
    row = db.execute(
        "SELECT body_hash, state, status_code, content_type, response_body, boot_id, audit_id, created_at "
        "FROM idempotency WHERE principal = ? AND key = ?",
        [scope, key],
    ).fetchone()
    if row is not None:
        stored = Stored(*row)
        if stored.state == "in_flight" and not still_running(stored.boot_id):
            # Its request ended before its write committed (that commit would have made it
            # ``applied``): nothing was written, so this request may run afresh.
            db.execute(
                "UPDATE idempotency SET body_hash=?, boot_id=?, created_at=? WHERE principal=? AND key=?",
                [body_hash, boot_id, at, scope, key],
            )
            return None
        return stored
    db.execute(
        "INSERT INTO idempotency(principal, key, method, path, body_hash, state, boot_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, 'in_flight', ?, ?)",
        [scope, key, method, path, body_hash, boot_id, at],
    )
    return None


def sweep(db: Connection, *, now: int) -> int:
    """Forget records older than the retention (a range on the created_at index)."""
    return db.execute("DELETE FROM idempotency WHERE created_at < ?", [now - RETENTION_MS]).rowcount


def complete(db: Connection, *, scope: str, key: str, status_code: int, content_type: str | None, body: bytes | None) -> None:
    db.execute(
        "UPDATE idempotency SET state='done', status_code=?, content_type=?, response_body=? WHERE principal=? AND key=?",
        [status_code, content_type, body, scope, key],
    )


def release(db: Connection, *, scope: str, key: str) -> None:
    """Forget a claim whose request wrote nothing (still in flight), so a retry can run."""
    db.execute("DELETE FROM idempotency WHERE principal = ? AND key = ? AND state = 'in_flight'", [scope, key])


def applied_entry(db: Connection, audit_id: int | None) -> dict[str, Any] | None:
    """What the applied request wrote, from its audit entry: action, entity and the ids in its detail."""
    if audit_id is None:
        return None
    row = db.execute("SELECT action, entity_type, entity_id, detail FROM audit WHERE id = ?", [audit_id]).fetchone()
    if row is None:
        return None
    detail = json_load(row[3]) or {}
    ids = {k: v for k, v in detail.items() if k.endswith("_id") and isinstance(v, str)}
    return {"action": row[0], "entity_type": row[1], "entity_id": row[2], **ids}


@dataclass(slots=True)
class Claim:
    """A claimed key, as the ``storage.db.write_hook`` of its request: marks it applied in each write."""

    scope: str
    key: str
    _audit_mark: int = 0
    applied: bool = False

    def begin(self, db: Connection) -> None:
        self._audit_mark = db.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0]

    def before_commit(self, db: Connection) -> None:
        first = db.execute("SELECT min(id) FROM audit WHERE id > ?", [self._audit_mark]).fetchone()[0]
        db.execute(
            "UPDATE idempotency SET state = CASE state WHEN 'in_flight' THEN 'applied' ELSE state END, "
            "audit_id = coalesce(audit_id, ?) WHERE principal = ? AND key = ?",
            [first, self.scope, self.key],
        )
        self.applied = True
