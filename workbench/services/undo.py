"""Undo and redo of a user's actions: record them as they run, take them back, make them again.

Recording: a front end makes its undoable changes through this module's versions of the use
cases (``apply_patch``, ``reply``, ``bulk_apply``, ``set_comment_resolved``, ``edit_notes``, ...,
or a ``Recorder`` for an action of several changes). Each runs the use
case and writes its undo step in the same transaction (``storage.undo``), so a crash keeps both
or neither, and the history survives a restart. A bulk batch is one action.

Undo builds on the op registry (``sync.ops``), which declares each change's inverse; what
taking one step back (or making it again) does, op by op, is ``workbench.services.undo_steps``:

- ``annotation.patch``: the inverse's values go back through ``annotations.apply_patch`` (audit
  row, version, outbox entry, as any change), for the fields that still hold what the action
  set (a field changed since, by sync or another front end, is left and reported). Then the
  unsent patch entries that no longer change anything go (``settle``): before a sync nothing
  needless goes up; after one, the undo is a compensating patch sent through the outbox, and a
  change made meanwhile on the server comes back as a conflict, by the normal merge.
- ``annotation.reply``: while its entry has not left the machine, the op's ``discard`` drops
  the entry and the reply (in a workspace that does not sync, the reply never leaves it), and
  its text comes back as the annotation's reply draft (``drafts.restore``; a draft already
  there is newer, and is kept). Once sent it cannot be undone; the op says why, and that
  action becomes final.
- ``feedback.comment`` (resolved and open swap) and ``test.notes`` (a note's edit, its earlier
  content back): when the action's own entry is still unsent, the two entries cancel and
  neither goes up.

- ``feedback.action`` and ``test.<action>`` (the phase actions of feedback and test sessions):
  where the transition table leads straight back (pause and resume; a round submitted from
  review and returned to review) the way back is applied, and cancels against the action's own
  entry while both are unsent. The others (cancel, finalize, complete, analyze, confirm, ...),
  a new test-session note, a tester's feedback and a started feedback session are recorded too,
  so that ``u`` names them and says why it cannot take them back (the action becomes final),
  and the next ``u`` reaches the action before.

Redo sets the values again (a reply is posted again, and the draft its undo brought back goes,
as sending drops a draft). Persona runs and resolutions are
recorded only to be named: they cannot be undone (a persona run is recorded after it ran, in a
transaction of its own: the engine's call must not hold the write lock), and ``warning_before`` says so before they run (as it does for
every action above that cannot be undone).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from sqlite3 import Connection
from typing import TYPE_CHECKING, Any

from storage import sync_state
from storage import undo as repo
from sync import ops
from workbench.domain.annotations import AnnotationPatch, ReplyCreate, ResolutionCreate, RunPersonasRequest
from workbench.domain.clock import iso_ms
from workbench.domain.errors import DomainError
from workbench.domain.outbox import TEST_ACTION_OPS, OpName
from workbench.domain.records import Reply, Resolution
from workbench.domain.roles import Principal
from workbench.domain.statuses import status_label as words_for_status
from workbench.services import annotations as annotations_svc
from workbench.services.context import Workbench
from workbench.services.undo_steps import FINAL, Done, Final, Skip, apply_step, comment_resolved, short_ref

if TYPE_CHECKING:
    from workbench.domain.session_records import FeedbackSession, TesterFeedback
    from workbench.domain.test_sessions import CompleteRequest, ConfirmRequest, FeedbackCreate
    from workbench.services.bulk import BulkAction, BulkItem
    from workbench.services.inbox import InboxRow

__all__ = [
    "FINAL", "Outcome", "Recorder", "add_note", "add_resolution", "apply_patch", "bulk_apply", "describe", "edit_notes", "feedback_action", "history",
    "redo", "reply", "resolve_comment_row", "run_personas", "set_comment_resolved", "start_feedback_session", "test_action", "tester_feedback", "undo",
    "warning_before",
]

# Why a started feedback session cannot be undone (said before it starts, and by ``u``).
STARTED_ROUND = "a started round stays listed: cancel it while it prepares, or finalize it once in review"


# -- recording -------------------------------------------------------------------------------


class Recorder:
    """One action being recorded: its steps go into the transactions of the changes they undo.

    The action's row is written with its first step, so an action that changed nothing (every
    value already set) leaves no history, and only then does the redo chain end.
    """

    def __init__(self, wb: Workbench, principal: Principal, kind: str | None, what: dict[str, Any] | None = None) -> None:
        """``kind`` None: the kind of the first change (a status, an assignment, ...)."""
        self.wb = wb
        self.principal = principal
        self.kind = kind
        self.what = what or {}
        self.action_id: int | None = None
        self.steps = 0
        # Only a replica's changes write outbox entries: elsewhere there is no entry to look for.
        self.replica = sync_state.is_replica(wb.store.db, principal.workspace_id)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction of this action: when it rolls back (a refusal, a COMMIT the disk
        refused), so does what it recorded here, or the next step would name an action row, or a
        step number, that the rollback took away (a bulk batch whose first row failed)."""
        kept = (self.action_id, self.steps, self.kind, self.what)
        try:
            with self.wb.store.write() as db:
                yield db
        except BaseException:
            self.action_id, self.steps, self.kind, self.what = kept
            raise

    def _since(self, db: Connection) -> int | None:
        return repo.max_outbox_seq(db) if self.replica else None

    def _step(self, db: Connection, op: OpName | str, entity_type: str, entity_id: str, payload: dict[str, Any],
              after: dict[str, Any] | None, since: int | None, local_id: str | None = None) -> None:
        name = op.value if isinstance(op, OpName) else op
        if self.action_id is None:
            self.action_id = repo.start_action(
                db, self.principal.workspace_id, self.principal.actor_id, self.kind or name, self.what, self.wb.clock()
            )
        seq = None if since is None else repo.outbox_seq_after(db, since, name, entity_id)
        repo.add_step(db, repo.Step(self.action_id, self.steps, name, entity_type, entity_id, local_id, seq, payload, after))
        self.steps += 1

    def apply_patch(self, annotation_id: str, req: AnnotationPatch) -> annotations_svc.Patched:
        with self._writing() as db:
            since = self._since(db)
            done = annotations_svc.apply_patch(self.wb, self.principal, annotation_id, req)
            if done.changes:
                if self.kind is None:
                    self.kind, what = _patch_kind(done.changes)
                    self.what = {**what, "annotation_id": annotation_id}
                names = sorted(done.changes)
                payload = {"fields": names, "before": {f: done.changes[f][0] for f in names}}
                self._step(db, OpName.ANNOTATION_PATCH, "annotation", annotation_id, payload,
                           {f: done.changes[f][1] for f in names}, since)
        return done

    def reply(self, annotation_id: str, req: ReplyCreate) -> Reply:
        with self._writing() as db:
            since = self._since(db)
            r = annotations_svc.reply(self.wb, self.principal, annotation_id, req)
            self._step(db, OpName.ANNOTATION_REPLY, "annotation", annotation_id,
                       {"body": r.body, "author_name": r.author_name}, None, since, local_id=r.id)
        return r

    def set_comment_resolved(self, store_id: str, session_id: str, comment_id: str, resolved: bool) -> None:
        from workbench.services import feedback_sessions, stores

        store = stores.get_store(self.wb, self.principal, store_id)
        with self._writing() as db:
            since = self._since(db)
            before = comment_resolved(db, session_id, comment_id)
            feedback_sessions.set_comment_resolved(self.wb, store, session_id, comment_id, resolved, actor=self.principal.actor_id)
            if before is not None and before != resolved:
                self._step(db, OpName.FEEDBACK_COMMENT, "feedback_comment", comment_id,
                           {"session_id": session_id, "resolved": resolved, "store_id": store_id}, {"resolved": resolved}, since)

    def edit_notes(self, session_id: str, edits: list[tuple[str, str]]) -> None:
        """Edit test-session notes ((noteId, content) pairs); a new note is not recorded: once
        created, the notes API cannot delete it."""
        from storage import test_sessions as ts_repo
        from workbench.domain.test_sessions import NotesPatch, NoteUpsert
        from workbench.services import test_sessions

        with self._writing() as db:
            since = self._since(db)
            previous = {n.id: n.content for n in ts_repo.list_notes(db, session_id)}
            test_sessions.patch_notes(self.wb, self.principal, session_id,
                                      NotesPatch(notes=[NoteUpsert(noteId=i, content=c) for i, c in edits]))
            now = {n.id: n.content for n in ts_repo.list_notes(db, session_id)}
            changed = [[i, now[i]] for i, _ in edits if i in previous and previous[i] != now.get(i)]
            if changed:
                self._step(db, OpName.TEST_NOTES, "test_session", session_id,
                           {"updated": changed, "created": [], "previous": {i: previous[i] for i, _ in changed}},
                           {"updated": changed}, since)

    def feedback_action(self, store_id: str, session_id: str, action: str) -> FeedbackSession:
        """A phase action of a feedback session (``feedback_sessions.act``), recorded with the
        statuses it went from and to (the op registry's inverse decides whether ``u`` can go back)."""
        from storage import feedback_sessions as fs_repo
        from workbench.services import feedback_sessions, stores

        store = stores.get_store(self.wb, self.principal, store_id)
        with self._writing() as db:
            since = self._since(db)
            before = fs_repo.get_session(db, store.id, session_id)
            session = feedback_sessions.act(self.wb, store, session_id, action, actor=self.principal.actor_id)
            self._step(db, OpName.FEEDBACK_ACTION, "feedback_session", session_id,
                       {"action": action, "from": before.status if before else None, "to": session.status, "store_id": store_id},
                       {"status": session.status}, since)
        return session

    def start_feedback_session(self, store_id: str) -> FeedbackSession:
        """Start a feedback session (``feedback_sessions.start``); recorded only so ``u`` names it and says it cannot go back."""
        from workbench.services import feedback_sessions, stores

        store = stores.get_store(self.wb, self.principal, store_id)
        with self._writing() as db:
            session = feedback_sessions.start(self.wb, store, actor=self.principal.actor_id)
            self._step(db, FINAL, "feedback_session", session.id, {"reason": STARTED_ROUND}, None, None)
        return session

    def test_action(self, session_id: str, action: str, req: CompleteRequest | ConfirmRequest | None = None) -> Any:
        """A test-session transition (pause, resume, complete, analyze, confirm), recorded with the
        statuses it went from and to; returns what the use case returns."""
        from storage import test_sessions as ts_repo
        from workbench.domain.test_sessions import CompleteRequest, ConfirmRequest, TestSessionAction
        from workbench.services import test_sessions

        wb, me = self.wb, self.principal
        with wb.store.write() as db:
            since = self._since(db)
            before = ts_repo.get_session_any(db, session_id)
            if action == "complete":
                result = test_sessions.complete(wb, me, session_id, req if isinstance(req, CompleteRequest) else CompleteRequest())
            elif action == "confirm":
                assert isinstance(req, ConfirmRequest), "confirm needs its rating"
                result = test_sessions.confirm(wb, me, session_id, req)
            else:
                result = {"pause": test_sessions.pause, "resume": test_sessions.resume,
                          "analyze": test_sessions.analyze}[action](wb, me, session_id)
            after = ts_repo.get_session_any(db, session_id)
            self._step(db, TEST_ACTION_OPS[TestSessionAction(action)], "test_session", session_id,
                       {"from": before.status if before else None, "to": after.status if after else None},
                       {"status": after.status if after else None}, since)
        return result

    def add_note(self, session_id: str, content: str) -> None:
        """Add a test-session note; recorded so ``u`` names it and says why it cannot delete it."""
        from storage import test_sessions as ts_repo
        from workbench.domain.test_sessions import NotesPatch, NoteUpsert
        from workbench.services import test_sessions

        with self._writing() as db:
            since = self._since(db)
            known = set(ts_repo.note_ids(db, session_id))
            test_sessions.patch_notes(self.wb, self.principal, session_id, NotesPatch(notes=[NoteUpsert(content=content)]))
            created = [[n.id, n.content] for n in ts_repo.list_notes(db, session_id) if n.id not in known]
            self._step(db, OpName.TEST_NOTES, "test_session", session_id, {"updated": [], "created": created, "previous": {}},
                       None, since)

    def tester_feedback(self, session_id: str, req: FeedbackCreate) -> TesterFeedback:
        """Record a tester's feedback; recorded so ``u`` names it and says why it cannot be withdrawn."""
        from workbench.services import test_sessions

        with self._writing() as db:
            since = self._since(db)
            feedback = test_sessions.submit_feedback(self.wb, self.principal, session_id, req)
            self._step(db, OpName.TEST_FEEDBACK, "test_session", session_id, {"body": req.model_dump()}, None, since,
                       local_id=feedback.id)
        return feedback


def _patch_kind(changes: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if "status" in changes:
        status = changes["status"][1]
        if status == "duplicate":
            return "duplicate", {"status": status, "summary": (changes.get("summary") or [None, None])[1]}
        return "status", {"status": status}
    if "assignee_id" in changes:
        return "assign", {"assignee_id": changes["assignee_id"][1]}
    return "summary", {}


def apply_patch(wb: Workbench, principal: Principal, annotation_id: str, req: AnnotationPatch) -> annotations_svc.Patched:
    """``annotations.apply_patch``, recorded as one undoable action (when it changed something)."""
    return Recorder(wb, principal, None).apply_patch(annotation_id, req)


def reply(wb: Workbench, principal: Principal, annotation_id: str, req: ReplyCreate) -> Reply:
    """``annotations.reply``, recorded (it can be undone until it has left the machine)."""
    return Recorder(wb, principal, "reply", {"annotation_id": annotation_id}).reply(annotation_id, req)


def bulk_apply(wb: Workbench, principal: Principal, action: BulkAction, rows: Iterable[InboxRow],
               progress: Callable[[int], None] | None = None, *, kind: str = "bulk") -> list[BulkItem]:
    """``bulk.apply``, recorded as one action: ``u`` takes back the whole batch."""
    from workbench.services import bulk

    what = {"action": action.kind, "status": action.status, "summary": action.summary, "assignee_id": action.assignee_id}
    rec = Recorder(wb, principal, kind, what)
    return bulk.apply(wb, principal, action, rows, progress, recorder=rec)


def set_comment_resolved(wb: Workbench, principal: Principal, store_id: str, session_id: str, comment_id: str,
                         resolved: bool) -> None:
    """``feedback_sessions.set_comment_resolved`` (resolve or reopen), recorded."""
    Recorder(wb, principal, "comment", {"resolved": resolved}).set_comment_resolved(store_id, session_id, comment_id, resolved)


def edit_notes(wb: Workbench, principal: Principal, session_id: str, edits: list[tuple[str, str]]) -> None:
    """``test_sessions.patch_notes`` for edits of existing notes, recorded."""
    Recorder(wb, principal, "note", {"session_id": session_id}).edit_notes(session_id, edits)


def feedback_action(wb: Workbench, principal: Principal, store_id: str, session_id: str, action: str) -> FeedbackSession:
    """``feedback_sessions.act``, recorded (``u`` takes it back where the transition table allows)."""
    from storage import feedback_sessions as fs_repo

    store = fs_repo.get_store(wb.store.db, store_id)
    return Recorder(wb, principal, "feedback", {"action": action, "store": store.name if store else ""}).feedback_action(
        store_id, session_id, action)


def start_feedback_session(wb: Workbench, principal: Principal, store_id: str) -> FeedbackSession:
    """``feedback_sessions.start``, recorded (it cannot be undone; ``u`` says so)."""
    from storage import feedback_sessions as fs_repo

    store = fs_repo.get_store(wb.store.db, store_id)
    return Recorder(wb, principal, "feedback", {"action": "start", "store": store.name if store else ""}).start_feedback_session(store_id)


def _tester(wb: Workbench, session_id: str) -> str:
    from storage import test_sessions as ts_repo

    session = ts_repo.get_session_any(wb.store.db, session_id)
    return session.tester_id if session else ""


def test_action(wb: Workbench, principal: Principal, session_id: str, action: str,
                req: CompleteRequest | ConfirmRequest | None = None) -> Any:
    """A test-session transition, recorded (``u`` pauses what it resumed and resumes what it paused)."""
    return Recorder(wb, principal, "test", {"action": action, "tester": _tester(wb, session_id)}).test_action(session_id, action, req)


def add_note(wb: Workbench, principal: Principal, session_id: str, content: str) -> None:
    """A new test-session note, recorded (it cannot be undone; ``u`` says so)."""
    Recorder(wb, principal, "test", {"action": "note", "tester": _tester(wb, session_id)}).add_note(session_id, content)


def tester_feedback(wb: Workbench, principal: Principal, session_id: str, req: FeedbackCreate) -> TesterFeedback:
    """A tester's feedback, recorded (it cannot be undone; ``u`` says so)."""
    return Recorder(wb, principal, "test", {"action": "feedback", "tester": _tester(wb, session_id)}).tester_feedback(session_id, req)


def run_personas(wb: Workbench, principal: Principal, annotation_id: str, req: RunPersonasRequest) -> list[Reply]:
    """Persona reviews, recorded once they are posted, so ``u`` names the run and says why it
    cannot take it back. Recorded after the engine ran, in its own transaction: the engine's
    call must not hold the store's write lock."""
    replies = annotations_svc.run_personas(wb, principal, annotation_id, req)
    _record_final(wb, principal, "run_personas", annotation_id, OpName.ANNOTATION_RUN_PERSONAS,
                  {"persona_ids": [r.author_id for r in replies], "reply_ids": [r.id for r in replies]})
    return replies


def add_resolution(wb: Workbench, principal: Principal, annotation_id: str, req: ResolutionCreate) -> Resolution:
    """A resolution, recorded so ``u`` names it and says why it cannot take it back. In one
    transaction (no engine runs here): a crash between two left a resolution the history did not
    name, and the next ``u`` went on to the action before it without a word."""
    from workbench.services import resolutions

    with wb.store.write():
        res = resolutions.create(wb, principal, annotation_id, req)
        _record_final(wb, principal, "resolution", annotation_id, OpName.ANNOTATION_RESOLUTION,
                      {"before_key": res.before_key, "after_key": res.after_key, "diff_url": res.diff_url,
                       "explanation": res.explanation}, local_id=res.id)
    return res


def _record_final(wb: Workbench, principal: Principal, kind: str, annotation_id: str, op: OpName, payload: dict[str, Any],
                  local_id: str | None = None) -> None:
    rec = Recorder(wb, principal, kind, {"annotation_id": annotation_id})
    with wb.store.write() as db:
        rec._step(db, op, "annotation", annotation_id, payload, None, None, local_id=local_id)


def resolve_comment_row(wb: Workbench, principal: Principal, row: InboxRow) -> BulkItem:
    """Resolve one feedback comment from the inbox, recorded; returns its ``BulkItem``."""
    from workbench.services import bulk

    return bulk_apply(wb, principal, bulk.BulkAction("set_status", status="resolved"), [row], kind="comment")[0]


# -- what cannot be undone, said before it runs -------------------------------------------------


def warning_before(wb: Workbench, principal: Principal, kind: str, status: str | None = None) -> str:
    """Whether ``u`` can take back an action of ``kind``, in words short enough for a dialog's
    first lines, shown before it runs (``sync.ops`` gives the full reasons when ``u`` meets one).

    ``kind``: reply, run_personas, resolution; ``feedback.start`` or ``feedback.<action>`` (a
    feedback session's phase action, from ``status``); ``test.<action>`` (a test-session
    transition), ``test.notes`` (a new note), ``test.feedback`` (a tester's feedback). For the
    sessions the words are the op registry's: the dialog says what ``u`` will say.
    """
    from workbench.domain.statuses import status_label

    if kind == "feedback.start":
        return f"Cannot be undone: {STARTED_ROUND}"
    if kind.startswith(("feedback.", "test.")):
        # The entry the action would write: ``created`` makes ``test.notes`` a new note (an edit can be undone).
        op, payload = kind, {"action": kind.split(".", 1)[1], "from": status, "created": [["", ""]]}
        if kind.startswith("feedback."):
            op = OpName.FEEDBACK_ACTION.value
        inverse = ops.inverse_of(op, "", "", payload)
        if isinstance(inverse, ops.CannotUndo):
            return f"Cannot be undone: {inverse.reason}"
        return f"Undo (u) works: it goes back to {status_label(status or '')}"
    replica = sync_state.is_replica(wb.store.db, principal.workspace_id)
    if kind == "reply":
        if replica:
            return "Undo (u) works until a sync sends it; a sent reply cannot be taken back"
        return "Undo (u) works: this workspace does not sync, so the reply never leaves this machine"
    if kind == "run_personas":
        if replica:
            return "Cannot be undone: the reviews are posted as replies on the server"
        return "Cannot be undone: the reviews stay on the thread (u skips the run)"
    if kind == "resolution":
        return "Cannot be undone: the submitter is notified"
    raise ValueError(f"unknown action kind {kind!r}")


# -- undo and redo ----------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What ``undo``/``redo`` did to one action."""

    action_id: int
    kind: str  # status | assign | summary | duplicate | reply | note | comment | bulk | feedback | test
    what: dict[str, Any]
    redo: bool
    steps: int  # changes the action made
    applied: int  # of them taken back (undo) or made again (redo)
    skipped: list[str] = field(default_factory=list)  # why the others were left
    notes: list[str] = field(default_factory=list)  # what else the user should know of the steps applied
    final: str | None = None  # set when the action can no longer be undone, and why

    @property
    def verb(self) -> str:
        """How a report of it opens. With every step left as it was (changed since), the action
        came off the stack having changed nothing: "Undid" would claim otherwise."""
        if self.applied:
            return "Redid" if self.redo else "Undid"
        return "Not redone" if self.redo else "Not undone"

    def to_public(self) -> dict[str, Any]:
        """The CLI's ``undo --json``: ``id`` is the action's, as ``history`` (``undo --list``) names it.
        No ``final``: the CLI reports an action that cannot be undone as an error (``cannot_undo``),
        never as an outcome, so the key could only ever be null."""
        return {
            "id": self.action_id, "kind": self.kind, "what": self.what, "redo": self.redo, "steps": self.steps,
            "applied": self.applied, "skipped": self.skipped, "notes": self.notes, "label": describe(self),
        }


def undo(wb: Workbench, principal: Principal) -> Outcome | None:
    """Take back the user's last action (a whole bulk batch at once); None: nothing to undo."""
    return _run(wb, principal, redo=False)


def redo(wb: Workbench, principal: Principal) -> Outcome | None:
    """Make the last undone action again; None: nothing to redo."""
    return _run(wb, principal, redo=True)


def _run(wb: Workbench, principal: Principal, *, redo: bool) -> Outcome | None:
    now = wb.clock()
    with wb.store.write() as db:
        action = repo.top(db, principal.workspace_id, principal.actor_id, "undone" if redo else "done")
        if action is None:
            return None
        steps = repo.steps(db, action.id)
        out = Outcome(action.id, action.kind, action.what, redo, len(steps), 0)
        finals: list[str] = []
        for step in steps if redo else reversed(steps):
            try:
                result = apply_step(wb, principal, db, step, redo=redo)
            except DomainError as exc:
                result = Skip(exc.message)
            if result is None or isinstance(result, Done):
                out.applied += 1
                if result is not None:
                    out.notes.append(result.note)
            elif isinstance(result, Final):
                finals.append(result.reason)
            else:
                out.skipped.append(result.reason)
        if finals and out.applied == 0:
            # Nothing of it can be taken back any more: say why once, and let the next ``u`` go on.
            out.final = finals[0]
            repo.set_state(db, action.id, "final", now, out.final)
        else:
            out.skipped = finals + out.skipped
            repo.set_state(db, action.id, "done" if redo else "undone", now)
        wb.audit(db, principal, "undo.redo" if redo else "undo.undo", "undo_action", str(action.id),
                 {"kind": action.kind, "applied": out.applied, "skipped": len(out.skipped), "final": out.final}, at=now)
    return out


# -- reading ----------------------------------------------------------------------------------


def history(wb: Workbench, principal: Principal, limit: int = 20) -> list[dict[str, Any]]:
    """The user's latest actions, newest first, with their state (``done``, ``undone``, ``final``)."""
    from workbench.services.inbox import member_names

    db = wb.store.db
    names = member_names(wb, principal)
    out = []
    for a in repo.recent(db, principal.workspace_id, principal.actor_id, limit):
        n = repo.count_steps(db, a.id)
        label = describe(Outcome(a.id, a.kind, a.what, False, n, n), members=names)
        out.append({"id": a.id, "label": label, "state": a.state, "reason": a.reason, "at": iso_ms(a.created_at)})
    return out


def describe(o: Outcome, *, status_label: Callable[[str], str] | None = None,
             members: dict[str, str] | None = None) -> str:
    """The action in words: "Status → ack on …1a2b3c4d", "Bulk: assign to Ada on 12 rows".

    ``members`` (``inbox.member_names``) names an assignee as every front end does (``inbox.member_name``);
    without it the id stands (``undo --json``'s label)."""
    status_label = status_label or words_for_status

    def member_name(uid: str) -> str:
        if members is None:
            return uid
        from workbench.services.inbox import member_name as named

        return named(uid, members)

    w = o.what
    on = f" on {short_ref(str(w['annotation_id']))}" if w.get("annotation_id") else ""
    if o.kind == "status":
        return f"Status → {status_label(str(w.get('status')))}{on}"
    if o.kind == "duplicate":
        summary = str(w.get("summary") or "")
        target = summary.removeprefix("duplicate of ").strip()
        return f"Duplicate of {short_ref(target)}{on}" if target else f"Status → duplicate{on}"
    if o.kind == "assign":
        return f"Assigned to {member_name(str(w['assignee_id']))}{on}" if w.get("assignee_id") else f"Unassigned{on}"
    if o.kind == "summary":
        return f"Summary{on}"
    if o.kind == "reply":
        return f"Reply{on}"
    if o.kind == "run_personas":
        return f"Persona reviews{on}"
    if o.kind == "resolution":
        return f"Resolution{on}"
    if o.kind == "note":
        return "Note edited"
    if o.kind == "comment":
        return "Comment resolved" if w.get("resolved", True) else "Comment reopened"
    if o.kind == "feedback":
        done = _FEEDBACK_DONE.get(str(w.get("action")), str(w.get("action")).replace("_", " "))
        return f"{done} on {w['store']}" if w.get("store") else done
    if o.kind == "test":
        done = _TEST_DONE.get(str(w.get("action")), str(w.get("action")))
        return f"{done} ({w['tester']})" if w.get("tester") else done
    rows = f"{o.steps:,} row{'s' if o.steps != 1 else ''}"
    if w.get("action") == "assign":
        change = f"assign to {member_name(str(w['assignee_id']))}" if w.get("assignee_id") else "unassign"
    else:
        change = f"status → {status_label(str(w.get('status')))}"
    return f"Bulk: {change} on {rows}"


_FEEDBACK_DONE = {
    "start": "Round started", "cancel": "Round canceled", "finalize": "Round finalized", "start_work": "Work started",
    "submit_round": "Round submitted for task review", "return_to_review": "Round returned to review",
    "approve_tasks": "Tasks approved", "builder_finished": "Builder finished", "builder_failed": "Builder failed",
}
_TEST_DONE = {
    "pause": "Test session paused", "resume": "Test session resumed", "complete": "Test session completed",
    "analyze": "Test session analysis", "confirm": "Test session confirmed", "note": "Note added",
    "feedback": "Tester feedback",
}
