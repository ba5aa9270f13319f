"""A kept annotations page is refreshed from the rows changed since it was read, and equals a fresh read.

``refresh_annotation_rows`` reads SQLite's change journal (``annotation_journal``, kept by
triggers, so a change by any connection counts) and fetches only the changed rows. It answers
None, so the page is read whole, whenever a change moves a row into or out of the page, or the
journal no longer reaches back. Whatever it answers is checked against a fresh read.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest

from storage import annotations as ann_repo
from tests.storage.test_query_plans import _annotation
from workbench.services import annotation_rows as svc
from workbench.services.bootstrap import owner_principal
from workbench.services.context import Workbench

BASE = 1_790_000_000_000


@pytest.fixture
def listed(wb: Workbench, creds: dict) -> dict[str, Any]:
    ws, site = creds["workspace_id"], creds["site_id"]
    anns = [_annotation(ws, site, BASE + i * 1000, status="new" if i % 2 else "triaged") for i in range(30)]
    with wb.store.write() as db:
        ann_repo.add_annotations(db, anns)
    return {"ws": ws, "site": site, "principal": owner_principal(ws, creds["owner_user_id"]), "ids": [a.id for a in anns]}


def _page(wb: Workbench, listed: dict, **query: Any) -> svc.RowPage:
    return svc.list_annotation_rows(wb, listed["principal"], listed["site"], **{"limit": 10, **query})


def _refresh(wb: Workbench, listed: dict, kept: svc.RowPage) -> svc.RowPage | None:
    return svc.refresh_annotation_rows(wb, listed["principal"], kept)


def _same(a: svc.RowPage, b: svc.RowPage) -> bool:
    return (a.rows, a.next_cursor) == (b.rows, b.next_cursor)


def _write(wb: Workbench, sql: str, params: list[Any]) -> None:
    with wb.store.write() as db:
        db.execute(sql, params)


def _newest(listed: dict, n: int) -> str:
    """The id of the n-th newest annotation (0: the first row of the first page)."""
    return listed["ids"][-1 - n]


pytestmark = pytest.mark.sqlite_only("the change journal is SQLite's; PostgreSQL reads a page whole")


def test_a_change_inside_the_page_reads_only_that_row(wb: Workbench, listed: dict, monkeypatch: pytest.MonkeyPatch):
    kept = _page(wb, listed)
    _write(wb, "UPDATE annotations SET summary = 'edited', version = version + 1 WHERE id = ?", [_newest(listed, 3)])

    def whole_page(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the page was read whole")

    monkeypatch.setattr(ann_repo, "list_page_rows", whole_page)
    refreshed = _refresh(wb, listed, kept)
    monkeypatch.undo()
    assert refreshed is not None and _same(refreshed, _page(wb, listed))
    assert refreshed.rows[3][ann_repo._ANN_FIELDS.index("summary")] == "edited"
    # A new page: the kept one is left as it was, for whoever still holds it.
    assert refreshed.rows is not kept.rows and kept.rows[3][ann_repo._ANN_FIELDS.index("summary")] != "edited"


def test_changes_that_leave_the_page_as_it_was_keep_it(wb: Workbench, listed: dict):
    kept = _page(wb, listed)
    _write(wb, "UPDATE annotations SET summary = 'deeper' WHERE id = ?", [_newest(listed, 20)])  # on a later page
    _write(wb, "UPDATE sites SET name = 'renamed' WHERE id = ?", [listed["site"]])  # not an annotation
    with wb.store.write() as db:  # older than the page's last row: it lands on a later page
        ann_repo.add_annotation(db, _annotation(listed["ws"], listed["site"], BASE - 5_000))
    refreshed = _refresh(wb, listed, kept)
    assert refreshed is not None and _same(refreshed, _page(wb, listed))
    # The very same rows, so the server serves the page's kept bytes (server/hotpath.py).
    assert refreshed.rows is kept.rows and refreshed.window is kept.window
    assert refreshed.position is not None and kept.position is not None and refreshed.position > kept.position


@pytest.mark.parametrize(
    "change",
    [
        "a newer annotation enters the page",
        "a row of the page is deleted",
        "the row past the page is deleted",
        "a row leaves the filtered page",
        "a row enters the filtered page",
    ],
)
def test_a_row_entering_or_leaving_the_page_reads_it_whole(wb: Workbench, listed: dict, change: str):
    filtered = "filtered" in change
    kept = _page(wb, listed, status="new") if filtered else _page(wb, listed)
    if change == "a newer annotation enters the page":
        with wb.store.write() as db:
            ann_repo.add_annotation(db, _annotation(listed["ws"], listed["site"], BASE + 1_000_000))
    elif change == "a row of the page is deleted":
        _write(wb, "DELETE FROM annotations WHERE id = ?", [_newest(listed, 4)])
    elif change == "the row past the page is deleted":
        _write(wb, "DELETE FROM annotations WHERE id = ?", [kept.window[-1][ann_repo.ROW_ID]])
    elif change == "a row leaves the filtered page":
        _write(wb, "UPDATE annotations SET status = 'triaged' WHERE id = ?", [kept.rows[2][ann_repo.ROW_ID]])
    else:
        _write(wb, "UPDATE annotations SET status = 'new' WHERE id = ?", [_newest(listed, 1)])  # a triaged one
    assert _refresh(wb, listed, kept) is None


def test_a_change_by_another_connection_is_seen(wb: Workbench, listed: dict):
    kept = _page(wb, listed)
    other = sqlite3.connect(wb.store.path)
    try:
        with other:
            other.execute("UPDATE annotations SET body = 'from elsewhere' WHERE id = ?", [_newest(listed, 1)])
    finally:
        other.close()
    refreshed = _refresh(wb, listed, kept)
    assert refreshed is not None and _same(refreshed, _page(wb, listed))
    assert refreshed.rows[1][ann_repo._ANN_FIELDS.index("body")] == "from elsewhere"


def test_a_journal_that_no_longer_reaches_back_or_too_many_changes_read_it_whole(wb: Workbench, listed: dict):
    kept = _page(wb, listed)
    assert kept.position is not None
    _write(wb, "UPDATE annotations SET summary = 's' WHERE id = ?", [_newest(listed, 0)])
    _write(wb, "UPDATE annotations SET summary = 't' WHERE id = ?", [_newest(listed, 1)])
    _write(wb, "DELETE FROM annotation_journal WHERE seq <= ?", [kept.position + 1])  # as pruning would
    assert _refresh(wb, listed, kept) is None

    kept = _page(wb, listed)
    for i in range(svc.REFRESH_MOST + 1):
        _write(wb, "UPDATE annotations SET summary = ? WHERE id = ?", [f"n{i}", _newest(listed, 25)])
    assert _refresh(wb, listed, kept) is None


def test_the_journal_prunes_itself(wb: Workbench, listed: dict):
    from storage import schema_changes

    with wb.store.write() as db:
        db.executemany("INSERT INTO annotation_journal (annotation_id) VALUES (?)", [["x"]] * (schema_changes.JOURNAL_PRUNE_EVERY * 22))
        newest, count = db.execute("SELECT max(seq), count(*) FROM annotation_journal").fetchone()
    assert count <= schema_changes.JOURNAL_KEEP + schema_changes.JOURNAL_PRUNE_EVERY
    assert newest >= schema_changes.JOURNAL_PRUNE_EVERY * 22


def test_random_changes_never_leave_a_refreshed_page_stale(wb: Workbench, listed: dict):
    """Whatever the refresh answers, after any mix of changes, equals a fresh read."""
    rng = random.Random(7)
    queries: list[dict[str, Any]] = [{}, {"status": "new"}, {"limit": 4}, {"status": "triaged", "limit": 3}]
    kept = {i: _page(wb, listed, **q) for i, q in enumerate(queries)}
    refreshed_count = 0
    at = BASE + 100_000
    for _step in range(120):
        ids = [r[0] for r in wb.store.db.execute("SELECT id FROM annotations WHERE site_id = ?", [listed["site"]])]
        what = rng.random()
        if what < 0.5:
            _write(wb, "UPDATE annotations SET status = ?, summary = ? WHERE id = ?", [rng.choice(["new", "triaged"]), str(_step), rng.choice(ids)])
        elif what < 0.7:
            at += rng.choice([-40_000, 7, 300_000])
            with wb.store.write() as db:
                ann_repo.add_annotation(db, _annotation(listed["ws"], listed["site"], at, status=rng.choice(["new", "triaged"])))
        elif what < 0.85:
            _write(wb, "DELETE FROM annotations WHERE id = ?", [rng.choice(ids)])
        else:
            _write(wb, "UPDATE annotations SET updated_at = updated_at + 1 WHERE id = ?", [rng.choice(ids)])
        for i, q in enumerate(queries):
            fresh = _page(wb, listed, **q)
            refreshed = _refresh(wb, listed, kept[i])
            if refreshed is not None:
                refreshed_count += 1
                assert _same(refreshed, fresh), (_step, q)
            kept[i] = refreshed or fresh
    assert refreshed_count > 100  # most changes are refreshed, not read whole
