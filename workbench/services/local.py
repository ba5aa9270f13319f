"""The local user of an offline store: who the TUI, the CLI and stdio MCP act as.

A store made by ``workbench`` itself has one workspace from ``bootstrap`` whose OWNER is the
local user. Every local action goes through the same services (and rules) as the server's.
"""

from __future__ import annotations

from storage import accounts as accounts_repo
from workbench.domain.errors import NotFound
from workbench.domain.roles import Principal
from workbench.services.auth import local_principal
from workbench.services.bootstrap import ensure_workspace
from workbench.services.context import Workbench


def local_user(wb: Workbench, workspace_id: str | None = None, *, create: bool = True) -> Principal:
    """The local OWNER principal, in ``workspace_id`` or the store's default workspace."""
    db = wb.store.db
    default = accounts_repo.meta_get(db, "bootstrap_workspace")
    if workspace_id is None and default is None and not create:
        raise NotFound("This store has no workspace yet; run `workbench admin bootstrap`")
    if workspace_id is None or workspace_id == default:
        ws_id, user_id, _ = ensure_workspace(wb)
        return local_principal(wb, ws_id, user_id)
    owners = [u for u, role in accounts_repo.list_members(db, workspace_id) if role == "OWNER"]
    if not owners:
        raise NotFound("Workspace not found")
    return local_principal(wb, workspace_id, owners[0].id)
