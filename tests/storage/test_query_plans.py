"""Query plans of every list query: one index in the sort order, never a table scan or a sort.

Each test reads ``EXPLAIN QUERY PLAN`` of the exact SQL the repository runs (its ``*_sql``
builder) on a migrated store holding demo data, so a dropped index, a keyset written as an
``OR`` or a filter that makes the planner sort shows up here instead of at a million rows.
"""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest

from storage import accounts as accounts_repo
from storage import annotations as ann_repo
from storage import feedback_sessions as fs_repo
from storage import inbox as inbox_repo
from storage import inbox_filters as filters_repo
from storage import personas as personas_repo
from storage import sites as sites_repo
from storage import test_sessions as ts_repo
from workbench.domain.clock import new_id
from workbench.services import inbox
from workbench.services.bootstrap import owner_principal
from workbench.services.demo import load_demo
from workbench.services.inbox import InboxFilter

# A table (or an index of it, read end to end) scanned whole; an FTS MATCH reads only its matches.
_FULL_SCAN = re.compile(r"^SCAN \w+\b(?! VIRTUAL TABLE)")
# A sort (ORDER BY) or a duplicate filter (UNION, DISTINCT): either holds every input row.
_SORT = "TEMP B-TREE"


def plan(db, sql: str, params) -> list[str]:
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]


def assert_walks_an_index(db, sql: str, params, *, keyset: str | None = None, seeks: tuple[str, ...] = ()) -> list[str]:
    """No full scan, no temporary B-tree; the index search starts at ``keyset`` and seeks the ``seeks`` equalities."""
    steps = plan(db, sql, params)
    assert not [s for s in steps if _FULL_SCAN.match(s)], steps
    assert not [s for s in steps if _SORT in s], steps
    assert any(s.startswith("SEARCH") for s in steps), steps
    searches = [s for s in steps if s.startswith("SEARCH")]
    if keyset is not None:
        assert any(keyset in s for s in searches), steps
    for column in seeks:
        assert any(f"{column}=?" in s for s in searches), steps
    return steps


@pytest.fixture
def demo(wb, creds):
    load_demo(wb, annotations=200)
    db = wb.store.db
    return {
        "db": db,
        "site": db.execute("SELECT id FROM sites LIMIT 1").fetchone()[0],
        "workspace": db.execute("SELECT workspace_id FROM personas LIMIT 1").fetchone()[0],
        "store": db.execute("SELECT store_id FROM feedback_sessions LIMIT 1").fetchone()[0],
        "job": db.execute("SELECT job_id FROM test_sessions LIMIT 1").fetchone()[0],
    }


def _annotation(workspace_id: str, site_id: str, at: int, body: str = "b", status: str = "new") -> ann_repo.Annotation:
    return ann_repo.Annotation(
        id=new_id(at), workspace_id=workspace_id, site_id=site_id, page_url="https://x.example/", selector=None, kind="bug",
        body=body, status=status, summary=None, assignee_id=None, auto_fix=False, submitter_name=None, submitter_email=None,
        stakeholder_token=None, screenshot_key=None, computed_styles=None, created_at=at, updated_at=at, version=1,
    )


ANNOTATION_FILTERS = list(itertools.product([None, "new"], [None, "bug"], [None, 0], [None, True]))


@pytest.mark.parametrize(("status", "kind", "since", "auto_fix"), ANNOTATION_FILTERS)
@pytest.mark.parametrize("deep", [False, True])
def test_annotation_pages_walk_an_ordered_index_from_the_keyset(demo, status, kind, since, auto_fix, deep):
    after = (1_700_000_000_000, new_id(1_700_000_000_000)) if deep else None
    sql, params = ann_repo.list_page_sql(
        demo["site"], status=status, kind=kind, since_ms=since, auto_fix=auto_fix, after=after, limit=51, workspace_id="ws"
    )
    # A status or a kind seeks its own index, auto-fix walks the partial index of its rows (given
    # more than one, the planner takes one and reads the others from its entries); since is read
    # from the walked index's entries.
    steps = assert_walks_an_index(demo["db"], sql, params, keyset="(created_at,id)<" if deep else None)
    searches = " ".join(s for s in steps if s.startswith("SEARCH annotations"))
    narrower = [
        *(["annotations_site_status_walk (site_id=? AND status=?"] if status else []),
        *(["annotations_site_kind_walk (site_id=? AND kind=?"] if kind else []),
        *(["annotations_site_auto_fix_walk (site_id=?"] if auto_fix else []),
    ]
    assert any(index in searches for index in narrower or ["annotations_site_walk (site_id=?"]), steps


@pytest.mark.parametrize(("status", "kind", "since", "auto_fix"), ANNOTATION_FILTERS)
@pytest.mark.parametrize(("deep", "count"), [(False, 1), (False, 2), (True, 2), (True, 64)])
def test_a_page_refresh_seeks_each_changed_annotation_by_key(demo, status, kind, since, auto_fix, deep, count):
    # With the ORDER BY and LIMIT of a page, two ids or more walked the site's index from the top
    # down to the deepest of them: 3.5 ms at 100k rows, the whole site when the filter admits none.
    after = (1_700_000_000_000, new_id(1_700_000_000_000)) if deep else None
    ids = sorted(new_id(1_600_000_000_000 + i) for i in range(count))
    sql, params = ann_repo.list_page_sql(
        demo["site"], status=status, kind=kind, since_ms=since, auto_fix=auto_fix, after=after, ids=ids, workspace_id="ws"
    )
    steps = plan(demo["db"], sql, params)
    on_annotations = [s for s in steps if " annotations " in f"{s} "]
    assert on_annotations and all(re.fullmatch(r"SEARCH annotations USING INDEX \w+ \(id=\?\)", s) for s in on_annotations), steps
    assert not [s for s in steps if _SORT in s], steps


@pytest.mark.parametrize("deep", [False, True])
def test_a_sparse_since_searches_the_updated_at_index_and_sorts_only_its_matches(demo, deep):
    after = (1_700_000_000_000, new_id(1_700_000_000_000)) if deep else None
    sql, params = ann_repo.list_page_sql(demo["site"], since_ms=10**13, after=after, limit=51, sparse_since=True, workspace_id="ws")
    steps = plan(demo["db"], sql, params)
    # The one plan allowed to sort: its input is the rows moved since ``since``, fewer than
    # SINCE_SPARSE (the next test proves list_page takes it only then).
    assert steps[0].startswith("SEARCH annotations USING INDEX annotations_site_updated (site_id=? AND updated_at>?)"), steps
    assert not [s for s in steps if _FULL_SCAN.match(s)], steps


def test_list_page_takes_the_sorting_plan_only_below_the_cap(wb, creds):
    load_demo(wb, annotations=0)
    db = wb.store.db
    site = db.execute("SELECT id FROM sites LIMIT 1").fetchone()[0]
    ws = db.execute("SELECT workspace_id FROM sites WHERE id = ?", [site]).fetchone()[0]
    cap = ann_repo.SINCE_SPARSE
    with wb.store.write() as w:
        rows = [dataclasses.replace(_annotation(ws, site, 1000 + i), updated_at=10**6 + i) for i in range(cap + 10)]
        ann_repo.add_annotations(w, rows)
    last = 1000 + cap + 9
    assert ann_repo.since_is_sparse(db, site, 10**6 + 11)  # cap - 1 moved
    assert not ann_repo.since_is_sparse(db, site, 10**6 + 10)  # cap moved
    # Both plans return the list's order, and the keyset continues it.
    dense = ann_repo.list_page(db, site, since_ms=10**6, limit=5)
    sparse = ann_repo.list_page(db, site, since_ms=10**6 + cap + 5, limit=50)
    assert [a.created_at for a in dense] == list(range(last, last - 5, -1))
    assert [a.created_at for a in sparse] == list(range(last, last - 5, -1))
    nxt = ann_repo.list_page(db, site, since_ms=10**6, after=(dense[-1].created_at, dense[-1].id), limit=2)
    assert [a.created_at for a in nxt] == [last - 5, last - 6]


@pytest.mark.parametrize(("status", "variant", "tester"), list(itertools.product([None, "completed"], [None, "A"], [None, "t1"])))
def test_test_session_pages_walk_an_ordered_index(demo, status, variant, tester):
    sql, params = ts_repo.list_sessions_sql(demo["job"], status=status, variant=variant, tester_id=tester, limit=50, offset=100)
    assert_walks_an_index(demo["db"], sql, params)


@pytest.mark.parametrize("status", [None, "in_review"])
def test_feedback_session_pages_walk_an_ordered_index(demo, status):
    sql, params = fs_repo.list_sessions_sql(demo["store"], status=status, limit=50, offset=100)
    assert_walks_an_index(demo["db"], sql, params)


@pytest.mark.parametrize("category", [None, "ux"])
def test_personas_list_in_index_order(demo, category):
    sql, params = personas_repo.list_personas_sql(demo["workspace"], category)
    assert_walks_an_index(demo["db"], sql, params)


AFTER_PERSONA = [("design", True, "Bea, brand guardian", "0"), ("design", False, "Zed", "0"), ("accessibility", True, "lena", "0")]


@pytest.mark.parametrize("category", [None, "design"])
@pytest.mark.parametrize("after", AFTER_PERSONA)
def test_persona_pages_seek_the_index_from_their_keyset(demo, category, after):
    parts = personas_repo.persona_page_sql(demo["workspace"], category, after, 50)
    assert len(parts) == 1 + after[1] + (category is None)
    steps = assert_walks_an_index(demo["db"], *parts[0], seeks=("workspace_id", "category", "is_default"))
    assert any("name>?" in s for s in steps), steps  # the scalar bound, not a walk from the run's first name
    for sql, params in parts[1:]:
        assert_walks_an_index(demo["db"], sql, params)


def test_the_other_list_pages_seek_their_index_from_the_keyset(demo):
    db, after = demo["db"], (1, "x")
    assert_walks_an_index(db, *sites_repo.list_sites_sql(demo["workspace"], after=after, limit=51), keyset="(created_at,id)>(?,?)")
    assert_walks_an_index(db, *accounts_repo.list_tokens_sql(demo["workspace"], after=after, limit=51), keyset="(created_at,id)>(?,?)")
    assert_walks_an_index(db, *accounts_repo.list_tokens_sql(demo["workspace"], "u", after=after, limit=51))
    assert_walks_an_index(db, *ann_repo.list_resolutions_sql("a", after, 51), keyset="(created_at,id)>(?,?)")
    assert_walks_an_index(db, *sites_repo.list_stakeholders_sql(demo["site"], (1, 2), 51), seeks=("site_id",))


# -- the TUI inbox ---------------------------------------------------------------------------
INBOX_FILTERS = [
    InboxFilter(),
    InboxFilter(status="all"),
    InboxFilter(status="new"),
    InboxFilter(kind="bug"),
    InboxFilter(assignee="me"),
    InboxFilter(assignee="none"),
    InboxFilter(auto_fix=True),
    InboxFilter(status="triaged", kind="copy", auto_fix=False),
]


def _real_tables(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _inbox(wb, demo, f: InboxFilter, offset: int = 0, limit: int = 40) -> tuple[str, list[object]]:
    owner = wb.store.db.execute("SELECT user_id FROM memberships WHERE workspace_id = ?", [demo["workspace"]]).fetchone()[0]
    q = inbox._query(owner_principal(demo["workspace"], owner), f)
    window = inbox_repo.window_sql(q, offset, limit)
    assert window is not None, "the demo has annotations in every window these tests plan"
    return window


@pytest.mark.parametrize("f", [*INBOX_FILTERS, InboxFilter(place="SITE"), InboxFilter(place="SITE", assignee="me", status="new"),
                               InboxFilter(assignee="me", status="new", kind="bug"), InboxFilter(assignee="me", status="all")], ids=str)
@pytest.mark.parametrize("offset", [0, 150])
def test_inbox_annotation_windows_walk_the_narrowest_index_in_order(wb, demo, f, offset):
    """The workspace's covering index, or where the filter names one assignee or one site, the
    index of only those rows in the same order (a few rows among a million walked all of them)."""
    f = f.with_(sources=("annotation",), place=demo["site"] if f.place else None)
    sql, params = _inbox(wb, demo, f, offset)
    steps = assert_walks_an_index(demo["db"], sql, params)
    if f.assignee and f.assignee != "none" and f.status in ("new", "triaged"):  # one status: the walk starts at it
        assert any("USING COVERING INDEX inbox_assignee_status (workspace_id=? AND assignee_id=? AND status=?)" in s for s in steps), steps
    elif f.assignee and f.assignee != "none":  # several statuses: their rows in order, each tested (assigned rows only)
        assert any("USING COVERING INDEX inbox_assignee (workspace_id=? AND assignee_id=?)" in s for s in steps), steps
    elif f.place:
        assert any("USING INDEX annotations_site_walk (site_id=?)" in s for s in steps), steps
    elif f.kind:
        assert any("USING INDEX inbox_kind (workspace_id=? AND kind=?)" in s for s in steps), steps
    elif f.auto_fix:
        assert any("USING COVERING INDEX inbox_auto_fix (workspace_id=?)" in s for s in steps), steps
    else:
        assert any("USING COVERING INDEX inbox_annotations" in s for s in steps), steps


@pytest.mark.parametrize("f", INBOX_FILTERS, ids=str)
def test_inbox_windows_over_every_source_scan_no_table(wb, demo, f):
    sql, params = _inbox(wb, demo, f)
    tables = _real_tables(demo["db"])
    full = [s for s in plan(demo["db"], sql, params) if s.startswith("SCAN ") and s.split()[1] in tables and " USING " not in s]
    assert not full


QUALIFIER_QUERIES = ["age:<7d", "updated:>2020-01-01 is:autofix", "page:/cart author:priya", "kind:bug,copy -status:resolved",
                     "assignee:none assignee:@me -kind:praise", "status:new age:2020-01-01..2030-01-01"]


@pytest.mark.parametrize("text", QUALIFIER_QUERIES)
@pytest.mark.parametrize("offset", [0, 150])
def test_qualifiers_without_words_walk_the_covering_index(wb, demo, text, offset):
    """Qualifiers filter the entries of the list's index as it is walked: no sort, whatever the query."""
    owner = wb.store.db.execute("SELECT user_id FROM memberships WHERE workspace_id = ?", [demo["workspace"]]).fetchone()[0]
    q = inbox._query(owner_principal(demo["workspace"], owner), InboxFilter(text=text, sources=("annotation",)), demo["db"],
                     1_800_000_000_000)
    sql, params = inbox_repo.window_sql(q, offset, 40) or ("", [])
    steps = assert_walks_an_index(demo["db"], sql, params)
    assert any(("inbox_auto_fix" if "is:autofix" in text else "inbox_annotations") in s for s in steps), steps


SEARCHES = [
    "checkout",
    "checkout coupon OR contrast",
    '"payment step" -mobile',
    "check*",
    "checkout status:new kind:bug",
    "checkout assignee:none is:autofix",
    "checkout age:<7d updated:>2020-01-01",
    "checkout page:/cart author:priya -status:resolved",
    "checkout status:awaiting",
]


@pytest.mark.parametrize("text", SEARCHES)
@pytest.mark.parametrize("edge", [False, True])
def test_a_search_walks_the_search_index_in_order_and_sorts_nothing(wb, demo, text, edge):
    """The search index hands out matches in the list's order: no sort, no scan, one rowid lookup per match."""
    owner = wb.store.db.execute("SELECT user_id FROM memberships WHERE workspace_id = ?", [demo["workspace"]]).fetchone()[0]
    q = inbox._query(owner_principal(demo["workspace"], owner), InboxFilter(text=text), demo["db"], 1_800_000_000_000)
    # A window's walk (read until the edge second ends), or a count's bounded range.
    sql, params = (inbox_repo.search_sql(q, None, below=2**62, floor=2**61) if edge else inbox_repo.search_sql(q, None)) or ("", [])
    steps = plan(demo["db"], sql, params)
    assert steps[0].startswith("SCAN f VIRTUAL TABLE"), steps
    assert any(s.startswith("SEARCH a USING INTEGER PRIMARY KEY (rowid=?)") for s in steps), steps
    assert not [s for s in steps if _SORT in s], steps
    assert not [s for s in steps if _FULL_SCAN.match(s)], steps
    # FTS5 took the ORDER BY (xBestIndex consumed it): no sorter opcode either.
    assert "SorterOpen" not in [r[1] for r in demo["db"].execute(f"EXPLAIN {sql}", params)]


@pytest.mark.parametrize("text", ["-checkout", "-checkout status:new kind:bug", "-checkout -coupon assignee:none", "-checkout assignee:@me",
                                  "-checkout assignee:@me status:new kind:bug"])
def test_an_excluding_search_walks_the_list_index_and_reads_the_excluded_words_from_a_second_on(wb, demo, text):
    owner = wb.store.db.execute("SELECT user_id FROM memberships WHERE workspace_id = ?", [demo["workspace"]]).fetchone()[0]
    q = inbox._query(owner_principal(demo["workspace"], owner), InboxFilter(text=text), demo["db"], 1_800_000_000_000)
    excluding = inbox_repo.excluding_sql(q, 56)
    assert excluding is not None
    steps = assert_walks_an_index(demo["db"], *excluding)
    # One assignee walks only theirs (inbox_assignee), one kind only its own (inbox_kind), in the same order.
    walked = ("inbox_assignee_status" if "assignee:@" in text and "status:" in text else "inbox_assignee" if "assignee:@" in text
              else "inbox_kind" if "kind:" in text else "inbox_annotations")
    assert any(walked in s for s in steps), steps
    steps = plan(demo["db"], *inbox_repo.excluded_sql(q, 2**61))
    assert len(steps) == 1 and steps[0].startswith("SCAN inbox_fts VIRTUAL TABLE"), steps  # a MATCH bounded by rowid


def test_a_replicas_members_are_sought_one_by_one_not_read_from_every_reply_and_annotation(demo):
    """storage.inbox_filters.server_members (the inbox's assignee filter, names of assignees on a
    replica): each author and assignee one seek past the last, each author's name one more. Read
    with SELECT DISTINCT and a walk of every reply, it took 270 ms at 1M annotations."""
    ws = demo["workspace"]
    authors, newest_name, assignees = filters_repo.server_members_sql()
    for sql, params, seek in (
        (authors, [ws, ws], "INDEX replies_user_authors (workspace_id=? AND author_id>?)"),
        (newest_name, [ws, "u"], "INDEX replies_user_authors (workspace_id=? AND author_id=?)"),
        (assignees, [ws, ws], "(workspace_id=? AND assignee_id>?)"),  # either of the inbox's assignee indexes
    ):
        steps = plan(demo["db"], sql, params)
        # The recursion's own rows (a constant row, then one a member) are all it scans.
        assert not [s for s in steps if _FULL_SCAN.match(s) and not s.startswith(("SCAN CONSTANT ROW", "SCAN found"))], steps
        assert not [s for s in steps if _SORT in s], steps
        searches = [s for s in steps if s.startswith("SEARCH")]
        assert searches and all(seek in s for s in searches), steps


def test_a_syncs_pictures_since_its_last_pass_are_looked_up_by_key_not_by_walking_the_workspace(demo):
    """sync/pictures.py after a sync that brought something: the annotations the change journal names, each by
    its key, and the resolutions after a rowid. The planner walked the workspace's index instead (26 ms at
    100,000 annotations for one changed): what the lookup costs must follow what changed, not the store."""
    db = demo["db"]
    mark = ann_repo.pictures_mark(db)
    db.execute("UPDATE annotations SET summary = 'moved' WHERE id = (SELECT id FROM annotations LIMIT 1)")
    ran: list[str] = []
    db.set_trace_callback(ran.append)
    try:
        assert ann_repo.pictures_not_held_since(db, demo["workspace"], mark, 100) == []
    finally:
        db.set_trace_callback(None)
    sql = next(s for s in ran if "screenshot_key" in s)
    steps = plan(db, sql, [])
    assert not [s for s in steps if _FULL_SCAN.match(s)], steps
    assert any(re.match(r"SEARCH a USING INDEX sqlite_autoindex_annotations_1 \(id=\?\)", s) for s in steps), steps
    assert any(s.startswith("SEARCH resolutions USING INTEGER PRIMARY KEY (rowid>?)") for s in steps), steps


def test_a_syncs_missing_pictures_of_a_workspace_come_newest_first_from_its_indexes_unsorted(demo):
    """sync/pictures.py on a first sync (or after much changed): the workspace's screenshots and evidence without
    bytes, newest record first, as a sync fetches only so many a run. The resolutions were a scan of every
    workspace's and the whole a sort; now three ordered index walks, merged."""
    db = demo["db"]
    steps = plan(db, ann_repo._NOT_HELD, [demo["workspace"]] * 3)
    assert not [s for s in steps if _FULL_SCAN.match(s)], steps
    assert not [s for s in steps if _SORT in s], steps
    assert any(re.match(r"SEARCH a USING (COVERING )?INDEX inbox_annotations \(workspace_id=\?\)", s) for s in steps), steps
    assert sum(1 for s in steps if re.match(r"SEARCH resolutions USING INDEX resolutions_ws_order \(workspace_id=\?\)", s)) == 2, steps
    counted = plan(db, ann_repo._COUNT_NOT_HELD, [demo["workspace"]] * 3)  # how many are left, after a capped sync
    assert not [s for s in counted if _FULL_SCAN.match(s) or _SORT in s], counted
