"""The feedback- and test-session ops (``feedback.*``, ``test.*``): their payloads and types.

Each is sent by ``sync.sessions``' ``SessionSync``; the registry (``sync.ops``) holds one
instance of each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from sqlite3 import Connection
from typing import TYPE_CHECKING, Any, ClassVar

from storage import sync_cursors as cursors
from storage import sync_sessions as sessions_state
from storage import sync_state as state
from sync.op_base import CannotUndo, Inverse, Op, Payload, Undo, _sessions
from workbench.domain.feedback_sessions import FeedbackAction
from workbench.domain.outbox import TEST_ACTION_OPS, OpName
from workbench.domain.session_records import Storefront
from workbench.domain.test_sessions import TestSessionAction

if TYPE_CHECKING:
    from sync.part import SyncContext

__all__ = [
    "FeedbackActionPayload", "FeedbackCommentPayload", "FeedbackCommentResolved", "FeedbackSessionAction", "TestActionPayload",
    "TestFeedback", "TestFeedbackPayload", "TestNotes", "TestNotesPayload", "TestSessionTransition",
]


# -- payloads --------------------------------------------------------------------------------


@dataclass(slots=True)
class FeedbackActionPayload(Payload):
    RENAMED: ClassVar[dict[str, str]] = {"from_status": "from", "to_status": "to"}
    action: str = ""
    from_status: str | None = None
    to_status: str | None = None
    error_message: str | None = None


@dataclass(slots=True)
class FeedbackCommentPayload(Payload):
    session_id: str = ""
    resolved: bool = False


@dataclass(slots=True)
class TestActionPayload(Payload):
    __test__: ClassVar[bool] = False
    RENAMED: ClassVar[dict[str, str]] = {"from_status": "from", "to_status": "to"}
    from_status: str | None = None
    to_status: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TestNotesPayload(Payload):
    __test__: ClassVar[bool] = False
    updated: list[list[str]] = field(default_factory=list)  # [noteId, content]
    created: list[list[str]] = field(default_factory=list)  # [local id, content]
    previous: dict[str, str] | None = None  # noteId -> content before this change, for undo


@dataclass(slots=True)
class TestFeedbackPayload(Payload):
    __test__: ClassVar[bool] = False
    body: dict[str, Any] = field(default_factory=dict)


# -- ops -------------------------------------------------------------------------------------


def _forget_session_digests(db: Connection, e: state.Entry) -> None:
    # Session rows are mirrored: forget what was last applied so the next pull rewrites them.
    name = state.remote_of_workspace(db, e.workspace_id)
    if name is not None:
        cursors.forget_digests(db, name)


class FeedbackSessionAction(Op[FeedbackActionPayload]):
    names = (OpName.FEEDBACK_ACTION,)
    payload_type = FeedbackActionPayload
    credential = "store_key"
    restored_by_next_pull = True

    def enqueue(self, db: Connection, store: Storefront, session_id: str, action: str, before: str, after: str, at: int,
                error_message: str | None = None) -> None:
        if not state.is_replica(db, store.workspace_id):
            return
        payload = FeedbackActionPayload(action=action, from_status=before, to_status=after, error_message=error_message)
        self._enqueue(db, store.workspace_id, "feedback_session", session_id, payload, at)

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _sessions(ctx).push_feedback_action(e)

    def summary(self, e: state.Entry) -> str:
        p = self.payload(e)
        return f"{p.action.replace('_', ' ')} feedback session {e.entity_id} ({p.from_status} → {p.to_status})"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        state.delete_entry(db, e.seq)
        _forget_session_digests(db, e)

    # Undoable where the transition table leads straight back: a round submitted from review
    # returns to review, and one returned to review is submitted again.
    _UNDO: ClassVar[dict[tuple[str, str], FeedbackAction]] = {
        (FeedbackAction.SUBMIT_ROUND.value, "in_review"): FeedbackAction.RETURN_TO_REVIEW,
        (FeedbackAction.RETURN_TO_REVIEW.value, "task_review"): FeedbackAction.SUBMIT_ROUND,
    }
    _WHY_NOT: ClassVar[dict[str, str]] = {
        "cancel": "a canceled round is finished, and no action reopens it",
        "finalize": "a finalized round is done, and no action reopens it",
        "start_work": "no action takes a round in progress back to review",
        "submit_round": "a round submitted from in progress can only go back to review",
        "approve_tasks": "approved tasks go to the builder, and no action takes them back",
        "builder_finished": "the builder's report is recorded, and no action takes the round back to processing",
        "builder_failed": "an interrupted round is finished, and no action resumes it",
    }

    def inverse(self, e: state.Entry) -> Inverse:
        p = self.payload(e)
        back = self._UNDO.get((p.action, p.from_status or ""))
        if back is not None:
            return Undo(OpName.FEEDBACK_ACTION, e.entity_id, {"action": back.value})
        return CannotUndo(self._WHY_NOT.get(p.action, f"{p.action.replace('_', ' ')} has no reverse transition"))


class FeedbackCommentResolved(Op[FeedbackCommentPayload]):
    names = (OpName.FEEDBACK_COMMENT,)
    payload_type = FeedbackCommentPayload
    credential = "store_key"
    restored_by_next_pull = True

    def enqueue(self, db: Connection, store: Storefront, session_id: str, comment_id: str, resolved: bool, at: int) -> None:
        """The comment's change, as its net change against what this replica last saw: a comment
        has two statuses and each entry flips it, so a change with an unsent one waiting brings it
        back to that base, and the two cancel. Sent step by step, a resolve and its reopen set the
        server's comment open over a colleague's resolve (no conflict can arise: with two statuses,
        a server that moved off the base holds what this replica's net change would set)."""
        if not state.is_replica(db, store.workspace_id):
            return
        last = state.last_entity_entry(db, "feedback_comment", comment_id)
        if last is not None and self.unsent(last) and self.payload(last).resolved != resolved:
            state.delete_entry(db, last.seq)
            # The pulls while it waited left this comment as it was here: the next one must rewrite it.
            _forget_session_digests(db, last)
            return
        self._enqueue(db, store.workspace_id, "feedback_comment", comment_id,
                      FeedbackCommentPayload(session_id=session_id, resolved=resolved), at)

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _sessions(ctx).push_feedback_comment(e)

    def summary(self, e: state.Entry) -> str:
        return f"{'resolve' if self.payload(e).resolved else 'reopen'} comment {e.entity_id}"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        state.delete_entry(db, e.seq)
        _forget_session_digests(db, e)

    def inverse(self, e: state.Entry) -> Inverse:
        p = self.payload(e)
        return Undo(OpName.FEEDBACK_COMMENT, e.entity_id, {"session_id": p.session_id, "resolved": not p.resolved})


class TestSessionTransition(Op[TestActionPayload]):
    """A test-session transition: one type for the five ``test.<action>`` names (one handler sends them all)."""

    __test__ = False
    names = tuple(TEST_ACTION_OPS.values())
    payload_type = TestActionPayload
    credential = "jwt"
    restored_by_next_pull = True

    _UNDO: ClassVar[dict[str, OpName]] = {"pause": OpName.TEST_RESUME, "resume": OpName.TEST_PAUSE}
    _WHY_NOT: ClassVar[dict[str, str]] = {
        "complete": "a completed test session cannot be resumed",
        "analyze": "an analysis runs once it is asked for",
        "confirm": "confirming queues the tester's payout",
    }

    def enqueue(self, db: Connection, workspace_id: str, session_id: str, action: str, before: str, values: dict[str, Any], at: int) -> None:
        """A test-session transition (complete, analyze, confirm, pause, resume) with the values it wrote."""
        if not state.is_replica(db, workspace_id):
            return
        payload = TestActionPayload(from_status=before, to_status=values.get("status"),
                                    values={k: v for k, v in values.items() if k != "analysis"})
        self._enqueue(db, workspace_id, "test_session", session_id, payload, at, name=TEST_ACTION_OPS[TestSessionAction(action)])

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _sessions(ctx).push_test_action(e)

    def summary(self, e: state.Entry) -> str:
        return f"{e.op.split('.', 1)[1]} test session {e.entity_id}"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        state.delete_entry(db, e.seq)
        _forget_session_digests(db, e)

    def inverse(self, e: state.Entry) -> Inverse:
        action = e.op.split(".", 1)[1]
        if action in self._UNDO:
            return Undo(self._UNDO[action], e.entity_id, {})
        return CannotUndo(self._WHY_NOT.get(action, f"{action} has no reverse transition"))


class TestNotes(Op[TestNotesPayload]):
    __test__ = False
    names = (OpName.TEST_NOTES,)
    payload_type = TestNotesPayload
    credential = "jwt"
    restored_by_next_pull = True

    def enqueue(self, db: Connection, workspace_id: str, session_id: str, updated: list[tuple[str, str]],
                created: list[tuple[str, str]], at: int, previous: dict[str, str] | None = None) -> None:
        """A notes PATCH: (noteId, content) pairs updated, (local id, content) pairs created, and the updated notes' old contents."""
        if not state.is_replica(db, workspace_id):
            return
        payload = TestNotesPayload(updated=[[i, c] for i, c in updated], created=[[i, c] for i, c in created], previous=previous)
        self._enqueue(db, workspace_id, "test_session", session_id, payload, at)

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _sessions(ctx).push_test_notes(e)

    def summary(self, e: state.Entry) -> str:
        p = self.payload(e)
        return f"notes of test session {e.entity_id} ({len(p.updated)} edited, {len(p.created)} new)"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        state.delete_entry(db, e.seq)
        sessions_state.delete_notes(db, [local for local, _ in self.payload(e).created])
        _forget_session_digests(db, e)

    def inverse(self, e: state.Entry) -> Inverse:
        p = self.payload(e)
        if p.created:
            return CannotUndo("the notes API cannot delete a note once it is created")
        if p.previous is None or any(i not in p.previous for i, _ in p.updated):
            return CannotUndo("the notes' earlier contents were not recorded (the change was written by an older version)")
        return Undo(OpName.TEST_NOTES, e.entity_id, {"updated": [[i, p.previous[i]] for i, _ in p.updated], "created": []})


class TestFeedback(Op[TestFeedbackPayload]):
    __test__ = False
    names = (OpName.TEST_FEEDBACK,)
    payload_type = TestFeedbackPayload
    credential = "jwt"
    restored_by_next_pull = True

    def enqueue(self, db: Connection, workspace_id: str, session_id: str, body: dict[str, Any], local_id: str, at: int) -> None:
        if not state.is_replica(db, workspace_id):
            return
        self._enqueue(db, workspace_id, "test_session", session_id, TestFeedbackPayload(body=body), at, local_id=local_id)

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _sessions(ctx).push_test_feedback(e)

    def summary(self, e: state.Entry) -> str:
        return f"feedback test session {e.entity_id}"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        state.delete_entry(db, e.seq)
        if e.local_id:
            sessions_state.delete_feedback(db, e.local_id)
        _forget_session_digests(db, e)

    def inverse(self, e: state.Entry) -> Inverse:
        return CannotUndo("a tester's feedback is given once per session")
