"""Stored responses of POST writes, keyed by (caller, Idempotency-Key), so a retry replays them.

States: ``in_flight`` while the first request runs (a concurrent retry gets 409), ``done``
with the stored response. An in-flight row left by a server process that died (another
``boot_id``) is abandoned and may be claimed again.
"""

from __future__ import annotations

from dataclasses import dataclass
from sqlite3 import Connection

RETENTION_MS = 24 * 3600 * 1000


@dataclass(slots=True)
class Stored:
    method: str
    path: str
    body_hash: str
    state: str
    status_code: int | None
    content_type: str | None
    response_body: bytes | None
    boot_id: str


def claim(db: Connection, *, principal: str, key: str, method: str, path: str, body_hash: str, boot_id: str, at: int) -> Stored | None:
    """Claim the key for this request; returns the existing row when it was already claimed."""
    db.execute("DELETE FROM idempotency WHERE created_at < ?", [at - RETENTION_MS])
    row = db.execute(
        "SELECT method, path, body_hash, state, status_code, content_type, response_body, boot_id "
        "FROM idempotency WHERE principal = ? AND key = ?",
        [principal, key],
    ).fetchone()
    if row is not None:
        stored = Stored(*row)
        if stored.state == "in_flight" and stored.boot_id != boot_id:
            # Its server died mid-request: the write either committed or not; claim afresh.
            db.execute(
                "UPDATE idempotency SET method=?, path=?, body_hash=?, boot_id=?, created_at=? WHERE principal=? AND key=?",
                [method, path, body_hash, boot_id, at, principal, key],
            )
            return None
        return stored
    db.execute(
        "INSERT INTO idempotency(principal, key, method, path, body_hash, state, boot_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, 'in_flight', ?, ?)",
        [principal, key, method, path, body_hash, boot_id, at],
    )
    return None


def complete(db: Connection, *, principal: str, key: str, status_code: int, content_type: str | None, body: bytes) -> None:
    db.execute(
        "UPDATE idempotency SET state='done', status_code=?, content_type=?, response_body=? WHERE principal=? AND key=?",
        [status_code, content_type, body, principal, key],
    )


def release(db: Connection, *, principal: str, key: str) -> None:
    """Forget a claim whose request failed before doing anything, so a retry can run."""
    db.execute("DELETE FROM idempotency WHERE principal = ? AND key = ? AND state = 'in_flight'", [principal, key])
