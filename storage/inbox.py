"""Repository of the unified inbox: one ordered window over annotations, feedback comments and test sessions.

The TUI shows the inbox as a virtual list that asks for the rows ``[offset, offset + limit)``
of the current filter, so every query here must stay fast at 100,000 annotations:

- Each source is one ``SELECT`` of covered key columns ``(created_at, id)`` ordered newest
  first; the parts are combined with ``UNION ALL … ORDER BY`` which SQLite runs as a MERGE of
  the ordered parts, so ``LIMIT/OFFSET`` walks an index instead of sorting the table.
- Only the window's keys are found that way; the display columns (body, page…) are then read
  by rowid for those few rows (a "deferred join"): a deep offset never touches table pages.
- A search (a positive word or phrase) reads annotations from ``inbox_fts`` (migration
  m016), whose rowid is the list's order to the second (``created second << 30 | rowid``):
  FTS5 hands matches out newest first and stops at the window, and each match finds its
  annotation by rowid (qualifiers are checked there). The second at a window's edge is read
  whole and ordered by ``(created_at, id)`` here. Nothing grows with the number of matches;
  counts do (they run in a worker). A prefix (``check*``) is first rewritten as the words it
  completes (``storage.search_prefix``), which FTS5 reads as lazily as one word. Excluding words only (``-word``) walks the covering index
  a little further than the window and drops the excluded words' matches of those seconds.
  Comments and test sessions have no full-text index: LIKE.
- Counts of annotations by status come from ``annotation_status_counts``, kept by triggers.

The covering index the annotation part walks is created by migration ``m011_inbox_index``;
the kept counts by ``m014_flat_lists``. ``tests/storage/test_query_plans.py`` holds the plans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from sqlite3 import Connection

from storage import search_prefix
from storage.rows import drain_oldest, placeholders
from workbench.domain.safe_text import first_line

SOURCES = ("annotation", "comment", "test")

@dataclass(frozen=True, slots=True)
class Query:
    """One filter, already resolved by the service to plain values (no presets, no user input left)."""

    workspace_id: str
    sources: tuple[str, ...] = SOURCES
    # Per source: the statuses to show; None means every status of that source.
    statuses: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    kinds: tuple[str, ...] | None = None  # annotation kinds (None: any)
    place_ids: tuple[str, ...] | None = None  # sites (annotations), stores (comments), studies (tests)
    assignees: tuple[str, ...] | None = None  # user ids, "" for unassigned (selects annotations only)
    auto_fix: bool | None = None
    fts: str | None = None  # an FTS5 expression annotations (body, summary or thread) must match
    fts_exclude: str | None = None  # … and must not match
    groups: tuple[tuple[str, ...], ...] = ()  # the same terms, for LIKE over comments and tests
    excluded: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()  # substrings of the page, any of them
    authors: tuple[str, ...] = ()  # substrings of the submitter / reviewer / tester, any of them
    created: tuple[int | None, int | None] = (None, None)  # [from, to) epoch ms
    updated: tuple[int | None, int | None] = (None, None)
    # Comments count as awaiting only while their session is in one of these statuses (None: any).
    comment_session_statuses: tuple[str, ...] | None = None


@dataclass(slots=True)
class Row:
    """One inbox row, whatever its source (``services.inbox`` hands these out as ``InboxRow``)."""

    source: str
    id: str
    parent_id: str | None  # the feedback session of a comment, the study of a test session
    place_id: str | None
    status: str
    kind: str
    page: str
    text: str
    created_at: int
    assignee_id: str | None
    auto_fix: bool
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.id)

    @property
    def first_line(self) -> str:
        return first_line(self.text)


# -- the parts: (sql selecting created_at, id, src, rid; params) ------------------------------
# The search index's rowid (migration m016): ``created second << KEY_BITS | annotation rowid``.
KEY_BITS = 30  # rowids below 2**30 (a billion annotations) keep keys unique
_ROWID = (1 << KEY_BITS) - 1


# -- the search index's documents (migrations m016, m020) --------------------------------------
def search_key_sql(row: str) -> str:
    """SQL for the rowid of ``row``'s document in ``inbox_fts``: its list order to the second."""
    return f"((max({row}.created_at, 0) / 1000) << {KEY_BITS}) | {row}.rowid"


def thread_sql(annotation_id: str, *, without: str | None = None, plus: str | None = None) -> str:
    """SQL for the replies' bodies of an annotation in their order; ``without`` a reply rowid, ``plus`` an old reply row."""
    where = f"annotation_id = {annotation_id}" + (f" AND rowid IS NOT {without}" if without else "")
    extra = f" UNION ALL SELECT {plus}.body, {plus}.created_at, {plus}.id" if plus else ""
    return (f"(SELECT group_concat(b, ' ') FROM (SELECT body AS b, created_at AS c, id AS i FROM replies WHERE {where}"
            f"{extra} ORDER BY c, i))")


# A changed annotation's document waits in inbox_fts_pending as it was indexed (m020); these
# three statements, in one write transaction, replace it with the annotation's document now.
# Both go in key order: FTS5 flushes what it holds to a new segment whenever a rowid is not
# above the last one written, so a batch of changes spread over the store, taken in the order
# they were made, wrote a segment per document or two and merged them all later (2.6-6.5 WAL
# frames and ~100 us a document at 100k annotations, against ~60 us in order).
_UNINDEX = ("INSERT INTO inbox_fts(inbox_fts, rowid, body, summary, thread) "
            "SELECT 'delete', key, body, summary, thread FROM inbox_fts_pending WHERE rowid <= ? ORDER BY key")
_REINDEX = (f"INSERT INTO inbox_fts(rowid, body, summary, thread) SELECT {search_key_sql('a')}, a.body, a.summary, {thread_sql('a.id')} "
            "FROM inbox_fts_pending p CROSS JOIN annotations a ON a.id = p.annotation_id WHERE p.rowid <= ? ORDER BY 1")
_FORGET = "DELETE FROM inbox_fts_pending WHERE rowid <= ?"
# Pending annotations re-indexed per write transaction by an upkeep: ~5 ms of the write lock (and
# of the server's event loop, search_upkeep.py). Batches of 20 cost ~40 % more a document: each
# writes its own segments and merges them.
INDEX_BATCH = 100


def search_pending(db: Connection) -> bool:
    """Whether changed annotations wait to be re-indexed (``index_pending``) before a search reads ``inbox_fts``."""
    return db.execute("SELECT EXISTS (SELECT 1 FROM inbox_fts_pending)").fetchone()[0] == 1


def index_pending(db: Connection, limit: int = -1) -> int:
    """Re-index the annotations whose documents wait (the oldest ``limit``, -1: all), inside the
    caller's write transaction: how many. Each costs one re-index, however many changes it had."""
    return drain_oldest(db, "inbox_fts_pending", (_UNINDEX, _REINDEX, _FORGET), limit)


def _like_any(columns: Sequence[str], needles: Sequence[str]) -> tuple[str, list[object]]:
    """``(c1 LIKE %n% OR c2 LIKE %n% …)`` over every needle: any column holds any needle."""
    ors: list[str] = []
    params: list[object] = []
    for needle in needles:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        for c in columns:
            ors.append(f"{c} LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
    return "(" + " OR ".join(ors) + ")", params


def _text_like(columns: Sequence[str], q: Query) -> tuple[list[str], list[object]]:
    """The query's words as LIKE conditions, for the sources without a full-text index."""
    where: list[str] = []
    params: list[object] = []
    for group in q.groups:
        sql, p = _like_any(columns, group)
        where.append(sql)
        params += p
    if q.excluded:
        sql, p = _like_any(columns, q.excluded)
        where.append(f"NOT coalesce({sql}, 0)")
        params += p
    return where, params


def _common(q: Query, columns: dict[str, str], where: list[str], params: list[object]) -> None:
    """The qualifiers every source shares: page, author, created and updated ranges."""
    if q.pages:
        sql, p = _like_any([columns["page"]], q.pages)
        where.append(sql)
        params += p
    if q.authors:
        sql, p = _like_any([columns["author"]], q.authors)
        where.append(sql)
        params += p
    for bounds, column in ((q.created, columns["created"]), (q.updated, columns["updated"])):
        lo, hi = bounds
        if lo is not None:
            where.append(f"{column} >= ?")
            params.append(lo)
        if hi is not None:
            where.append(f"{column} < ?")
            params.append(hi)


def _in(column: str, values: Sequence[str], where: list[str], params: list[object]) -> None:
    where.append(f"{column} IN ({placeholders(values)})")
    params.extend(values)


def _annotation_where(q: Query) -> tuple[list[str], list[object]] | None:
    """The annotation part's conditions (on ``a``); None when the filter leaves no annotation."""
    statuses = q.statuses.get("annotation")
    where = ["a.workspace_id = ?"]
    params: list[object] = [q.workspace_id]
    for column, values in (("a.status", statuses), ("a.kind", q.kinds), ("a.site_id", q.place_ids)):
        if values is not None:
            if not values:
                return None
            _in(column, values, where, params)
    if q.assignees is not None:
        if not q.assignees:
            return None
        ids = [u for u in q.assignees if u]
        either = ([f"a.assignee_id IN ({placeholders(ids)})"] if ids else []) + (["a.assignee_id IS NULL"] if "" in q.assignees else [])
        where.append("(" + " OR ".join(either) + ")")
        params.extend(ids)
    if q.auto_fix is not None:
        # A literal, as storage.annotations.list_page_sql writes it: the partial index of auto-fix
        # rows (m030) fits only ``auto_fix = 1``, and INDEXED BY must see that when it is prepared.
        where.append("a.auto_fix = 1" if q.auto_fix else "a.auto_fix = 0")
    _common(q, {"page": "a.page_url", "author": "a.submitter_name", "created": "a.created_at", "updated": "a.updated_at"},
            where, params)
    return where, params


def _annotation_part(q: Query) -> tuple[str, list[object]] | None:
    """Annotations by walking the covering index in the list's order (no positive search term)."""
    built = _annotation_where(q)
    if built is None:
        return None
    where, params = built
    if q.fts_exclude:
        # Built once (an ephemeral set of the excluded rows), then probed per listed row.
        where.append(f"a.rowid NOT IN (SELECT rowid & {_ROWID} FROM inbox_fts WHERE inbox_fts MATCH ?)")
        params.append(q.fts_exclude)
    # INDEXED BY: the list's order, always; an ``updated:`` range would otherwise pick the
    # updated_at index and sort every row it matches.
    sql = (f"SELECT a.created_at AS c, a.id AS i, 'annotation' AS s, a.rowid AS rid FROM annotations a INDEXED BY {_walked_index(q)} "
           f"WHERE {' AND '.join(where)}")
    return sql, params


def _walked_index(q: Query) -> str:
    """The index a window walks, in the list's order: a subset of the workspace's where the filter names one.

    The workspace's index holds every filtered column, so a dense filter is tested in it; but a
    selective one (one person's annotations, one small site, a rare kind) walked the whole
    workspace to fill a window. One assignee walks ``inbox_assignee``, or with one status
    ``inbox_assignee_status`` (their rows of that status); one site,
    ``annotations_site_walk`` (the site's rows in the same order, with status and kind); one
    kind, ``inbox_kind``; auto-fix, ``inbox_auto_fix``. Each holds a subset of the workspace's
    entries in the same order, so it never walks more of them."""
    if q.assignees is not None and len(q.assignees) == 1 and q.assignees[0]:  # the indexes hold assigned rows only
        statuses = q.statuses.get("annotation")
        return "inbox_assignee_status" if statuses is not None and len(statuses) == 1 else "inbox_assignee"
    if q.place_ids is not None and len(q.place_ids) == 1:
        return "annotations_site_walk"
    if q.kinds is not None and len(q.kinds) == 1:
        return "inbox_kind"
    if q.auto_fix:
        return "inbox_auto_fix"
    return "inbox_annotations"


def search_sql(
    q: Query, limit: int | None, *, below: int | None = None, floor: int | None = None, after: tuple[int, str] | None = None
) -> tuple[str, list[object]] | None:
    """Matching annotations as ``(key, created_at, id, rowid)``, in the search index's order (tests read its plan).

    FTS5 hands its matches out newest second first and the walk stops at ``limit``: no match
    beyond the window is read, and none is sorted. ``below`` / ``floor`` bound the keys (the
    rest of a second at a window's edge); ``after`` keeps rows listed before ``(created_at, id)``.
    """
    built = _annotation_where(q)
    if built is None or not q.fts:
        return None
    where, params = built
    match = q.fts if not q.fts_exclude else f"({q.fts}) NOT ({q.fts_exclude})"
    keys: list[str] = []
    key_params: list[object] = []
    lo, hi = q.created
    if lo is not None:
        floor = max(floor or 0, (max(lo, 0) // 1000) << KEY_BITS)
    if hi is not None:
        top = ((max(hi - 1, 0) // 1000) + 1) << KEY_BITS
        below = top if below is None else min(below, top)
    if after is not None:
        floor = max(floor or 0, (max(after[0], 0) // 1000) << KEY_BITS)
        where.append("(a.created_at, a.id) > (?, ?)")
        params.extend(after)
    if floor is not None:
        keys.append("f.rowid >= ?")
        key_params.append(floor)
    if below is not None:
        keys.append("f.rowid < ?")
        key_params.append(below)
    # CROSS JOIN: the index drives, each match finds its annotation by rowid; the other way round
    # would run one FTS query per annotation.
    sql = (
        "SELECT f.rowid, a.created_at, a.id, a.rowid FROM inbox_fts f CROSS JOIN annotations a "
        f"ON a.rowid = (f.rowid & {_ROWID}) WHERE inbox_fts MATCH ? {''.join(' AND ' + k for k in keys)} "
        f"AND {' AND '.join(where)} ORDER BY f.rowid DESC" + (" LIMIT ?" if limit is not None else "")
    )
    return sql, [match, *key_params, *params] + ([limit] if limit is not None else [])


def _search_keys(db: Connection, q: Query, need: int) -> list[tuple[int, str, str, int]]:
    """The first ``need`` matching annotations in the list's order, as window keys ``(c, i, s, rid)``.

    The index orders by second; within the second at the window's edge the order is by rowid,
    so that whole second is read and the few rows are ordered here by ``(created_at, id)``.
    One statement, read until the edge second ends: a prefix (``check*``) makes FTS5 merge
    every word it completes each time its MATCH runs, so a second statement for the edge
    second cost as much again (11 ms each at 1M annotations).
    """
    built = search_sql(q, None)
    if built is None or need <= 0:
        return []
    rows: list[tuple[int, int, str, int]] = []
    edge = -1
    cursor = db.execute(*built)
    try:
        for row in cursor:
            if len(rows) >= need and row[0] >> KEY_BITS != edge:
                break
            rows.append(row)
            if len(rows) == need:
                edge = row[0] >> KEY_BITS
    finally:
        cursor.close()
    rows.sort(key=lambda r: (r[1], r[2]), reverse=True)
    return [(c, i, "annotation", rid) for _, c, i, rid in rows[:need]]


def excluding_sql(q: Query, limit: int) -> tuple[str, list[object]] | None:
    """The first ``limit`` annotations of the filter, excluded words aside, walking the list's index (tests read its plan)."""
    part = _annotation_part(replace(q, fts_exclude=None))
    if part is None:
        return None
    return f"{part[0]} ORDER BY a.created_at DESC, a.id DESC LIMIT ?", [*part[1], limit]


def excluded_sql(q: Query, floor: int) -> tuple[str, list[object]]:
    """Rowids of annotations holding an excluded word, from the second ``floor`` starts on (tests read its plan)."""
    return f"SELECT rowid & {_ROWID} FROM inbox_fts WHERE inbox_fts MATCH ? AND rowid >= ?", [q.fts_exclude, floor]


def _excluding_keys(db: Connection, q: Query, need: int) -> list[tuple[int, str, str, int]]:
    """The first ``need`` annotations without the excluded words, as window keys ``(c, i, s, rid)``.

    The list's index is walked in order for a few more rows than needed; the excluded words'
    matches from the last candidate's second on (the search index is ordered by second) are
    taken out. Too few left: walk twice as far. Both reads are as long as the window, where
    collecting every excluded match to probe it would grow with the store.
    """
    take = need + 16
    while need > 0:
        built = excluding_sql(q, take)
        if built is None:
            return []
        rows = db.execute(*built).fetchall()
        complete = len(rows) < take  # the filter has no more rows
        floor = 0 if complete or not rows else (max(rows[-1][0], 0) // 1000) << KEY_BITS
        out = {rid for (rid,) in db.execute(*excluded_sql(q, floor))}
        kept = [r for r in rows if r[3] not in out]
        if len(kept) >= need or complete:
            return kept[:need]
        take *= 2
    return []


def _comment_part(q: Query) -> tuple[str, list[object]] | None:
    statuses = q.statuses.get("comment")
    # Comments have no kind, assignee or auto-fix: those filters select annotations only
    # (even "unassigned": the assignee filter is about who owns an annotation).
    if q.kinds is not None or q.assignees is not None or q.auto_fix is True:
        return None
    where = ["st.workspace_id = ?"]
    params: list[object] = [q.workspace_id]
    for column, values in (("c.status", statuses), ("fs.status", q.comment_session_statuses), ("fs.store_id", q.place_ids)):
        if values is not None:
            if not values:
                return None
            _in(column, values, where, params)
    # A comment's last change is its resolution.
    _common(q, {"page": "c.page_path", "author": "c.reviewer_name", "created": "c.created_at",
                "updated": "coalesce(c.resolved_at, c.created_at)"}, where, params)
    w, p = _text_like(["c.content", "c.page_path", "c.task_instruction"], q)
    sql = (
        "SELECT c.created_at AS c, c.id AS i, 'comment' AS s, c.rowid AS rid FROM feedback_comments c "
        "JOIN feedback_sessions fs ON fs.id = c.session_id JOIN stores st ON st.id = fs.store_id "
        f"WHERE {' AND '.join(where + w)}"
    )
    return sql, params + p


def _test_part(q: Query) -> tuple[str, list[object]] | None:
    statuses = q.statuses.get("test")
    # Test sessions have no kind, assignee, auto-fix or page.
    if q.kinds is not None or q.assignees is not None or q.auto_fix is True or q.pages:
        return None
    where = ["j.workspace_id = ?"]
    params: list[object] = [q.workspace_id]
    for column, values in (("t.status", statuses), ("t.job_id", q.place_ids)):
        if values is not None:
            if not values:
                return None
            _in(column, values, where, params)
    _common(q, {"page": "", "author": "t.tester_id", "created": "t.created_at", "updated": "t.updated_at"}, where, params)
    w, p = _text_like(["t.tester_id", "j.name", "t.confirm_comment"], q)
    sql = (
        "SELECT coalesce(t.completed_at, t.created_at) AS c, t.id AS i, 'test' AS s, t.rowid AS rid "
        f"FROM test_sessions t JOIN studies j ON j.id = t.job_id WHERE {' AND '.join(where + w)}"
    )
    return sql, params + p


def _searching(q: Query) -> bool:
    """Whether annotations come from the search index (a positive term) rather than the list's index."""
    return bool(q.fts) and "annotation" in q.sources


def _keyed(q: Query) -> bool:
    """Whether a window's annotations are found in Python (a search, or excluded words) and merged with the rest."""
    return "annotation" in q.sources and bool(q.fts or q.fts_exclude)


def _parts(q: Query, *, annotations: bool = True) -> list[tuple[str, list[object]]]:
    """The SELECT of each source the filter shows, but annotations found through the search index."""
    builders = {} if _searching(q) or not annotations else {"annotation": _annotation_part}
    builders |= {"comment": _comment_part, "test": _test_part}
    out = []
    for source in q.sources:
        build = builders.get(source)
        part = build(q) if build else None
        if part is not None:
            out.append(part)
    return out


# -- queries -------------------------------------------------------------------------------
def _counted_by_status(q: Query) -> bool:
    """Whether the annotation part filters by workspace and status only: the kept counts answer it."""
    plain = (q.kinds is None and q.place_ids is None and q.assignees is None and q.auto_fix is None and not q.fts
             and not q.fts_exclude and not q.pages and not q.authors and q.created == (None, None) and q.updated == (None, None))
    return plain and "annotation" in q.sources


def count(db: Connection, q: Query) -> int:
    total = 0
    if _counted_by_status(q):
        statuses = q.statuses.get("annotation")
        counts = annotation_status_counts(db, q.workspace_id)
        total += sum(n for s, n in counts.items() if statuses is None or s in statuses)
        q = replace(q, sources=tuple(s for s in q.sources if s != "annotation"))
    if _searching(q):
        built = search_sql(q, None)
        if built is not None:
            total += db.execute(f"SELECT count(*) FROM ({built[0]}) AS found", built[1]).fetchone()[0]
    for sql, params in _parts(q):
        total += db.execute(f"SELECT count(*) FROM ({sql}) AS part", params).fetchone()[0]
    return total


def count_before(db: Connection, q: Query, created_at: int, row_id: str) -> int:
    """How many rows of the filter sort before ``(created_at, id)``: the row's index in the list."""
    total = 0
    if _searching(q):
        built = search_sql(q, None, after=(created_at, row_id))
        if built is not None:
            total += db.execute(f"SELECT count(*) FROM ({built[0]}) AS found", built[1]).fetchone()[0]
    for sql, params in _parts(q):
        total += db.execute(
            f"SELECT count(*) FROM ({sql}) AS part WHERE (c, i) > (?, ?)", [*params, created_at, row_id]
        ).fetchone()[0]
    return total


def window_sql(q: Query, offset: int, limit: int) -> tuple[str, list[object]] | None:
    """The SELECT of the keys ``(created_at, id, source, rowid)`` of a window (tests read its plan); None if empty.

    With a search term or excluded words, annotations are not part of it: ``search_sql`` and
    ``excluding_sql`` find them.
    """
    parts = _parts(q, annotations=not _keyed(q))
    if not parts or limit <= 0:
        return None
    sql = " UNION ALL ".join(p[0] for p in parts) + " ORDER BY 1 DESC, 2 DESC LIMIT ? OFFSET ?"
    return sql, [v for p in parts for v in p[1]] + [limit, max(offset, 0)]


def window(db: Connection, q: Query, offset: int, limit: int) -> list[Row]:
    """The rows ``[offset, offset + limit)`` of the filter, newest first."""
    offset = max(offset, 0)
    if _keyed(q):
        q = replace(q, fts=search_prefix.expand(db, q.fts), fts_exclude=search_prefix.expand(db, q.fts_exclude))
        # Each source's first offset + limit rows, merged: what SQLite's UNION ALL merge does.
        need = offset + limit
        keys = _search_keys(db, q, need) if q.fts else _excluding_keys(db, q, need)
        built = window_sql(q, 0, need)
        if built is not None:
            keys += db.execute(*built).fetchall()
            keys.sort(key=lambda k: (k[0], k[1]), reverse=True)
        keys = keys[offset:need]
    else:
        built = window_sql(q, offset, limit)
        if built is None:
            return []
        keys = db.execute(*built).fetchall()
    by_source: dict[str, list[int]] = {}
    for _, _, source, rid in keys:
        by_source.setdefault(source, []).append(rid)
    found: dict[tuple[str, int], Row] = {}
    for source, rids in by_source.items():
        for rid, row in _FETCH[source](db, rids):
            found[(source, rid)] = row
    return [found[(s, rid)] for _, _, s, rid in keys if (s, rid) in found]


def _fetch_annotations(db: Connection, rids: list[int]) -> list[tuple[int, Row]]:
    rows = db.execute(
        "SELECT rowid, id, site_id, status, kind, page_url, substr(body, 1, 400), created_at, assignee_id, auto_fix, "
        "selector, submitter_name, summary, stakeholder_token IS NOT NULL FROM annotations "
        f"WHERE rowid IN ({placeholders(rids)})",
        rids,
    ).fetchall()
    return [
        (
            r[0],
            Row("annotation", r[1], None, r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]),
                {"selector": r[10], "submitter": r[11], "summary": r[12], "stakeholder": bool(r[13])}),
        )
        for r in rows
    ]


def _fetch_comments(db: Connection, rids: list[int]) -> list[tuple[int, Row]]:
    rows = db.execute(
        "SELECT c.rowid, c.id, c.session_id, fs.store_id, c.status, c.page_path, substr(c.content, 1, 400), c.created_at, "
        "c.task_instruction, fs.status FROM feedback_comments c JOIN feedback_sessions fs ON fs.id = c.session_id "
        f"WHERE c.rowid IN ({placeholders(rids)})",
        rids,
    ).fetchall()
    return [
        (
            r[0],
            Row("comment", r[1], r[2], r[3], r[4], "comment", r[5], r[6], r[7], None, False,
                {"task_instruction": r[8], "session_status": r[9]}),
        )
        for r in rows
    ]


def _fetch_tests(db: Connection, rids: list[int]) -> list[tuple[int, Row]]:
    rows = db.execute(
        "SELECT t.rowid, t.id, t.job_id, t.status, t.tester_id, t.variant, coalesce(t.completed_at, t.created_at), "
        "t.duration_seconds, j.name FROM test_sessions t JOIN studies j ON j.id = t.job_id "
        f"WHERE t.rowid IN ({placeholders(rids)})",
        rids,
    ).fetchall()
    return [
        (
            r[0],
            Row("test", r[1], r[2], r[2], r[3], "test", f"variant {r[5]}", r[4], r[6], None, False,
                {"tester_id": r[4], "variant": r[5], "duration_seconds": r[7], "study": r[8]}),
        )
        for r in rows
    ]


_FETCH = {"annotation": _fetch_annotations, "comment": _fetch_comments, "test": _fetch_tests}


# -- counts ---------------------------------------------------------------------------------
def annotation_status_counts(db: Connection, workspace_id: str) -> dict[str, int]:
    """Annotations per status: kept by triggers (migration m014), so a read costs a few rows at any size."""
    rows = db.execute("SELECT status, n FROM annotation_status_counts WHERE workspace_id = ? AND n > 0", [workspace_id])
    return dict(rows.fetchall())
