"""The audit log: who did what to which entity, written in the same transaction as the change."""

from __future__ import annotations

from sqlite3 import Connection
from typing import Any

from storage.rows import json_dump, json_load


def record(
    db: Connection,
    *,
    workspace_id: str | None,
    at: int,
    actor_id: str,
    action: str,
    entity_type: str,
    entity_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    db.execute(
        "INSERT INTO audit(workspace_id, at, actor_id, action, entity_type, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [workspace_id, at, actor_id, action, entity_type, entity_id, json_dump(detail)],
    )


def history(db: Connection, entity_type: str, entity_id: str) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT id, at, actor_id, action, detail FROM audit WHERE entity_type = ? AND entity_id = ? ORDER BY id",
        [entity_type, entity_id],
    ).fetchall()
    return [{"id": r[0], "at": r[1], "actor_id": r[2], "action": r[3], "detail": json_load(r[4])} for r in rows]
