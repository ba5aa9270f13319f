"""Serving side of the thread-changes extension: a site's replies and resolutions changed since a time.

Two keyset phases, replies then resolutions, each in (created_at, id) order on its own index,
so every page is an index range read however large the history is. A resolution counts as
changed when it was created or notified since ``since`` (its notification outcome is the only
thing about it that changes). ``CROSS JOIN`` pins the join order: the time index drives the
read, so a feed with nothing new costs two index probes, not a scan of the site's annotations.
"""

from __future__ import annotations

from sqlite3 import Connection

from storage.rows import columns, fetch_all
from workbench.domain.records import Reply, Resolution

_REPLY = columns(Reply, "r.")
_RES = columns(Resolution, "s.")


def replies_since(db: Connection, site_id: str, since: int, after: tuple[int, str] | None, limit: int) -> list[Reply]:
    where = "r.created_at >= ? AND a.site_id = ?"
    params: list[object] = [since, site_id]
    if after is not None:
        where += " AND (r.created_at, r.id) > (?, ?)"
        params += [after[0], after[1]]
    sql = (
        f"SELECT {_REPLY} FROM replies r CROSS JOIN annotations a ON a.id = r.annotation_id "
        f"WHERE {where} ORDER BY r.created_at, r.id LIMIT ?"
    )
    return fetch_all(db, Reply, sql, [*params, limit])


def resolutions_since(db: Connection, site_id: str, since: int, after: tuple[int, str] | None, limit: int) -> list[Resolution]:
    where = "(s.created_at >= ? OR s.notified_at >= ?) AND a.site_id = ?"
    params: list[object] = [since, since, site_id]
    if after is not None:
        where += " AND (s.created_at, s.id) > (?, ?)"
        params += [after[0], after[1]]
    sql = (
        f"SELECT {_RES} FROM resolutions s CROSS JOIN annotations a ON a.id = s.annotation_id "
        f"WHERE {where} ORDER BY s.created_at, s.id LIMIT ?"
    )
    return fetch_all(db, Resolution, sql, [*params, limit])
