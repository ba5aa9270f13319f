"""Replica side of feedback sessions, their comments, studies, test sessions and notes.

The documented session APIs have no ``since`` and no versions, so these rows are mirrored:
the server's copy replaces the replica's, except for rows that still have a local change in
the outbox (those keep the local value until the change is pushed, refused or discarded).
Outbox entries for sessions are written by the services in the same transaction as the
change, like every other (through ``sync.ops``; replicas only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from sqlite3 import Connection

from storage import sync_merge_state as merge_state
from storage.rows import json_dump
from workbench.domain.session_records import FeedbackComment, FeedbackSession, Storefront, Study, TestNote, TestSession
from workbench.domain.statuses import ACTIVE_STATUSES, FINISHED_STATUSES

# The domain's status sets, as the strings stored; sorted so the SQL built from them is stable.
FINAL_FEEDBACK = tuple(sorted(s.value for s in FINISHED_STATUSES))
ACTIVE_FEEDBACK = tuple(sorted(s.value for s in ACTIVE_STATUSES))


def _pending(db: Connection, entity_type: str, entity_id: str) -> bool:
    return db.execute(
        "SELECT 1 FROM sync_outbox WHERE entity_type = ? AND entity_id = ? LIMIT 1", [entity_type, entity_id]
    ).fetchone() is not None


# -- mirroring -----------------------------------------------------------------------------


def ensure_store(db: Connection, store: Storefront) -> None:
    db.execute(
        "INSERT OR IGNORE INTO stores(id, workspace_id, name, ai_built, created_at) VALUES (?, ?, ?, ?, ?)",
        [store.id, store.workspace_id, store.name, int(store.ai_built), store.created_at],
    )


_FS_FIELDS = [f.name for f in dataclasses.fields(FeedbackSession)]


def apply_feedback_sessions(db: Connection, sessions: Sequence[FeedbackSession]) -> list[str]:
    """Upsert mirrored sessions (finished ones first, so "one active per store" holds on the way);
    returns the ids whose row changed. Rows with local changes waiting are left alone."""
    changed = []
    ordered = sorted(sessions, key=lambda s: s.status in ACTIVE_FEEDBACK)
    for s in ordered:
        if _pending(db, "feedback_session", s.id):
            continue
        cur = db.execute(
            "SELECT status, feedback_url, deployment_url, error_message, created_at, updated_at FROM feedback_sessions WHERE id = ?", [s.id]
        ).fetchone()
        values = (s.status, s.feedback_url, s.deployment_url, s.error_message, s.created_at, s.updated_at)
        if cur is not None and tuple(cur) == values:
            continue
        if s.status in ACTIVE_FEEDBACK:
            other = db.execute(
                f"SELECT id FROM feedback_sessions WHERE store_id = ? AND id != ? AND status IN ({', '.join('?' for _ in ACTIVE_FEEDBACK)})",
                [s.store_id, s.id, *ACTIVE_FEEDBACK],
            ).fetchone()
            if other is not None:
                continue  # the local copy of another round is still active (a change of it waits): next sync
        if cur is None:
            db.execute(
                f"INSERT INTO feedback_sessions ({', '.join(_FS_FIELDS)}) VALUES ({', '.join('?' for _ in _FS_FIELDS)})",
                [getattr(s, f) for f in _FS_FIELDS],
            )
        else:
            db.execute(
                "UPDATE feedback_sessions SET status = ?, feedback_url = ?, deployment_url = ?, error_message = ?, created_at = ?, "
                "updated_at = ?, version = version + 1 WHERE id = ?",
                [*values, s.id],
            )
        changed.append(s.id)
    return changed


def apply_feedback_comments(db: Connection, session_id: str, comments: Iterable[FeedbackComment], at: int) -> int:
    n = 0
    for c in comments:
        if _pending(db, "feedback_comment", c.id):
            continue
        cur = db.execute("SELECT content, page_path, status, task_instruction, created_at, resolved_at FROM feedback_comments WHERE id = ?", [c.id]).fetchone()
        if cur is None:
            db.execute(
                "INSERT INTO feedback_comments(id, session_id, content, page_path, status, task_instruction, created_at, resolved_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [c.id, session_id, c.content, c.page_path, c.status, c.task_instruction, c.created_at,
                 at if c.status == "resolved" else None, at],
            )
            n += 1
        elif tuple(cur[:5]) != (c.content, c.page_path, c.status, c.task_instruction, c.created_at):
            resolved_at = (cur[5] or at) if c.status == "resolved" else None
            db.execute(
                "UPDATE feedback_comments SET content = ?, page_path = ?, status = ?, task_instruction = ?, created_at = ?, "
                "resolved_at = ?, updated_at = ? WHERE id = ?",
                [c.content, c.page_path, c.status, c.task_instruction, c.created_at, resolved_at, at, c.id],
            )
            n += 1
    return n


def upsert_study(db: Connection, study: Study) -> None:
    db.execute(
        "INSERT INTO studies(id, workspace_id, name, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET name = excluded.name WHERE name IS NOT excluded.name",
        [study.id, study.workspace_id, study.name, study.created_at],
    )


_TS_MIRRORED = [
    "job_id", "tester_id", "variant", "status", "created_at", "started_at", "completed_at", "duration_seconds", "analysis",
    "analysis_error", "rating", "confirmed_at", "payout_queued",
]


def apply_test_sessions(db: Connection, sessions: Sequence[TestSession], at: int) -> list[str]:
    changed = []
    for s in sessions:
        if _pending(db, "test_session", s.id):
            continue
        values = [getattr(s, f) for f in _TS_MIRRORED]
        values[_TS_MIRRORED.index("analysis")] = json_dump(s.analysis)
        values[_TS_MIRRORED.index("payout_queued")] = int(s.payout_queued)
        cur = db.execute(f"SELECT {', '.join(_TS_MIRRORED)} FROM test_sessions WHERE id = ?", [s.id]).fetchone()
        if cur is not None and list(cur) == values:
            continue
        if cur is None:
            db.execute(
                f"INSERT INTO test_sessions (id, {', '.join(_TS_MIRRORED)}, updated_at) VALUES (?, {', '.join('?' for _ in _TS_MIRRORED)}, ?)",
                [s.id, *values, at],
            )
        else:
            sets = ", ".join(f"{f} = ?" for f in _TS_MIRRORED)
            db.execute(f"UPDATE test_sessions SET {sets}, updated_at = ?, version = version + 1 WHERE id = ?", [*values, at, s.id])
        changed.append(s.id)
    return changed


def apply_test_notes(db: Connection, session_id: str, notes: Iterable[TestNote], at: int) -> int:
    """Upsert the server's notes of a session (notes with a change waiting are left alone)."""
    if _pending(db, "test_session", session_id):
        return 0
    n = 0
    for note in notes:
        cur = db.execute("SELECT content, author_id, timestamp FROM test_notes WHERE id = ?", [note.id]).fetchone()
        if cur is None:
            db.execute(
                "INSERT INTO test_notes(id, session_id, content, author_id, timestamp, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                [note.id, session_id, note.content, note.author_id, note.timestamp, at],
            )
            n += 1
        elif tuple(cur) != (note.content, note.author_id, note.timestamp):
            open_conflict = merge_state.open_conflicts(db, "test_note", note.id).get("content")
            if open_conflict is not None:
                # The local words stay until the conflict is settled, as an annotation's field
                # does; what it offers as theirs is the server's latest.
                if note.content != open_conflict.theirs_value:
                    n += 1  # someone changed the words again: news, though they wait in the conflict
                merge_state.record_conflict(
                    db, workspace_id=open_conflict.workspace_id, entity_type="test_note", entity_id=note.id, field="content",
                    base=open_conflict.base_value, mine=open_conflict.mine_value, theirs=note.content, theirs_version=None, at=at,
                )
                continue
            db.execute("UPDATE test_notes SET content = ?, author_id = ?, timestamp = ?, updated_at = ? WHERE id = ?",
                       [note.content, note.author_id, note.timestamp, at, note.id])
            n += 1
    return n


def delete_notes(db: Connection, ids: Iterable[str]) -> None:
    db.executemany("DELETE FROM test_notes WHERE id = ?", [(i,) for i in ids])


def delete_feedback(db: Connection, feedback_id: str) -> None:
    db.execute("DELETE FROM tester_feedback WHERE id = ?", [feedback_id])


def test_session_ids(db: Connection, job_id: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM test_sessions WHERE job_id = ?", [job_id])]


def feedback_session_row(db: Connection, session_id: str) -> tuple[str, int] | None:
    row = db.execute("SELECT status, updated_at FROM feedback_sessions WHERE id = ?", [session_id]).fetchone()
    return None if row is None else (row[0], row[1])
