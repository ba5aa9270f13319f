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


def replies_since_sql(site_id: str, since: int, after: tuple[int, str] | None, limit: int) -> tuple[str, list[object]]:
    """The SELECT of ``replies_since`` (tests read its plan)."""
    where = "r.site_id = ? AND r.created_at >= ?"
    params: list[object] = [site_id, _start(since, after)]
    if after is not None:
        where += " AND (r.created_at, r.id) > (?, ?)"
        params += [after[0], after[1]]
    sql = f"SELECT {_REPLY} FROM replies r INDEXED BY replies_site_created WHERE {where} ORDER BY r.created_at, r.id LIMIT ?"
    return sql, [*params, limit]


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
    keyset = " AND (s.created_at, s.id) > (?, ?)" if after is not None else ""
    arm = (f"SELECT {_RES} FROM resolutions s INDEXED BY {{index}} "
           f"WHERE s.site_id = ? AND {{when}}{keyset} ORDER BY s.created_at, s.id LIMIT ?")
    keys = [after[0], after[1]] if after is not None else []
    created = arm.format(index="resolutions_site_created", when="s.created_at >= ?")
    params: list[object] = [site_id, _start(since, after), *keys, limit]
    if since <= 0:
        return created, params
    # Each range its own first ``limit`` rows, then the two merged: PostgreSQL otherwise sorted
    # every row of both before the limit.
    notified = arm.format(index="resolutions_site_notified", when="s.notified_at >= ? AND s.created_at < ?")
    sql = f"SELECT * FROM ({created}) AS made UNION ALL SELECT * FROM ({notified}) AS notified ORDER BY created_at, id LIMIT ?"
    return sql, [*params, site_id, since, since, *keys, limit, limit]


def resolutions_since(db: Connection, site_id: str, since: int, after: tuple[int, str] | None, limit: int) -> list[Resolution]:
    return fetch_all(db, Resolution, *resolutions_since_sql(site_id, since, after, limit))
