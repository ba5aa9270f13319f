"""storage/inbox.py and storage/inbox_filters.py over a temporary store: windows, counts, filters, search, members and saved views.

Only the annotation source is filled here (comments and tests are covered through the service,
tests/services/test_inbox_service.py); the queries name ``sources=("annotation",)``.
"""

from __future__ import annotations

import pytest

from storage import accounts as accounts_repo
from storage import annotations as ann_repo
from storage import inbox as repo
from storage import inbox_filters as filters_repo
from storage.inbox import Query
from tests.storage.records import T0, annotation, reply
from workbench.services.context import Workbench

ANNOTATIONS = ("annotation",)


@pytest.fixture
def filled(wb: Workbench, creds: dict) -> str:
    """Five annotations a0..a4, a4 newest; a1 and a3 are triaged, a3 assigned to user-7 and auto-fixable."""
    ws, site = creds["workspace_id"], creds["site_id"]
    with wb.store.write() as db:
        for i in range(5):
            ann_repo.add_annotation(db, annotation(ws, site, f"a{i}", created_at=T0 + i, kind="bug" if i % 2 else "copy",
                                                   status="triaged" if i in (1, 3) else "new",
                                                   assignee_id="user-7" if i == 3 else None, auto_fix=i == 3,
                                                   body="The pay button is broken" if i == 2 else f"Body {i}"))
        ann_repo.add_reply(db, reply(annotation(ws, site, "a0"), "r0", body="Checkout spinner never stops"))
        repo.index_pending(db)  # the reply's thread, searchable by these direct reads (the service does this itself)
    return ws


def _ids(wb: Workbench, q: Query, offset: int = 0, limit: int = 10) -> list[str]:
    return [r.id for r in repo.window(wb.store.db, q, offset, limit)]


def test_windows_are_newest_first_and_agree_with_the_count(wb: Workbench, filled: str) -> None:
    q = Query(workspace_id=filled, sources=ANNOTATIONS)
    assert _ids(wb, q) == ["a4", "a3", "a2", "a1", "a0"]
    assert _ids(wb, q, offset=1, limit=2) == ["a3", "a2"]
    assert _ids(wb, q, offset=0, limit=0) == []
    assert repo.count(wb.store.db, q) == 5
    assert repo.count_before(wb.store.db, q, T0 + 2, "a2") == 2  # a2 is the third row
    row = repo.window(wb.store.db, q, 1, 1)[0]
    assert (row.source, row.status, row.assignee_id, row.auto_fix, row.key) == ("annotation", "triaged", "user-7", True, ("annotation", "a3"))
    assert row.extra["selector"] == "#pay" and row.first_line == "Body 3"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"statuses": {"annotation": ("triaged",)}}, ["a3", "a1"]),
        ({"statuses": {"annotation": ()}}, []),
        ({"kinds": ("copy",)}, ["a4", "a2", "a0"]),
        ({"assignees": ("user-7",)}, ["a3"]),
        ({"assignees": ("",)}, ["a4", "a2", "a1", "a0"]),
        ({"assignees": ("", "user-7")}, ["a4", "a3", "a2", "a1", "a0"]),
        ({"auto_fix": True}, ["a3"]),
        ({"fts": '"broken"', "groups": (("broken",),)}, ["a2"]),
        ({"fts": '"spinner"', "groups": (("spinner",),)}, ["a0"]),  # found through its reply
        ({"fts_exclude": '"broken"'}, ["a4", "a3", "a1", "a0"]),
    ],
)
def test_each_filter_selects_its_rows_and_counts_them(wb: Workbench, filled: str, fields: dict, expected: list[str]) -> None:
    q = Query(workspace_id=filled, sources=ANNOTATIONS, **fields)
    assert _ids(wb, q) == expected
    assert repo.count(wb.store.db, q) == len(expected)


def test_kept_status_counts_follow_writes(wb: Workbench, filled: str) -> None:
    assert repo.annotation_status_counts(wb.store.db, filled) == {"new": 3, "triaged": 2}
    with wb.store.write() as db:
        ann_repo.update_annotation(db, "a0", {"status": "resolved"})
    assert repo.annotation_status_counts(wb.store.db, filled) == {"new": 2, "triaged": 2, "resolved": 1}


def test_places_name_the_workspaces_sites(wb: Workbench, creds: dict) -> None:
    places = filters_repo.places(wb.store.db, creds["workspace_id"])
    assert (creds["site_id"], "annotation") in {(pid, source) for pid, _, source in places}
    assert filters_repo.places(wb.store.db, "no-such-workspace") == []


def test_server_members_come_from_reply_authors_and_assignees(wb: Workbench, filled: str, creds: dict) -> None:
    a1 = annotation(filled, creds["site_id"], "a1")
    with wb.store.write() as db:
        ann_repo.add_reply(db, reply(a1, "r1", author_id="user-2", author_name="zoe"))
        ann_repo.add_reply(db, reply(a1, "r2", author_id="me", author_name="Me"))
        ann_repo.add_reply(db, reply(a1, "r3", author_kind="persona", author_id=None, author_name="Robot"))
    members = filters_repo.server_members(wb.store.db, filled, local_user_id="me")
    # user-1 wrote the fixture's first reply; user-7 was only ever an assignee; "me" is local.
    # Named members first: the unnamed one (only ever an assignee) says why it has no name.
    assert members == [("user-1", "Bea"), ("user-2", "zoe"), ("user-7", "…user-7 (name unknown here)")]


def test_saved_views_round_trip_and_a_broken_value_reads_as_empty(wb: Workbench, creds: dict) -> None:
    ws = creds["workspace_id"]
    assert filters_repo.load_views(wb.store.db, ws) == {}
    with wb.store.write() as db:
        filters_repo.save_views(db, ws, {"mine": {"assignee": "me"}})
    assert filters_repo.load_views(wb.store.db, ws) == {"mine": {"assignee": "me"}}
    assert filters_repo.load_views(wb.store.db, "other") == {}
    with wb.store.write() as db:
        accounts_repo.meta_set(db, f"inbox.views:{ws}", "[1, 2]")  # not a mapping
    assert filters_repo.load_views(wb.store.db, ws) == {}


def test_re_indexing_changes_made_out_of_order_writes_one_segment_each_way(wb: Workbench, creds: dict) -> None:
    """FTS5 starts a new segment whenever a document's key is not above the last one written: a
    batch taken in the order its changes were made (newest annotation first, here) wrote a segment
    per document, each merged again later. In key order: one for the removals, one for the additions."""
    ws, site = creds["workspace_id"], creds["site_id"]
    ids = [f"s{i}" for i in range(40)]
    with wb.store.write() as db:
        for i, annotation_id in enumerate(ids):  # a second apart: each has its own search key
            ann_repo.add_annotation(db, annotation(ws, site, annotation_id, created_at=T0 + i * 1000, body=f"Body {i}"))
        repo.index_pending(db)
        for option, value in (("automerge", 0), ("crisismerge", 64)):  # segments stay as written
            db.execute("INSERT INTO inbox_fts(inbox_fts, rank) VALUES (?, ?)", [option, value])
    segments = "SELECT count(*) FROM inbox_fts_data"
    before = wb.store.db.execute(segments).fetchone()[0]
    with wb.store.write() as db:
        for annotation_id in reversed(ids):
            db.execute("UPDATE annotations SET summary = 'zeppelin' WHERE id = ?", [annotation_id])
        assert repo.index_pending(db, len(ids)) == len(ids)
    assert wb.store.db.execute(segments).fetchone()[0] - before <= 4
    q = Query(workspace_id=ws, sources=ANNOTATIONS, fts="zeppelin", groups=(("zeppelin",),))
    assert repo.count(wb.store.db, q) == len(ids)
