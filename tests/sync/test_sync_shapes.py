"""Sync against a server whose answers are JSON of another shape than the documents say: list rows
that are not objects or lack their ids, test-session notes of another shape. Each stops the run as
not the API's (``not_the_api``), naming the answer and what was wrong, with nothing written from it
and nothing sent over a colleague's change; a correct server then converges."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from storage import feedback_sessions as fs_repo
from storage import test_sessions as ts_repo
from tests.found import found
from tests.sync.conftest import Hub, Replica
from tests.sync.test_sync_inprocess import assert_converged, seed
from tests.sync.test_sync_sessions import feedback_state, replica_store, server_round, study_state
from workbench.domain.annotations import ReplyCreate
from workbench.domain.feedback_sessions import CommentCreate
from workbench.domain.personas import PersonaCreate
from workbench.domain.test_sessions import NotesPatch, TestSessionCreate
from workbench.services import annotations as ann_svc
from workbench.services import feedback_sessions as fs_svc
from workbench.services import personas as personas_svc
from workbench.services import sites as sites_svc
from workbench.services import sync as sync_svc
from workbench.services import test_sessions as ts_svc
from workbench.services.bootstrap import owner_principal
from workbench.services.local import local_user

Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response]
SKIP = object()  # a ``change`` leaving this answer as it is (a list with no row to change)


def answered(resp: httpx.Response, body: Any) -> httpx.Response:
    """``resp`` with ``body`` (any JSON) instead of its own, the rest of its headers kept."""
    headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in ("content-length", "content-encoding")]
    return httpx.Response(resp.status_code, headers=headers, content=json.dumps(body).encode(), request=resp.request)


def once(method: str, path_end: str, change: Callable[[Any], Any], *, status: tuple[int, ...] = (200, 201)) -> Rewrite:
    """A rewrite of the first answer to ``method`` on a path ending in ``path_end`` that ``change``
    (of a copy of its JSON) does not answer ``SKIP`` for: the answer becomes what ``change`` returns."""
    done: list[int] = []

    def rewrite(request: httpx.Request, resp: httpx.Response) -> httpx.Response:
        if done or request.method != method or not request.url.path.endswith(path_end) or resp.status_code not in status:
            return resp
        body = change(copy.deepcopy(json.loads(resp.content)))
        if body is SKIP:
            return resp
        done.append(1)
        return answered(resp, body)

    return rewrite


def sessions_hub(hub: Hub) -> tuple[Replica, dict[str, str]]:
    """A replica in step with a server holding annotations, a round with comments, a study's
    session with a note; then one more of each row on the server, for the next sync to pull:
    their ids by the table they go to."""
    seed(hub, 2)
    owner = local_user(hub.wb)
    sid = server_round(hub)
    s1 = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=hub.creds["job_id"], testerId="tester-1"))
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch.model_validate({"notes": [{"content": "struggled with checkout"}]}))
    r = hub.replica(sessions=True)
    assert r.sync().ok
    principal = owner_principal(hub.creds["workspace_id"], hub.creds["owner_user_id"])
    [ann] = seed(hub, 1)
    token = found(fs_repo.get_session_any(hub.wb.store.db, sid)).review_token
    store = found(fs_repo.get_store(hub.wb.store.db, hub.creds["store_id"]))
    new = {
        "sites": sites_svc.create_site(hub.wb, principal, "Second shop", "https://second.example").id,
        "personas": personas_svc.create(hub.wb, principal, PersonaCreate(name="Late persona", category="design")).id,
        "annotations": ann,
        "replies": ann_svc.reply(hub.wb, owner, ann, ReplyCreate(body="a colleague's reply")).id,
        "feedback_comments": fs_svc.add_comment(hub.wb, sid, token, CommentCreate(content="one more", pagePath="/", reviewerName="Rita")).id,
        # Over once the comment came: a store has one round in progress at a time.
        "feedback_sessions": fs_svc.act(hub.wb, store, sid, "finalize") and server_round(hub, comments=0),
        "test_sessions": ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=hub.creds["job_id"], testerId="tester-2")).id,
    }
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch.model_validate({"notes": [{"content": "found the coupon field"}]}))
    new["test_notes"] = next(n.id for n in ts_repo.list_notes(hub.wb.store.db, s1.id) if n.content == "found the coupon field")
    return r, new


# (the path a list is read at ends with, where its rows are in the answer, the table they go to, the row's id field)
LISTS = [
    ("/api/v1/sites", ("items",), "sites", "id"),
    ("/api/personas/mine", ("items",), "personas", "id"),
    ("/annotations", ("items",), "annotations", "id"),
    ("/thread-changes", ("items",), "replies", "data.id"),
    ("/api/v1/feedback-sessions", ("data",), "feedback_sessions", "id"),
    ("/comments", ("data",), "feedback_comments", "id"),
    ("/api/studies", ("data", "studies"), "studies", "jobId"),
    ("/api/sessions", ("data", "sessions"), "test_sessions", "sessionId"),
    ("/notes", ("data", "notes"), "test_notes", "noteId"),
]


@pytest.mark.parametrize("odd", ["text", "without its id"])
@pytest.mark.parametrize(("listed", "where", "table", "id_field"), LISTS, ids=[x[0] for x in LISTS])
def test_a_list_row_of_another_shape_stops_the_run_and_writes_nothing_of_it(
    hub, listed: str, where: tuple[str, ...], table: str, id_field: str, odd: str,
):
    """QA: a server whose list rows were not the documents' (a row that is text, a row without its
    id) made `workbench sync` print a traceback (KeyError: 'id', AttributeError: 'str' object has
    no attribute 'get'). Every list is refused whole, not skipped row by row: the personas are
    mirrored whole (a skipped one would be deleted here) and the others are read by `since` or
    by digest (a skipped row would never come)."""
    r, new = sessions_hub(hub)
    rows_before = r.wb.store.db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()

    def change(body: Any) -> Any:
        rows = body
        for name in where:
            rows = rows[name]
        if not rows:
            return SKIP
        if odd == "text":
            rows[0] = "not a row"
        else:
            row = rows[0]
            *outer, last = id_field.split(".")
            for name in outer:
                row = row[name]
            del row[last]
        return body

    r.bridge.rewrite = once("GET", listed, change, status=(200,))
    rep = r.sync()

    assert rep.stop_code == "not_the_api", (rep.stopped, rep.notes)
    shown = "text, not an object" if odd == "text" else f"without its '{id_field.split('.')[-1]}'"
    assert listed in (rep.stopped or "") and f"(\"{'.'.join(where)}\") whose item 1 of " in (rep.stopped or ""), rep.stopped
    assert shown in (rep.stopped or ""), rep.stopped
    assert r.wb.store.db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() == rows_before
    assert sync_svc.status(r.wb).last_error == rep.stopped

    r.bridge.rewrite = None
    assert r.sync().ok
    if table in new:
        assert r.wb.store.db.execute(f"SELECT count(*) FROM {table} WHERE id = ?", [new[table]]).fetchone()[0] == 1
    assert_converged(hub, r)
    assert feedback_state(r.wb, replica_store(r)) == feedback_state(hub.wb, hub.creds["store_id"])
    assert study_state(r.wb, hub.creds["job_id"]) == study_state(hub.wb, hub.creds["job_id"])
    ws = hub.creds["workspace_id"]
    personas = "SELECT id, name FROM personas WHERE workspace_id = ? ORDER BY id"
    assert r.wb.store.db.execute(personas, [ws]).fetchall() == hub.wb.store.db.execute(personas, [ws]).fetchall()


def notes_of(hub: Hub, session_id: str) -> dict[str, str]:
    return {n.id: n.content for n in ts_repo.list_notes(hub.wb.store.db, session_id)}


@pytest.mark.parametrize("odd", [
    {"success": True, "data": {"notes": None}, "error": None},
    {"success": True, "data": [], "error": None},
    {"success": True, "data": {"notes": [{"content": "a note without its id"}]}, "error": None},
    {"success": True, "data": {"notes": ["text"]}, "error": None},
], ids=["null notes", "data a list", "a note without its id", "a note that is text"])
def test_notes_of_another_shape_before_a_note_edit_stop_the_run_not_the_conflict_check(hub, odd: Any):
    """QA: the notes read before a note edit is pushed (the notes PATCH has no version, so the push
    compares with the server's notes first) read an answer of another shape as no notes at all:
    the edit went up over a colleague's, with no conflict. It stops the run now, nothing sent,
    and the next sync against a correct server records the conflict."""
    owner = local_user(hub.wb)
    s1 = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=hub.creds["job_id"], testerId="tester-1"))
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch.model_validate({"notes": [{"content": "struggled with checkout"}]}))
    r = hub.replica(sessions=True)
    assert r.sync().ok
    [note] = ts_repo.list_notes(r.wb.store.db, s1.id)
    ts_svc.patch_notes(r.wb, r.me, s1.id, NotesPatch.model_validate({"notes": [{"noteId": note.id, "content": "my words"}]}))
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch.model_validate({"notes": [{"noteId": note.id, "content": "their words"}]}))

    r.bridge.rewrite = once("GET", f"/api/sessions/{s1.id}/notes", lambda body: odd)
    rep = r.sync()

    assert rep.stop_code == "not_the_api", (rep.stopped, rep.notes)
    assert f"/api/sessions/{s1.id}/notes answered 200 with " in (rep.stopped or ""), rep.stopped
    assert notes_of(hub, s1.id) == {note.id: "their words"}
    assert r.wb.store.db.execute("SELECT state, ambiguous FROM sync_outbox").fetchall() == [("pending", 0)]
    assert found(ts_repo.get_note(r.wb.store.db, note.id)).content == "my words"

    r.bridge.rewrite = None
    rep = r.sync()
    assert rep.ok and (rep.sent, rep.conflicts) == (0, 1), rep
    assert notes_of(hub, s1.id) == {note.id: "their words"}
    [c] = sync_svc.conflicts(r.wb)
    assert (c.entity_type, c.mine, c.theirs) == ("test_note", "my words", "their words")

