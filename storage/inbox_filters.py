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


# A replica's members as its rows name them: the authors of people's replies, and the assignees.
_AUTHORS = "replies WHERE workspace_id = ? AND author_kind = 'user' AND author_id IS NOT NULL"
_ASSIGNED = "annotations WHERE workspace_id = ? AND assignee_id IS NOT NULL"


def server_members_sql() -> tuple[str, str, str]:
    """What ``server_members`` runs (tests read the plans): the authors' ids, one author's newest
    name, the assignees' ids; the first and last take the workspace twice, the second the workspace
    and the author."""
    newest_name = f"SELECT author_name FROM {_AUTHORS} AND author_id = ? ORDER BY created_at DESC LIMIT 1"
    return _distinct_sql("author_id", _AUTHORS), newest_name, _distinct_sql("assignee_id", _ASSIGNED)


def server_members(db: Connection, workspace_id: str, local_user_id: str) -> list[tuple[str, str]]:
    """(user id, name) of a replica's server-side members, as far as the replica has seen them.

    The server lists no members; its user ids reach the replica as the authors of people's
    replies (named as their newest reply names them) and as assignees. An assignee never seen
    replying has only an id for a name. The local user's own id is left out: it exists on this
    machine only. Each id is found by a seek past the one before, so the cost is a few seeks a
    member, whatever the number of replies and annotations.
    """
    authors_sql, newest_name_sql, assignees_sql = server_members_sql()
    names: dict[str, str] = {}
    for (uid,) in db.execute(authors_sql, [workspace_id, workspace_id]).fetchall():
        names[uid] = db.execute(newest_name_sql, [workspace_id, uid]).fetchone()[0]
    named = set(names)
    for (uid,) in db.execute(assignees_sql, [workspace_id, workspace_id]):
        names.setdefault(uid, unnamed_member(uid))
    names.pop(local_user_id, None)
    # Named members first: a list led by "…e592eb (name unknown here)" rows buries the names.
    return sorted(names.items(), key=lambda m: (m[0] not in named, m[1].casefold(), m[0]))


def _distinct_sql(column: str, rows: str) -> str:
    """The distinct values of ``column`` among ``rows`` ("TABLE WHERE …", its parameters given twice),
    each found by seeking the smallest value above the one before in an index that leads with the
    WHERE's equalities and ``column``: a loose index scan, which SQLite does not plan by itself.
    ``SELECT DISTINCT`` read every row (tests/storage/test_query_plans.py holds the plan)."""
    return (
        f"WITH RECURSIVE found(v) AS (SELECT (SELECT min({column}) FROM {rows}) "
        f"UNION ALL SELECT (SELECT min({column}) FROM {rows} AND {column} > found.v) FROM found WHERE found.v IS NOT NULL) "
        "SELECT v FROM found WHERE v IS NOT NULL"
    )


# -- saved views (named filters) -------------------------------------------------------------
def _views_key(workspace_id: str) -> str:
    return f"inbox.views:{workspace_id}"


def load_views(db: Connection, workspace_id: str) -> dict[str, dict]:
    value = accounts_repo.meta_get(db, _views_key(workspace_id))
    loaded = json_load(value) if value else None
    return loaded if isinstance(loaded, dict) else {}


def save_views(db: Connection, workspace_id: str, views: dict[str, dict]) -> None:
    accounts_repo.meta_set(db, _views_key(workspace_id), json_dump(views) or "{}")
