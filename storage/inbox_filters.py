"""Repository of what the inbox's filters offer and keep: the place filter's choices, a replica's
server-side members for the assignee filter, and the saved views (named filters)."""

from __future__ import annotations

from sqlite3 import Connection

from storage import accounts as accounts_repo
from storage.rows import json_dump, json_load
from workbench.domain.account_records import unnamed_member


def places(db: Connection, workspace_id: str) -> list[tuple[str, str, str]]:
    """(id, name, source) of every site, store and study of the workspace, for the place filter."""
    out = [(r[0], r[1], "annotation") for r in db.execute("SELECT id, name FROM sites WHERE workspace_id = ?", [workspace_id])]
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
    named = set(names)
    for (uid,) in db.execute("SELECT DISTINCT assignee_id FROM annotations WHERE workspace_id = ? AND assignee_id IS NOT NULL", [workspace_id]):
        names.setdefault(uid, unnamed_member(uid))
    names.pop(local_user_id, None)
    # Named members first: a list led by "…e592eb (name unknown here)" rows buries the names.
    return sorted(names.items(), key=lambda m: (m[0] not in named, m[1].casefold(), m[0]))


# -- saved views (named filters) -------------------------------------------------------------
def _views_key(workspace_id: str) -> str:
    return f"inbox.views:{workspace_id}"


def load_views(db: Connection, workspace_id: str) -> dict[str, dict]:
    value = accounts_repo.meta_get(db, _views_key(workspace_id))
    loaded = json_load(value) if value else None
    return loaded if isinstance(loaded, dict) else {}


def save_views(db: Connection, workspace_id: str, views: dict[str, dict]) -> None:
    accounts_repo.meta_set(db, _views_key(workspace_id), json_dump(views) or "{}")
