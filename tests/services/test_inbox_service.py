"""The unified inbox below the UI: window/count agree with the rules, every filter, search, views."""

from __future__ import annotations

import pytest

from tests.stores import postgresql_plan
from workbench.domain.annotations import OPEN_STATUSES, AnnotationPatch
from workbench.domain.errors import Invalid, NotFound
from workbench.services import annotations as annotations_service
from workbench.services import inbox


def everything(wb, principal, f: inbox.InboxFilter) -> list[inbox.InboxRow]:
    return inbox.window(wb, principal, f, 0, 100_000)


def test_awaiting_is_open_annotations_open_comments_of_active_rounds_and_tests_to_handle(demo_wb, principal):
    rows = everything(demo_wb, principal, inbox.InboxFilter())
    assert len(rows) == inbox.count(demo_wb, principal, inbox.InboxFilter())
    by_source: dict[str, set[str]] = {}
    for row in rows:
        by_source.setdefault(row.source, set()).add(row.status)
    assert by_source["annotation"] <= {s.value for s in OPEN_STATUSES}
    assert by_source["comment"] == {"open"}
    assert by_source["test"] <= {"completed", "analyzed"}
    assert all(r.extra["session_status"] not in ("done", "canceled", "interrupted") for r in rows if r.source == "comment")
    # Newest first, across sources.
    keys = [(r.created_at, r.id) for r in rows]
    assert keys == sorted(keys, reverse=True)


def test_windows_page_through_the_same_order(demo_wb, principal):
    f = inbox.InboxFilter(status=inbox.ALL)
    whole = [r.key for r in everything(demo_wb, principal, f)]
    paged = []
    for offset in range(0, len(whole), 37):
        paged += [r.key for r in inbox.window(demo_wb, principal, f, offset, 37)]
    assert paged == whole and len(set(whole)) == len(whole)
    # position() finds each row where the window put it.
    for index in (0, 5, len(whole) // 2, len(whole) - 1):
        row = inbox.window(demo_wb, principal, f, index, 1)[0]
        assert inbox.position(demo_wb, principal, f, row) == index


@pytest.mark.parametrize(
    ("f", "base", "check"),
    [
        (inbox.InboxFilter(kind="bug"), inbox.InboxFilter(), lambda r: r.source == "annotation" and r.kind == "bug"),
        (inbox.InboxFilter(status="new"), inbox.InboxFilter(status=inbox.ALL), lambda r: r.status == "new"),
        (inbox.InboxFilter(status="resolved"), inbox.InboxFilter(status=inbox.ALL), lambda r: r.status == "resolved"),
        (inbox.InboxFilter(sources=("comment",), status=inbox.ALL), inbox.InboxFilter(status=inbox.ALL), lambda r: r.source == "comment"),
        (inbox.InboxFilter(auto_fix=True, status=inbox.ALL), inbox.InboxFilter(status=inbox.ALL), lambda r: r.auto_fix),
        (inbox.InboxFilter(assignee="none"), inbox.InboxFilter(), lambda r: r.source == "annotation" and r.assignee_id is None),
    ],
)
def test_each_filter_selects_exactly_its_rows(demo_wb, principal, f, base, check):
    rows = everything(demo_wb, principal, f)
    expected = [r.key for r in everything(demo_wb, principal, base) if check(r)]
    assert rows and [r.key for r in rows] == expected
    assert inbox.count(demo_wb, principal, f) == len(expected)


def test_assignee_me_and_place(demo_wb, principal):
    mine = everything(demo_wb, principal, inbox.InboxFilter(assignee="me", status=inbox.ALL))
    assert mine and all(r.assignee_id == principal.user_id for r in mine)
    facets = inbox.facets(demo_wb, principal)
    site_id = next(pid for pid, _, src in facets.places if src == "annotation")
    on_site = everything(demo_wb, principal, inbox.InboxFilter(place=site_id, status=inbox.ALL))
    assert on_site and all(r.place_id == site_id for r in on_site)
    study_id = next(pid for pid, _, src in facets.places if src == "test")
    in_study = everything(demo_wb, principal, inbox.InboxFilter(place=study_id, status=inbox.ALL))
    assert in_study and all(r.source == "test" and r.parent_id == study_id for r in in_study)


@pytest.mark.sqlite_only("the inbox searches the local store's inbox_fts: a person's store (the TUI's, a replica) is always SQLite")
def test_full_text_search_covers_bodies_summaries_and_replies(demo_wb, principal):
    rows = everything(demo_wb, principal, inbox.InboxFilter(text="coupon", status=inbox.ALL))
    assert rows
    annotation_ids = set(annotations_service.search(demo_wb, principal, "coupon", limit=10_000))
    assert {r.id for r in rows if r.source == "annotation"} == annotation_ids
    # A word only in a reply finds its annotation.
    ann = everything(demo_wb, principal, inbox.InboxFilter(sources=("annotation",)))[0]
    from workbench.domain.annotations import ReplyCreate

    annotations_service.reply(demo_wb, principal, ann.id, ReplyCreate(body="zebracrossing reproduced"))
    found = everything(demo_wb, principal, inbox.InboxFilter(text="zebracross"))
    assert [r.id for r in found] == [ann.id]
    # Punctuation only: nothing, and no FTS syntax error.
    assert inbox.count(demo_wb, principal, inbox.InboxFilter(text='"*(')) == 0


def test_other_workspaces_never_show(demo_wb, principal):
    from tests.helpers import other_workspace

    other = other_workspace(demo_wb)
    ids = {r.id for r in everything(demo_wb, principal, inbox.InboxFilter(status=inbox.ALL))}
    assert other["annotation_id"] not in ids


def test_views_are_saved_per_workspace(demo_wb, principal):
    f = inbox.InboxFilter(sources=("annotation",), kind="copy", text="typo")
    inbox.save_view(demo_wb, principal, "  Typos  ", f)
    assert inbox.list_views(demo_wb, principal) == {"Typos": f}
    assert inbox.InboxFilter.from_dict(f.to_dict()) == f
    with pytest.raises(Invalid):
        inbox.save_view(demo_wb, principal, "   ", f)
    inbox.delete_view(demo_wb, principal, "Typos")
    with pytest.raises(NotFound):
        inbox.delete_view(demo_wb, principal, "Typos")


@pytest.mark.sqlite_only("reads sqlite_master and EXPLAIN QUERY PLAN; the _on_postgresql test is its counterpart")
def test_the_inbox_window_walks_its_covering_index(demo_wb):
    names = {r[0] for r in demo_wb.store.db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "inbox_annotations" in names  # created by migration m011
    plan = demo_wb.store.db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM annotations WHERE workspace_id = ? ORDER BY created_at DESC, id DESC LIMIT 50",
        ["w"],
    ).fetchall()
    assert any("inbox_annotations" in str(row) for row in plan) and not any("TEMP B-TREE" in str(row) for row in plan)


@pytest.mark.postgresql_only("PostgreSQL's plan, for test_the_inbox_window_walks_its_covering_index's property")
def test_the_inbox_window_walks_its_covering_index_on_postgresql(demo_wb):
    plan = postgresql_plan(
        demo_wb.store, "SELECT id FROM annotations WHERE workspace_id = ? ORDER BY created_at DESC, id DESC LIMIT 50", ["w"]
    )
    assert "inbox_annotations" in plan and "Sort" not in plan, plan


def test_pages_follow_their_cursor_even_when_rows_close_meanwhile(demo_wb, principal):
    """``inbox.page`` (the CLI's `annotations list --query`): keyed on the last row, so a row closed
    on an earlier page neither skips nor repeats one on the next; a cursor serves only its filter."""
    f = inbox.InboxFilter(sources=("annotation",), text="status:new,ack")
    whole = [r.id for r in everything(demo_wb, principal, f)]
    assert len(whole) > 40
    paged: list[str] = []
    cursor = None
    while True:
        rows, cursor = inbox.page(demo_wb, principal, f, cursor, 17)
        paged += [r.id for r in rows]
        if cursor is None:
            break
    assert paged == whole
    first, cursor = inbox.page(demo_wb, principal, f, None, 10)
    assert cursor is not None
    for row in first[:3]:  # they leave the filter: an offset would now skip three rows
        annotations_service.patch(demo_wb, principal, row.id, AnnotationPatch(status="resolved", summary="done"))
    second, _ = inbox.page(demo_wb, principal, f, cursor, 10)
    assert [r.id for r in second] == whole[10:20]
    with pytest.raises(Invalid, match="Invalid cursor"):
        inbox.page(demo_wb, principal, f.with_(text="status:new"), cursor, 10)
