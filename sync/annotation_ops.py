"""The annotation ops (``annotation.patch``, ``.reply``, ``.resolution``, ``.run_personas``): their payloads and types.

Each is sent by ``sync.push``'s ``AnnotationPush``; the registry (``sync.ops``) holds one
instance of each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from sqlite3 import Connection
from typing import TYPE_CHECKING, Any

from storage import annotations as annotations_repo
from storage import sync_state as state
from sync.op_base import CannotUndo, Inverse, Op, Payload, Undo, _annotations, _one_line
from workbench.domain.merge import ANNOTATION_FIELDS
from workbench.domain.outbox import OpName
from workbench.domain.records import Annotation, Reply, Resolution

if TYPE_CHECKING:
    from sync.part import SyncContext

__all__ = [
    "AnnotationPatch", "AnnotationReply", "AnnotationResolution", "AnnotationRunPersonas", "PatchPayload", "ReplyPayload",
    "ResolutionPayload", "RunPersonasPayload",
]


# -- payloads --------------------------------------------------------------------------------


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


# -- ops -------------------------------------------------------------------------------------


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
        # In words, as the TUI's columns name them: "assignee_id" read as the API's field, not a change.
        words = ", ".join("assignee" if f == "assignee_id" else f for f in self.payload(e).fields)
        return f"change {words} of annotation {e.entity_id}"

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
