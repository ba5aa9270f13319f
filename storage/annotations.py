"""Repository of annotations, their replies, resolutions and uploaded evidence, plus full-text search.

Listing is keyset-paginated on the immutable (created_at, id) key, newest first, so paging
while rows are inserted or edited neither skips nor repeats a row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Sequence
from sqlite3 import Connection
from typing import Any

from storage.rows import columns, creation_order_sql, drain_oldest, fetch_all, fetch_one, json_dump, json_load, placeholders, update_fields
from workbench.domain.query import Search
from workbench.domain.records import Annotation, Reply, Resolution

_ANN = columns(Annotation)
_REPLY = columns(Reply)
_RES = columns(Resolution)
_ANN_FIELDS = [f.name for f in dataclasses.fields(Annotation)]
_STYLES_AT = _ANN_FIELDS.index("computed_styles")
_AUTOFIX_AT = _ANN_FIELDS.index("auto_fix")
_CAPTURE_AT = _ANN_FIELDS.index("capture")


def _annotation(*row: Any) -> Annotation:  # sqlite3 rows are untyped; the field order is the schema
    return annotation_from_row(row)


# Where a raw row (``list_page_rows``) keeps the list's keyset, for its cursor.
ROW_CREATED_AT = _ANN_FIELDS.index("created_at")
ROW_ID = _ANN_FIELDS.index("id")


def annotation_from_row(row: Sequence[Any]) -> Annotation:
    """The record of one raw row of ``list_page_rows``."""
    values = list(row)
    values[_AUTOFIX_AT] = bool(values[_AUTOFIX_AT])
    values[_STYLES_AT] = json_load(values[_STYLES_AT])
    values[_CAPTURE_AT] = json_load(values[_CAPTURE_AT])
    return Annotation(*values)


def _annotation_row(ann: Annotation) -> tuple:
    values = [getattr(ann, name) for name in _ANN_FIELDS]
    values[_AUTOFIX_AT] = int(bool(values[_AUTOFIX_AT]))
    values[_STYLES_AT] = json_dump(values[_STYLES_AT])
    values[_CAPTURE_AT] = json_dump(values[_CAPTURE_AT])
    return tuple(values)


_INSERT_ANN = f"INSERT INTO annotations ({_ANN}) VALUES ({', '.join('?' for _ in _ANN_FIELDS)})"


def add_annotation(db: Connection, ann: Annotation) -> None:
    db.execute(_INSERT_ANN, _annotation_row(ann))


def add_annotations(db: Connection, anns: Iterable[Annotation]) -> int:
    """Bulk insert in the caller's transaction: one executemany, the fastest path SQLite has."""
    cur = db.executemany(_INSERT_ANN, (_annotation_row(a) for a in anns))
    return cur.rowcount


def get_annotation(db: Connection, workspace_id: str, annotation_id: str) -> Annotation | None:
    return fetch_one(
        db, _annotation, f"SELECT {_ANN} FROM annotations WHERE id = ? AND workspace_id = ?", [annotation_id, workspace_id]
    )


def update_annotation(db: Connection, annotation_id: str, values: dict[str, object]) -> None:
    update_fields(db, "annotations", "id", annotation_id, values)


# With ``since``, fewer matches than this are found through the (site_id, updated_at) index
# and sorted (a bounded sort); more are found by walking the created_at-ordered index and
# filtering updated_at from its entries, which costs a page, not the match count.
SINCE_SPARSE = 2000


def list_page_sql(
    site_id: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    since_ms: int | None = None,
    auto_fix: bool | None = None,
    after: tuple[int, str] | None = None,
    limit: int = 50,
    sparse_since: bool = False,
    ids: Collection[str] | None = None,
    workspace_id: str | None = None,
) -> tuple[str, list[object]]:
    """The SELECT (and its parameters) ``list_page`` runs: exposed so tests read its plan.

    The keyset position is a row value, ``(created_at, id) < (?, ?)``, which SQLite turns
    into a range of the ordered index; the equivalent ``a < ? OR (a = ? AND b < ?)`` is not,
    and walks every entry before the position. ``sparse_since`` picks the updated_at index.
    ``ids``: only those annotations, found by key, which of them the page's filter admits, in
    no order and without a limit (SQLite only: the page refresh's read of the rows that changed).
    ``workspace_id``: no row unless the site is that workspace's, checked once in the same
    statement (on PostgreSQL a round trip fewer than asking first).
    """
    # With ids, the unary + keeps the planner off the site's ordered indexes: it would walk one
    # from the top to the deepest id (3.5 ms for two ids 50,000 rows down, the whole site when
    # the filter admits none) instead of seeking each id.
    where = ["+site_id = ?" if ids is not None else "site_id = ?"]
    params: list[object] = [site_id]
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    if since_ms is not None:
        # The unary + keeps the planner off the updated_at index on a dense match set: it
        # would collect and sort every match before returning the first page.
        where.append("updated_at >= ?" if sparse_since else "+updated_at >= ?")
        params.append(since_ms)
    if auto_fix is not None:
        # A literal: the partial index of auto-fix rows (m028) fits only ``auto_fix = 1``; with a
        # bound value SQLite plans for the value at hand and prepares the statement again each
        # time the value flips, so the two are two statements, each prepared once.
        where.append("auto_fix = 1" if auto_fix else "auto_fix = 0")
    if after is not None:
        where.append("(created_at, id) < (?, ?)")
        params.extend(after)
    if workspace_id is not None:
        where.append("EXISTS (SELECT 1 FROM sites WHERE id = ? AND workspace_id = ?)")
        params.extend((site_id, workspace_id))
    if ids is not None:
        where.append(f"id IN ({placeholders(ids)})")
        return f"SELECT {_ANN} FROM annotations WHERE {' AND '.join(where)}", [*params, *ids]
    source = "annotations INDEXED BY annotations_site_updated" if since_ms is not None and sparse_since else "annotations"
    sql = f"SELECT {_ANN} FROM {source} WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC LIMIT ?"
    params.append(limit)
    return sql, params


def since_is_sparse(db: Connection, site_id: str, since_ms: int) -> bool:
    """Whether fewer than ``SINCE_SPARSE`` annotations of the site moved since ``since_ms`` (a capped count)."""
    sql = "SELECT count(*) FROM (SELECT 1 FROM annotations WHERE site_id = ? AND updated_at >= ? LIMIT ?) AS moved"
    return db.execute(sql, [site_id, since_ms, SINCE_SPARSE]).fetchone()[0] < SINCE_SPARSE


def list_page(
    db: Connection,
    site_id: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    since_ms: int | None = None,
    auto_fix: bool | None = None,
    after: tuple[int, str] | None = None,
    limit: int = 50,
) -> list[Annotation]:
    """Up to ``limit`` annotations after the keyset position ``after`` (newest first)."""
    rows = list_page_rows(db, site_id, status=status, kind=kind, since_ms=since_ms, auto_fix=auto_fix, after=after, limit=limit)
    return [annotation_from_row(row) for row in rows]


def list_page_rows(
    db: Connection,
    site_id: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    since_ms: int | None = None,
    auto_fix: bool | None = None,
    after: tuple[int, str] | None = None,
    limit: int = 50,
    workspace_id: str | None = None,
) -> list[tuple[Any, ...]]:
    """``list_page`` as raw rows (equal rows make equal records), for callers that reuse
    what they built from a row while it is unchanged (the API's page encoding). ``workspace_id``:
    no rows unless the site is that workspace's (see ``list_page_sql``)."""
    sparse = since_ms is not None and since_is_sparse(db, site_id, since_ms)
    sql, params = list_page_sql(
        site_id, status=status, kind=kind, since_ms=since_ms, auto_fix=auto_fix, after=after, limit=limit, sparse_since=sparse,
        workspace_id=workspace_id,
    )
    return db.execute(sql, params).fetchall()


def journal_position(db: Connection) -> int:
    """The newest entry of the annotations' change journal (storage/schema.py ``m022``), 0 if none."""
    return db.execute("SELECT coalesce(max(seq), 0) FROM annotation_journal").fetchone()[0]


def changed_since(db: Connection, position: int, most: int) -> tuple[int, set[str]] | None:
    """The journal's newest entry as read, and the ids of annotations changed after ``position``;
    None when they are more than ``most`` or the journal no longer reaches back that far (its
    entries are numbered without gaps)."""
    sql = "SELECT seq, annotation_id FROM annotation_journal WHERE seq > ? ORDER BY seq LIMIT ?"
    rows = db.execute(sql, [position, most + 1]).fetchall()
    if len(rows) > most or (rows and rows[0][0] != position + 1):
        return None
    return (rows[-1][0] if rows else position), {row[1] for row in rows}


# The annotation search's full-text indexes (``{table}_fts``), the columns each indexes.
TEXT_INDEXES = {"annotations": ("body", "summary"), "replies": ("body",)}
# What waits to be indexed in them (migration m023), per table: remove the
# documents the index holds for the rows (by their indexed text), add the rows as they are now
# (a deleted row adds nothing), forget them. Batched by rowid, the oldest first.
_TEXT_INDEX_SQL = {
    table: (
        f"INSERT INTO {table}_fts ({table}_fts, rowid, {cols}) SELECT 'delete', rid, {cols} FROM {table}_fts_pending WHERE rid <= ? AND indexed",
        f"INSERT INTO {table}_fts (rowid, {cols}) SELECT t.rowid, {', '.join(f't.{c}' for c in columns)} "
        f"FROM {table}_fts_pending p CROSS JOIN {table} t ON t.rowid = p.rid WHERE p.rid <= ?",
        f"DELETE FROM {table}_fts_pending WHERE rid <= ?",
    )
    for table, columns in TEXT_INDEXES.items()
    for cols in [", ".join(columns)]
}
# Rows indexed per write transaction by an upkeep: one FTS5 segment for the batch.
TEXT_INDEX_BATCH = 200


def text_pending(db: Connection) -> bool:
    """Whether rows wait to be indexed (``index_text_pending``) before ``search_ids`` reads the indexes."""
    sql = "SELECT EXISTS (SELECT 1 FROM annotations_fts_pending) OR EXISTS (SELECT 1 FROM replies_fts_pending)"
    return db.execute(sql).fetchone()[0] == 1


def index_text_pending(db: Connection, limit: int = -1) -> int:
    """Index the rows that wait (the oldest ``limit`` of each table, -1: all), inside the caller's
    write transaction: the most of either table, so ``== limit`` says more may wait."""
    return max(drain_oldest(db, f"{table}_fts_pending", statements, limit) for table, statements in _TEXT_INDEX_SQL.items())


def search_ids(db: Connection, workspace_id: str, search: Search, limit: int = 500) -> list[str]:
    """Annotation ids (in id order) whose body and summary, or one of whose replies, match ``search``'s words.

    SQLite asks FTS5; PostgreSQL asks the generated ``search`` columns, with the same words
    and the same meaning (storage/pg_search.py), so both engines find the same annotations.
    """
    if not search.groups or search.matches_nothing:
        return []
    if isinstance(db, Connection):
        match = search.fts_match()
        excluded = search.fts_exclude()
        query = f"({match}) NOT ({excluded})" if excluded else match
        sql = """
            SELECT a.id FROM annotations_fts f JOIN annotations a ON a.rowid = f.rowid
            WHERE annotations_fts MATCH ? AND a.workspace_id = ?
            UNION
            SELECT r.annotation_id FROM replies_fts rf JOIN replies r ON r.rowid = rf.rowid
            WHERE replies_fts MATCH ? AND r.workspace_id = ?
            ORDER BY 1 LIMIT ?
        """
    else:
        from storage.pg_search import tsquery  # here: the TUI's SQLite-only path never loads the PostgreSQL modules

        query = tsquery(db, search)
        if query is None:
            return []
        # Ids compared byte by byte, as SQLite does, whatever the database's collation.
        sql = """
            SELECT id FROM (
                SELECT id FROM annotations WHERE search @@ ?::tsquery AND workspace_id = ?
                UNION
                SELECT annotation_id FROM replies WHERE search @@ ?::tsquery AND workspace_id = ?
            ) found ORDER BY id COLLATE "C" LIMIT ?
        """
    return [r[0] for r in db.execute(sql, [query, workspace_id, query, workspace_id, limit]).fetchall()]


# -- replies -------------------------------------------------------------------------------
def _in_site_insert(table: str, cls: type) -> tuple[str, list[str]]:
    """The INSERT of a thread's record (a reply, a resolution) with its annotation's site, which the
    thread feed's per-site ranges read (m037), and the fields it binds before the annotation's id."""
    names = [f.name for f in dataclasses.fields(cls)]
    sql = (f"INSERT INTO {table} ({', '.join(names)}, site_id) "
           f"VALUES ({', '.join('?' for _ in names)}, (SELECT site_id FROM annotations WHERE id = ?))")
    return sql, names


_REPLY_INSERT, _REPLY_FIELDS = _in_site_insert("replies", Reply)
_RES_INSERT, _RES_FIELDS = _in_site_insert("resolutions", Resolution)


def add_reply(db: Connection, reply: Reply) -> None:
    db.execute(_REPLY_INSERT, [*(getattr(reply, f) for f in _REPLY_FIELDS), reply.annotation_id])


def list_replies(db: Connection, annotation_id: str) -> list[Reply]:
    return fetch_all(db, Reply, f"SELECT {_REPLY} FROM replies WHERE annotation_id = ? ORDER BY created_at, id", [annotation_id])


# -- resolutions ---------------------------------------------------------------------------
def add_resolution(db: Connection, res: Resolution) -> None:
    db.execute(_RES_INSERT, [*(getattr(res, f) for f in _RES_FIELDS), res.annotation_id])


def get_resolution(db: Connection, resolution_id: str) -> Resolution | None:
    return fetch_one(db, Resolution, f"SELECT {_RES} FROM resolutions WHERE id = ?", [resolution_id])


def list_resolutions_sql(annotation_id: str, after: tuple[int, str] | None = None, limit: int | None = None) -> tuple[str, list[object]]:
    """The SELECT ``list_resolutions`` runs (tests read its plan): oldest first on the
    resolutions_annotation index, from the keyset ``after``."""
    where = ["annotation_id = ?"]
    params: list[object] = [annotation_id]
    return creation_order_sql(f"SELECT {_RES} FROM resolutions", where, params, after, limit)


def list_resolutions(db: Connection, annotation_id: str, after: tuple[int, str] | None = None, limit: int | None = None) -> list[Resolution]:
    sql, params = list_resolutions_sql(annotation_id, after, limit)
    return fetch_all(db, Resolution, sql, params)


def pending_notifications(db: Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM resolutions WHERE notification_status = 'pending' ORDER BY created_at")]


def set_notification(db: Connection, resolution_id: str, status: str, at: int) -> None:
    db.execute(
        "UPDATE resolutions SET notification_status = ?, notified_at = ? WHERE id = ?", [status, at, resolution_id]
    )


# -- uploaded evidence ---------------------------------------------------------------------
def add_upload(
    db: Connection, *, key: str, workspace_id: str, annotation_id: str, kind: str, content_type: str, size: int, sha256: str, at: int
) -> None:
    db.execute(
        "INSERT INTO uploads(key, workspace_id, annotation_id, kind, content_type, size, sha256, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET size = excluded.size, "
        "sha256 = excluded.sha256, content_type = excluded.content_type, created_at = excluded.created_at",
        [key, workspace_id, annotation_id, kind, content_type, size, sha256, at],
    )


def get_upload(db: Connection, key: str) -> dict | None:
    row = db.execute(
        "SELECT key, workspace_id, annotation_id, kind, content_type, size, sha256 FROM uploads WHERE key = ?", [key]
    ).fetchone()
    if row is None:
        return None
    return dict(zip(["key", "workspace_id", "annotation_id", "kind", "content_type", "size", "sha256"], row, strict=True))


# One query for a replica's pictures without bytes, over the workspace or over what changed since a pass:
# the annotations ``a`` come from ``annotations``, or from the changed ids each found by its key (a CROSS JOIN
# keeps them outermost: left to itself the planner walked the workspace's index, 26 ms at 100,000 annotations
# for one changed); the resolutions are every one, or those after a rowid. Each row carries its record's time
# and id, newest first: a sync fetches at most so many pictures a run, and the newest records are the ones a
# user opens first. The workspace's rows come in that order from its indexes, three ordered walks merged
# (inbox_annotations, and m033's resolutions_ws_order twice), never sorted; what changed is sorted here.
_HELD = "NOT IN (SELECT key FROM uploads)"


def _pictures_not_held_sql(annotations: str, resolutions: str, order: str) -> str:
    evidence = "".join(
        f"UNION ALL SELECT {kind}_key, annotation_id, '{kind}', created_at, id FROM resolutions WHERE {resolutions} "
        f"AND {kind}_key IS NOT NULL AND {kind}_key {_HELD} "
        for kind in ("before", "after")
    )
    return (
        f"SELECT a.screenshot_key, a.id, 'screenshot', a.created_at, a.id FROM {annotations} "
        f"WHERE a.workspace_id = ? AND a.screenshot_key IS NOT NULL AND a.screenshot_key {_HELD} {evidence}{order}"
    )


_NOT_HELD = _pictures_not_held_sql("annotations AS a", "workspace_id = ?", "ORDER BY 4 DESC, 5 DESC")
_COUNT_NOT_HELD = f"SELECT count(*) FROM ({_pictures_not_held_sql('annotations AS a', 'workspace_id = ?', '')})"
# The unary plus keeps the workspace's term off m033's index: the planner walked all its resolutions by it
# rather than the few after the rowid.
_NOT_HELD_SINCE = _pictures_not_held_sql(
    "json_each(?) AS changed CROSS JOIN annotations AS a ON a.id = changed.value", "rowid > ? AND +workspace_id = ?", "",
)


def _pictures(rows: Iterable[tuple[Any, ...]]) -> list[tuple[str, str, str]]:
    """(key, annotation_id, kind) of ``rows`` in their order, each key once (two resolutions may name one)."""
    seen: set[str] = set()
    out: list[tuple[str, str, str]] = []
    for key, annotation_id, kind, _at, _id in rows:
        if key not in seen:
            seen.add(key)
            out.append((str(key), str(annotation_id), str(kind)))
    return out


def pictures_not_held(db: Connection, workspace_id: str, most: int) -> list[tuple[str, str, str]]:
    """(key, annotation_id, kind) of the workspace's screenshots and evidence that no ``uploads`` row
    names, newest record first, the first ``most``: on a replica, pictures whose records a sync pulled
    and whose bytes it has not fetched. The walk stops there: with 100,000 missing, reading them all took
    0.7 s (median, a busy machine) for a sync that fetches 500; the first 600, 30 ms."""
    return _pictures(db.execute(f"{_NOT_HELD} LIMIT ?", [workspace_id] * 3 + [most]))


def count_pictures_not_held(db: Connection, workspace_id: str) -> int:
    """How many ``pictures_not_held`` has in all (a key two resolutions name counts twice): asked only when
    a sync leaves some for the next, to say how many (0.35 s at 100,000, each a lookup of its row)."""
    row = db.execute(_COUNT_NOT_HELD, [workspace_id] * 3).fetchone()
    return int(row[0])


def pictures_mark(db: Connection) -> tuple[int, int]:
    """Where ``pictures_not_held_since`` starts after a pass: the change journal's newest entry and the
    newest resolution's rowid (a pulled resolution is a new row; its annotation's may not change)."""
    return journal_position(db), db.execute("SELECT coalesce(max(rowid), 0) FROM resolutions").fetchone()[0]


def pictures_not_held_since(db: Connection, workspace_id: str, mark: tuple[int, int], most: int) -> list[tuple[str, str, str]] | None:
    """``pictures_not_held`` among what changed after ``mark`` (``pictures_mark``), newest first: the annotations the
    change journal names since, the resolutions added since. None when the journal no longer reaches
    back that far or names more than ``most``: the caller reads the whole workspace then. Read whole
    after every sync that brought anything, the workspace cost 240 ms at 100,000 annotations."""
    changed = changed_since(db, mark[0], most)
    if changed is None:
        return None
    params = [json_dump(sorted(changed[1])), workspace_id, mark[1], workspace_id, mark[1], workspace_id]
    return _pictures(sorted(db.execute(_NOT_HELD_SINCE, params), key=lambda r: (r[3], r[4]), reverse=True))


def list_by_submitter(db: Connection, site_id: str, key_hash: str, limit: int = 200) -> list[Annotation]:
    """One browser's annotations on one site, newest first: the widget's revisit view."""
    return fetch_all(
        db,
        _annotation,
        f"SELECT {_ANN} FROM annotations WHERE site_id = ? AND submitter_key_hash = ? ORDER BY created_at DESC, id DESC LIMIT ?",
        [site_id, key_hash, limit],
    )


def replies_of(db: Connection, annotation_ids: Sequence[str]) -> dict[str, list[Reply]]:
    """The threads of several annotations in one query, oldest reply first."""
    out: dict[str, list[Reply]] = {i: [] for i in annotation_ids}
    if not annotation_ids:
        return out
    marks = placeholders(annotation_ids)
    for r in fetch_all(
        db, Reply, f"SELECT {_REPLY} FROM replies WHERE annotation_id IN ({marks}) ORDER BY created_at, id", list(annotation_ids)
    ):
        out[r.annotation_id].append(r)
    return out


def changes(db: Connection, workspace_id: str) -> int:
    """How many writes the workspace's annotations, replies and resolutions have seen (m018's
    triggers keep it): it moves exactly when any of them does."""
    row = db.execute("SELECT n FROM annotation_changes WHERE workspace_id = ?", [workspace_id]).fetchone()
    return row[0] if row else 0
