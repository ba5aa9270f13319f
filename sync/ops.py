"""The op registry: every kind of outbox entry, declared once (after taskchampion's ``server/op.rs``).

An op is one kind of local change a replica sends to its remote. Each is a type here with:

- its payload (a dataclass: what the entry records, written by ``enqueue``);
- its push handler (``push``: which request sends it, in ``sync.push`` or ``sync.sessions``);
- the credential the send needs (``credential``);
- its human summary (``summary``: the line the refusals list shows);
- its discard (``discard``: drop the entry and roll its local change back, so the replica
  matches the server again);
- its inverse (``inverse``: the op, with its payload, that undoes it, or why it cannot be
  undone), for the TUI's undo.

Where it lives, and why: the registry is in ``sync`` because the push handlers are (sync sits
above storage, so the discard's storage calls and the services' ``enqueue`` calls both reach it
in the allowed direction); the summary and the inverse are plain data, so they need nothing
more. The services keep what is theirs around these calls: the transaction, the audit entry
and the user's permission. Nothing here imports httpx: the services import this module on
every outbox write, and the handlers' modules and the HTTP client load only when a sync runs.

The stored op names are the domain's ``OpName`` and never change; an entry whose name this
version does not know (written by a newer one) is kept, refused on push with a reason, and can
be discarded like any other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from sqlite3 import Connection
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from storage import annotations as annotations_repo
from storage import sync_cursors as cursors
from storage import sync_sessions as sessions_state
from storage import sync_state as state
from sync.errors import Refused
from workbench.domain.feedback_sessions import FeedbackAction
from workbench.domain.merge import ANNOTATION_FIELDS
from workbench.domain.outbox import TEST_ACTION_OPS, OpName
from workbench.domain.records import Annotation, Reply, Resolution
from workbench.domain.session_records import Storefront
from workbench.domain.test_sessions import TestSessionAction

if TYPE_CHECKING:
    from sync.part import SyncContext
    from sync.push import AnnotationPush
    from sync.sessions import SessionSync

__all__ = [
    "ANNOTATION_PATCH", "ANNOTATION_REPLY", "ANNOTATION_RESOLUTION", "ANNOTATION_RUN_PERSONAS", "FEEDBACK_ACTION",
    "FEEDBACK_COMMENT", "OPS", "TEST_ACTION", "TEST_FEEDBACK", "TEST_NOTES", "CannotUndo", "Inverse", "Op", "Undo", "inverse_of",
    "op_for",
]


# -- inverses --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Undo:
    """The op that undoes an entry: its name, the entity, and what it changes (in that op's payload terms;
    an ``annotation.patch`` inverse carries the ``values`` to set back)."""

    op: OpName
    entity_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CannotUndo:
    """Why an entry cannot be undone, in words for the user."""

    reason: str


Inverse = Undo | CannotUndo


# -- payloads --------------------------------------------------------------------------------


@dataclass(slots=True)
class Payload:
    """Base of the payloads: to and from the stored JSON (``RENAMED`` maps a field to its stored key).

    The stored JSON also holds what the push handler records while sending (``first_sent_at``,
    ``known``, ``presign``, ``server_keys``); that bookkeeping belongs to the handlers, not the op.
    """

    RENAMED: ClassVar[dict[str, str]] = {}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Self:
        kwargs = {}
        for f in dataclasses.fields(cls):
            key = cls.RENAMED.get(f.name, f.name)
            if key in stored:
                kwargs[f.name] = stored[key]
        return cls(**kwargs)

    def stored(self) -> dict[str, Any]:
        return {self.RENAMED.get(f.name, f.name): getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(slots=True)
class PatchPayload(Payload):
    fields: list[str] = field(default_factory=list)
    # The values the change replaced, for undo; absent from entries of older versions and of
    # "keep mine" (which changes nothing locally).
    before: dict[str, Any] | None = None


@dataclass(slots=True)
class ReplyPayload(Payload):
    body: str = ""
    author_name: str | None = None


@dataclass(slots=True)
class ResolutionPayload(Payload):
    before_key: str | None = None
    after_key: str | None = None
    diff_url: str | None = None
    explanation: str | None = None


@dataclass(slots=True)
class RunPersonasPayload(Payload):
    persona_ids: list[str] = field(default_factory=list)
    reply_ids: list[str] = field(default_factory=list)  # the replica's own replies, replaced by the server's


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


P = TypeVar("P", bound=Payload)


# -- ops -------------------------------------------------------------------------------------


class Op(Generic[P]):
    """One kind of outbox entry. Subclasses declare ``names``, ``payload_type`` and ``credential``."""

    names: ClassVar[tuple[OpName, ...]]
    payload_type: ClassVar[type[Payload]]
    credential: ClassVar[str]  # the credential its push needs: token | store_key | jwt

    def payload(self, e: state.Entry) -> P:
        return self.payload_type.of(e.payload)  # pyright: ignore[reportReturnType]  # payload_type is P's class; ClassVars cannot name P

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        """Send the entry; True when it reached the server (False: dropped, nothing left to send)."""
        raise NotImplementedError

    def summary(self, e: state.Entry) -> str:
        raise NotImplementedError

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        """Drop the entry and roll its local change back. The default: the change has no local row to remove."""
        state.delete_entry(db, e.seq)

    def inverse(self, e: state.Entry) -> Inverse:
        raise NotImplementedError

    @staticmethod
    def unsent(e: state.Entry) -> bool:
        """Whether the entry has certainly not reached the server: no send of it is in doubt (an
        attempt that failed before reaching it clears ``ambiguous``) and none succeeded (that
        deletes the entry), or the server refused it."""
        return not e.ambiguous and e.state in ("pending", "refused")

    def _enqueue(self, db: Connection, workspace_id: str, entity_type: str, entity_id: str, payload: P, at: int,
                 local_id: str | None = None, name: OpName | None = None) -> None:
        state.enqueue(
            db, workspace_id=workspace_id, op=(name or self.names[0]).value, entity_type=entity_type, entity_id=entity_id,
            payload=payload.stored(), at=at, local_id=local_id,
        )


# The handlers' modules load with the first push, not with every service that enqueues.
def _annotations(ctx: SyncContext) -> AnnotationPush:
    from sync.push import AnnotationPush

    return AnnotationPush(ctx)


def _sessions(ctx: SyncContext) -> SessionSync:
    from sync.sessions import SessionSync

    return SessionSync(ctx)


def _one_line(text: Any, limit: int) -> str:
    return " ".join(str(text or "").split())[:limit]


class AnnotationPatch(Op[PatchPayload]):
    names = (OpName.ANNOTATION_PATCH,)
    payload_type = PatchPayload
    credential = "token"

    def enqueue(self, db: Connection, before: Annotation, fields: Iterable[str], at: int) -> None:
        """A local triage change (status, summary, assignee) of ``before`` (the row as it was)."""
        if not state.is_replica(db, before.workspace_id):
            return
        state.seed_base(db, before)
        names = sorted(fields)
        payload = PatchPayload(fields=names, before={f: getattr(before, f) for f in names if f in ANNOTATION_FIELDS})
        self._enqueue(db, before.workspace_id, "annotation", before.id, payload, at)

    def enqueue_fields(self, db: Connection, workspace_id: str, annotation_id: str, fields: list[str], at: int) -> None:
        """Send these fields' current values again (keeping mine in a conflict: no local change, no base to seed)."""
        self._enqueue(db, workspace_id, "annotation", annotation_id, PatchPayload(fields=sorted(fields)), at)

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _annotations(ctx).push_patch(e)

    def summary(self, e: state.Entry) -> str:
        return f"change {', '.join(self.payload(e).fields)} of annotation {e.entity_id}"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        # Back to the base (the server's version) for the fields no other pending patch still names.
        state.delete_entry(db, e.seq)
        base = state.get_base(db, "annotation", e.entity_id)
        ann = annotations_repo.get_annotation(db, e.workspace_id, e.entity_id)
        still = state.patch_fields_pending(db, e.entity_id)
        if base is None or ann is None:
            return
        revert = {f: base.fields.get(f) for f in self.payload(e).fields if f not in still and f in ANNOTATION_FIELDS}
        revert = {k: v for k, v in revert.items() if getattr(ann, k) != v}
        if revert:
            annotations_repo.update_annotation(db, ann.id, {**revert, "updated_at": max(at, ann.updated_at + 1)})
        state.drop_base_if_settled(db, e.workspace_id, e.entity_id)

    def settle(self, db: Connection, workspace_id: str, annotation_id: str) -> None:
        """After an undo: the unsent patch entries stop naming fields whose value is back to the
        base (the server's version), or that an earlier pending entry names (a push sends a
        field's value as it is then, so one entry carries it), and go when they name none: so
        nothing needless goes up."""
        base = state.get_base(db, "annotation", annotation_id)
        ann = annotations_repo.get_annotation(db, workspace_id, annotation_id)
        if base is None or ann is None:
            return
        back = {f for f in ANNOTATION_FIELDS if getattr(ann, f) == base.fields.get(f)}
        carried: set[str] = set()
        for e in state.patch_entries(db, annotation_id):
            p = self.payload(e)
            drop = back | carried
            if e.state == "pending":
                carried.update(p.fields)
            if not self.unsent(e) or not drop.intersection(p.fields):
                continue
            keep = [f for f in p.fields if f not in drop]
            carried.update(keep)
            if not keep:
                state.delete_entry(db, e.seq)
                continue
            before = {f: v for f, v in p.before.items() if f in keep} if p.before is not None else None
            state.update_entry(db, e.seq, payload={**e.payload, **PatchPayload(fields=keep, before=before).stored()})
        state.drop_base_if_settled(db, workspace_id, annotation_id)

    def inverse(self, e: state.Entry) -> Inverse:
        p = self.payload(e)
        if p.before is None:
            return CannotUndo("the values this change replaced were not recorded (it was written by an older version, "
                              "or it keeps your value in a settled conflict)")
        return Undo(OpName.ANNOTATION_PATCH, e.entity_id, {"fields": sorted(p.before), "values": dict(p.before)})


class AnnotationReply(Op[ReplyPayload]):
    names = (OpName.ANNOTATION_REPLY,)
    payload_type = ReplyPayload
    credential = "token"

    def enqueue(self, db: Connection, reply: Reply, at: int) -> None:
        if not state.is_replica(db, reply.workspace_id):
            return
        payload = ReplyPayload(body=reply.body, author_name=reply.author_name)
        self._enqueue(db, reply.workspace_id, "annotation", reply.annotation_id, payload, at, local_id=reply.id)

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _annotations(ctx).push_reply(e)

    def summary(self, e: state.Entry) -> str:
        return f"reply on {e.entity_id}: {_one_line(self.payload(e).body, 60)}"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        state.delete_entry(db, e.seq)
        if e.local_id:
            state.delete_replies(db, [e.local_id])

    # Said before a reply is sent (``u`` takes it back only while it has not left the machine).
    once_sent = "a reply, once sent, has reached the reviewer, and the API cannot delete it"

    def inverse(self, e: state.Entry) -> Inverse:
        return CannotUndo(self.once_sent)


class AnnotationResolution(Op[ResolutionPayload]):
    names = (OpName.ANNOTATION_RESOLUTION,)
    payload_type = ResolutionPayload
    credential = "token"

    def enqueue(self, db: Connection, res: Resolution, at: int) -> None:
        if not state.is_replica(db, res.workspace_id):
            return
        payload = ResolutionPayload(before_key=res.before_key, after_key=res.after_key, diff_url=res.diff_url, explanation=res.explanation)
        self._enqueue(db, res.workspace_id, "annotation", res.annotation_id, payload, at, local_id=res.id)

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _annotations(ctx).push_resolution(e)

    def summary(self, e: state.Entry) -> str:
        p = self.payload(e)
        return f"resolution on {e.entity_id}: {p.diff_url or p.explanation or 'evidence'}"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        state.delete_entry(db, e.seq)
        if e.local_id:
            state.delete_resolution(db, e.local_id)

    def inverse(self, e: state.Entry) -> Inverse:
        return CannotUndo("the annotation's submitter is notified of a resolution, and a notice cannot be taken back")


class AnnotationRunPersonas(Op[RunPersonasPayload]):
    names = (OpName.ANNOTATION_RUN_PERSONAS,)
    payload_type = RunPersonasPayload
    credential = "token"

    def enqueue(self, db: Connection, ann: Annotation, persona_ids: list[str], reply_ids: list[str], at: int) -> None:
        if not state.is_replica(db, ann.workspace_id):
            return
        self._enqueue(db, ann.workspace_id, "annotation", ann.id, RunPersonasPayload(persona_ids=persona_ids, reply_ids=reply_ids), at)

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        return _annotations(ctx).push_run_personas(e)

    def summary(self, e: state.Entry) -> str:
        return f"run {len(self.payload(e).persona_ids)} persona(s) on {e.entity_id}"

    def discard(self, db: Connection, e: state.Entry, at: int) -> None:
        state.delete_entry(db, e.seq)
        state.delete_replies(db, self.payload(e).reply_ids)

    def inverse(self, e: state.Entry) -> Inverse:
        return CannotUndo("a persona run posts its replies on the server, and the API cannot delete them")


def _forget_session_digests(db: Connection, e: state.Entry) -> None:
    # Session rows are mirrored: forget what was last applied so the next pull rewrites them.
    name = state.remote_of_workspace(db, e.workspace_id)
    if name is not None:
        cursors.forget_digests(db, name)


class FeedbackSessionAction(Op[FeedbackActionPayload]):
    names = (OpName.FEEDBACK_ACTION,)
    payload_type = FeedbackActionPayload
    credential = "store_key"

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

    def enqueue(self, db: Connection, store: Storefront, session_id: str, comment_id: str, resolved: bool, at: int) -> None:
        if not state.is_replica(db, store.workspace_id):
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


class UnknownOp(Op[Payload]):
    """An entry this version cannot read (written by a newer one): kept, refused on push, discardable."""

    names = ()
    payload_type = Payload
    credential = "token"

    def push(self, ctx: SyncContext, e: state.Entry) -> bool:
        raise Refused(f"this version cannot send {e.op}", None)

    def summary(self, e: state.Entry) -> str:
        return f"{e.op} {e.entity_id}"

    def inverse(self, e: state.Entry) -> Inverse:
        return CannotUndo(f"this version does not know {e.op}")


ANNOTATION_PATCH = AnnotationPatch()
ANNOTATION_REPLY = AnnotationReply()
ANNOTATION_RESOLUTION = AnnotationResolution()
ANNOTATION_RUN_PERSONAS = AnnotationRunPersonas()
FEEDBACK_ACTION = FeedbackSessionAction()
FEEDBACK_COMMENT = FeedbackCommentResolved()
TEST_ACTION = TestSessionTransition()
TEST_NOTES = TestNotes()
TEST_FEEDBACK = TestFeedback()
UNKNOWN = UnknownOp()

OPS: dict[str, Op[Any]] = {
    name.value: op
    for op in (ANNOTATION_PATCH, ANNOTATION_REPLY, ANNOTATION_RESOLUTION, ANNOTATION_RUN_PERSONAS, FEEDBACK_ACTION,
               FEEDBACK_COMMENT, TEST_ACTION, TEST_NOTES, TEST_FEEDBACK)
    for name in op.names
}


def inverse_of(name: str, entity_type: str, entity_id: str, payload: dict[str, Any], local_id: str | None = None) -> Inverse:
    """The inverse of a change kept apart from the outbox (the undo history keeps its op and
    payload after the push has removed its entry)."""
    e = state.Entry(
        seq=0, workspace_id="", op=name, entity_type=entity_type, entity_id=entity_id, local_id=local_id, payload=payload,
        idempotency_key="", state="pending", attempts=0, ambiguous=False, last_status=None, last_error=None, created_at=0,
        updated_at=0,
    )
    return op_for(name).inverse(e)


def op_for(name: str) -> Op[Any]:
    """The op type of a stored entry's name (``UNKNOWN`` for a name this version does not know)."""
    return OPS.get(name, UNKNOWN)
