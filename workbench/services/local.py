"""The local user of an offline store: who the TUI, the CLI and stdio MCP act as.

A store made by ``workbench`` itself has one default workspace (``bootstrap``'s, or a synced
replica adopted in its place) whose OWNER is the local user, ``OWNER_EMAIL``. Every local action
goes through the same services (and rules) as the server's.

The usual case (the workspace and the user exist) reads three rows and imports nothing else:
this runs before the TUI's first paint. Only a store without them loads ``bootstrap``.
"""

from __future__ import annotations

from typing import Any

from storage import accounts as accounts_repo
from workbench.domain.account_records import User
from workbench.domain.clock import new_id
from workbench.domain.errors import NotFound
from workbench.domain.roles import Principal, PrincipalKind, Role
from workbench.services.context import Workbench

OWNER_EMAIL = "owner@example.com"
# What every front end that acts in the store's workspace says of a store that has none yet
# (the CLI's verbs, `workbench mcp`); each way of getting one is named.
NO_WORKSPACE = (
    "This store has no workspace yet: `workbench admin bootstrap`, `workbench demo` or the TUI makes one, "
    "or `workbench sync` brings a remote's"
)


def find_local_user(db: Any) -> User | None:
    """The local user's row in ``db`` (a read or an open write), or None on a store no local action made it in."""
    return accounts_repo.get_user_by_email(db, OWNER_EMAIL)


def local_user(wb: Workbench, workspace_id: str | None = None, *, create: bool = True) -> Principal:
    """The local OWNER principal, in ``workspace_id`` or the store's default workspace."""
    db = wb.store.db
    default = accounts_repo.meta_get(db, "bootstrap_workspace")
    if workspace_id is None and default is None and not create:
        raise NotFound(NO_WORKSPACE)
    if workspace_id is None or workspace_id == default:
        owner = find_local_user(db)
        role = accounts_repo.membership_role(db, default, owner.id) if default is not None and owner is not None else None
        if default is not None and owner is not None and role is not None:
            return _principal(default, owner, role)
        from workbench.services.bootstrap import ensure_workspace

        ws_id, user_id, _ = ensure_workspace(wb)
        return local_principal(wb, ws_id, user_id)
    owners = [u for u, role in accounts_repo.list_members(db, workspace_id) if role == "OWNER"]
    if not owners:
        raise NotFound("Workspace not found")
    return local_principal(wb, workspace_id, owners[0].id)


def local_principal(wb: Workbench, workspace_id: str, user_id: str) -> Principal:
    """The offline user of a local store acting in one workspace, with its membership's role."""
    db = wb.store.db
    role = accounts_repo.membership_role(db, workspace_id, user_id)
    user = accounts_repo.get_user(db, user_id)
    if role is None or user is None:
        raise NotFound("Workspace not found")
    return _principal(workspace_id, user, role)


def _principal(workspace_id: str, user: User, role: str) -> Principal:
    return Principal(kind=PrincipalKind.LOCAL, workspace_id=workspace_id, role=Role(role), user_id=user.id, display_name=user.name)


def local_user_id(wb: Workbench) -> str:
    """The local user's id, created when absent (a sync makes it the OWNER of the workspaces it pulls)."""
    user = find_local_user(wb.store.db)
    if user is not None:
        return user.id
    with wb.store.write() as db:
        user = find_local_user(db)
        if user is None:
            now = wb.clock()
            user = User(id=new_id(now), email=OWNER_EMAIL, name="Olive Owner", created_at=now)
            accounts_repo.add_user(db, user)
        return user.id
