"""Workspaces a user belongs to in this store, and how much each holds (the switcher's list).

Counts come from the counts triggers keep (annotations per status, replies) and indexed
lookups (the rest), so listing every workspace costs the same at 1M annotations as at 10k.
"""

from __future__ import annotations

from dataclasses import dataclass
from sqlite3 import Connection


@dataclass(slots=True)
class WorkspaceRow:
    id: str
    name: str
    remote: str | None  # the remote whose replica this workspace is, if any
    remote_url: str | None
    annotations: int
    replies: int
    feedback_sessions: int
    test_sessions: int
    custom_personas: int


def list_for_user(db: Connection, user_id: str, *, with_counts: bool = True) -> list[WorkspaceRow]:
    """The workspaces ``user_id`` is a member of (not deleted), local ones first, each with its counts (or zeros)."""
    rows = db.execute(
        "SELECT w.id, w.name, r.name, r.url FROM workspaces w "
        "JOIN memberships m ON m.workspace_id = w.id AND m.user_id = ? "
        "LEFT JOIN sync_remotes r ON r.workspace_id = w.id "
        "WHERE w.deleted_at IS NULL ORDER BY r.name IS NOT NULL, w.created_at, w.id",
        [user_id],
    ).fetchall()
    return [WorkspaceRow(ws, name, remote, url, *(counts(db, ws) if with_counts else (0, 0, 0, 0, 0))) for ws, name, remote, url in rows]


def counts(db: Connection, workspace_id: str) -> tuple[int, int, int, int, int]:
    """(annotations, replies, feedback sessions, test sessions, custom personas) of one workspace."""
    def one(sql: str) -> int:
        row = db.execute(sql, [workspace_id]).fetchone()  # no row: a workspace no reply was ever written to
        return int(row[0] or 0) if row else 0

    return (
        one("SELECT sum(n) FROM annotation_status_counts WHERE workspace_id = ?"),
        one("SELECT n FROM reply_counts WHERE workspace_id = ?"),
        one("SELECT count(*) FROM feedback_sessions f JOIN stores s ON s.id = f.store_id WHERE s.workspace_id = ?"),
        one("SELECT count(*) FROM test_sessions t JOIN studies s ON s.id = t.job_id WHERE s.workspace_id = ?"),
        one("SELECT count(*) FROM personas WHERE workspace_id = ? AND is_default = 0"),
    )


def rename(db: Connection, workspace_id: str, name: str) -> None:
    db.execute("UPDATE workspaces SET name = ? WHERE id = ?", [name, workspace_id])
