"""Repository of sites (with their widget and MCP secrets), their stakeholders and the widget's allowed origins."""

from __future__ import annotations

from sqlite3 import Connection

from storage.rows import columns, creation_order_sql, fetch_all, fetch_one, insert, update_fields
from workbench.domain.records import Site, Stakeholder

_SITE = columns(Site)
_SH = columns(Stakeholder)


def add_site(db: Connection, site: Site) -> None:
    insert(db, "sites", site)


def get_site(db: Connection, workspace_id: str, site_id: str) -> Site | None:
    return fetch_one(db, Site, f"SELECT {_SITE} FROM sites WHERE id = ? AND workspace_id = ?", [site_id, workspace_id])


def get_site_any(db: Connection, site_id: str) -> Site | None:
    return fetch_one(db, Site, f"SELECT {_SITE} FROM sites WHERE id = ?", [site_id])


def site_by_mcp_hash(db: Connection, mcp_token_hash: str) -> Site | None:
    return fetch_one(db, Site, f"SELECT {_SITE} FROM sites WHERE mcp_token_hash = ?", [mcp_token_hash])


def list_sites_sql(
    workspace_id: str, *, site_id: str | None = None, after: tuple[int, str] | None = None, limit: int | None = None
) -> tuple[str, list[object]]:
    """The SELECT ``list_sites`` runs (tests read its plan): the sites_ws_order index, from the keyset ``after``."""
    where = ["workspace_id = ?"]
    params: list[object] = [workspace_id]
    if site_id is not None:
        where.append("id = ?")
        params.append(site_id)
    return creation_order_sql(f"SELECT {_SITE} FROM sites", where, params, after, limit)


def list_sites(
    db: Connection, workspace_id: str, *, site_id: str | None = None, after: tuple[int, str] | None = None, limit: int | None = None
) -> list[Site]:
    """The workspace's sites (``site_id``: that one only) in creation order, after the position ``after``."""
    sql, params = list_sites_sql(workspace_id, site_id=site_id, after=after, limit=limit)
    return fetch_all(db, Site, sql, params)


def update_site(db: Connection, site_id: str, **values: object) -> None:
    update_fields(db, "sites", "id", site_id, values)


def add_stakeholder(db: Connection, sh: Stakeholder) -> None:
    insert(db, "stakeholders", sh)


def get_stakeholder(db: Connection, site_id: str, token: str) -> Stakeholder | None:
    return fetch_one(
        db,
        Stakeholder,
        f"SELECT {_SH} FROM stakeholders WHERE token = ? AND site_id = ? AND revoked_at IS NULL",
        [token, site_id],
    )


def list_stakeholders_sql(site_id: str, after: tuple[int, int] | None, limit: int) -> tuple[str, list[object]]:
    """The SELECT ``list_stakeholders`` runs (tests read its plan): the stakeholders_site index, whose
    entries end with the rowid on both engines (storage/pg_schema.py), from the keyset ``after``."""
    where = ["site_id = ?", "revoked_at IS NULL"]
    params: list[object] = [site_id]
    if after is not None:
        where.append("(created_at, rowid) > (?, ?)")
        params.extend(after)
    params.append(limit)
    return f"SELECT {_SH}, rowid FROM stakeholders WHERE {' AND '.join(where)} ORDER BY created_at, rowid LIMIT ?", params


def list_stakeholders(db: Connection, site_id: str, after: tuple[int, int] | None, limit: int) -> list[tuple[Stakeholder, int]]:
    """The site's live stakeholders in creation order, each with its rowid: the tie-breaker a cursor
    keeps, since the token (their key) is a secret a GUEST must not read out of a cursor."""
    sql, params = list_stakeholders_sql(site_id, after, limit)
    return [(Stakeholder(*row[:-1]), row[-1]) for row in db.execute(sql, params).fetchall()]


def update_stakeholder(db: Connection, token: str, **values: object) -> None:
    update_fields(db, "stakeholders", "token", token, values)


# -- the widget's allowed origins --------------------------------------------------------------
def list_origins(db: Connection, site_id: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT origin FROM site_origins WHERE site_id = ? ORDER BY origin", [site_id])]


def origin_allowed(db: Connection, site_id: str, origin: str) -> bool:
    row = db.execute("SELECT 1 FROM site_origins WHERE site_id = ? AND origin = ?", [site_id, origin]).fetchone()
    return row is not None


def add_origin(db: Connection, site_id: str, origin: str, at: int) -> bool:
    """True when it was new."""
    cur = db.execute("INSERT OR IGNORE INTO site_origins(site_id, origin, created_at) VALUES (?, ?, ?)", [site_id, origin, at])
    return cur.rowcount > 0


def remove_origin(db: Connection, site_id: str, origin: str) -> bool:
    """True when it was there."""
    return db.execute("DELETE FROM site_origins WHERE site_id = ? AND origin = ?", [site_id, origin]).rowcount > 0
