"""The op registry: every kind of outbox entry, declared once (after taskchampion's ``server/op.rs``).

An op is one kind of local change a replica sends to its remote. Each is a type with:

- its payload (a dataclass: what the entry records, written by ``enqueue``);
- its push handler (``push``: which request sends it, in ``sync.push`` or ``sync.sessions``);
- the credential the send needs (``credential``);
- its human summary (``summary``: the line the refusals list shows);
- its discard (``discard``: drop the entry and roll its local change back, so the replica
  matches the server again);
- its inverse (``inverse``: the op, with its payload, that undoes it, or why it cannot be
  undone), for the TUI's undo.

This module is the registry and the one import the rest of the code needs: an instance of
each op, ``OPS`` by stored name, ``op_for`` and ``inverse_of``. The types live beside it, by
what they change: ``sync.annotation_ops`` and ``sync.session_ops``, on the base and inverse
types of ``sync.op_base``.

Where it lives, and why: the registry is in ``sync`` because the push handlers are (sync sits
above storage, so the discard's storage calls and the services' ``enqueue`` calls both reach it
in the allowed direction); the summary and the inverse are plain data, so they need nothing
more. The services keep what is theirs around these calls: the transaction, the audit entry
and the user's permission. Nothing here (nor in the op modules) imports httpx: the services
import this module on every outbox write, and the handlers' modules and the HTTP client load
only when a sync runs.

The stored op names are the domain's ``OpName`` and never change; an entry whose name this
version does not know (written by a newer one) is kept, refused on push with a reason, and can
be discarded like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storage import sync_state as state
from sync.annotation_ops import AnnotationPatch, AnnotationReply, AnnotationResolution, AnnotationRunPersonas
from sync.errors import Refused
from sync.op_base import CannotUndo, Inverse, Op, Payload, Undo
from sync.session_ops import FeedbackCommentResolved, FeedbackSessionAction, TestFeedback, TestNotes, TestSessionTransition

if TYPE_CHECKING:
    from sync.part import SyncContext

__all__ = [
    "ANNOTATION_PATCH", "ANNOTATION_REPLY", "ANNOTATION_RESOLUTION", "ANNOTATION_RUN_PERSONAS", "FEEDBACK_ACTION",
    "FEEDBACK_COMMENT", "OPS", "TEST_ACTION", "TEST_FEEDBACK", "TEST_NOTES", "CannotUndo", "Inverse", "Op", "Undo", "inverse_of",
    "op_for",
]


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
