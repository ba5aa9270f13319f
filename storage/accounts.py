"""Repository of workspaces, users, memberships, API tokens and the store's own secrets."""

from __future__ import annotations

from sqlite3 import Connection

from storage.rows import columns, creation_order_sql, fetch_all, fetch_one, insert
from workbench.domain.account_records import ApiToken, User, Workspace

_WS = columns(Workspace)
_USER = columns(User)
_TOKEN = columns(ApiToken)


def meta_get(db: Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else row[0]


def meta_set(db: Connection, key: str, value: str) -> None:
    db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [key, value])


def server_secret(db: Connection) -> bytes:
    """The HMAC/JWT signing secret of this store, created once (race-safe across processes)."""
    value = meta_get(db, "server_secret")
    if value is None:
        import secrets  # once per store's life: not worth loading hashlib for at every start

        db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('server_secret', ?)", [secrets.token_hex(32)])
        value = meta_get(db, "server_secret")
    assert value is not None
    return bytes.fromhex(value)


# -- workspaces ----------------------------------------------------------------------------
def add_workspace(db: Connection, ws: Workspace) -> None:
    insert(db, "workspaces", ws)


def get_workspace(db: Connection, workspace_id: str) -> Workspace | None:
    return fetch_one(db, Workspace, f"SELECT {_WS} FROM workspaces WHERE id = ?", [workspace_id])


def set_workspace_deleted(db: Connection, workspace_id: str, deleted_at: int | None) -> None:
    db.execute("UPDATE workspaces SET deleted_at = ? WHERE id = ?", [deleted_at, workspace_id])


# -- users and memberships -----------------------------------------------------------------
def add_user(db: Connection, user: User) -> None:
    insert(db, "users", user)


def get_user(db: Connection, user_id: str) -> User | None:
    return fetch_one(db, User, f"SELECT {_USER} FROM users WHERE id = ?", [user_id])


def get_user_by_email(db: Connection, email: str) -> User | None:
    return fetch_one(db, User, f"SELECT {_USER} FROM users WHERE email = ?", [email])


def set_membership(db: Connection, workspace_id: str, user_id: str, role: str, at: int) -> None:
    db.execute(
        "INSERT INTO memberships(workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(workspace_id, user_id) DO UPDATE SET role = excluded.role",
        [workspace_id, user_id, role, at],
    )


def membership_role(db: Connection, workspace_id: str, user_id: str) -> str | None:
    row = db.execute(
        "SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?", [workspace_id, user_id]
    ).fetchone()
    return None if row is None else row[0]


def list_members(db: Connection, workspace_id: str) -> list[tuple[User, str]]:
    rows = db.execute(
        f"SELECT {columns(User, 'u.')}, m.role FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.workspace_id = ? ORDER BY u.name, u.id",
        [workspace_id],
    ).fetchall()
    return [(User(*row[:-1]), row[-1]) for row in rows]


# -- API tokens ----------------------------------------------------------------------------
def add_token(db: Connection, token: ApiToken) -> None:
    insert(db, "api_tokens", token)


def token_by_hash(db: Connection, token_hash: str) -> tuple[ApiToken, int | None] | None:
    """The token with its workspace's ``deleted_at``: one query on every authenticated request."""
    row = db.execute(
        f"SELECT {columns(ApiToken, 't.')}, w.deleted_at FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id "
        "WHERE t.token_hash = ?",
        [token_hash],
    ).fetchone()
    return None if row is None else (ApiToken(*row[:-1]), row[-1])


def get_token(db: Connection, workspace_id: str, token_id: str) -> ApiToken | None:
    return fetch_one(
        db, ApiToken, f"SELECT {_TOKEN} FROM api_tokens WHERE id = ? AND workspace_id = ?", [token_id, workspace_id]
    )


def list_tokens_sql(
    workspace_id: str, created_by: str | None = None, *, after: tuple[int, str] | None = None, limit: int | None = None
) -> tuple[str, list[object]]:
    """The SELECT ``list_tokens`` runs (tests read its plan): the api_tokens_ws_order index, from the keyset ``after``."""
    where = ["workspace_id = ?"]
    params: list[object] = [workspace_id]
    if created_by is not None:
        where.append("created_by = ?")
        params.append(created_by)
    return creation_order_sql(f"SELECT {_TOKEN} FROM api_tokens", where, params, after, limit)


def list_tokens(
    db: Connection, workspace_id: str, created_by: str | None = None, *, after: tuple[int, str] | None = None, limit: int | None = None
) -> list[ApiToken]:
    sql, params = list_tokens_sql(workspace_id, created_by, after=after, limit=limit)
    return fetch_all(db, ApiToken, sql, params)


def revoke_token(db: Connection, token_id: str, at: int) -> None:
    db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at, token_id])
