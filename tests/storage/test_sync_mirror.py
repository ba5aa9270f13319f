"""storage/sync_mirror.py over a temporary store: the server's rows applied to a replica."""

from __future__ import annotations

from dataclasses import replace

from storage import annotations as ann_repo
from storage import personas as personas_repo
from storage import sites as sites_repo
from storage import sync_merge_state as merge_repo
from storage import sync_mirror as repo
from storage.sync_merge_state import Base
from tests.storage.records import T0, annotation, reply, resolution
from workbench.domain.records import Persona, Site
from workbench.services.context import Workbench


def test_new_annotations_are_inserted_and_an_unchanged_one_is_left_alone(wb: Workbench, creds: dict) -> None:
    a1 = annotation(creds["workspace_id"], creds["site_id"], "a1")
    with wb.store.write() as db:
        applied = repo.apply_annotations(db, [a1], at=T0)
    assert (applied.inserted, applied.updated, applied.thread_moved) == (1, 0, ["a1"])
    assert ann_repo.get_annotation(wb.store.db, creds["workspace_id"], "a1") == a1
    with wb.store.write() as db:
        again = repo.apply_annotations(db, [a1], at=T0)
    assert (again.inserted, again.updated, again.thread_moved) == (0, 0, [])


def test_without_local_changes_the_server_version_replaces_the_row(wb: Workbench, creds: dict) -> None:
    a1 = annotation(creds["workspace_id"], creds["site_id"], "a1")
    with wb.store.write() as db:
        repo.apply_annotations(db, [a1], at=T0)
    newer = replace(a1, status="triaged", summary="Seen", updated_at=T0 + 10, version=2)
    with wb.store.write() as db:
        applied = repo.apply_annotations(db, [newer], at=T0 + 10)
    assert (applied.updated, applied.conflicts, applied.thread_moved) == (1, 0, ["a1"])
    assert ann_repo.get_annotation(wb.store.db, creds["workspace_id"], "a1") == newer


def test_with_a_base_both_sides_are_merged_and_a_clash_is_recorded(wb: Workbench, creds: dict) -> None:
    a1 = annotation(creds["workspace_id"], creds["site_id"], "a1")
    with wb.store.write() as db:
        repo.apply_annotations(db, [a1], at=T0)
        # A local edit waiting to be pushed: the base holds the last server values.
        merge_repo.set_base(db, "annotation", "a1", Base({"status": "new", "summary": None, "assignee_id": None}, 1, None, T0))
        ann_repo.update_annotation(db, "a1", {"status": "ack", "assignee_id": "user-9"})
    theirs = replace(a1, status="triaged", summary="From the server", updated_at=T0 + 10, version=2)
    with wb.store.write() as db:
        applied = repo.apply_annotations(db, [theirs], at=T0 + 10)
    assert (applied.updated, applied.conflicts) == (1, 1)
    row = ann_repo.get_annotation(wb.store.db, creds["workspace_id"], "a1")
    assert row is not None
    # Only theirs changed summary, only mine changed assignee: both kept; status clashed.
    assert (row.summary, row.assignee_id) == ("From the server", "user-9")
    clash = merge_repo.open_conflicts(wb.store.db, "annotation", "a1")["status"]
    assert (clash.base_value, clash.mine_value, clash.theirs_value, clash.theirs_version) == ("new", "ack", "triaged", 2)
    base = merge_repo.get_base(wb.store.db, "annotation", "a1")
    assert base is not None and (base.version, base.server_updated_at) == (2, T0 + 10)
    with wb.store.write() as db:
        repo.set_annotation_etag(db, "a1", '"v2"', 2)
        repo.set_annotation_etag(db, "a1", '"stale"', 1)  # an older version's ETag is not taken
    base = merge_repo.get_base(wb.store.db, "annotation", "a1")
    assert base is not None and base.etag == '"v2"'


def test_replies_are_inserted_once_and_only_under_a_known_annotation(wb: Workbench, creds: dict) -> None:
    a1 = annotation(creds["workspace_id"], creds["site_id"], "a1")
    stray = annotation(creds["workspace_id"], creds["site_id"], "not-mirrored")
    with wb.store.write() as db:
        repo.apply_annotations(db, [a1], at=T0)
        assert repo.apply_replies(db, [reply(a1, "r1"), reply(stray, "r2")]) == 1
        assert repo.apply_replies(db, [reply(a1, "r1")]) == 0
        assert repo.apply_replies(db, []) == 0
    assert repo.reply_ids(wb.store.db, "a1") == {"r1"}
    with wb.store.write() as db:
        repo.replace_local_reply(db, "r1", reply(a1, "server-r1"), T0 + 5)
    assert repo.reply_ids(wb.store.db, "a1") == {"server-r1"}
    assert merge_repo.remote_id_of(wb.store.db, "r1") == "server-r1"


def test_a_resolution_changes_only_in_its_notification(wb: Workbench, creds: dict) -> None:
    a1 = annotation(creds["workspace_id"], creds["site_id"], "a1")
    first = resolution(a1, "s1")
    with wb.store.write() as db:
        repo.apply_annotations(db, [a1], at=T0)
        assert repo.apply_resolutions(db, [first]) == 1
        assert repo.apply_resolutions(db, [first]) == 0  # nothing moved
        assert repo.apply_resolutions(db, [replace(first, notification_status="emailed", notified_at=T0 + 9, explanation="new")]) == 1
    (stored,) = ann_repo.list_resolutions(wb.store.db, "a1")
    assert (stored.notification_status, stored.notified_at, stored.explanation) == ("emailed", T0 + 9, None)
    with wb.store.write() as db:
        repo.replace_local_resolution(db, "s1", replace(first, id="server-s1"), T0 + 10)
    assert repo.resolution_ids(wb.store.db, "a1") == {"server-s1"}
    assert merge_repo.remote_id_of(wb.store.db, "s1") == "server-s1"


def test_an_upload_is_rekeyed_to_the_servers_key(wb: Workbench, creds: dict) -> None:
    a1 = annotation(creds["workspace_id"], creds["site_id"], "a1")
    with wb.store.write() as db:
        repo.apply_annotations(db, [a1], at=T0)
        ann_repo.add_upload(db, key="local/k", workspace_id=a1.workspace_id, annotation_id="a1", kind="after",
                            content_type="image/png", size=3, sha256="0" * 64, at=T0)
        repo.rekey_upload(db, "local/k", "server/k")
        repo.rekey_upload(db, "server/k", "server/k")  # the same key: nothing to do
    assert ann_repo.get_upload(wb.store.db, "local/k") is None
    assert ann_repo.get_upload(wb.store.db, "server/k") is not None


def test_a_site_is_inserted_then_refreshed_only_when_it_changed(wb: Workbench, creds: dict) -> None:
    site = Site(id="s-remote", workspace_id=creds["workspace_id"], name="Shop", url="https://shop.example",
                widget_token="placeholder-w", mcp_token="placeholder-m", mcp_token_hash="placeholder-h",
                loader_secret_id="placeholder-l", created_at=T0, updated_at=T0)
    with wb.store.write() as db:
        assert repo.upsert_site(db, site)
        assert not repo.upsert_site(db, site)
        assert repo.upsert_site(db, replace(site, name="Shop 2", updated_at=T0 + 1))
    stored = sites_repo.get_site(wb.store.db, creds["workspace_id"], "s-remote")
    assert stored is not None and stored.name == "Shop 2"


def test_personas_become_exactly_the_servers_list(wb: Workbench, creds: dict) -> None:
    ws = creds["workspace_id"]

    def persona(pid: str, name: str) -> Persona:
        return Persona(id=pid, workspace_id=ws, slug=pid, name=name, category="accessibility", description="d")

    with wb.store.write() as db:
        repo.mirror_personas(db, ws, [persona("p1", "One"), persona("p2", "Two")])
    assert {p.id for p in personas_repo.list_personas(wb.store.db, ws)} == {"p1", "p2"}
    with wb.store.write() as db:
        repo.mirror_personas(db, ws, [persona("p2", "Two renamed")])
    assert [(p.id, p.name) for p in personas_repo.list_personas(wb.store.db, ws)] == [("p2", "Two renamed")]
    with wb.store.write() as db:
        repo.mirror_personas(db, ws, [])
    assert personas_repo.list_personas(wb.store.db, ws) == []
