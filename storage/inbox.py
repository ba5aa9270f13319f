"""Repository of the unified inbox: one ordered window over annotations, feedback comments and test sessions.

The TUI shows the inbox as a virtual list that asks for the rows ``[offset, offset + limit)``
of the current filter, so every query here must stay fast at 100,000 annotations:

- Each source is one ``SELECT`` of covered key columns ``(created_at, id)`` ordered newest
  first; the parts are combined with ``UNION ALL … ORDER BY`` which SQLite runs as a MERGE of
  the ordered parts, so ``LIMIT/OFFSET`` walks an index instead of sorting the table.
- Only the window's keys are found that way; the display columns (body, page…) are then read
  by rowid for those few rows (a "deferred join"): a deep offset never touches table pages.
- Full-text search with few matches drives from the FTS match set (``CROSS JOIN`` keeps
  SQLite from scanning the whole workspace and probing the match list per row) and sorts it;
  with many, it walks the covering index in order and probes the match sets. A count that
  stops at the threshold chooses (``_fts_is_dense``).
- Counts of annotations by status come from ``annotation_status_counts``, kept by triggers.

The covering index the annotation part walks is created by migration ``m011_inbox_index``;
the kept counts by ``m014_flat_lists``. ``tests/storage/test_query_plans.py`` holds the plans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from sqlite3 import Connection

from storage import accounts as accounts_repo
from storage.rows import json_dump, json_load, placeholders

SOURCES = ("annotation", "comment", "test")

def has_sessions(db: Connection) -> bool:
    """Whether the store has the sessions tables (schema m002 and later)."""
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback_comments'").fetchone()
    return row is not None


@dataclass(frozen=True, slots=True)
class Query:
    """One filter, already resolved by the service to plain values (no presets, no user input left)."""

    workspace_id: str
    sources: tuple[str, ...] = SOURCES
    # Per source: the statuses to show; None means every status of that source.
    statuses: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    kind: str | None = None
    place_id: str | None = None  # a site (annotations), a store (comments) or a study (tests)
    assignee: str | None = None  # a user id, or "" for unassigned
    auto_fix: bool | None = None
    fts: str | None = None  # an FTS5 expression over annotation bodies, summaries and replies
    terms: tuple[str, ...] = ()  # the same words, for LIKE over comments and tests
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
        stripped = self.text.strip()
        return stripped.splitlines()[0] if stripped else ""


# -- the parts: (sql selecting created_at, id, src, rid; params) ------------------------------
_MATCHES = (
    "SELECT rowid AS rid FROM annotations_fts WHERE annotations_fts MATCH ? "
    "UNION SELECT a2.rowid FROM replies_fts rf JOIN replies r ON r.rowid = rf.rowid "
    "JOIN annotations a2 ON a2.id = r.annotation_id WHERE replies_fts MATCH ?"
)
_ANNOTATION_MATCHES = "SELECT rowid FROM annotations_fts WHERE annotations_fts MATCH ?"
_REPLY_MATCHES = "SELECT r.annotation_id FROM replies_fts rf JOIN replies r ON r.rowid = rf.rowid WHERE replies_fts MATCH ?"
# Walking the covering index newest-first and probing the match sets reads about
# ``need * N / M`` index entries for the window's ``need`` rows (N annotations, M matches);
# sorting the matches instead costs M. The walk wins once M passes sqrt(need * N) (and
# always from this many matches: measured at 100k, 4 ms vs 20 ms for a word in 8% of bodies;
# rarer words are faster sorted, 0.04 ms vs 25 ms).
DENSE_MATCHES = 1000


def _fts_is_dense(db: Connection, fts: str, need: int) -> bool:
    """Whether walking beats sorting for this search: a count of matches that stops at the threshold."""
    size = db.execute("SELECT coalesce(max(rowid), 0) FROM annotations").fetchone()[0]  # N, from the b-tree's edge
    threshold = max(DENSE_MATCHES, math.isqrt(max(need, 1) * size))
    capped = (
        f"SELECT (SELECT count(*) FROM ({_ANNOTATION_MATCHES} LIMIT ?)) "
        "+ (SELECT count(*) FROM (SELECT rowid FROM replies_fts WHERE replies_fts MATCH ? LIMIT ?))"
    )
    return db.execute(capped, [fts, threshold, fts, threshold]).fetchone()[0] >= threshold


def _annotation_part(q: Query, *, dense: bool = False) -> tuple[str, list[object]] | None:
    statuses = q.statuses.get("annotation")
    where = ["a.workspace_id = ?"]
    params: list[object] = [q.workspace_id]
    if statuses is not None:
        if not statuses:
            return None
        where.append(f"a.status IN ({placeholders(statuses)})")
        params.extend(statuses)
    if q.kind is not None:
        where.append("a.kind = ?")
        params.append(q.kind)
    if q.place_id is not None:
        where.append("a.site_id = ?")
        params.append(q.place_id)
    if q.assignee is not None:
        if q.assignee == "":
            where.append("a.assignee_id IS NULL")
        else:
            where.append("a.assignee_id = ?")
            params.append(q.assignee)
    if q.auto_fix is not None:
        where.append("a.auto_fix = ?")
        params.append(int(q.auto_fix))
    if q.fts and dense:
        # Two membership sets, each built once; their UNION would also be sorted to drop duplicates.
        sql = (
            "SELECT a.created_at AS c, a.id AS i, 'annotation' AS s, a.rowid AS rid FROM annotations a INDEXED BY inbox_annotations "
            f"WHERE {' AND '.join(where)} AND (a.rowid IN ({_ANNOTATION_MATCHES}) OR a.id IN ({_REPLY_MATCHES}))"
        )
        return sql, [*params, q.fts, q.fts]
    if q.fts:
        sql = (
            f"SELECT a.created_at AS c, a.id AS i, 'annotation' AS s, a.rowid AS rid "
            f"FROM ({_MATCHES}) m CROSS JOIN annotations a ON a.rowid = m.rid WHERE {' AND '.join(where)}"
        )
        return sql, [q.fts, q.fts, *params]
    sql = f"SELECT a.created_at AS c, a.id AS i, 'annotation' AS s, a.rowid AS rid FROM annotations a WHERE {' AND '.join(where)}"
    return sql, params


def _like_terms(columns: Sequence[str], terms: Sequence[str]) -> tuple[list[str], list[object]]:
    where: list[str] = []
    params: list[object] = []
    for term in terms:
        where.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params.extend([f"%{escaped}%"] * len(columns))
    return where, params


def _comment_part(q: Query) -> tuple[str, list[object]] | None:
    statuses = q.statuses.get("comment")
    # Comments have no kind, assignee or auto-fix: those filters select annotations only
    # (even "unassigned": the assignee filter is about who owns an annotation).
    if q.kind is not None or q.assignee is not None or q.auto_fix is True:
        return None
    where = ["st.workspace_id = ?"]
    params: list[object] = [q.workspace_id]
    if statuses is not None:
        if not statuses:
            return None
        where.append(f"c.status IN ({placeholders(statuses)})")
        params.extend(statuses)
    if q.comment_session_statuses is not None:
        where.append(f"fs.status IN ({placeholders(q.comment_session_statuses)})")
        params.extend(q.comment_session_statuses)
    if q.place_id is not None:
        where.append("fs.store_id = ?")
        params.append(q.place_id)
    w, p = _like_terms(["c.content", "c.page_path", "c.task_instruction"], q.terms)
    where += w
    params += p
    sql = (
        "SELECT c.created_at AS c, c.id AS i, 'comment' AS s, c.rowid AS rid FROM feedback_comments c "
        "JOIN feedback_sessions fs ON fs.id = c.session_id JOIN stores st ON st.id = fs.store_id "
        f"WHERE {' AND '.join(where)}"
    )
    return sql, params


def _test_part(q: Query) -> tuple[str, list[object]] | None:
    statuses = q.statuses.get("test")
    if q.kind is not None or q.assignee is not None or q.auto_fix is True:
        return None
    where = ["j.workspace_id = ?"]
    params: list[object] = [q.workspace_id]
    if statuses is not None:
        if not statuses:
            return None
        where.append(f"t.status IN ({placeholders(statuses)})")
        params.extend(statuses)
    if q.place_id is not None:
        where.append("t.job_id = ?")
        params.append(q.place_id)
    w, p = _like_terms(["t.tester_id", "j.name", "t.confirm_comment"], q.terms)
    where += w
    params += p
    sql = (
        "SELECT coalesce(t.completed_at, t.created_at) AS c, t.id AS i, 'test' AS s, t.rowid AS rid "
        f"FROM test_sessions t JOIN studies j ON j.id = t.job_id WHERE {' AND '.join(where)}"
    )
    return sql, params


def _parts(db: Connection, q: Query, *, need: int = 0) -> list[tuple[str, list[object]]]:
    """The SELECT of each source the filter shows; ``need``: rows a window reads (offset + limit), 0 for counts."""
    dense = need > 0 and bool(q.fts) and "annotation" in q.sources and _fts_is_dense(db, q.fts or "", need)
    builders = {"annotation": lambda query: _annotation_part(query, dense=dense)}
    if has_sessions(db):
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
    plain = q.kind is None and q.place_id is None and q.assignee is None and q.auto_fix is None and not q.fts
    return plain and "annotation" in q.sources


def count(db: Connection, q: Query) -> int:
    total = 0
    if _counted_by_status(q):
        statuses = q.statuses.get("annotation")
        counts = annotation_status_counts(db, q.workspace_id)
        total += sum(n for s, n in counts.items() if statuses is None or s in statuses)
        q = replace(q, sources=tuple(s for s in q.sources if s != "annotation"))
    for sql, params in _parts(db, q):
        total += db.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    return total


def count_before(db: Connection, q: Query, created_at: int, row_id: str) -> int:
    """How many rows of the filter sort before ``(created_at, id)``: the row's index in the list."""
    total = 0
    for sql, params in _parts(db, q):
        total += db.execute(
            f"SELECT count(*) FROM ({sql}) WHERE (c, i) > (?, ?)", [*params, created_at, row_id]
        ).fetchone()[0]
    return total


def window_sql(db: Connection, q: Query, offset: int, limit: int) -> tuple[str, list[object]] | None:
    """The SELECT of the keys ``(created_at, id, source, rowid)`` of a window (tests read its plan); None if empty."""
    parts = _parts(db, q, need=max(offset, 0) + limit)
    if not parts or limit <= 0:
        return None
    sql = " UNION ALL ".join(p[0] for p in parts) + " ORDER BY 1 DESC, 2 DESC LIMIT ? OFFSET ?"
    return sql, [v for p in parts for v in p[1]] + [limit, max(offset, 0)]


def window(db: Connection, q: Query, offset: int, limit: int) -> list[Row]:
    """The rows ``[offset, offset + limit)`` of the filter, newest first."""
    built = window_sql(db, q, offset, limit)
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
        "selector, submitter_name, summary FROM annotations "
        f"WHERE rowid IN ({placeholders(rids)})",
        rids,
    ).fetchall()
    return [
        (
            r[0],
            Row("annotation", r[1], None, r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]),
                {"selector": r[10], "submitter": r[11], "summary": r[12]}),
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


# -- facets and counts ---------------------------------------------------------------------
def places(db: Connection, workspace_id: str) -> list[tuple[str, str, str]]:
    """(id, name, source) of every site, store and study of the workspace, for the place filter."""
    out = [(r[0], r[1], "annotation") for r in db.execute("SELECT id, name FROM sites WHERE workspace_id = ?", [workspace_id])]
    if has_sessions(db):
        out += [(r[0], r[1], "comment") for r in db.execute("SELECT id, name FROM stores WHERE workspace_id = ?", [workspace_id])]
        out += [(r[0], r[1], "test") for r in db.execute("SELECT id, name FROM studies WHERE workspace_id = ?", [workspace_id])]
    return out


def server_members(db: Connection, workspace_id: str, local_user_id: str) -> list[tuple[str, str]]:
    """(user id, name) of a replica's server-side members, as far as the replica has seen them.

    The server lists no members; its user ids reach the replica as the authors of people's
    replies and as assignees. An assignee never seen replying has only an id for a name. The
    local user's own id is left out: it exists on this machine only.
    """
    names: dict[str, str] = {}
    for uid, name in db.execute(
        "SELECT author_id, author_name FROM replies WHERE workspace_id = ? AND author_kind = 'user' AND author_id IS NOT NULL "
        "ORDER BY created_at DESC",
        [workspace_id],
    ):
        names.setdefault(uid, name)
    for (uid,) in db.execute("SELECT DISTINCT assignee_id FROM annotations WHERE workspace_id = ? AND assignee_id IS NOT NULL", [workspace_id]):
        names.setdefault(uid, f"user …{uid[-6:]}")
    names.pop(local_user_id, None)
    return sorted(names.items(), key=lambda m: (m[1].casefold(), m[0]))


def annotation_status_counts(db: Connection, workspace_id: str) -> dict[str, int]:
    """Annotations per status: kept by triggers (migration m014), so a read costs a few rows at any size."""
    rows = db.execute("SELECT status, n FROM annotation_status_counts WHERE workspace_id = ? AND n > 0", [workspace_id])
    return dict(rows.fetchall())


# -- saved views (named filters) -------------------------------------------------------------
def _views_key(workspace_id: str) -> str:
    return f"inbox.views:{workspace_id}"


def load_views(db: Connection, workspace_id: str) -> dict[str, dict]:
    value = accounts_repo.meta_get(db, _views_key(workspace_id))
    loaded = json_load(value) if value else None
    return loaded if isinstance(loaded, dict) else {}


def save_views(db: Connection, workspace_id: str, views: dict[str, dict]) -> None:
    accounts_repo.meta_set(db, _views_key(workspace_id), json_dump(views) or "{}")
