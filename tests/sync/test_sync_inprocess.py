"""Sync against an in-process server: push in order, pull, merge, conflicts, refusals, faults."""

from __future__ import annotations

import httpx
import pytest

from storage import sync_state
from sync.pull import PAGE_SIZE
from tests.found import found
from tests.images import PNG  # a whole picture: the server takes only images that decode
from tests.sync.conftest import Hub
from tests.sync.helpers import integrity_ok, outbox_size, snapshot
from workbench.domain.annotations import AnnotationPatch, ReplyCreate, ResolutionCreate, RunPersonasRequest, WidgetAnnotationCreate
from workbench.domain.errors import Conflict, Invalid, PreconditionFailed, Unauthenticated
from workbench.domain.personas import PersonaCreate
from workbench.services import annotations as ann_svc
from workbench.services import personas as personas_svc
from workbench.services import remotes
from workbench.services import resolutions as res_svc
from workbench.services import sites as sites_svc
from workbench.services import sync as sync_svc
from workbench.services.bootstrap import owner_principal
from workbench.services.local import local_user


def seed(hub: Hub, n: int = 5) -> list[str]:
    ids = []
    for i in range(n):
        a = ann_svc.submit_from_widget(
            hub.wb, hub.creds["site_id"], hub.creds["widget_token"], None,
            WidgetAnnotationCreate(page_url=f"https://shop.acme.example/p{i}", body=f"Feedback number {i}", submitter_email="a@b.example" if i % 2 else None),
        )
        ids.append(a.id)
    return ids


def server_user(hub: Hub):
    return local_user(hub.wb)


def assert_converged(hub: Hub, *replicas) -> None:
    want = snapshot(hub.wb, hub.creds["workspace_id"])
    for r in replicas:
        assert outbox_size(r.wb) == 0
        assert snapshot(r.wb, hub.creds["workspace_id"]) == want
        assert integrity_ok(r.wb)


def test_first_sync_mirrors_the_workspace_and_becomes_the_default(hub):
    seed(hub, 7)
    r = hub.replica()
    rep = r.sync()
    assert rep.ok and rep.received > 0
    assert_converged(hub, r)
    assert local_user(r.wb).workspace_id == hub.creds["workspace_id"]
    assert local_user(r.wb).role.value == "OWNER"
    n_personas = r.wb.store.db.execute("SELECT count(*) FROM personas WHERE workspace_id = ?", [hub.creds["workspace_id"]]).fetchone()[0]
    assert n_personas == 60
    # A second sync with nothing new: the sites list (a 304 covering annotations and threads) and personas.
    before = len(r.bridge.log)
    again = r.sync()
    assert again.ok and again.received == 0 and len(r.bridge.log) - before == 2


def test_a_replica_gets_every_page_of_the_sites_and_personas(hub):
    """Past one page (the sync asks 200 at a time) of each: the documented lists page, and a
    persona list cut at its first page would be mirrored as deletions."""
    owner = owner_principal(hub.creds["workspace_id"], hub.creds["owner_user_id"])
    for i in range(PAGE_SIZE):  # with bootstrap's, one more site than a page
        sites_svc.create_site(hub.wb, owner, f"Site {i}", f"https://s{i}.example")
    for i in range(PAGE_SIZE - 59):  # with the 60 defaults, one more persona than a page
        personas_svc.create(hub.wb, owner, PersonaCreate(name=f"Custom {i}", category=["design", "zz-last"][i % 2]))
    r = hub.replica()
    assert r.sync().ok
    assert_converged(hub, r)
    ws = hub.creds["workspace_id"]

    def persona_rows(wb):
        return wb.store.db.execute("SELECT id, slug, name, category FROM personas WHERE workspace_id = ? ORDER BY id", [ws]).fetchall()

    assert len(persona_rows(r.wb)) == PAGE_SIZE + 1 and persona_rows(r.wb) == persona_rows(hub.wb)
    pages = [path for method, path, status in r.bridge.log if path in ("/api/v1/sites", "/api/personas/mine") and status == 200]
    assert pages.count("/api/v1/sites") == 2 and pages.count("/api/personas/mine") == 2
    # A persona deleted on the server leaves the replica too, wherever its page is.
    last = personas_svc.list_mine(hub.wb, owner)[-1]
    personas_svc.delete(hub.wb, owner, last.id)
    assert r.sync().ok
    assert persona_rows(r.wb) == persona_rows(hub.wb) and len(persona_rows(r.wb)) == PAGE_SIZE


def test_local_changes_go_up_in_order_exactly_once(hub):
    ids = seed(hub, 3)
    r = hub.replica()
    r.sync()
    me = r.me
    ann_svc.patch(r.wb, me, ids[0], AnnotationPatch(status="triaged", summary="filed as SHOP-1"))
    reply = ann_svc.reply(r.wb, me, ids[0], ReplyCreate(body="offline reply one"))
    res = res_svc.create(r.wb, me, ids[1], ResolutionCreate(diff_url="https://github.com/acme/shop/pull/7", explanation="fixed"))
    run = ann_svc.run_personas(r.wb, me, ids[2], RunPersonasRequest())
    assert sync_svc.status(r.wb).pending == 4
    rep = r.sync()
    assert rep.ok and rep.sent == 4 and rep.refused == 0
    sdb = hub.wb.store.db
    assert sdb.execute("SELECT status, summary FROM annotations WHERE id = ?", [ids[0]]).fetchone() == ("triaged", "filed as SHOP-1")
    assert sdb.execute("SELECT count(*) FROM replies WHERE body = 'offline reply one'").fetchone()[0] == 1
    assert sdb.execute("SELECT count(*) FROM resolutions WHERE annotation_id = ?", [ids[1]]).fetchone()[0] == 1
    assert sdb.execute("SELECT count(*) FROM replies WHERE annotation_id = ? AND author_kind = 'persona'", [ids[2]]).fetchone()[0] == len(run)
    # Local rows now carry the server's ids: nothing shows twice.
    rdb = r.wb.store.db
    assert rdb.execute("SELECT count(*) FROM replies WHERE id = ?", [reply.id]).fetchone()[0] == 0
    assert rdb.execute("SELECT count(*) FROM resolutions WHERE id = ?", [res.id]).fetchone()[0] == 0
    assert sync_state.remote_id_of(rdb, reply.id) is not None
    # The server notified the submitter (a system reply); the next pull brings that too.
    r.sync()
    assert_converged(hub, r)
    assert rdb.execute("SELECT notification_status FROM resolutions WHERE annotation_id = ?", [ids[1]]).fetchone()[0] == "replied"


def test_offline_outbox_is_in_the_same_transaction_as_the_change(hub):
    ids = seed(hub, 1)
    r = hub.replica()
    r.sync()
    with pytest.raises(PreconditionFailed):  # refused inside the transaction: no row, no outbox entry
        ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="ack"), if_version=99)
    assert outbox_size(r.wb) == 0
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="ack"))
    audit = r.wb.store.db.execute("SELECT count(*) FROM audit WHERE action = 'annotation.update'").fetchone()[0]
    assert outbox_size(r.wb) == 1 and audit == 1


def test_local_only_workspaces_have_no_outbox(wb):
    from workbench.services.bootstrap import bootstrap

    creds = bootstrap(wb)
    a = ann_svc.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(page_url="https://x.example/", body="b"))
    ann_svc.patch(wb, local_user(wb), a.id, AnnotationPatch(status="ack"))
    assert outbox_size(wb) == 0


def test_evidence_goes_up_through_the_presigned_flow(hub, tmp_path):
    ids = seed(hub, 1)
    r = hub.replica()
    r.sync()
    before, after = tmp_path / "before.png", tmp_path / "after.png"
    before.write_bytes(PNG + b"before")
    after.write_bytes(PNG + b"after")
    me = r.me
    kb = res_svc.attach_local_file(r.wb, me, ids[0], "before", before)
    ka = res_svc.attach_local_file(r.wb, me, ids[0], "after", after)
    res_svc.create(r.wb, me, ids[0], ResolutionCreate(before_key=kb, after_key=ka, explanation="Contrast fixed"))
    rep = r.sync()
    assert rep.ok and rep.sent == 1
    row = hub.wb.store.db.execute("SELECT before_key, after_key FROM resolutions WHERE annotation_id = ?", [ids[0]]).fetchone()
    assert row[0] != kb and row[1] != ka
    assert hub.wb.store.upload_path(row[0]).read_bytes() == PNG + b"before"
    assert hub.wb.store.upload_path(row[1]).read_bytes() == PNG + b"after"
    # The replica's evidence now lives under the server's keys.
    assert r.wb.store.upload_path(row[1]).read_bytes() == PNG + b"after"
    assert not r.wb.store.upload_path(ka).exists()
    r.sync()
    assert_converged(hub, r)


def test_concurrent_edits_merge_field_by_field(hub):
    ids = seed(hub, 1)
    a, b = hub.replica(), hub.replica()
    a.sync()
    b.sync()
    ann_svc.patch(a.wb, a.me, ids[0], AnnotationPatch(status="in_progress"))
    ann_svc.patch(b.wb, b.me, ids[0], AnnotationPatch(summary="seen on iOS too"))
    ann_svc.patch(hub.wb, server_user(hub), ids[0], AnnotationPatch(assignee_id=server_user(hub).user_id))
    for _ in range(2):
        assert a.sync().ok and b.sync().ok
    row = hub.wb.store.db.execute("SELECT status, summary, assignee_id FROM annotations WHERE id = ?", [ids[0]]).fetchone()
    assert row == ("in_progress", "seen on iOS too", server_user(hub).user_id)
    assert sync_svc.conflicts(a.wb) == [] and sync_svc.conflicts(b.wb) == []
    assert_converged(hub, a, b)


def _conflicted(hub: Hub):
    ids = seed(hub, 1)
    r = hub.replica()
    r.sync()
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="won_t_fix"))
    ann_svc.patch(hub.wb, server_user(hub), ids[0], AnnotationPatch(status="resolved"))
    rep = r.sync()
    assert rep.ok and rep.conflicts == 1
    [c] = sync_svc.conflicts(r.wb)
    assert (c.field, c.mine, c.theirs, c.base) == ("status", "won_t_fix", "resolved", "new")
    # Never overwritten silently: both keep their value until the user chooses.
    assert r.wb.store.db.execute("SELECT status FROM annotations WHERE id = ?", [ids[0]]).fetchone()[0] == "won_t_fix"
    assert hub.wb.store.db.execute("SELECT status FROM annotations WHERE id = ?", [ids[0]]).fetchone()[0] == "resolved"
    assert sync_svc.status(r.wb).conflicts == 1
    return ids[0], r, c


def test_conflict_keep_mine_sends_mine(hub):
    ann_id, r, c = _conflicted(hub)
    sync_svc.keep_mine(r.wb, c.id)
    assert r.sync().ok
    assert hub.wb.store.db.execute("SELECT status FROM annotations WHERE id = ?", [ann_id]).fetchone()[0] == "won_t_fix"
    assert_converged(hub, r)


def test_conflict_take_theirs_drops_mine(hub):
    ann_id, r, c = _conflicted(hub)
    sync_svc.take_theirs(r.wb, c.id)
    assert r.sync().ok
    assert hub.wb.store.db.execute("SELECT status FROM annotations WHERE id = ?", [ann_id]).fetchone()[0] == "resolved"
    assert_converged(hub, r)
    assert r.wb.store.db.execute("SELECT count(*) FROM sync_base").fetchone()[0] == 0


def test_if_match_412_refetches_and_merges(hub):
    ids = seed(hub, 1)
    r = hub.replica()
    r.sync()
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="ack"))
    fired = []

    def sneak(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        # Right after the replica learns the ETag, someone else edits another field.
        if request.method == "GET" and request.url.path == f"/api/v1/annotations/{ids[0]}" and not fired:
            fired.append(1)
            ann_svc.patch(hub.wb, server_user(hub), ids[0], AnnotationPatch(summary="edited meanwhile"))
        return response

    r.bridge.rewrite = sneak
    assert r.sync().ok
    assert ("PATCH", f"/api/v1/annotations/{ids[0]}", 412) in r.bridge.log
    assert hub.wb.store.db.execute("SELECT status, summary FROM annotations WHERE id = ?", [ids[0]]).fetchone() == ("ack", "edited meanwhile")
    assert_converged(hub, r)


def test_without_etags_the_client_merges_before_sending(hub):
    ids = seed(hub, 1)
    r = hub.replica()
    seen_if_match = []

    def plain(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        seen_if_match.append(request.headers.get("if-match"))
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "etag"]
        return httpx.Response(response.status_code, headers=headers, content=response.content, request=request)

    r.bridge.rewrite = plain
    r.sync()
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="ack"))
    ann_svc.patch(hub.wb, server_user(hub), ids[0], AnnotationPatch(summary="server side"))
    assert r.sync().ok
    assert set(seen_if_match) == {None}
    assert found(sync_state.get_remote(r.wb.store.db, "origin")).capabilities["etag"] is False
    assert hub.wb.store.db.execute("SELECT status, summary FROM annotations WHERE id = ?", [ids[0]]).fetchone() == ("ack", "server side")
    assert_converged(hub, r)


def test_documented_api_only_falls_back_to_annotation_details(hub):
    ids = seed(hub, 4)
    ann_svc.reply(hub.wb, server_user(hub), ids[0], ReplyCreate(body="server reply"))
    r = hub.replica()

    def no_extension(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/thread-changes"):
            return httpx.Response(404, json={"detail": "Not Found"}, request=request)
        return response

    r.bridge.rewrite = no_extension
    assert r.sync().ok
    assert found(sync_state.get_remote(r.wb.store.db, "origin")).capabilities["thread_feed"] is False
    assert_converged(hub, r)
    ann_svc.reply(hub.wb, server_user(hub), ids[1], ReplyCreate(body="another server reply"))
    r.bridge.log.clear()
    assert r.sync().ok
    details = [p for m, p, s in r.bridge.log if m == "GET" and p.startswith("/api/v1/annotations/")]
    assert details == [f"/api/v1/annotations/{ids[1]}"]
    assert_converged(hub, r)


@pytest.mark.parametrize("op", ["reply", "resolution", "run_personas", "patch"])
def test_lost_response_is_applied_exactly_once(hub, op):
    ids = seed(hub, 1)
    r = hub.replica()
    r.sync()
    me = r.me
    path = {
        "reply": "/replies", "resolution": "/resolutions", "run_personas": "/run-personas", "patch": "",
    }[op]
    ran = 0  # the persona replies one run writes: only the run_personas case counts them
    if op == "reply":
        ann_svc.reply(r.wb, me, ids[0], ReplyCreate(body="said once"))
    elif op == "resolution":
        res_svc.create(r.wb, me, ids[0], ResolutionCreate(diff_url="https://github.com/acme/shop/pull/1"))
    elif op == "run_personas":
        ran = len(ann_svc.run_personas(r.wb, me, ids[0], RunPersonasRequest()))
    else:
        ann_svc.patch(r.wb, me, ids[0], AnnotationPatch(status="ack"))
    lost = []

    def drop(request: httpx.Request) -> bool:
        if request.method in ("POST", "PATCH") and request.url.path == f"/api/v1/annotations/{ids[0]}{path}" and not lost:
            lost.append(1)
            return True
        return False

    r.bridge.drop = drop
    first = r.sync()
    assert lost
    if op != "patch":
        assert not first.ok and "no answer" in (first.stopped or "")
        assert sync_svc.status(r.wb).pending == 1
    # Simulate the server having lost its idempotency record (a crash): only the client's check prevents a repeat.
    hub.wb.store.db.execute("DELETE FROM idempotency")
    assert r.sync().ok
    r.sync()
    sdb = hub.wb.store.db
    counts = {
        "reply": "SELECT count(*) FROM replies WHERE body = 'said once'",
        "resolution": "SELECT count(*) FROM resolutions",
        "run_personas": "SELECT count(*) / ? FROM replies WHERE author_kind = 'persona'",
        "patch": "SELECT count(*) FROM annotations WHERE status = 'ack'",
    }
    assert sdb.execute(counts[op], [ran] if op == "run_personas" else []).fetchone()[0] == 1
    assert_converged(hub, r)


def test_refusals_stay_visible_until_retried_or_discarded(hub):
    ids = seed(hub, 2)
    guest = hub.replica(token=hub.creds["guest_token"])
    guest.sync()
    me = guest.me
    replies = ann_svc.run_personas(guest.wb, me, ids[0], RunPersonasRequest())
    ann_svc.patch(guest.wb, me, ids[1], AnnotationPatch(assignee_id="not-a-member"))
    ann_svc.reply(guest.wb, me, ids[1], ReplyCreate(body="guests may reply"))
    rep = guest.sync()
    assert rep.ok and rep.refused == 2 and rep.sent == 1
    refused = {x.op: x for x in sync_svc.refusals(guest.wb)}
    assert refused["annotation.run_personas"].http_status == 403 and refused["annotation.run_personas"].reason == "Insufficient role"
    assert refused["annotation.patch"].http_status == 400 and "member" in (refused["annotation.patch"].reason or "")
    assert sync_svc.status(guest.wb).refused == 2
    # Still refused after another sync: nothing is retried behind the user's back.
    assert guest.sync().refused == 0 and sync_svc.status(guest.wb).refused == 2
    sync_svc.retry(guest.wb, refused["annotation.run_personas"].seq)
    assert guest.sync().refused == 1
    for x in sync_svc.refusals(guest.wb):
        sync_svc.discard(guest.wb, x.seq)
    gdb = guest.wb.store.db
    assert gdb.execute(f"SELECT count(*) FROM replies WHERE id IN ({','.join('?' for _ in replies)})", [r.id for r in replies]).fetchone()[0] == 0
    assert gdb.execute("SELECT assignee_id FROM annotations WHERE id = ?", [ids[1]]).fetchone()[0] is None
    assert sync_svc.status(guest.wb).refused == 0
    guest.sync()
    assert_converged(hub, guest)


def test_401_stops_and_keeps_the_outbox(hub):
    ids = seed(hub, 1)
    r = hub.replica()
    r.sync()
    ann_svc.reply(r.wb, r.me, ids[0], ReplyCreate(body="waiting"))
    r.token = "gfat_" + "x" * 43
    rep = r.sync()
    assert not rep.ok and rep.auth_failed == "token" and "Unknown API token" in rep.stopped
    st = sync_svc.status(r.wb)
    assert st.pending == 1 and st.last_error and "credentials rejected" in st.last_error
    r.token = hub.creds["member_token"]
    assert r.sync().ok and sync_svc.status(r.wb).last_error is None


def test_offline_then_online(hub):
    ids = seed(hub, 2)
    r = hub.replica()
    r.sync()
    r.bridge.offline = True
    ann_svc.patch(r.wb, r.me, ids[0], AnnotationPatch(status="ack"))
    ann_svc.reply(r.wb, r.me, ids[1], ReplyCreate(body="written offline"))
    rep = r.sync()
    assert not rep.ok and "cannot reach" in rep.stopped and sync_svc.status(r.wb).pending == 2
    r.bridge.offline = False
    assert r.sync().ok
    assert_converged(hub, r)


def test_interrupted_pull_resumes_from_its_cursor(hub, monkeypatch):
    from sync import pull

    monkeypatch.setattr(pull, "PAGE_SIZE", 5)
    seed(hub, 23)
    r = hub.replica()
    pages = []
    real = r.bridge.handle_request

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/annotations") and request.method == "GET":
            pages.append(request.url.params.get("cursor"))
            if len(pages) >= 3:
                raise httpx.ConnectError("cable pulled", request=request)
        return real(request)

    r.bridge.handle_request = flaky  # type: ignore[method-assign]
    rep = r.sync()
    assert not rep.ok
    have = r.wb.store.db.execute("SELECT count(*) FROM annotations").fetchone()[0]
    assert have == 10  # two pages landed, one transaction each
    pages.clear()
    r.bridge.handle_request = real  # type: ignore[method-assign]
    real_handle = r.bridge.handle_request

    def watch(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/annotations") and request.method == "GET":
            pages.append(request.url.params.get("cursor"))
        return real_handle(request)

    r.bridge.handle_request = watch  # type: ignore[method-assign]
    assert r.sync().ok
    assert pages[0] is not None  # resumed from the saved cursor, not from the first page
    assert_converged(hub, r)


def test_pages_already_fetched_are_applied_in_one_transaction(hub, monkeypatch):
    import threading

    from storage import sync_cursors, sync_mirror
    from sync import pull

    monkeypatch.setattr(pull, "PAGE_SIZE", 5)
    seed(hub, 23)  # five pages
    r = hub.replica()
    fetched, all_fetched = [], threading.Event()
    real = r.bridge.handle_request

    def count(request: httpx.Request) -> httpx.Response:
        resp = real(request)
        if request.url.path.endswith("/annotations"):
            fetched.append(request.url.params.get("cursor"))
            if len(fetched) == 5:
                all_fetched.set()
        return resp

    r.bridge.handle_request = count  # type: ignore[method-assign]
    apply, commits = sync_mirror.apply_annotations, []

    def slow_first_page(db, anns, **kw):
        # The first page is applied while the helper thread fetches the other four.
        assert all_fetched.wait(30)
        return apply(db, anns, **kw)

    save = sync_cursors.save_pull

    def saved(db, remote, resource, state):
        if resource.startswith("annotations:"):
            commits.append(state.run_cursor)
        save(db, remote, resource, state)

    monkeypatch.setattr(sync_mirror, "apply_annotations", slow_first_page)
    monkeypatch.setattr(sync_cursors, "save_pull", saved)
    assert r.sync().ok
    assert len(fetched) == 5
    assert commits[-1] is None and len(commits) == 2  # the first page, then the four that were waiting
    assert_converged(hub, r)


def test_a_cursor_the_server_refuses_restarts_the_run_from_its_since(hub, monkeypatch):
    from sync import pull

    monkeypatch.setattr(pull, "PAGE_SIZE", 5)
    seed(hub, 23)
    r = hub.replica()
    asked: list[str | None] = []

    def refuse_the_third_page_once(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/annotations"):
            asked.append(request.url.params.get("cursor"))
            if len(asked) == 3:
                return httpx.Response(400, json={"detail": "Invalid cursor"}, request=request)
        return response

    r.bridge.rewrite = refuse_the_third_page_once
    assert r.sync().ok
    assert asked[3] is None and len(asked) == 3 + 5  # the whole run again, from its first page
    assert_converged(hub, r)


def _thread_pages_refused(hub: Hub, monkeypatch, refuse) -> tuple:
    from sync import pull

    monkeypatch.setattr(pull, "THREAD_PAGE_SIZE", 2)
    ids = seed(hub, 2)
    for i in range(7):
        ann_svc.reply(hub.wb, server_user(hub), ids[i % 2], ReplyCreate(body=f"server reply {i}"))
    r = hub.replica()
    asked: list[str | None] = []

    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if request.url.path.endswith("/thread-changes") and request.url.params.get("limit") == "2":
            asked.append(request.url.params.get("cursor"))
            if refuse(asked):
                return httpx.Response(400, json={"detail": "Invalid cursor"}, request=request)
        return response

    r.bridge.rewrite = rewrite
    return r, asked


def test_a_refused_thread_cursor_starts_the_run_again_at_once(hub, monkeypatch):
    r, asked = _thread_pages_refused(hub, monkeypatch, lambda asked: len(asked) == 3)
    assert r.sync().ok
    assert asked[3] is None and len(asked) == 3 + 4  # four pages of two for the seven replies
    assert_converged(hub, r)


def test_thread_cursors_refused_twice_leave_the_rest_to_the_next_sync(hub, monkeypatch):
    r, asked = _thread_pages_refused(hub, monkeypatch, lambda asked: asked[-1] is not None and len(asked) < 5)
    assert r.sync().ok
    assert asked == [None, asked[1], None, asked[3]] and asked[1] is not None
    assert r.wb.store.db.execute("SELECT count(*) FROM replies").fetchone()[0] == 2  # the first page, twice
    r.bridge.rewrite = None
    assert r.sync().ok  # not answered 304: the threads this run left unread are read now
    assert_converged(hub, r)


def test_remotes_keep_secrets_in_the_keyring(wb, memory_keyring):
    saved = remotes.add(wb, "origin", "http://localhost:11001/", {"token": "gfat_abc", "jwt": None})
    assert saved.stored == ["token"] and saved.keyring_error is None
    assert memory_keyring.items == {(remotes.service_name(wb, "origin"), "token"): "gfat_abc"}
    assert "gfat_abc" not in wb.store.path.read_bytes().decode("latin-1")
    [info] = remotes.list_remotes(wb)
    assert info.url == "http://localhost:11001" and info.credentials == {"token": "keyring", "store_key": "missing", "jwt": "missing"}
    values, sources = remotes.load_secrets(wb, "origin", env={"WORKBENCH_JWT": "eyJ.env"})
    assert values == {"token": "gfat_abc", "store_key": None, "jwt": "eyJ.env"} and sources["jwt"] == "env"
    with pytest.raises(Invalid):
        remotes.add(wb, "bad name", "http://x")
    with pytest.raises(Invalid):
        remotes.add(wb, "x", "ftp://x")
    remotes.remove(wb, "origin")
    assert memory_keyring.items == {} and remotes.list_remotes(wb) == []


def test_without_a_keyring_backend_secrets_come_from_the_environment(wb):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    saved = remotes.add(wb, "origin", "http://localhost:11001", {"token": "gfat_abc"})
    assert saved.stored == [] and "no system keyring" in (saved.keyring_error or "")
    values, sources = remotes.load_secrets(wb, "origin", env={"WORKBENCH_TOKEN": "gfat_env"})
    assert values["token"] == "gfat_env" and sources["token"] == "env"
    with pytest.raises(Unauthenticated, match="WORKBENCH_TOKEN"):
        sync_svc.run_sync(wb, "origin", credentials={"token": None, "store_key": None, "jwt": None})


def test_remove_refuses_unsynced_changes_without_force(hub):
    ids = seed(hub, 1)
    r = hub.replica()
    r.sync()
    ann_svc.reply(r.wb, r.me, ids[0], ReplyCreate(body="not yet sent"))
    with pytest.raises(Conflict):
        remotes.remove(r.wb, "origin")
    remotes.remove(r.wb, "origin", force=True)
    assert outbox_size(r.wb) == 0
    # The replica's rows stay as local data; new changes no longer queue.
    ann_svc.reply(r.wb, local_user(r.wb), ids[0], ReplyCreate(body="local now"))
    assert outbox_size(r.wb) == 0


def test_a_second_remote_to_the_same_workspace_stops_with_one_line_not_a_traceback(hub):
    """QA: a second remote added for the same server (`remote add backup <the same URL>`) made its
    first `workbench sync --remote backup` print a traceback ending in SyncError ("already the
    replica of another remote"): no handler named it, so the run was neither stopped nor recorded.
    It stops with that reason as its one error line, the remote's last error kept."""
    seed(hub, 1)
    r = hub.replica()
    assert r.sync().ok
    remotes.add(r.wb, "backup", "http://testserver")
    rep = sync_svc.run_sync(r.wb, "backup", credentials={"token": r.token}, transport=r.bridge, sleep=lambda s: None)
    assert rep.stop_code == "refused" and "is already the replica of another remote" in (rep.stopped or ""), rep
    assert sync_svc.status(r.wb, "backup").last_error == rep.stopped
    assert r.sync().ok
