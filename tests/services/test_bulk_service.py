"""Bulk actions below the UI: the preview and the result speak words, as every other status display does."""

from __future__ import annotations

from storage.db import write_hook
from storage.failures import StoreWriteFailed
from workbench.services import annotations, bulk, inbox, undo


def test_preview_and_result_say_statuses_in_words(demo_wb, principal):
    rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="in_progress"), 0, 2)
    assert rows
    action = bulk.BulkAction("set_status", status="won_t_fix", summary="out of scope")
    assert action.describe() == 'set status to won\'t fix ("out of scope")'
    assert [i.message for i in bulk.preview(action, rows)] == ["in progress → won't fix"] * len(rows)
    assert [i.message for i in bulk.apply(demo_wb, principal, action, rows)] == ["in progress → won't fix"] * len(rows)
    again = bulk.preview(action, inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="won_t_fix"), 0, 1))
    assert again[0].message == "Already won't fix"


class _DiskRefusesFirstCommit:
    """A write hook (storage.db.write_hook) whose first transaction fails where its COMMIT would:
    after every statement ran, the action's undo row and step included, as when the disk refuses it."""

    def __init__(self, wb) -> None:
        self.wb = wb
        self.failed = False

    def begin(self, db) -> None:
        pass

    def before_commit(self, db) -> None:
        if not self.failed:
            self.failed = True
            raise StoreWriteFailed(self.wb.store.data_dir, "SQLITE_FULL", full=True, earlier_commits=0)


def test_a_batch_whose_first_row_the_disk_refused_says_so_and_undoes_the_rest(demo_wb, principal):
    """The refused row reads as the disk's words (not "Unexpected error"); the rows after it form the
    batch's undo action, which takes them back, though its first transaction (the one that wrote the
    action's row) was rolled back."""
    rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="new"), 0, 3)
    assert len(rows) == 3
    action = bulk.BulkAction("set_status", status="ack")
    token = write_hook.set(_DiskRefusesFirstCommit(demo_wb))
    try:
        done = undo.bulk_apply(demo_wb, principal, action, rows)
    finally:
        write_hook.reset(token)
    assert [i.ok for i in done] == [False, True, True]
    assert done[0].message.startswith(f"cannot write to the store in {demo_wb.store.data_dir}: the disk is full")
    status = {r.id: annotations.get(demo_wb, principal, r.id).status for r in rows}
    assert status == {rows[0].id: "new", rows[1].id: "ack", rows[2].id: "ack"}
    taken_back = undo.undo(demo_wb, principal)
    assert taken_back is not None
    assert {r.id: annotations.get(demo_wb, principal, r.id).status for r in rows} == dict.fromkeys(status, "new")
