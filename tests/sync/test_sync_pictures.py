"""A pull brings the pulled records' pictures: screenshots and before/after evidence land in the replica's uploads."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from storage import annotations as ann_repo
from storage import sync_cursors as cursors
from storage import upload_sweep
from sync import pictures
from tests.conftest import ServerProcess
from tests.images import PNG, image_bytes
from workbench.services import remotes
from workbench.services import sync as sync_svc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.local import local_user
from workbench.services.resolutions import evidence_files


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _with_screenshot(c: httpx.Client, creds: dict, image: bytes) -> dict:
    shot = "data:image/png;base64," + base64.b64encode(image).decode()
    r = c.post(f"/api/widget/sites/{creds['site_id']}/annotations", json={"page_url": "https://x/", "body": "broken", "screenshot": shot},
               headers={"X-GF-Widget-Token": creds["widget_token"]})
    assert r.status_code == 201, r.text
    return r.json()


def _upload(c: httpx.Client, creds: dict, ann_id: str, kind: str, image: bytes) -> str:
    pre = c.post(f"/api/v1/annotations/{ann_id}/resolutions/upload-url", json={"kind": kind, "content_type": "image/jpeg"},
                 headers=_bearer(creds["member_token"])).json()
    u = urlsplit(pre["url"])
    assert c.put(f"{u.path}?{u.query}", content=image, headers={"Content-Type": "image/jpeg"}).status_code == 200
    return pre["key"]


def test_a_replica_pulls_the_pictures_once_and_skips_one_the_server_lost(tmp_path: Path):
    served = tmp_path / "served"
    wb = Workbench.open(str(served), mailer=None)
    try:
        creds = bootstrap(wb)
    finally:
        wb.store.close()
    srv = ServerProcess(served)
    replica = Workbench.open(str(tmp_path / "replica"), mailer=None)
    try:
        shot, before, after = image_bytes("PNG", colour="navy"), image_bytes("JPEG", colour="red"), image_bytes("JPEG", colour="green")
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            ann = _with_screenshot(c, creds, shot)
            keys = {"before_key": _upload(c, creds, ann["id"], "before", before), "after_key": _upload(c, creds, ann["id"], "after", after)}
            r = c.post(f"/api/v1/annotations/{ann['id']}/resolutions", json=keys, headers=_bearer(creds["member_token"]))
            assert r.status_code == 201, r.text
            lost = _with_screenshot(c, creds, PNG)
        (served / "uploads" / lost["screenshot_key"]).unlink()  # the server no longer holds it: its GET is a 404

        remotes.add(replica, "origin", srv.url)
        report = sync_svc.run_sync(replica, "origin", credentials={"token": creds["member_token"]})
        assert report.ok, report.stopped
        assert report.pictures == 3
        assert any("1 picture(s) could not be fetched" in note for note in report.notes), report.notes
        store = replica.store
        assert store.upload_path(ann["screenshot_key"]).read_bytes() == shot
        assert store.upload_path(keys["before_key"]).read_bytes() == before
        assert store.upload_path(keys["after_key"]).read_bytes() == after
        assert not store.upload_path(lost["screenshot_key"]).exists()
        assert not list(store.uploads_dir.rglob(f"*{upload_sweep.PART}"))
        me = local_user(replica, sync_svc.status(replica).workspace_id)
        listed = evidence_files(replica, me, ann["id"])
        assert [(e.label, e.path.read_bytes(), e.missing) for e in listed] == [
            ("Screenshot", shot, None), ("Before", before, None), ("After", after, None)]
        # Each file has its uploads row: no sweep takes a fetched picture for an orphan.
        assert upload_sweep.sweep(store, older_than_s=0).removed == []
        assert store.upload_path(keys["after_key"]).is_file()

        again = sync_svc.run_sync(replica, "origin", credentials={"token": creds["member_token"]})
        assert again.ok and again.pictures == 0
    finally:
        replica.store.close()
        srv.stop()


def test_a_server_without_the_route_leaves_the_sync_whole_and_says_so_once(hub):
    """The documented API has no GET /uploads: a 405 there (or a 404 that is not the route's) is no failure."""
    ann = _with_screenshot(hub.tc, hub.creds, PNG)
    replica = hub.replica()

    def no_route(request: httpx.Request, resp: httpx.Response) -> httpx.Response:
        if request.method == "GET" and request.url.path.startswith("/uploads/"):
            return httpx.Response(405, json={"detail": "Method Not Allowed"}, request=request)
        return resp

    replica.bridge.rewrite = no_route
    report = replica.sync()
    assert report.ok and report.pictures == 0
    assert [n for n in report.notes if "pictures" in n] == ["pictures are not available from this server (GET /uploads answered 405)"]
    assert [e.missing for e in evidence_files(replica.wb, replica.me, ann["id"])] == ["not_fetched"]


def test_once_every_picture_is_held_a_sync_asks_for_none_nor_looks_again_until_the_records_move(hub, monkeypatch):
    _with_screenshot(hub.tc, hub.creds, PNG)
    replica = hub.replica()
    assert replica.sync().pictures == 1
    replica.bridge.log.clear()
    looked: list[str] = []
    find = ann_repo.pictures_not_held
    monkeypatch.setattr(ann_repo, "pictures_not_held", lambda db, ws, most: looked.append(ws) or find(db, ws, most))
    again = replica.sync()
    assert again.ok and again.pictures == 0
    assert [entry for entry in replica.bridge.log if entry[1].startswith("/uploads/")] == []
    assert looked == []  # nothing moved: the workspace's records are not read again
    second = _with_screenshot(hub.tc, hub.creds, image_bytes("PNG", colour="olive"))
    assert replica.sync().pictures == 1
    assert replica.wb.store.upload_path(second["screenshot_key"]).is_file()
    # Evidence on an annotation pulled long ago (a new resolution; its annotation's row need not change),
    # and another screenshot: fetched from what changed since the last pass, the workspace not read whole
    # (240 ms at 100,000 annotations, after every sync that brought anything).
    first_id = replica.wb.store.db.execute("SELECT annotation_id FROM uploads WHERE kind = 'screenshot' ORDER BY key LIMIT 1").fetchone()[0]
    before = _upload(hub.tc, hub.creds, first_id, "before", image_bytes("JPEG", colour="red"))
    attached = hub.tc.post(f"/api/v1/annotations/{first_id}/resolutions", json={"before_key": before},
                           headers=_bearer(hub.creds["member_token"]))
    assert attached.status_code == 201, attached.text
    third = _with_screenshot(hub.tc, hub.creds, image_bytes("PNG", colour="teal"))
    assert replica.sync().pictures == 2
    assert replica.wb.store.upload_path(before).is_file() and replica.wb.store.upload_path(third["screenshot_key"]).is_file()
    assert looked == []


def test_a_server_failing_on_pictures_ends_the_pictures_not_the_sync_and_the_next_sync_fetches_them(hub):
    ann = _with_screenshot(hub.tc, hub.creds, PNG)
    replica = hub.replica()

    def failing(request: httpx.Request, resp: httpx.Response) -> httpx.Response:
        if request.url.path.startswith("/uploads/"):
            return httpx.Response(503, json={"detail": "Storage unavailable"}, request=request)
        return resp

    replica.bridge.rewrite = failing
    report = replica.sync()
    assert report.ok and report.pictures == 0
    assert any(n.startswith("pictures stopped after 0 of 1: server error 503") for n in report.notes), report.notes
    replica.bridge.rewrite = None
    assert replica.sync().pictures == 1
    assert [(e.label, e.missing) for e in evidence_files(replica.wb, replica.me, ann["id"])] == [("Screenshot", None)]


@pytest.mark.parametrize(("body", "routes"), [
    ({"detail": "Kein Bild unter diesem Schlüssel", "code": "upload_not_found"}, True),  # reworded: the code says whose 404 it is
    ({"detail": "Upload not found"}, True),  # a server older than the code: its words still do
    ({"detail": "Not Found"}, False),  # a server without the route
])
def test_the_routes_own_404_is_told_by_its_code_and_an_older_servers_by_its_words(hub, body: dict, routes: bool):
    lost = _with_screenshot(hub.tc, hub.creds, PNG)
    (hub.tmp / "server" / "uploads" / lost["screenshot_key"]).unlink()
    replica = hub.replica()

    def answering(request: httpx.Request, resp: httpx.Response) -> httpx.Response:
        if request.url.path.startswith("/uploads/") and resp.status_code == 404:
            assert resp.json()["code"] == "upload_not_found"  # what the bundled server says
            return httpx.Response(404, json=body, request=request)
        return resp

    replica.bridge.rewrite = answering
    report = replica.sync()
    assert report.ok and report.pictures == 0
    notes = [n for n in report.notes if "picture" in n]
    if routes:
        assert len(notes) == 1 and notes[0].startswith("1 picture(s) could not be fetched"), notes
    else:
        assert notes == ["pictures are not available from this server (GET /uploads answered 404)"]


def test_a_picture_that_keeps_failing_is_asked_for_less_often_and_comes_once_the_server_has_it(hub):
    """QA: a picture the server had lost was asked for at every sync, one request each, forever."""
    held = _with_screenshot(hub.tc, hub.creds, image_bytes("PNG", colour="olive"))
    lost = _with_screenshot(hub.tc, hub.creds, PNG)
    served = hub.tmp / "server" / "uploads" / lost["screenshot_key"]
    kept = served.read_bytes()
    served.unlink()
    replica = hub.replica()
    asked: list[int] = []
    for _ in range(9):
        replica.bridge.log.clear()
        report = replica.sync()
        assert report.ok
        asked.append(sum(1 for _, path, _ in replica.bridge.log if path.startswith("/uploads/")))
        # Still missing, asked for or not: the note says so, and the pass is not taken for done.
        [note] = [n for n in report.notes if "picture" in n]
        assert note.startswith("1 picture(s) could not be fetched"), report.notes
    # The first sync also fetched the held one; then the lost one after 1, 2 and 4 syncs.
    assert asked == [2, 1, 0, 1, 0, 0, 0, 1, 0]
    assert replica.wb.store.upload_path(held["screenshot_key"]).is_file()
    served.write_bytes(kept)  # the server has it again: the next attempt brings it, whenever that is
    fetched = 0
    for _ in range(8):
        fetched += replica.sync().pictures
    assert fetched == 1 and replica.wb.store.upload_path(lost["screenshot_key"]).read_bytes() == PNG
    assert replica.wb.store.db.execute("SELECT count(*) FROM sync_picture_failures").fetchone()[0] == 0
    replica.bridge.log.clear()
    again = replica.sync()
    assert again.ok and not [n for n in again.notes if "picture" in n]
    assert not [p for _, p, _ in replica.bridge.log if p.startswith("/uploads/")]


def test_a_failing_picture_waits_at_most_a_day(hub):
    lost = _with_screenshot(hub.tc, hub.creds, PNG)
    (hub.tmp / "server" / "uploads" / lost["screenshot_key"]).unlink()
    replica = hub.replica()
    start = replica.wb.clock()
    replica.wb.clock = lambda: start
    for _ in range(6):
        replica.sync()  # asked at syncs 1, 2 and 4: the next wait is 4 syncs
    replica.bridge.log.clear()
    replica.sync()
    assert not [p for _, p, _ in replica.bridge.log if p.startswith("/uploads/")]
    replica.wb.clock = lambda: start + 24 * 3600 * 1000
    replica.bridge.log.clear()
    replica.sync()
    assert [p for _, p, _ in replica.bridge.log if p.startswith("/uploads/")] == [f"/uploads/{lost['screenshot_key']}"]


def test_a_sync_fetches_so_many_pictures_newest_records_first_and_the_next_sync_the_rest(hub, monkeypatch):
    """QA: a first sync fetched every picture of the workspace in one run, with no bound on their number or size."""
    monkeypatch.setattr(pictures, "MOST_PICTURES_A_SYNC", 2)
    shots = [_with_screenshot(hub.tc, hub.creds, image_bytes("PNG", colour=c))["screenshot_key"] for c in ("navy", "red", "green")]
    oldest = shots[0]
    ann_id = hub.wb.store.db.execute("SELECT id FROM annotations WHERE screenshot_key = ?", [oldest]).fetchone()[0]
    # Evidence attached to the oldest annotation is a newer record than its screenshot: it comes before it.
    after = _upload(hub.tc, hub.creds, ann_id, "after", image_bytes("JPEG", colour="teal"))
    attached = hub.tc.post(f"/api/v1/annotations/{ann_id}/resolutions", json={"after_key": after}, headers=_bearer(hub.creds["member_token"]))
    assert attached.status_code == 201, attached.text
    replica = hub.replica()

    def fetched_by(report) -> list[str]:
        assert report.ok, report.stopped
        got = [p.removeprefix("/uploads/") for _, p, status in replica.bridge.log if p.startswith("/uploads/") and status == 200]
        replica.bridge.log.clear()
        return got

    first = replica.sync()
    assert fetched_by(first) == [after, shots[2]] and first.pictures == 2
    assert "2 picture(s) left for the next sync" in " ".join(first.notes), first.notes
    second = replica.sync()
    assert fetched_by(second) == [shots[1], oldest]
    assert not [n for n in second.notes if "picture" in n], second.notes
    # Nothing left: the next sync does not look again, and what changed after comes newest first too.
    assert fetched_by(replica.sync()) == []
    newer = [_with_screenshot(hub.tc, hub.creds, image_bytes("PNG", colour=c))["screenshot_key"] for c in ("olive", "black", "white")]
    assert fetched_by(replica.sync()) == [newer[2], newer[1]]
    assert fetched_by(replica.sync()) == [newer[0]]


def test_a_sync_stops_fetching_pictures_once_it_fetched_so_many_bytes(hub, monkeypatch):
    monkeypatch.setattr(pictures, "MOST_PICTURE_BYTES_A_SYNC", 1)
    for c in ("navy", "red"):
        _with_screenshot(hub.tc, hub.creds, image_bytes("PNG", colour=c))
    replica = hub.replica()
    first = replica.sync()
    assert first.pictures == 1 and "1 picture(s) left for the next sync" in " ".join(first.notes), first.notes
    assert replica.sync().pictures == 1
    assert replica.sync().pictures == 0


def test_a_removed_remote_leaves_no_picture_failures_behind(hub):
    """A remote added again under the same name starts afresh: its pictures are not held back by the old one's failures."""
    lost = _with_screenshot(hub.tc, hub.creds, PNG)
    (hub.tmp / "server" / "uploads" / lost["screenshot_key"]).unlink()
    replica = hub.replica()
    replica.sync()
    failures = "SELECT count(*) FROM sync_picture_failures"
    assert replica.wb.store.db.execute(failures).fetchone()[0] == 1
    remotes.remove(replica.wb, "origin")
    assert replica.wb.store.db.execute(failures).fetchone()[0] == 0


def test_a_failing_picture_is_asked_for_again_when_the_pass_count_began_again(hub):
    """Discarding a session change forgets every digest of the remote, the pictures' pass count with them."""
    lost = _with_screenshot(hub.tc, hub.creds, PNG)
    (hub.tmp / "server" / "uploads" / lost["screenshot_key"]).unlink()
    replica = hub.replica()
    for _ in range(4):
        replica.sync()  # asked at syncs 1, 2 and 4: it now waits 4 syncs
    with replica.wb.store.write() as db:
        cursors.forget_digests(db, "origin")
    replica.bridge.log.clear()
    replica.sync()
    assert [p for _, p, _ in replica.bridge.log if p.startswith("/uploads/")] == [f"/uploads/{lost['screenshot_key']}"]
