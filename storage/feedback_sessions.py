"""Repository of stores, their API keys, feedback sessions and the reviewers' comments.

Sessions list newest first on (created_at, rowid) with offset paging, as the document asks;
rowid (insertion order) breaks ties between sessions started in the same millisecond.
Every session lookup that serves a caller is scoped by store id, so a session of another
store reads exactly like one that does not exist.
"""

from __future__ import annotations

import dataclasses
import hashlib
from sqlite3 import Connection
from typing import Any

from storage.rows import columns, fetch_all, fetch_one, insert, placeholders, update_fields
from workbench.domain.session_records import FeedbackComment, FeedbackSession, StoreApiKey, Storefront

_STORE = columns(Storefront)
_KEY = columns(StoreApiKey)
_SESSION = columns(FeedbackSession)
_COMMENT = columns(FeedbackComment)
_AI_BUILT_AT = [f.name for f in dataclasses.fields(Storefront)].index("ai_built")


def _store(*row: Any) -> Storefront:  # sqlite3 rows are untyped; the field order is the schema
    values = list(row)
    values[_AI_BUILT_AT] = bool(values[_AI_BUILT_AT])
    return Storefront(*values)


# -- stores and keys -----------------------------------------------------------------------
def add_store(db: Connection, store: Storefront) -> None:
    insert(db, "stores", store, encode={"ai_built": int})


def get_store(db: Connection, store_id: str) -> Storefront | None:
    return fetch_one(db, _store, f"SELECT {_STORE} FROM stores WHERE id = ?", [store_id])


def list_stores(db: Connection, workspace_id: str) -> list[Storefront]:
    return fetch_all(db, _store, f"SELECT {_STORE} FROM stores WHERE workspace_id = ? ORDER BY created_at, id", [workspace_id])


def add_key(db: Connection, key: StoreApiKey) -> None:
    insert(db, "store_api_keys", key)


def key_by_hash(db: Connection, key_hash: str) -> StoreApiKey | None:
    return fetch_one(db, StoreApiKey, f"SELECT {_KEY} FROM store_api_keys WHERE key_hash = ?", [key_hash])


def list_keys(db: Connection, store_id: str) -> list[StoreApiKey]:
    return fetch_all(db, StoreApiKey, f"SELECT {_KEY} FROM store_api_keys WHERE store_id = ? ORDER BY created_at, id", [store_id])


def revoke_key(db: Connection, key_id: str, at: int) -> None:
    db.execute("UPDATE store_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at, key_id])


# -- sessions ------------------------------------------------------------------------------
def add_session(db: Connection, session: FeedbackSession) -> None:
    insert(db, "feedback_sessions", session)


def get_session(db: Connection, store_id: str, session_id: str) -> FeedbackSession | None:
    return fetch_one(
        db, FeedbackSession, f"SELECT {_SESSION} FROM feedback_sessions WHERE id = ? AND store_id = ?", [session_id, store_id]
    )


def get_session_any(db: Connection, session_id: str) -> FeedbackSession | None:
    """Unscoped: for background jobs and the review-token check, never for a store caller."""
    return fetch_one(db, FeedbackSession, f"SELECT {_SESSION} FROM feedback_sessions WHERE id = ?", [session_id])


def active_session(db: Connection, store_id: str, active_statuses: list[str]) -> FeedbackSession | None:
    marks = placeholders(active_statuses)
    return fetch_one(
        db,
        FeedbackSession,
        f"SELECT {_SESSION} FROM feedback_sessions WHERE store_id = ? AND status IN ({marks}) ORDER BY created_at DESC LIMIT 1",
        [store_id, *active_statuses],
    )


def _where(store_id: str, status: str | None) -> tuple[str, list[object]]:
    if status is None:
        return "store_id = ?", [store_id]
    return "store_id = ? AND status = ?", [store_id, status]


def list_sessions_sql(store_id: str, *, status: str | None, limit: int, offset: int) -> tuple[str, list[object]]:
    """The SELECT ``list_sessions`` runs (tests read its plan): one (store[, status], created_at) index, backwards.

    The skipped ``offset`` rows are index entries only: the filter columns are in the index.
    """
    where, params = _where(store_id, status)
    sql = f"SELECT {_SESSION} FROM feedback_sessions WHERE {where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
    return sql, [*params, limit, offset]


def list_sessions(db: Connection, store_id: str, *, status: str | None, limit: int, offset: int) -> list[FeedbackSession]:
    sql, params = list_sessions_sql(store_id, status=status, limit=limit, offset=offset)
    return fetch_all(db, FeedbackSession, sql, params)


def count_sessions(db: Connection, store_id: str, *, status: str | None) -> int:
    where, params = _where(store_id, status)
    return db.execute(f"SELECT count(*) FROM feedback_sessions WHERE {where}", params).fetchone()[0]


def session_ids_in_status(db: Connection, status: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM feedback_sessions WHERE status = ? ORDER BY created_at, id", [status])]


def update_session(db: Connection, session_id: str, values: dict[str, object]) -> None:
    """Set ``values`` and bump the version (optimistic-concurrency counter for sync)."""
    if not values:
        return
    sets = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"UPDATE feedback_sessions SET {sets}, version = version + 1 WHERE id = ?", [*values.values(), session_id])


# -- comments ------------------------------------------------------------------------------
def add_comment(db: Connection, comment: FeedbackComment) -> None:
    insert(db, "feedback_comments", comment)


def get_comment(db: Connection, session_id: str, comment_id: str) -> FeedbackComment | None:
    return fetch_one(
        db, FeedbackComment, f"SELECT {_COMMENT} FROM feedback_comments WHERE id = ? AND session_id = ?", [comment_id, session_id]
    )


def list_comments(db: Connection, session_id: str) -> list[FeedbackComment]:
    return fetch_all(
        db, FeedbackComment, f"SELECT {_COMMENT} FROM feedback_comments WHERE session_id = ? ORDER BY created_at, rowid", [session_id]
    )


def update_comment(db: Connection, comment_id: str, values: dict[str, object]) -> None:
    update_fields(db, "feedback_comments", "id", comment_id, values)


def tree_digest(db: Connection, store_id: str) -> str:
    """A digest of every session of the store and every comment of theirs: it changes exactly
    when any of them does (the bundled server's list ETag, covering the comments too)."""
    # Not the review token: a secret has no place in a value handed to clients, and it never changes.
    public = ", ".join(c for c in _SESSION.split(", ") if c != "review_token")
    sessions = db.execute(f"SELECT {public} FROM feedback_sessions WHERE store_id = ? ORDER BY id", [store_id]).fetchall()
    comments = db.execute(
        f"SELECT {columns(FeedbackComment, 'c.')} FROM feedback_comments c JOIN feedback_sessions s ON s.id = c.session_id "
        "WHERE s.store_id = ? ORDER BY c.id",
        [store_id],
    ).fetchall()
    return hashlib.blake2b(repr((sessions, comments)).encode(), digest_size=16).hexdigest()
