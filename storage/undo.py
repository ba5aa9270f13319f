"""The undo history: each user's actions (a bulk batch is one) and the changes each made.

An action is ``done`` (``u`` may undo it), ``undone`` (``U`` may redo it) or ``final`` (it can
no longer be undone, e.g. its reply was sent; ``reason`` says why). The history is a stack per
(workspace, actor): undo takes the newest ``done`` action, redo the oldest ``undone`` one, and
a new action drops every ``undone`` one (as in every editor: a new change ends the redo chain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage.rows import json_dump, json_load

# Older actions are forgotten beyond this many per user and workspace.
KEEP_ACTIONS = 500


@dataclass(slots=True)
class Action:
    id: int
    workspace_id: str
    actor_id: str
    kind: str
    what: dict[str, Any]
    state: str  # done | undone | final
    reason: str | None
    created_at: int
    updated_at: int


@dataclass(slots=True)
class Step:
    action_id: int
    n: int
    op: str
    entity_type: str
    entity_id: str
    local_id: str | None
    seq: int | None
    payload: dict[str, Any]
    after: dict[str, Any] | None


_ACTION_COLS = "id, workspace_id, actor_id, kind, what, state, reason, created_at, updated_at"
_STEP_COLS = "action_id, n, op, entity_type, entity_id, local_id, seq, payload, after"


def _action(row: Sequence[Any]) -> Action:
    values = list(row)
    values[4] = json_load(values[4]) or {}
    return Action(*values)


def _step(row: Sequence[Any]) -> Step:
    values = list(row)
    values[7] = json_load(values[7]) or {}
    values[8] = json_load(values[8])
    return Step(*values)


def start_action(db: Connection, workspace_id: str, actor_id: str, kind: str, what: dict[str, Any], at: int) -> int:
    """A new action on top of the stack: the redo chain ends, the oldest actions beyond ``KEEP_ACTIONS`` go."""
    db.execute("DELETE FROM undo_actions WHERE workspace_id = ? AND actor_id = ? AND state = 'undone'", [workspace_id, actor_id])
    # RETURNING, not lastrowid: both engines answer it (psycopg has no lastrowid). fetchall ends the statement.
    ((action_id,),) = db.execute(
        "INSERT INTO undo_actions(workspace_id, actor_id, kind, what, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        [workspace_id, actor_id, kind, json_dump(what), at, at],
    ).fetchall()
    db.execute(
        "DELETE FROM undo_actions WHERE workspace_id = ? AND actor_id = ? AND id < (SELECT id FROM undo_actions "
        "WHERE workspace_id = ? AND actor_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
        [workspace_id, actor_id, workspace_id, actor_id, KEEP_ACTIONS - 1],
    )
    return action_id


def add_step(db: Connection, step: Step) -> None:
    db.execute(
        f"INSERT INTO undo_steps({_STEP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [step.action_id, step.n, step.op, step.entity_type, step.entity_id, step.local_id, step.seq,
         json_dump(step.payload), json_dump(step.after) if step.after is not None else None],
    )


def update_step(db: Connection, step: Step) -> None:
    db.execute(
        "UPDATE undo_steps SET local_id = ?, seq = ?, payload = ?, after = ? WHERE action_id = ? AND n = ?",
        [step.local_id, step.seq, json_dump(step.payload), json_dump(step.after) if step.after is not None else None,
         step.action_id, step.n],
    )


def steps(db: Connection, action_id: int) -> list[Step]:
    return [_step(r) for r in db.execute(f"SELECT {_STEP_COLS} FROM undo_steps WHERE action_id = ? ORDER BY n", [action_id])]


def count_steps(db: Connection, action_id: int) -> int:
    return int(db.execute("SELECT count(*) FROM undo_steps WHERE action_id = ?", [action_id]).fetchone()[0])


def top(db: Connection, workspace_id: str, actor_id: str, state: str) -> Action | None:
    """The action ``u`` would undo (state ``done``: the newest) or ``U`` would redo (``undone``: the oldest)."""
    order = "DESC" if state == "done" else "ASC"
    row = db.execute(
        f"SELECT {_ACTION_COLS} FROM undo_actions WHERE workspace_id = ? AND actor_id = ? AND state = ? ORDER BY id {order} LIMIT 1",
        [workspace_id, actor_id, state],
    ).fetchone()
    return None if row is None else _action(row)


def recent(db: Connection, workspace_id: str, actor_id: str, limit: int) -> list[Action]:
    rows = db.execute(
        f"SELECT {_ACTION_COLS} FROM undo_actions WHERE workspace_id = ? AND actor_id = ? ORDER BY id DESC LIMIT ?",
        [workspace_id, actor_id, limit],
    )
    return [_action(r) for r in rows]


def set_state(db: Connection, action_id: int, state: str, at: int, reason: str | None = None) -> None:
    db.execute("UPDATE undo_actions SET state = ?, reason = ?, updated_at = ? WHERE id = ?", [state, reason, at, action_id])


def max_outbox_seq(db: Connection) -> int:
    """The newest outbox entry now; the entries an action writes come after it."""
    return int(db.execute("SELECT coalesce(max(seq), 0) FROM sync_outbox").fetchone()[0])


def outbox_seq_after(db: Connection, after: int, op: str, entity_id: str) -> int | None:
    """The outbox entry of ``op`` on ``entity_id`` written after ``after`` (the one this change wrote), if any."""
    row = db.execute(
        "SELECT max(seq) FROM sync_outbox WHERE seq > ? AND op = ? AND entity_id = ?", [after, op, entity_id]
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])
