"""Extension: create (once) a workspace with an OWNER, a site and working credentials for scripts.

Running it again reuses the workspace and mints fresh API tokens (plaintext cannot be shown
twice), so every run prints credentials that work.
"""

from __future__ import annotations

from typing import Any

from storage import accounts as accounts_repo
from storage import sites as sites_repo
from workbench.domain.records import Site
from workbench.domain.roles import Principal, PrincipalKind, Role
from workbench.domain.tokens import TokenCreate
from workbench.services import accounts, sites
from workbench.services.auth import issue_session
from workbench.services.context import Workbench
from workbench.services.local import OWNER_EMAIL, find_local_user
from workbench.services.session_bootstrap import bootstrap_sessions

MEMBER_EMAIL = "member@example.com"
GUEST_EMAIL = "guest@example.com"


def ensure_workspace(wb: Workbench) -> tuple[str, str, Site]:
    """The bootstrap workspace, its OWNER's user id and its first site (created when absent)."""
    found = _bootstrap_workspace(wb)
    if found is None:
        # One transaction, the mark that names the workspace included: a process killed between
        # its steps left a workspace nothing named, and the next start made a second one.
        with wb.store.write() as db:
            # Asked again under the write lock: two first starts on one empty store (the TUI and a
            # CLI command, say) each found none above, and each made its own.
            found = _bootstrap_workspace(wb)
            if found is None:
                ws, owner = accounts.create_workspace(wb, "Acme Commerce", OWNER_EMAIL, "Olive Owner")
                accounts.add_member(wb, ws.id, MEMBER_EMAIL, "Max Member", Role.MEMBER)
                accounts.add_member(wb, ws.id, GUEST_EMAIL, "Gus Guest", Role.GUEST)
                site = sites.create_site(wb, owner_principal(ws.id, owner.id), "Acme storefront", "https://shop.acme.example")
                accounts_repo.meta_set(db, "bootstrap_workspace", ws.id)
                accounts_repo.meta_set(db, "bootstrap_site", site.id)
                found = ws.id, owner.id
    ws_id, owner_id = found
    return ws_id, owner_id, _bootstrap_site(wb, ws_id)


def _bootstrap_site(wb: Workbench, ws_id: str) -> Site:
    """The site bootstrap made, else (a store from before it was named, or with it deleted) the first.

    Not simply the first listed: sites made in one millisecond, as the demo's three are, list in
    the order of their ids' random bits, so ``bootstrap --json`` named one of the three at random,
    most often a demo site with no auto-fix annotation, on which the document's agent flow
    (``?auto_fix=true``) found nothing."""
    db = wb.store.db
    site_id = accounts_repo.meta_get(db, "bootstrap_site")
    site = sites_repo.get_site(db, ws_id, site_id) if site_id else None
    return site or sites_repo.list_sites(db, ws_id)[0]


def _bootstrap_workspace(wb: Workbench) -> tuple[str, str] | None:
    """The bootstrap workspace's id and its OWNER's user id, or None while either is missing."""
    db = wb.store.db
    ws_id = accounts_repo.meta_get(db, "bootstrap_workspace")
    owner = find_local_user(db)
    if ws_id is None or accounts_repo.get_workspace(db, ws_id) is None or owner is None:
        return None
    return ws_id, owner.id


def owner_principal(workspace_id: str, user_id: str) -> Principal:
    return Principal(kind=PrincipalKind.LOCAL, workspace_id=workspace_id, role=Role.OWNER, user_id=user_id, display_name="Olive Owner")


def bootstrap(wb: Workbench) -> dict[str, Any]:
    ws_id, owner_id, site = ensure_workspace(wb)
    principal = owner_principal(ws_id, owner_id)
    _, member_token = accounts.mint_token(wb, principal, ws_id, TokenCreate(name="bootstrap member", role="MEMBER"))
    _, guest_token = accounts.mint_token(wb, principal, ws_id, TokenCreate(name="bootstrap guest", role="GUEST"))
    return {
        "workspace_id": ws_id,
        "owner_user_id": owner_id,
        "owner_session": issue_session(wb, owner_id),
        "member_token": member_token,
        "guest_token": guest_token,
        "site_id": site.id,
        "widget_token": site.widget_token,
        "mcp_token": site.mcp_token,
        # store_api_key, plain_store_api_key (+ their store ids), jwt and job_id
        **bootstrap_sessions(wb, principal),
    }
