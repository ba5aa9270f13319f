"""Bulk actions below the UI: the preview and the result speak words, as every other status display does."""

from __future__ import annotations

from workbench.services import bulk, inbox


def test_preview_and_result_say_statuses_in_words(demo_wb, principal):
    rows = inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="in_progress"), 0, 2)
    assert rows
    action = bulk.BulkAction("set_status", status="won_t_fix", summary="out of scope")
    assert action.describe() == 'set status to won\'t fix ("out of scope")'
    assert [i.message for i in bulk.preview(action, rows)] == ["in progress → won't fix"] * len(rows)
    assert [i.message for i in bulk.apply(demo_wb, principal, action, rows)] == ["in progress → won't fix"] * len(rows)
    again = bulk.preview(action, inbox.window(demo_wb, principal, inbox.InboxFilter(sources=("annotation",), status="won_t_fix"), 0, 1))
    assert again[0].message == "Already won't fix"
