"""A sync with nothing new: one request per resource kind, thanks to the session lists' ETags.

The bundled server's feedback-sessions list and studies list carry a weak ETag covering the
whole tree under them (workbench/server/conditional.py); the replica sends it back with
``If-None-Match`` and a 304 spares it every per-session request. Annotations and threads keep
their documented ``since``. A server without ETags (played by stripping the headers) still
converges, with the per-session requests.
"""

from __future__ import annotations

from collections import Counter

import httpx

from storage import feedback_sessions as fs_repo
from tests.sync.conftest import Hub
from tests.sync.test_sync_sessions import feedback_state, replica_store, server_round, study_state
from workbench.domain.feedback_sessions import CommentCreate
from workbench.domain.test_sessions import NotesPatch, TestSessionCreate
from workbench.services import feedback_sessions as fs_svc
from workbench.services import test_sessions as ts_svc
from workbench.services.demo import load_demo
from workbench.services.local import local_user


def kind(path: str) -> str:
    """The resource kind of a request path: site and session ids folded away."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "sites"] and len(parts) > 3:
        return "sites/*/" + "/".join(parts[4:])
    if parts[:2] == ["api", "sessions"] and len(parts) > 2:
        return "sessions/*/" + "/".join(parts[3:])
    if parts[:3] == ["api", "v1", "feedback-sessions"] and len(parts) > 3:
        return "feedback-sessions/*/" + "/".join(parts[4:])
    return "/".join(parts)


def demo_hub(hub: Hub) -> int:
    load_demo(hub.wb)
    return hub.wb.store.db.execute("SELECT count(*) FROM sites WHERE workspace_id = ?", [hub.creds["workspace_id"]]).fetchone()[0]


def test_a_no_op_sync_on_demo_data_makes_one_request_per_resource_kind(hub):
    sites = demo_hub(hub)
    assert sites >= 3
    r = hub.replica(sessions=True)
    assert r.sync().ok
    assert r.sync().ok  # settles the first run's probes
    r.bridge.log.clear()
    rep = r.sync()
    assert rep.ok and rep.received == 0
    kinds = Counter(kind(p) for _, p, _ in r.bridge.log)
    # Annotations and threads are per site (the documents' `since`); everything else is one request.
    assert kinds == Counter({
        "api/v1/sites": 1, "api/personas/mine": 1, "sites/*/annotations": sites, "sites/*/thread-changes": sites,
        "api/v1/feedback-sessions": 1, "api/studies": 1,
    }), kinds
    assert {(p, s) for _, p, s in r.bridge.log if "sites" not in p and "personas" not in p} == {
        ("/api/v1/feedback-sessions", 304), ("/api/studies", 304),
    }
    assert rep.requests == len(r.bridge.log)


def test_a_change_anywhere_under_a_list_moves_its_etag_and_is_pulled(hub):
    owner = local_user(hub.wb)
    job = hub.creds["job_id"]
    s1 = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=job, testerId="tester-1"))
    sid = server_round(hub, comments=1)
    r = hub.replica(sessions=True)
    assert r.sync().ok
    r.bridge.log.clear()
    assert r.sync().received == 0
    assert ("GET", "/api/studies", 304) in r.bridge.log and ("GET", "/api/v1/feedback-sessions", 304) in r.bridge.log

    # A note and a comment are children of the lists: neither list's own rows change.
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch(notes=[{"content": "lost the cart"}]))
    token = fs_repo.get_session_any(hub.wb.store.db, sid).review_token
    fs_svc.add_comment(hub.wb, sid, token, CommentCreate(content="button overlaps", pagePath="/", reviewerName="Rita"))
    r.bridge.log.clear()
    rep = r.sync()
    assert rep.ok and rep.received >= 2, rep
    assert ("GET", "/api/studies", 200) in r.bridge.log and ("GET", "/api/v1/feedback-sessions", 200) in r.bridge.log
    assert study_state(r.wb, job) == study_state(hub.wb, job)
    assert feedback_state(r.wb, replica_store(r)) == feedback_state(hub.wb, hub.creds["store_id"])


def test_a_server_without_etags_still_converges(hub):
    owner = local_user(hub.wb)
    job = hub.creds["job_id"]
    s1 = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=job, testerId="tester-1"))
    sid = server_round(hub, comments=1)
    r = hub.replica(sessions=True)

    def plain(request: httpx.Request, resp: httpx.Response) -> httpx.Response:
        assert "if-none-match" not in request.headers  # nothing to send back: no ETag was ever seen
        headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in ("etag", "workbench-etag-covers")]
        return httpx.Response(resp.status_code, headers=headers, content=resp.content, request=request)

    r.bridge.rewrite = plain
    assert r.sync().ok
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch(notes=[{"content": "lost the cart"}]))
    token = fs_repo.get_session_any(hub.wb.store.db, sid).review_token
    fs_svc.add_comment(hub.wb, sid, token, CommentCreate(content="button overlaps", pagePath="/", reviewerName="Rita"))
    r.bridge.log.clear()
    assert r.sync().ok
    assert study_state(r.wb, job) == study_state(hub.wb, job)
    assert feedback_state(r.wb, replica_store(r)) == feedback_state(hub.wb, hub.creds["store_id"])
    paths = {p for _, p, _ in r.bridge.log}
    assert f"/api/sessions/{s1.id}/notes" in paths and f"/api/v1/feedback-sessions/{sid}/comments" in paths


def test_an_etag_that_covers_less_is_not_trusted_for_the_children(hub):
    """A server whose list ETag covers only the list itself: the replica still reads the children."""
    owner = local_user(hub.wb)
    job = hub.creds["job_id"]
    s1 = ts_svc.create(hub.wb, owner, TestSessionCreate(jobId=job, testerId="tester-1"))
    r = hub.replica(sessions=True)

    def narrow(request: httpx.Request, resp: httpx.Response) -> httpx.Response:
        headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() != "workbench-etag-covers"]
        return httpx.Response(resp.status_code, headers=headers, content=resp.content, request=request)

    r.bridge.rewrite = narrow
    assert r.sync().ok
    r.bridge.log.clear()
    assert r.sync().ok
    assert f"/api/sessions/{s1.id}/notes" in {p for _, p, _ in r.bridge.log}
    assert all(s != 304 for _, _, s in r.bridge.log)


def test_the_server_answers_304_only_to_the_current_etag_of_the_same_query(hub):
    key = {"Authorization": f"Bearer {hub.creds['store_api_key']}"}
    first = hub.tc.get("/api/v1/feedback-sessions?limit=100&offset=0", headers=key)
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["workbench-etag-covers"] == "comments"
    assert hub.tc.get("/api/v1/feedback-sessions?limit=100&offset=0", headers={**key, "If-None-Match": etag}).status_code == 304
    assert hub.tc.get("/api/v1/feedback-sessions?limit=100&offset=0", headers={**key, "If-None-Match": etag.removeprefix("W/")}).status_code == 304
    # Another page is another representation.
    assert hub.tc.get("/api/v1/feedback-sessions?limit=5&offset=0", headers={**key, "If-None-Match": etag}).status_code == 200
    # The ETag never stands in for credentials.
    assert hub.tc.get("/api/v1/feedback-sessions?limit=100&offset=0", headers={"If-None-Match": etag}).status_code == 401
    server_round(hub, comments=0)
    moved = hub.tc.get("/api/v1/feedback-sessions?limit=100&offset=0", headers={**key, "If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["etag"] != etag

    jwt = {"Authorization": f"Bearer {hub.creds['jwt']}"}
    studies = hub.tc.get("/api/studies", headers=jwt)
    assert studies.headers["workbench-etag-covers"] == "sessions notes"
    assert hub.tc.get("/api/studies", headers={**jwt, "If-None-Match": studies.headers["etag"]}).status_code == 304
    assert hub.tc.get("/api/studies", headers={"If-None-Match": studies.headers["etag"]}).status_code == 401
