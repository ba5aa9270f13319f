"""Serving side of the thread-changes extension: a site's replies and resolutions changed since a time.

Two keyset phases, replies then resolutions, each in (created_at, id) order on its own index of
one site's rows (m037: each row carries its annotation's site), so every page is an index range
read however large the history is, and whatever the other sites hold. A resolution counts as
changed when it was created or notified since ``since`` (its notification outcome is the only
thing about it that changes): two ranges, merged (``resolutions_since_sql``).
"""

from __future__ import annotations

from sqlite3 import Connection

from storage.rows import columns, fetch_all
from workbench.domain.records import Reply, Resolution

_REPLY = columns(Reply, "r.")
_RES = columns(Resolution, "s.")


def _start(since: int, after: tuple[int, str] | None) -> int:
    """Where a page's range on ``created_at`` starts: at the keyset once past ``since``.

    The keyset's own test, ``(created_at, id) > (?, ?)``, gave the time indexes no start (they
    held no id before m037; ``resolutions_site_notified`` still does not, and PostgreSQL's plans
    need not use a row value), so with ``created_at >= since`` alone each page walked from
    ``since`` to its keyset: a page 100,000 replies deep took 21 ms at 1M annotations, and a
    first sync's walk grew with the square of the history.
    """
    return since if after is None else max(since, after[0])


def _range_sql(table: str, alias: str, cols: str, index: str, when: str, after: tuple[int, str] | None) -> str:
    """One site's rows of ``table`` meeting ``when``, past the keyset ``after``, the first ``limit``
    in (created_at, id) order on ``index``; binds the site, ``when``'s values, the keyset, the limit."""
    keyset = f" AND ({alias}.created_at, {alias}.id) > (?, ?)" if after is not None else ""
    return (f"SELECT {cols} FROM {table} {alias} INDEXED BY {index} WHERE {alias}.site_id = ? AND {when}{keyset} "
            f"ORDER BY {alias}.created_at, {alias}.id LIMIT ?")


def _keys(after: tuple[int, str] | None) -> list[object]:
    return [] if after is None else [after[0], after[1]]


def replies_since_sql(site_id: str, since: int, after: tuple[int, str] | None, limit: int) -> tuple[str, list[object]]:
    """The SELECT of ``replies_since`` (tests read its plan)."""
    sql = _range_sql("replies", "r", _REPLY, "replies_site_created", "r.created_at >= ?", after)
    return sql, [site_id, _start(since, after), *_keys(after), limit]


def replies_since(db: Connection, site_id: str, since: int, after: tuple[int, str] | None, limit: int) -> list[Reply]:
    return fetch_all(db, Reply, *replies_since_sql(site_id, since, after, limit))


def resolutions_since_sql(site_id: str, since: int, after: tuple[int, str] | None, limit: int) -> tuple[str, list[object]]:
    """The SELECT of ``resolutions_since`` (tests read its plan): one ordered index range per way
    a resolution can have changed.

    Written ``created_at >= ? OR notified_at >= ?``, no index could give the range: SQLite walked
    every resolution of the store testing both, so a feed with nothing new cost 112 ms at 200k
    resolutions. Those created since come from ``resolutions_site_created`` in order; those created
    before but notified since (a notification's outcome recorded later) from
    ``resolutions_site_notified``, few, sorted, and merged in. From the beginning (``since`` 0) the
    second set is empty and not asked for, so a first sync's pages stay one range each.
    """
    created = _range_sql("resolutions", "s", _RES, "resolutions_site_created", "s.created_at >= ?", after)
    params: list[object] = [site_id, _start(since, after), *_keys(after), limit]
    if since <= 0:
        return created, params
    # Each range its own first ``limit`` rows, then the two merged: PostgreSQL otherwise sorted
    # every row of both before the limit.
    notified = _range_sql("resolutions", "s", _RES, "resolutions_site_notified", "s.notified_at >= ? AND s.created_at < ?", after)
    sql = f"SELECT * FROM ({created}) AS made UNION ALL SELECT * FROM ({notified}) AS notified ORDER BY created_at, id LIMIT ?"
    return sql, [*params, site_id, since, since, *_keys(after), limit, limit]


def resolutions_since(db: Connection, site_id: str, since: int, after: tuple[int, str] | None, limit: int) -> list[Resolution]:
    return fetch_all(db, Resolution, *resolutions_since_sql(site_id, since, after, limit))
