"""Repository of sites (with their widget and MCP secrets), their stakeholders and the widget's allowed origins."""

from __future__ import annotations

from sqlite3 import Connection

from storage.rows import columns, fetch_all, fetch_one, insert, update_fields
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


def list_sites(db: Connection, workspace_id: str) -> list[Site]:
    return fetch_all(db, Site, f"SELECT {_SITE} FROM sites WHERE workspace_id = ? ORDER BY created_at, id", [workspace_id])


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


def list_stakeholders(db: Connection, site_id: str) -> list[Stakeholder]:
    return fetch_all(
        db,
        Stakeholder,
        f"SELECT {_SH} FROM stakeholders WHERE site_id = ? AND revoked_at IS NULL ORDER BY created_at, token",
        [site_id],
    )


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
