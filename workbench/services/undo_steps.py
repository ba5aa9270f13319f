"""Undo and redo of one recorded step: the step appliers ``workbench.services.undo`` runs.

Each recorded step (``storage.undo.Step``) names the op it made; here is what taking it back,
or making it again, does for each op (a patch's fields back, a reply discarded while unsent
with its text back as the reply draft, a comment or a note swapped back, a session's way back),
and when a change and its undo, both still unsent, cancel in the outbox.
``workbench.services.undo`` records the steps and runs an action's steps in order; this module
does one step.
"""

from __future__ import annotations

from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage import annotations as annotations_repo
from storage import sync_state
from storage import undo as repo
from sync import ops
from workbench.domain.annotations import AnnotationPatch, ReplyCreate
from workbench.domain.errors import NotFound
from workbench.domain.outbox import TEST_ACTION_OPS, OpName
from workbench.domain.roles import Principal
from workbench.services import annotations as annotations_svc
from workbench.services import drafts
from workbench.services.context import Workbench

# The op of a step that only records that its action cannot be undone, and why (``payload["reason"]``):
# for a change no outbox op carries (starting a feedback session).
FINAL = "final"


def comment_resolved(db: Connection, session_id: str, comment_id: str) -> bool | None:
    from storage import feedback_sessions as fs_repo

    comment = fs_repo.get_comment(db, session_id, comment_id)
    return None if comment is None else comment.status == "resolved"


@dataclass(slots=True)
class Skip:
    reason: str


@dataclass(slots=True)
class Final:
    reason: str


@dataclass(slots=True)
class Done:
    """A step taken back or made again, with what else the user should know of it."""

    note: str


def apply_step(wb: Workbench, principal: Principal, db: Connection, step: repo.Step, *, redo: bool) -> Skip | Final | Done | None:
    if step.op == OpName.ANNOTATION_PATCH.value:
        return _patch_step(wb, principal, db, step, redo)
    if step.op == OpName.ANNOTATION_REPLY.value:
        return _reply_step(wb, principal, db, step, redo)
    if step.op == OpName.FEEDBACK_COMMENT.value:
        return _comment_step(wb, principal, db, step, redo)
    if step.op == OpName.TEST_NOTES.value:
        return _notes_step(wb, principal, db, step, redo)
    if step.op == OpName.FEEDBACK_ACTION.value:
        return _feedback_action_step(wb, principal, db, step, redo)
    if step.op in TEST_ACTIONS:
        return _test_action_step(wb, principal, db, step, redo)
    if step.op == FINAL:
        return Final(str(step.payload.get("reason") or "it cannot be undone"))
    inverse = ops.inverse_of(step.op, step.entity_type, step.entity_id, step.payload, step.local_id)
    if isinstance(inverse, ops.CannotUndo):  # a tester's feedback, say: recorded only to say so
        return Final(inverse.reason)
    return Skip(f"this version cannot undo {step.op}")


TEST_ACTIONS = {op.value for op in TEST_ACTION_OPS.values()}


def undo_note(step: repo.Step, redo: bool) -> dict[str, Any]:
    """What the audit row of a change an undo (or redo) makes adds: which of the two, and its
    undo action, so an annotation's history lists it as such, with who and when."""
    return {"via": "redo" if redo else "undo", "undo_action": step.action_id}


def short_ref(annotation_id: str) -> str:
    return f"…{annotation_id[-8:]}"


def _patch_step(wb: Workbench, principal: Principal, db: Connection, step: repo.Step, redo: bool) -> Skip | Final | None:
    if redo:
        values, expect = dict(step.after or {}), dict(step.payload.get("before") or {})
    else:
        inverse = ops.inverse_of(step.op, step.entity_type, step.entity_id, step.payload, step.local_id)
        if isinstance(inverse, ops.CannotUndo):
            return Final(inverse.reason)
        values, expect = dict(inverse.payload["values"]), dict(step.after or {})
    try:
        ann = annotations_svc.load(db, principal, step.entity_id)
    except NotFound:
        return Skip(f"{short_ref(step.entity_id)} no longer exists")
    still = {f: v for f, v in values.items() if getattr(ann, f) == expect.get(f)}
    moved = sorted(set(values) - set(still))
    if still:
        annotations_svc.apply_patch(wb, principal, ann.id, AnnotationPatch(**still), audit_note=undo_note(step, redo))
        if sync_state.is_replica(db, principal.workspace_id):
            ops.ANNOTATION_PATCH.settle(db, principal.workspace_id, ann.id)
    if moved:
        names = ", ".join(f.replace("_id", "") for f in moved)
        return Skip(f"{names} of {short_ref(ann.id)} changed since; left as it is")
    return None


def _reply_step(wb: Workbench, principal: Principal, db: Connection, step: repo.Step, redo: bool) -> Skip | Final | Done | None:
    if redo:
        since = repo.max_outbox_seq(db)
        # The recorded author_name is the writer's own; only an agent may name itself (a person's reply carries their name).
        author_name = step.payload.get("author_name") if principal.is_agent else None
        r = annotations_svc.reply(wb, principal, step.entity_id, ReplyCreate(
            body=step.payload.get("body") or "", author_name=author_name), audit_note=undo_note(step, redo))
        step.local_id = r.id
        step.seq = repo.outbox_seq_after(db, since, step.op, step.entity_id)
        repo.update_step(db, step)
        drafts.drop_resent(db, principal, step.entity_id, r.body)
        return None
    if step.seq is not None:
        e = sync_state.get_entry(db, step.seq)
        if e is None or not ops.ANNOTATION_REPLY.unsent(e):
            inverse = ops.inverse_of(step.op, step.entity_type, step.entity_id, step.payload, step.local_id)
            return Final(inverse.reason if isinstance(inverse, ops.CannotUndo) else "the reply was sent")
        ops.ANNOTATION_REPLY.discard(db, e, wb.clock())
    elif sync_state.is_replica(db, principal.workspace_id):
        return Final(f"the reply was sent: {ops.ANNOTATION_REPLY.once_sent}")
    elif step.local_id:
        sync_state.delete_replies(db, [step.local_id])
    ann = annotations_repo.get_annotation(db, principal.workspace_id, step.entity_id)
    if ann is not None:  # a thread change is a change of the annotation for incremental pulls
        annotations_repo.update_annotation(db, ann.id, {"updated_at": max(wb.clock(), ann.updated_at + 1)})
    wb.audit(db, principal, "annotation.reply_undone", "annotation", step.entity_id,
             {"reply_id": step.local_id, **undo_note(step, redo)})
    # The reply is gone from the thread; its words are not: the next ``c`` opens with them.
    if drafts.restore(wb, db, principal, step.entity_id, str(step.payload.get("body") or "")):
        return Done("its text is back as the reply's draft")
    return Done("a newer reply draft is kept; redo sends the reply again")


def _comment_step(wb: Workbench, principal: Principal, db: Connection, step: repo.Step, redo: bool) -> Skip | Final | None:
    from workbench.services import feedback_sessions, stores

    session_id = str(step.payload.get("session_id"))
    if redo:
        target = bool((step.after or {}).get("resolved"))
    else:
        inverse = ops.inverse_of(step.op, step.entity_type, step.entity_id, step.payload, step.local_id)
        if isinstance(inverse, ops.CannotUndo):
            return Final(inverse.reason)
        target = bool(inverse.payload["resolved"])
    if comment_resolved(db, session_id, step.entity_id) != (not target):
        return Skip(f"comment {short_ref(step.entity_id)} changed since; left as it is")
    store = stores.get_store(wb, principal, str(step.payload.get("store_id")))
    since = repo.max_outbox_seq(db)
    feedback_sessions.set_comment_resolved(wb, store, session_id, step.entity_id, target, actor=principal.actor_id)
    step.seq = _cancel_unsent(db, step, repo.outbox_seq_after(db, since, step.op, step.entity_id))
    repo.update_step(db, step)
    return None


def _notes_step(wb: Workbench, principal: Principal, db: Connection, step: repo.Step, redo: bool) -> Skip | Final | None:
    from storage import test_sessions as ts_repo
    from workbench.domain.test_sessions import NotesPatch, NoteUpsert
    from workbench.services import test_sessions

    done = {i: c for i, c in (step.after or {}).get("updated", [])}
    before = dict(step.payload.get("previous") or {})
    if redo:
        target, expect = done, before
    else:
        inverse = ops.inverse_of(step.op, step.entity_type, step.entity_id, step.payload, step.local_id)
        if isinstance(inverse, ops.CannotUndo):
            return Final(inverse.reason)
        target, expect = {i: c for i, c in inverse.payload["updated"]}, done
    current = {n.id: n.content for n in ts_repo.list_notes(db, step.entity_id)}
    if any(current.get(i) != c for i, c in expect.items()):
        return Skip("the note changed since; left as it is")
    since = repo.max_outbox_seq(db)
    test_sessions.patch_notes(wb, principal, step.entity_id, NotesPatch(notes=[NoteUpsert(noteId=i, content=c) for i, c in target.items()]))
    step.seq = _cancel_unsent(db, step, repo.outbox_seq_after(db, since, step.op, step.entity_id))
    repo.update_step(db, step)
    return None


def _feedback_action_step(wb: Workbench, principal: Principal, db: Connection, step: repo.Step, redo: bool) -> Skip | Final | None:
    from storage import feedback_sessions as fs_repo
    from workbench.domain.statuses import status_label
    from workbench.services import feedback_sessions, stores

    if redo:
        action, expect = str(step.payload.get("action")), step.payload.get("from")
    else:
        inverse = ops.inverse_of(step.op, step.entity_type, step.entity_id, step.payload, step.local_id)
        if isinstance(inverse, ops.CannotUndo):
            return Final(inverse.reason)
        action, expect = str(inverse.payload["action"]), step.payload.get("to")
    current = fs_repo.get_session_any(db, step.entity_id)
    if current is None:
        return Skip("the feedback session no longer exists")
    if current.status != expect:
        return Skip(f"the round is {status_label(current.status)} now; left as it is")
    store = stores.get_store(wb, principal, str(step.payload.get("store_id")))
    since = repo.max_outbox_seq(db)
    feedback_sessions.act(wb, store, step.entity_id, action, actor=principal.actor_id)
    step.seq = _cancel_unsent(db, step, repo.outbox_seq_after(db, since, step.op, step.entity_id))
    repo.update_step(db, step)
    return None


def _test_action_step(wb: Workbench, principal: Principal, db: Connection, step: repo.Step, redo: bool) -> Skip | Final | None:
    from storage import test_sessions as ts_repo
    from workbench.domain.statuses import status_label
    from workbench.services import test_sessions

    if redo:
        op, expect = step.op, step.payload.get("from")
    else:
        inverse = ops.inverse_of(step.op, step.entity_type, step.entity_id, step.payload, step.local_id)
        if isinstance(inverse, ops.CannotUndo):
            return Final(inverse.reason)
        op, expect = inverse.op.value, step.payload.get("to")
    # Only pause and resume have a way back; the others are final before they are ever undone.
    run = {OpName.TEST_PAUSE.value: test_sessions.pause, OpName.TEST_RESUME.value: test_sessions.resume}.get(op)
    current = ts_repo.get_session_any(db, step.entity_id)
    if current is None:
        return Skip("the test session no longer exists")
    if run is None or current.status != expect:
        return Skip(f"the session is {status_label(current.status)} now; left as it is")
    since = repo.max_outbox_seq(db)
    run(wb, principal, step.entity_id)
    step.seq = _cancel_unsent(db, step, repo.outbox_seq_after(db, since, op, step.entity_id))
    repo.update_step(db, step)
    return None


def _cancel_unsent(db: Connection, step: repo.Step, new_seq: int | None) -> int | None:
    """A change and its undo (or an undo and its redo), both unsent, cancel: neither goes up.
    Returns the entry that is left to carry this step (None when they cancelled)."""
    earlier = sync_state.get_entry(db, step.seq) if step.seq is not None else None
    if new_seq is not None and earlier is not None and ops.op_for(step.op).unsent(earlier):
        sync_state.delete_entry(db, earlier.seq)
        sync_state.delete_entry(db, new_seq)
        return None
    return new_seq
