"""Sync of feedback sessions (store key), their comments, and test sessions with notes (JWT)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from storage import feedback_sessions as fs_repo
from storage import test_sessions as ts_repo
from tests.found import found
from tests.served_remote import Served, served
from tests.sync.conftest import Hub
from tests.sync.helpers import outbox_size
from workbench.domain.feedback_sessions import CommentCreate
from workbench.domain.test_sessions import CompleteRequest, ConfirmRequest, FeedbackCreate, NotesPatch, TestSessionCreate
from workbench.services import feedback_sessions as fs_svc
from workbench.services import stores as stores_svc
from workbench.services import sync as sync_svc
from workbench.services import test_sessions as ts_svc
from workbench.services.context import Workbench
from workbench.services.local import local_user


def server_round(hub: Hub, comments: int = 2) -> str:
    store = found(fs_repo.get_store(hub.wb.store.db, hub.creds["store_id"]))
    s = fs_svc.start(hub.wb, store)
    fs_svc.deploy(hub.wb, s.id, env={})
    token = found(fs_repo.get_session_any(hub.wb.store.db, s.id)).review_token
    for i in range(comments):
        fs_svc.add_comment(hub.wb, s.id, token, CommentCreate(content=f"comment {i}", pagePath="/", reviewerName="Rita"))
    return s.id


def feedback_state(wb, store_id: str) -> tuple:
    db = wb.store.db
    sessions = sorted((s.to_public("http://testserver") for s in fs_repo.list_sessions(db, store_id, status=None, limit=1000, offset=0)),
                      key=lambda x: x["id"])
    comments = sorted((c.to_public() for s in sessions for c in fs_repo.list_comments(db, s["id"])), key=lambda x: x["id"])
    return sessions, comments


def study_state(wb, job_id: str) -> tuple:
    db = wb.store.db
    rows = ts_repo.list_sessions(db, job_id, status=None, variant=None, tester_id=None, limit=1000, offset=0)
    sessions = sorted((s.to_public() for s in rows), key=lambda x: x["sessionId"])
    notes = sorted((n.to_public() for s in sessions for n in ts_repo.list_notes(db, s["sessionId"])), key=lambda x: x["noteId"])
    return sessions, notes


def replica_store(r) -> str:
    assert sync_svc.status(r.wb).workspace_id, "the replica has synced"
    return r.wb.store.db.execute("SELECT store_id FROM sync_remotes").fetchone()[0]


def test_feedback_rounds_and_comments_mirror_and_push(hub):
    sid = server_round(hub, comments=3)
    r = hub.replica(sessions=True)
    assert r.sync().ok
    store_id = replica_store(r)
    assert feedback_state(r.wb, store_id) == feedback_state(hub.wb, hub.creds["store_id"])
    me = r.me
    [store] = stores_svc.list_stores(r.wb, me)
    [c0, c1, _] = fs_repo.list_comments(r.wb.store.db, sid)
    fs_svc.set_comment_resolved(r.wb, store, sid, c0.id, True)
    fs_svc.set_comment_resolved(r.wb, store, sid, c1.id, True)
    fs_svc.finalize(r.wb, store, sid)
    assert outbox_size(r.wb) == 3
    rep = r.sync()
    assert rep.ok and rep.sent == 3, rep
    server = found(fs_repo.get_session_any(hub.wb.store.db, sid))
    assert server.status == "done"
    assert [c.status for c in fs_repo.list_comments(hub.wb.store.db, sid)] == ["resolved", "resolved", "open"]
    assert feedback_state(r.wb, store_id) == feedback_state(hub.wb, hub.creds["store_id"])
    # A finished round's comments are not fetched again: the no-op sync stays small.
    r.bridge.log.clear()
    r.sync()
    assert not [p for _, p, _ in r.bridge.log if p.endswith("/comments")]


def test_a_refused_finalize_stays_visible_with_the_reason(hub):
    sid = server_round(hub)
    r = hub.replica(sessions=True)
    r.sync()
    [store] = stores_svc.list_stores(r.wb, r.me)
    fs_svc.finalize(r.wb, store, sid)  # offline, meanwhile someone else finishes the round
    server_store = found(fs_repo.get_store(hub.wb.store.db, hub.creds["store_id"]))
    fs_svc.act(hub.wb, server_store, sid, "submit_round")
    fs_svc.act(hub.wb, server_store, sid, "approve_tasks")  # processing: finalize now refused
    rep = r.sync()
    assert rep.ok and rep.refused == 1
    [x] = sync_svc.refusals(r.wb)
    assert x.http_status == 409 and x.op == "feedback.action" and x.reason
    assert found(fs_repo.get_session_any(r.wb.store.db, sid)).status == "done"  # still the local change, flagged
    sync_svc.discard(r.wb, x.seq)
    r.sync()
    assert found(fs_repo.get_session_any(r.wb.store.db, sid)).status == "processing"
    assert feedback_state(r.wb, replica_store(r)) == feedback_state(hub.wb, hub.creds["store_id"])


def test_a_refused_test_session_action_names_the_session_as_its_screen_does(hub):
    """QA: a pause made offline on a session someone completed meanwhile was listed (TUI 5, `sync
    refused`) as "pause test session sess_01a2…", an id no screen shows; the Test sessions screen
    names a session by its tester and study."""
    owner = local_user(hub.wb)
    job = hub.creds["job_id"]
    sid = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=job, testerId="tester-9")).id
    r = hub.replica(sessions=True)
    assert r.sync().ok
    ts_svc.pause(r.wb, r.me, sid)
    ts_svc.complete(hub.wb, owner, sid, CompleteRequest())  # the server's side: pausing is now refused
    rep = r.sync()
    assert rep.ok and rep.refused == 1, rep
    study = found(ts_repo.get_study(r.wb.store.db, r.me.workspace_id, job)).name
    [x] = sync_svc.refusals(r.wb)
    assert x.summary == f"pause tester-9's test session ({study})", x.summary
    # A session's discard leaves the row to the next pull, and `sync refused --discard` says so.
    [outcome] = sync_svc.act_on_refusals(r.wb, [x.seq], discard_them=True)
    assert (outcome.ok, outcome.summary, outcome.message) == (True, x.summary, sync_svc.DISCARDED_UNTIL_PULL), outcome
    assert found(ts_repo.get_session_any(r.wb.store.db, sid)).status == "paused"
    assert r.sync().ok and found(ts_repo.get_session_any(r.wb.store.db, sid)).status == "completed"


def test_test_sessions_and_notes_mirror_and_push(hub):
    owner = local_user(hub.wb)
    job = hub.creds["job_id"]
    s1 = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=job, testerId="tester-1"))
    s2 = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=job, testerId="tester-2"))
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch.model_validate({"notes": [{"content": "struggled with checkout"}]}))
    r = hub.replica(sessions=True)
    assert r.sync().ok
    assert study_state(r.wb, job) == study_state(hub.wb, job)
    me = r.me
    [note] = ts_repo.list_notes(r.wb.store.db, s1.id)
    ts_svc.patch_notes(r.wb, me, s1.id,
                       NotesPatch.model_validate({"notes": [{"noteId": note.id, "content": "recovered after a retry"}, {"content": "new offline note"}]}))
    ts_svc.patch_notes(r.wb, me, s1.id, NotesPatch.model_validate({"notes": [{"content": "second offline note"}]}))
    ts_svc.complete(r.wb, me, s1.id, CompleteRequest())
    ts_svc.submit_feedback(r.wb, me, s1.id, FeedbackCreate(clarity=4, difficulty=2, technicalIssues=False))
    ts_svc.pause(r.wb, me, s2.id)
    rep = r.sync()
    assert rep.ok and rep.refused == 0 and rep.sent == 5, rep
    sdb = hub.wb.store.db
    assert sorted(n.content for n in ts_repo.list_notes(sdb, s1.id)) == ["new offline note", "recovered after a retry", "second offline note"]
    assert found(ts_repo.get_session_any(sdb, s1.id)).status == "completed"
    assert found(ts_repo.get_session_any(sdb, s2.id)).status == "paused"
    assert ts_repo.get_feedback(sdb, s1.id) is not None
    assert outbox_size(r.wb) == 0
    assert study_state(r.wb, job) == study_state(hub.wb, job)
    # The analysis runs on the server; a later sync brings its result down.
    ts_svc.analyze(r.wb, me, s1.id)
    r.sync()
    ts_svc.run_analysis(hub.wb, s1.id)
    ts_svc.confirm(hub.wb, owner, s1.id, ConfirmRequest(rating=5))
    r.sync()
    assert study_state(r.wb, job) == study_state(hub.wb, job)
    assert found(ts_repo.get_session_any(r.wb.store.db, s1.id)).status == "confirmed"


def test_sessions_without_their_credentials_wait(hub):
    server_round(hub)
    r = hub.replica(sessions=True)
    r.sync()
    sid = r.wb.store.db.execute("SELECT id FROM feedback_sessions").fetchone()[0]
    [store] = stores_svc.list_stores(r.wb, r.me)
    fs_svc.finalize(r.wb, store, sid)
    r.store_key = None
    rep = r.sync()
    assert rep.ok and rep.sent == 0 and sync_svc.status(r.wb).pending == 1
    assert any("store key" in n for n in rep.notes)


def test_a_sync_says_what_it_did_not_pull_for_want_of_a_credential(hub):
    """With a token alone a sync received nothing of the sessions and said nothing: it read as "nothing new"."""
    server_round(hub)
    r = hub.replica()
    rep = r.sync()
    assert rep.ok and r.wb.store.db.execute("SELECT count(*) FROM feedback_sessions").fetchone()[0] == 0
    assert [n.split(";")[0] for n in rep.notes if "not synced" in n] == [
        "feedback sessions were not synced: no store API key is set", "test sessions were not synced: no JWT is set",
    ]
    assert any("WORKBENCH_STORE_KEY" in n for n in rep.notes) and any("WORKBENCH_JWT" in n for n in rep.notes)
    r.store_key, r.jwt = hub.creds["store_api_key"], hub.creds["jwt"]
    rep = r.sync()
    assert not [n for n in rep.notes if "not synced" in n]
    assert r.wb.store.db.execute("SELECT count(*) FROM feedback_sessions").fetchone()[0] > 0


def test_a_sync_that_could_not_reach_the_server_does_not_blame_a_missing_credential(hub):
    """A run that reached no server pulled nothing: "not synced: no store API key is set" sent the user to the wrong remedy."""
    r = hub.replica()
    r.bridge.offline = True
    rep = r.sync()
    assert not rep.ok and "cannot reach" in rep.stopped
    assert not [n for n in rep.notes if "not synced" in n]


@pytest.mark.parametrize("settle", ["keep_mine", "take_theirs"])
def test_a_note_two_replicas_edited_is_a_conflict_not_written_over(tmp_path: Path, settle: str):
    """QA: two reviewers edited one test-session note offline; the second sync's notes PATCH wrote
    over the first one's words, with no conflict shown anywhere, and every replica then held only
    the second. Now the second replica gets a conflict on the note's content, settled as a field's."""
    with served(tmp_path) as s:
        alice, bob = s.replica(tmp_path / "alice", sessions=True), s.replica(tmp_path / "bob", sessions=True)
        sid, note_id, was = alice.store.db.execute(
            "SELECT s.id, n.id, n.content FROM test_sessions s JOIN test_notes n ON n.session_id = s.id WHERE s.status = 'active' LIMIT 1"
        ).fetchone()
        for wb, words in ((alice, "alice's words"), (bob, "bob's words")):
            ts_svc.patch_notes(wb, local_user(wb), sid, NotesPatch.model_validate({"notes": [{"noteId": note_id, "content": words}]}))

        s.sync(alice)
        pushed = s.sync(bob)
        # Alice's words came down, into the conflict: received ("received 0 · conflicts 1" said nothing came).
        assert (pushed.sent, pushed.received, pushed.conflicts) == (0, 1, 1), pushed

        def server_words() -> str:
            [words] = [n["content"] for n in s.as_tester("GET", f"/api/sessions/{sid}/notes")["notes"] if n["noteId"] == note_id]
            return words

        assert server_words() == "alice's words"
        [c] = sync_svc.conflicts(bob)
        assert (c.entity_type, c.field, c.base, c.mine, c.theirs) == ("test_note", "content", was, "bob's words", "alice's words")
        # Named as the Test sessions screen names the session (tester, study), not by an id no screen shows.
        tester, study = bob.store.db.execute(
            "SELECT s.tester_id, j.name FROM test_sessions s JOIN studies j ON j.id = s.job_id WHERE s.id = ?", (sid,)
        ).fetchone()
        assert c.title == f"a note of {tester}'s test session ({study})", c.title
        assert found(ts_repo.get_note(bob.store.db, note_id)).content == "bob's words"  # the local words stay until settled
        assert s.sync(bob).received == 0  # the same words again: nothing new
        # Alice words it again: news for bob, though it waits in the conflict as its "theirs".
        ts_svc.patch_notes(alice, local_user(alice), sid, NotesPatch.model_validate({"notes": [{"noteId": note_id, "content": "alice's new words"}]}))
        s.sync(alice)
        assert s.sync(bob).received == 1 and sync_svc.conflicts(bob)[0].theirs == "alice's new words"
        assert len(sync_svc.conflicts(bob)) == 1 and found(ts_repo.get_note(bob.store.db, note_id)).content == "bob's words"

        sync_svc.settle(bob, keep_mine_ids=[c.id] if settle == "keep_mine" else [], take_theirs_ids=[c.id] if settle == "take_theirs" else [])
        assert s.sync(bob).sent == (1 if settle == "keep_mine" else 0)
        s.sync(alice)

        kept = "bob's words" if settle == "keep_mine" else "alice's new words"
        assert server_words() == kept
        for wb in (alice, bob):
            assert found(ts_repo.get_note(wb.store.db, note_id)).content == kept
            assert not sync_svc.conflicts(wb) and outbox_size(wb) == 0


def served_round(s: Served) -> tuple[str, str, str]:
    """A round started through the API, in review once its preview is deployed (a background job
    of the server), with two open comments: (round, comment, other comment)."""
    started = s.as_store("POST", "/api/v1/feedback-sessions")
    deadline = time.monotonic() + 30
    while (status := s.as_store("GET", f"/api/v1/feedback-sessions/{started['id']}")["status"]) != "in_review":
        assert status == "created" and time.monotonic() < deadline, status
        time.sleep(0.05)
    token = parse_qs(urlsplit(started["feedbackUrl"]).query)["token"][0]
    ids = []
    for words in ("the button is hidden", "the price is wrong"):
        r = s.http.post(f"/api/widget/feedback-sessions/{started['id']}/comments", headers={"X-Review-Token": token},
                        json={"content": words, "pagePath": "/", "reviewerName": "Rita"})
        r.raise_for_status()
        ids.append(r.json()["id"])
    return started["id"], ids[0], ids[1]


@pytest.mark.parametrize("pulled_between", [False, True])
def test_a_comment_resolved_and_reopened_offline_leaves_a_colleagues_resolve(tmp_path: Path, pulled_between: bool):
    """QA: replica A resolved comment C and synced; replica B, offline, resolved C then reopened it
    (no net change) and synced: its outbox sent both steps, so C ended open everywhere and A's
    resolve was undone, with no conflict shown. Now B sends nothing for C and shows A's resolve;
    also when B pulled while its resolve waited (that pull left C as B had it). A comment B's
    steps did change is sent, once."""
    with served(tmp_path) as s:
        sid, c, other = served_round(s)
        alice, bob = s.replica(tmp_path / "alice", sessions=True), s.replica(tmp_path / "bob", sessions=True)

        def resolve(wb: Workbench, comment_id: str, resolved: bool) -> None:
            [store] = stores_svc.list_stores(wb, local_user(wb, sync_svc.status(wb).workspace_id))
            fs_svc.set_comment_resolved(wb, store, sid, comment_id, resolved)

        def on_server() -> dict[str, str]:
            return {x["id"]: x["status"] for x in s.as_store("GET", f"/api/v1/feedback-sessions/{sid}/comments")["data"]}

        resolve(alice, c, True)
        s.sync(alice)
        resolve(bob, c, True)
        if pulled_between:
            assert sync_svc.run_sync(bob, "origin", credentials={"store_key": s.creds["store_api_key"]}, push=False).stopped is None
        resolve(bob, c, False)
        pushed = s.sync(bob)
        assert (pushed.sent, pushed.conflicts) == (0, 0), pushed
        assert on_server()[c] == "resolved" and found(fs_repo.get_comment(bob.store.db, sid, c)).status == "resolved"
        assert outbox_size(bob) == 0

        for resolved in (True, False, True):
            resolve(bob, other, resolved)
        assert s.sync(bob).sent == 1
        assert on_server() == {c: "resolved", other: "resolved"}


def test_a_comment_flipped_while_its_change_is_on_the_way_is_sent_after_it(tmp_path: Path):
    """A reopen made while the sync (the TUI's worker) is sending the resolve waits as a change of
    its own: cancelling the resolve, as an unsent one is, would leave the server's comment resolved
    and the pull would bring that back over the reopen the user just made."""
    with served(tmp_path) as s:
        sid, c, _ = served_round(s)
        bob = s.replica(tmp_path / "bob", sessions=True)
        [store] = stores_svc.list_stores(bob, local_user(bob, sync_svc.status(bob).workspace_id))
        fs_svc.set_comment_resolved(bob, store, sid, c, True)

        class ReopenedMeanwhile(httpx.HTTPTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                response = super().handle_request(request)
                if request.url.path.endswith(f"/comments/{c}/resolve"):
                    fs_svc.set_comment_resolved(bob, store, sid, c, False)
                return response

        credentials = {"token": s.creds["member_token"], "store_key": s.creds["store_api_key"], "jwt": s.creds["jwt"]}
        with ReopenedMeanwhile() as transport:
            rep = sync_svc.run_sync(bob, "origin", credentials=credentials, transport=transport)
        assert rep.stopped is None and rep.sent == 2, rep
        [on_server] = [x["status"] for x in s.as_store("GET", f"/api/v1/feedback-sessions/{sid}/comments")["data"] if x["id"] == c]
        assert on_server == "open" and found(fs_repo.get_comment(bob.store.db, sid, c)).status == "open"
        assert outbox_size(bob) == 0


@pytest.mark.parametrize(("listed", "named"), [
    ("/api/v1/feedback-sessions", "data"),
    ("/comments", "data"),
    ("/api/studies", "data.studies"),
    ("/api/sessions", "data.sessions"),
    ("/notes", "data.notes"),
])
def test_a_session_list_of_another_shape_stops_as_not_the_api_not_as_nothing_new(hub, listed: str, named: str):
    """QA: another JSON service at the remote's address (`{"status": "ok"}` everywhere) had a sync read
    the feedback sessions, studies and a study's sessions as empty and end "Synced", with nothing pulled;
    the personas' list already stopped such a run as not the API."""
    server_round(hub)
    owner = local_user(hub.wb)
    s1 = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=hub.creds["job_id"], testerId="tester-1"))
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch.model_validate({"notes": [{"content": "struggled with checkout"}]}))
    r = hub.replica(sessions=True)

    def other_service(request: httpx.Request, resp: httpx.Response) -> httpx.Response:
        if request.method == "GET" and request.url.path.endswith(listed) and resp.status_code == 200:
            return httpx.Response(200, json={"status": "ok"}, request=request)
        return resp

    r.bridge.rewrite = other_service
    rep = r.sync()
    assert rep.stop_code == "not_the_api", (rep.stopped, rep.notes)
    assert f"with JSON that is not the API's list (no \"{named}\")" in (rep.stopped or ""), rep.stopped
    r.bridge.rewrite = None
    assert r.sync().ok
    assert r.wb.store.db.execute("SELECT count(*) FROM test_notes").fetchone()[0] == 1


def test_a_round_that_finished_in_a_stopped_run_still_gets_its_comments(hub):
    """QA: a round was finished on the server just after a reviewer's last comment, and the sync that
    brought the finished round down stopped before reading its comments (the server out of reach
    for a moment). Every later sync skipped them, as a finished round's comments no longer change:
    the replica never showed that last comment."""
    sid = server_round(hub)
    r = hub.replica(sessions=True)
    assert r.sync().ok
    token = found(fs_repo.get_session_any(hub.wb.store.db, sid)).review_token
    last = fs_svc.add_comment(hub.wb, sid, token, CommentCreate(content="the last word", pagePath="/", reviewerName="Rita"))
    fs_svc.finalize(hub.wb, found(fs_repo.get_store(hub.wb.store.db, hub.creds["store_id"])), sid)

    def unreachable(request: httpx.Request, resp: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/comments"):
            return httpx.Response(503, json={"detail": "The server cannot store this now"}, request=request)
        return resp

    r.bridge.rewrite = unreachable
    rep = r.sync()
    assert rep.stop_code == "unreachable", rep
    assert found(fs_repo.get_session_any(r.wb.store.db, sid)).status == "done"
    r.bridge.rewrite = None
    assert r.sync().ok
    assert fs_repo.get_comment(r.wb.store.db, sid, last.id) is not None
    assert feedback_state(r.wb, replica_store(r)) == feedback_state(hub.wb, hub.creds["store_id"])
