"""The op registry (``sync.ops``): every op declared once, its dispatch, summary, discard and inverse.

Each op is made the way a user makes it (through the services, on a replica that mirrors an
in-process server) so the entries under test are the ones the services really write.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from storage import annotations as ann_repo
from storage import feedback_sessions as fs_repo
from storage import sync_cursors, sync_sessions, sync_state
from storage import test_sessions as ts_repo
from sync import ops
from tests.found import found
from tests.sync.conftest import Hub, Replica
from tests.sync.test_sync_inprocess import seed
from tests.sync.test_sync_sessions import server_round
from workbench.domain.annotations import AnnotationPatch, ReplyCreate, ResolutionCreate, RunPersonasRequest
from workbench.domain.outbox import OpName
from workbench.domain.statuses import FINISHED_STATUSES
from workbench.domain.test_sessions import CompleteRequest, FeedbackCreate, NotesPatch, TestSessionCreate
from workbench.services import annotations as ann_svc
from workbench.services import feedback_sessions as fs_svc
from workbench.services import resolutions as res_svc
from workbench.services import stores as stores_svc
from workbench.services import sync as sync_svc
from workbench.services import test_sessions as ts_svc
from workbench.services.local import local_user


@dataclass
class World:
    """A replica that has mirrored annotations, a feedback round with comments and two test sessions."""

    r: Replica
    ann_ids: list[str]
    round_id: str
    sessions: list[str]

    @property
    def db(self):
        return self.r.wb.store.db

    def entry(self, op: str) -> sync_state.Entry:
        [e] = [e for e in sync_state.entries(self.db, self.r.me.workspace_id, None) if e.op == op]
        return e

    @property
    def store(self):
        [store] = stores_svc.list_stores(self.r.wb, self.r.me)
        return store


@pytest.fixture
def world(hub: Hub) -> World:
    ids = seed(hub, 3)
    round_id = server_round(hub, comments=2)
    owner = local_user(hub.wb)
    job = hub.creds["job_id"]
    sessions = [ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=job, testerId=f"tester-{i}")).id for i in range(2)]
    ts_svc.patch_notes(hub.wb, owner, sessions[0], NotesPatch.model_validate({"notes": [{"content": "struggled with checkout"}]}))
    r = hub.replica(sessions=True)
    assert r.sync().ok
    return World(r, ids, round_id, sessions)


def make_every_op(w: World) -> None:
    """One local change of each kind, as the services write it (nothing is synced)."""
    me, wb = w.r.me, w.r.wb
    ann_svc.patch(wb, me, w.ann_ids[0], AnnotationPatch(status="in_progress", summary="looking into it"))
    ann_svc.reply(wb, me, w.ann_ids[1], ReplyCreate(body="Thanks,\n  we are on it"))
    res_svc.create(wb, me, w.ann_ids[2], ResolutionCreate(diff_url="https://git.example/pr/1"))
    ann_svc.run_personas(wb, me, w.ann_ids[0], RunPersonasRequest())
    [c0, _] = fs_repo.list_comments(w.db, w.round_id)
    fs_svc.set_comment_resolved(wb, w.store, w.round_id, c0.id, True)
    fs_svc.act(wb, w.store, w.round_id, "submit_round")
    [note] = ts_repo.list_notes(w.db, w.sessions[0])
    ts_svc.patch_notes(wb, me, w.sessions[0], NotesPatch.model_validate({"notes": [{"noteId": note.id, "content": "recovered"}, {"content": "new"}]}))
    ts_svc.pause(wb, me, w.sessions[1])
    ts_svc.complete(wb, me, w.sessions[0], CompleteRequest())
    ts_svc.submit_feedback(wb, me, w.sessions[0], FeedbackCreate(clarity=4, difficulty=2, technicalIssues=False))


# -- every op declared, and dispatch -----------------------------------------------------------


def test_every_op_name_has_exactly_one_declared_type():
    declared = [name for op in {id(o): o for o in ops.OPS.values()}.values() for name in op.names]
    assert sorted(declared) == sorted(OpName) and len(declared) == len(set(declared))
    for name in OpName:
        op = ops.op_for(name.value)
        assert op is not ops.UNKNOWN and name in op.names
        assert op.credential == {"annotation": "token", "feedback": "store_key", "test": "jwt"}[name.value.split(".")[0]]
    assert ops.op_for("annotation.frobnicate") is ops.UNKNOWN


def test_the_services_write_each_op_with_its_declared_payload(world):
    make_every_op(world)
    entries = sync_state.entries(world.db, world.r.me.workspace_id, None)
    written = {e.op for e in entries}
    assert written >= {n.value for n in OpName} - {"test.resume", "test.analyze", "test.confirm"}
    for e in entries:
        op = ops.op_for(e.op)
        # The stored JSON is exactly what the payload dataclass declares (nothing sent yet, so no bookkeeping).
        assert op.payload(e).stored() == e.payload, e.op


def test_each_entry_is_dispatched_to_its_ops_handler_and_sent(world):
    make_every_op(world)
    rep = world.r.sync()
    assert rep.ok and rep.refused == 0 and rep.sent == 10, rep
    assert world.db.execute("SELECT count(*) FROM sync_outbox").fetchone()[0] == 0


def test_an_entry_this_version_does_not_know_is_refused_with_a_reason_and_can_be_discarded(world):
    with world.r.wb.store.write() as db:
        sync_state.enqueue(db, workspace_id=world.r.me.workspace_id, op="annotation.frobnicate", entity_type="annotation",
                           entity_id=world.ann_ids[0], payload={"x": 1}, at=1)
    rep = world.r.sync()
    assert rep.ok and rep.refused == 1
    [v] = sync_svc.refusals(world.r.wb)
    assert v.reason == "this version cannot send annotation.frobnicate" and v.summary == f"annotation.frobnicate {world.ann_ids[0]}"
    assert isinstance(ops.op_for(v.op).inverse(world.entry(v.op)), ops.CannotUndo)
    sync_svc.discard(world.r.wb, v.seq)
    assert sync_svc.refusals(world.r.wb) == []


def test_an_entry_written_by_the_previous_version_still_syncs(world, hub):
    # The previous version stored a patch as {"fields": [...]}, with no "before".
    ann_id = world.ann_ids[0]
    ann = found(ann_repo.get_annotation(world.db, world.r.me.workspace_id, ann_id))
    with world.r.wb.store.write() as db:
        sync_state.seed_base(db, ann)
        ann_repo.update_annotation(db, ann_id, {"summary": "from an old version", "updated_at": ann.updated_at + 1})
        sync_state.enqueue(db, workspace_id=world.r.me.workspace_id, op="annotation.patch", entity_type="annotation",
                           entity_id=ann_id, payload={"fields": ["summary"]}, at=1)
    inverse = ops.ANNOTATION_PATCH.inverse(world.entry("annotation.patch"))
    assert isinstance(inverse, ops.CannotUndo) and "not recorded" in inverse.reason
    rep = world.r.sync()
    assert rep.ok and rep.sent == 1
    assert found(ann_repo.get_annotation(hub.wb.store.db, hub.creds["workspace_id"], ann_id)).summary == "from an old version"


# -- summaries ----------------------------------------------------------------------------------


def test_summaries_say_what_each_change_was(world):
    make_every_op(world)
    w = world
    a0, a1, a2 = w.ann_ids
    [c0, _] = fs_repo.list_comments(w.db, w.round_id)
    s0, s1 = w.sessions
    want = {
        "annotation.patch": f"change status, summary of annotation {a0}",
        "annotation.reply": f"reply on {a1}: Thanks, we are on it",
        "annotation.resolution": f"resolution on {a2}: https://git.example/pr/1",
        "annotation.run_personas": f"run {len(w.entry('annotation.run_personas').payload['persona_ids'])} persona(s) on {a0}",
        "feedback.comment": f"resolve comment {c0.id}",
        "feedback.action": f"submit round feedback session {w.round_id} (in_review → task_review)",
        "test.notes": f"notes of test session {s0} (1 edited, 1 new)",
        "test.pause": f"pause test session {s1}",
        "test.complete": f"complete test session {s0}",
        "test.feedback": f"feedback test session {s0}",
    }
    assert {op: ops.op_for(op).summary(w.entry(op)) for op in want} == want


# -- discard --------------------------------------------------------------------------------------


def _discard(w: World, op: str) -> None:
    e = w.entry(op)
    with w.r.wb.store.write() as db:
        ops.op_for(op).discard(db, e, w.r.wb.clock())
    assert all(x.seq != e.seq for x in sync_state.entries(w.db, e.workspace_id, None))


def test_discard_rolls_each_local_change_back(world):
    make_every_op(world)
    w, db = world, world.db
    ws = w.r.me.workspace_id
    a0, _a1, _a2 = w.ann_ids
    run_replies = w.entry("annotation.run_personas").payload["reply_ids"]
    reply_id = w.entry("annotation.reply").local_id
    res_id = w.entry("annotation.resolution").local_id
    new_note = w.entry("test.notes").payload["created"][0][0]
    feedback_id = w.entry("test.feedback").local_id
    assert db.execute("SELECT count(*) FROM sync_cursors WHERE resource LIKE 'digest:%'").fetchone()[0] > 0

    _discard(w, "annotation.patch")
    ann = found(ann_repo.get_annotation(db, ws, a0))
    assert (ann.status, ann.summary) == ("new", None)
    assert sync_state.get_base(db, "annotation", a0) is None  # nothing of it waits any more
    _discard(w, "annotation.reply")
    assert db.execute("SELECT count(*) FROM replies WHERE id = ?", [reply_id]).fetchone()[0] == 0
    _discard(w, "annotation.resolution")
    assert db.execute("SELECT count(*) FROM resolutions WHERE id = ?", [res_id]).fetchone()[0] == 0
    _discard(w, "annotation.run_personas")
    assert db.execute(f"SELECT count(*) FROM replies WHERE id IN ({','.join('?' for _ in run_replies)})", run_replies).fetchone()[0] == 0
    _discard(w, "test.notes")
    assert db.execute("SELECT count(*) FROM test_notes WHERE id = ?", [new_note]).fetchone()[0] == 0
    _discard(w, "test.feedback")
    assert db.execute("SELECT count(*) FROM tester_feedback WHERE id = ?", [feedback_id]).fetchone()[0] == 0
    # Mirrored session rows come back from the server on the next pull: their digests are forgotten.
    _discard(w, "feedback.action")
    assert db.execute("SELECT count(*) FROM sync_cursors WHERE resource LIKE 'digest:%'").fetchone()[0] == 0
    for op in ("feedback.comment", "test.pause", "test.complete"):
        _discard(w, op)
    assert w.r.sync().ok
    assert found(fs_repo.get_session_any(db, w.round_id)).status == "in_review"
    assert [c.status for c in fs_repo.list_comments(db, w.round_id)] == ["open", "open"]
    assert [found(ts_repo.get_session_any(db, s)).status for s in w.sessions] == ["active", "active"]


# -- inverse --------------------------------------------------------------------------------------


def test_a_triage_change_is_undone_by_a_patch_of_the_values_it_replaced(world):
    w, me = world, world.r.me
    before = found(ann_repo.get_annotation(w.db, me.workspace_id, w.ann_ids[0]))
    ann_svc.patch(w.r.wb, me, w.ann_ids[0], AnnotationPatch(status="in_progress", summary="looking into it"))
    undo = ops.ANNOTATION_PATCH.inverse(w.entry("annotation.patch"))
    assert isinstance(undo, ops.Undo) and undo.op is OpName.ANNOTATION_PATCH and undo.entity_id == w.ann_ids[0]
    ann_svc.patch(w.r.wb, me, undo.entity_id, AnnotationPatch(**undo.payload["values"]))
    after = found(ann_repo.get_annotation(w.db, me.workspace_id, w.ann_ids[0]))
    assert (after.status, after.summary, after.assignee_id) == (before.status, before.summary, before.assignee_id)


def test_resolving_a_comment_is_undone_by_reopening_it(world):
    w = world
    [c0, _] = fs_repo.list_comments(w.db, w.round_id)
    fs_svc.set_comment_resolved(w.r.wb, w.store, w.round_id, c0.id, True)
    undo = ops.FEEDBACK_COMMENT.inverse(w.entry("feedback.comment"))
    assert isinstance(undo, ops.Undo) and undo.op is OpName.FEEDBACK_COMMENT
    fs_svc.set_comment_resolved(w.r.wb, w.store, undo.payload["session_id"], undo.entity_id, undo.payload["resolved"])
    assert found(fs_repo.get_comment(w.db, w.round_id, c0.id)).status == c0.status == "open"


def test_submitting_a_round_from_review_is_undone_by_returning_it_to_review(world):
    w = world
    fs_svc.act(w.r.wb, w.store, w.round_id, "submit_round")
    undo = ops.FEEDBACK_ACTION.inverse(w.entry("feedback.action"))
    assert isinstance(undo, ops.Undo) and undo.op is OpName.FEEDBACK_ACTION
    fs_svc.act(w.r.wb, w.store, undo.entity_id, undo.payload["action"])
    assert found(fs_repo.get_session_any(w.db, w.round_id)).status == "in_review"
    # And back: a round returned to review is undone by submitting it again.
    [returned] = [e for e in sync_state.entries(w.db, w.r.me.workspace_id) if e.payload.get("action") == "return_to_review"]
    assert ops.FEEDBACK_ACTION.inverse(returned) == ops.Undo(OpName.FEEDBACK_ACTION, w.round_id, {"action": "submit_round"})
    fs_svc.finalize(w.r.wb, w.store, w.round_id)
    [finalize] = [e for e in sync_state.entries(w.db, w.r.me.workspace_id) if e.payload.get("action") == "finalize"]
    assert isinstance(ops.FEEDBACK_ACTION.inverse(finalize), ops.CannotUndo)


def test_pause_and_resume_undo_each_other(world):
    w, me = world, world.r.me
    sid = w.sessions[1]
    ts_svc.pause(w.r.wb, me, sid)
    undo = ops.TEST_ACTION.inverse(w.entry("test.pause"))
    assert undo == ops.Undo(OpName.TEST_RESUME, sid, {})
    ts_svc.resume(w.r.wb, me, sid)
    assert found(ts_repo.get_session_any(w.db, sid)).status == "active"
    assert ops.TEST_ACTION.inverse(w.entry("test.resume")) == ops.Undo(OpName.TEST_PAUSE, sid, {})


def test_editing_notes_is_undone_by_writing_back_their_earlier_contents(world):
    w, me = world, world.r.me
    sid = w.sessions[0]
    [note] = ts_repo.list_notes(w.db, sid)
    ts_svc.patch_notes(w.r.wb, me, sid, NotesPatch.model_validate({"notes": [{"noteId": note.id, "content": "recovered"}]}))
    undo = ops.TEST_NOTES.inverse(w.entry("test.notes"))
    assert isinstance(undo, ops.Undo) and undo.op is OpName.TEST_NOTES
    ts_svc.patch_notes(w.r.wb, me, sid, NotesPatch.model_validate({"notes": [{"noteId": i, "content": c} for i, c in undo.payload["updated"]]}))
    assert [n.content for n in ts_repo.list_notes(w.db, sid)] == ["struggled with checkout"]


@pytest.mark.parametrize("op, words", [
    ("annotation.reply", "reply"),
    ("annotation.resolution", "notified"),
    ("annotation.run_personas", "persona run"),
    ("test.notes", "cannot delete a note"),
    ("test.complete", "cannot be resumed"),
    ("test.feedback", "once per session"),
])
def test_what_cannot_be_undone_says_why(world, op, words):
    make_every_op(world)
    inverse = ops.op_for(op).inverse(world.entry(op))
    assert isinstance(inverse, ops.CannotUndo) and words in inverse.reason


# -- finished feedback rounds (derived from the domain) -----------------------------------------


def test_finished_rounds_are_the_domains_finished_statuses():
    assert set(sync_sessions.FINAL_FEEDBACK) == {s.value for s in FINISHED_STATUSES}
    assert "interrupted" in sync_sessions.FINAL_FEEDBACK


def test_an_interrupted_rounds_comments_are_not_fetched_again(hub):
    sid = server_round(hub)
    server_store = found(fs_repo.get_store(hub.wb.store.db, hub.creds["store_id"]))
    for action in ("submit_round", "approve_tasks", "builder_failed"):
        fs_svc.act(hub.wb, server_store, sid, action)
    assert found(fs_repo.get_session_any(hub.wb.store.db, sid)).status == "interrupted"
    r = hub.replica(sessions=True)
    assert r.sync().ok
    assert len(fs_repo.list_comments(r.wb.store.db, sid)) == 2
    assert sync_cursors.get_digest(r.wb.store.db, r.name, f"comments:{sid}") is not None
    r.bridge.log.clear()
    assert r.sync().ok
    assert not [p for _, p, _ in r.bridge.log if p.endswith("/comments")]
