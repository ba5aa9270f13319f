"""storage/sync_merge_state.py over a temporary store: base copies, conflicts and the id map."""

from __future__ import annotations

from storage import sync_merge_state as repo
from storage.sync_merge_state import Base
from workbench.services.context import Workbench


def test_a_base_is_stored_read_replaced_and_deleted(wb: Workbench) -> None:
    assert repo.get_base(wb.store.db, "annotation", "a1") is None
    assert repo.bases(wb.store.db, "annotation", ["a1"]) == {}
    with wb.store.write() as db:
        repo.set_base(db, "annotation", "a1", Base({"status": "new", "summary": None}, 1, '"e1"', 100))
        repo.set_base(db, "annotation", "a2", Base({"status": "ack"}, 2, None, 200))
        repo.set_base(db, "annotation", "a1", Base({"status": "triaged"}, 3, '"e3"', 300))
    assert repo.get_base(wb.store.db, "annotation", "a1") == Base({"status": "triaged"}, 3, '"e3"', 300)
    assert repo.bases(wb.store.db, "annotation", ["a1", "a2", "nope"]) == {
        "a1": Base({"status": "triaged"}, 3, '"e3"', 300),
        "a2": Base({"status": "ack"}, 2, None, 200),
    }
    assert repo.bases(wb.store.db, "reply", ["a1"]) == {}  # keyed by entity type too
    assert repo.bases(wb.store.db, "annotation", []) == {}
    with wb.store.write() as db:
        repo.delete_base(db, "annotation", "a1")
    assert repo.get_base(wb.store.db, "annotation", "a1") is None
    assert set(repo.bases(wb.store.db, "annotation", ["a1", "a2"])) == {"a2"}


def test_a_conflict_is_one_row_per_field_updated_in_place(wb: Workbench, creds: dict) -> None:
    ws = creds["workspace_id"]
    with wb.store.write() as db:
        repo.record_conflict(db, workspace_id=ws, entity_type="annotation", entity_id="a1", field="status",
                             base="new", mine="ack", theirs="triaged", theirs_version=2, at=100)
        repo.record_conflict(db, workspace_id=ws, entity_type="annotation", entity_id="a1", field="summary",
                             base=None, mine="mine", theirs="theirs", theirs_version=2, at=100)
        # The same field again: the row keeps its base and creation time, takes the new sides.
        repo.record_conflict(db, workspace_id=ws, entity_type="annotation", entity_id="a1", field="status",
                             base="IGNORED", mine="in_progress", theirs="resolved", theirs_version=3, at=200)
        repo.record_conflict(db, workspace_id="other-ws", entity_type="annotation", entity_id="b1", field="status",
                             base="new", mine="ack", theirs="triaged", theirs_version=2, at=100)
    open_ = repo.open_conflicts(wb.store.db, "annotation", "a1")
    assert set(open_) == {"status", "summary"}
    status = open_["status"]
    assert (status.base_value, status.mine_value, status.theirs_value, status.theirs_version) == ("new", "in_progress", "resolved", 3)
    assert (status.created_at, status.updated_at) == (100, 200)
    assert repo.count_conflicts(wb.store.db, ws) == 2
    assert [c.field for c in repo.list_conflicts(wb.store.db, ws)] == ["status", "summary"]
    assert repo.get_conflict(wb.store.db, status.id) == status
    with wb.store.write() as db:
        repo.delete_conflict(db, status.id)
    assert repo.get_conflict(wb.store.db, status.id) is None
    assert repo.count_conflicts(wb.store.db, ws) == 1
    assert repo.count_conflicts(wb.store.db, "other-ws") == 1


def test_the_id_map_ties_a_local_id_to_the_server_one(wb: Workbench) -> None:
    assert repo.remote_id_of(wb.store.db, "local-1") is None
    assert not repo.is_mapped_remote(wb.store.db, "server-1")
    with wb.store.write() as db:
        repo.map_id(db, "local-1", "server-1", "reply", 100)
    assert repo.remote_id_of(wb.store.db, "local-1") == "server-1"
    assert repo.is_mapped_remote(wb.store.db, "server-1")
    with wb.store.write() as db:
        repo.map_id(db, "local-1", "server-2", "reply", 200)  # a re-push: the newest answer wins
    assert repo.remote_id_of(wb.store.db, "local-1") == "server-2"
    assert not repo.is_mapped_remote(wb.store.db, "server-1")
