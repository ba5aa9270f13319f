"""A sync with nothing new: one request per resource kind, thanks to the lists' ETags.

The bundled server's sites list, feedback-sessions list and studies list carry a weak ETag
covering the whole tree under them (workbench/server/conditional.py); the replica sends it back
with ``If-None-Match`` and a 304 spares it every per-site and per-session request. A server
without ETags (played by stripping the headers) still converges, with the per-site `since`
requests and the per-session ones.
"""

from __future__ import annotations

from collections import Counter

import httpx

from storage import annotations as ann_repo
from storage import feedback_sessions as fs_repo
from tests.found import found
from tests.sync.conftest import Hub
from tests.sync.test_sync_sessions import feedback_state, replica_store, server_round, study_state
from workbench.domain.annotations import AnnotationPatch, ReplyCreate, ResolutionCreate, WidgetAnnotationCreate
from workbench.domain.feedback_sessions import CommentCreate
from workbench.domain.test_sessions import NotesPatch, TestSessionCreate
from workbench.services import annotations as ann_svc
from workbench.services import feedback_sessions as fs_svc
from workbench.services import resolutions as resolutions_svc
from workbench.services import test_sessions as ts_svc
from workbench.services.bootstrap import owner_principal
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
    kinds = Counter((kind(p), s) for _, p, s in r.bridge.log)
    # The sites list's ETag covers every site's annotations and threads: no per-site request.
    assert kinds == Counter({
        ("api/v1/sites", 304): 1, ("api/personas/mine", 200): 1, ("api/v1/feedback-sessions", 304): 1, ("api/studies", 304): 1,
    }), kinds
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
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch.model_validate({"notes": [{"content": "lost the cart"}]}))
    token = found(fs_repo.get_session_any(hub.wb.store.db, sid)).review_token
    fs_svc.add_comment(hub.wb, sid, token, CommentCreate(content="button overlaps", pagePath="/", reviewerName="Rita"))
    r.bridge.log.clear()
    rep = r.sync()
    assert rep.ok and rep.received >= 2, rep
    assert ("GET", "/api/studies", 200) in r.bridge.log and ("GET", "/api/v1/feedback-sessions", 200) in r.bridge.log
    assert study_state(r.wb, job) == study_state(hub.wb, job)
    assert feedback_state(r.wb, replica_store(r)) == feedback_state(hub.wb, hub.creds["store_id"])


def test_a_write_to_any_annotation_reply_or_resolution_moves_the_sites_etag_and_is_pulled(hub):
    sites = demo_hub(hub)
    owner = local_user(hub.wb)
    r = hub.replica()
    assert r.sync().ok
    assert r.sync().ok
    db = hub.wb.store.db
    # One annotation per site: a write under the last site must move the one list's ETag too.
    last = db.execute("SELECT id FROM sites ORDER BY created_at DESC LIMIT 1").fetchone()[0]
    ann_id = db.execute("SELECT id FROM annotations WHERE site_id = ? LIMIT 1", [last]).fetchone()[0]
    writes = [
        lambda: ann_svc.patch(hub.wb, owner, ann_id, AnnotationPatch(summary="looked at")),
        lambda: ann_svc.reply(hub.wb, owner, ann_id, ReplyCreate(body="on it")),
        lambda: resolutions_svc.create(hub.wb, owner, ann_id, ResolutionCreate(explanation="fixed the margin")),
        lambda: emailed(hub.wb, ann_id),  # the notifier's write touches the resolution alone
    ]
    for write in writes:
        r.bridge.log.clear()
        assert r.sync().received == 0
        assert ("GET", "/api/v1/sites", 304) in r.bridge.log
        write()
        r.bridge.log.clear()
        rep = r.sync()
        assert rep.ok and rep.received >= 1, rep
        assert ("GET", "/api/v1/sites", 200) in r.bridge.log
        assert sum(1 for _, p, _ in r.bridge.log if p.endswith("/annotations")) == sites
    mine = r.wb.store.db
    assert mine.execute("SELECT summary FROM annotations WHERE id = ?", [ann_id]).fetchone()[0] == "looked at"
    assert mine.execute("SELECT count(*) FROM replies WHERE annotation_id = ? AND body = 'on it'", [ann_id]).fetchone()[0] == 1
    resolutions = "SELECT id, notification_status FROM resolutions WHERE annotation_id = ? ORDER BY id"
    assert mine.execute(resolutions, [ann_id]).fetchall() == db.execute(resolutions, [ann_id]).fetchall()
    assert ("emailed",) in [row[1:] for row in mine.execute(resolutions, [ann_id])]


def emailed(wb, ann_id: str) -> None:
    newest = wb.store.db.execute("SELECT id FROM resolutions WHERE annotation_id = ? ORDER BY created_at DESC LIMIT 1", [ann_id]).fetchone()[0]
    with wb.store.write() as w:
        ann_repo.set_notification(w, newest, "emailed", wb.clock())


def test_the_sites_etag_never_stands_in_for_credentials(hub):
    demo_hub(hub)
    member = {"Authorization": f"Bearer {hub.creds['member_token']}"}
    first = hub.tc.get("/api/v1/sites", headers=member)
    etag = first.headers["etag"]
    assert first.headers["workbench-etag-covers"] == "annotations threads"
    assert hub.tc.get("/api/v1/sites", headers={**member, "If-None-Match": etag}).status_code == 304
    assert hub.tc.get("/api/v1/sites", headers={"If-None-Match": etag}).status_code == 401


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
    ts_svc.patch_notes(hub.wb, owner, s1.id, NotesPatch.model_validate({"notes": [{"content": "lost the cart"}]}))
    token = found(fs_repo.get_session_any(hub.wb.store.db, sid)).review_token
    fs_svc.add_comment(hub.wb, sid, token, CommentCreate(content="button overlaps", pagePath="/", reviewerName="Rita"))
    r.bridge.log.clear()
    assert r.sync().ok
    assert study_state(r.wb, job) == study_state(hub.wb, job)
    assert feedback_state(r.wb, replica_store(r)) == feedback_state(hub.wb, hub.creds["store_id"])
    paths = {p for _, p, _ in r.bridge.log}
    assert f"/api/sessions/{s1.id}/notes" in paths and f"/api/v1/feedback-sessions/{sid}/comments" in paths
    # Without the sites list's ETag, a change under a site is found through the documents' `since`.
    owner_p = owner_principal(hub.creds["workspace_id"], hub.creds["owner_user_id"])
    ann = ann_svc.submit_from_widget(
        hub.wb, hub.creds["site_id"], hub.creds["widget_token"], None, WidgetAnnotationCreate(page_url="https://x/", body="late")
    )
    ann_svc.reply(hub.wb, owner_p, ann.id, ReplyCreate(body="seen"))
    r.bridge.log.clear()
    rep = r.sync()
    assert rep.ok and rep.received >= 2, rep
    assert ("GET", f"/api/v1/sites/{hub.creds['site_id']}/annotations", 200) in r.bridge.log
    assert r.wb.store.db.execute("SELECT count(*) FROM replies WHERE annotation_id = ?", [ann.id]).fetchone()[0] == 1


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
