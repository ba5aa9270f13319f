"""Use cases of sites: listing, the secrets (OWNER session only), MCP token rotation, stakeholders."""

from __future__ import annotations

import secrets as _secrets

from storage import annotations as ann_repo
from storage import sites as repo
from workbench.domain.annotations import StakeholderCreate, StakeholderUpdate
from workbench.domain.clock import new_id
from workbench.domain.errors import NotFound
from workbench.domain.paging import DEFAULT_LIMIT
from workbench.domain.records import Site, Stakeholder
from workbench.domain.roles import Principal, Role, require_role, require_session
from workbench.domain.tokens import MCP_TOKEN_PREFIX, STAKEHOLDER_TOKEN_PREFIX, WIDGET_TOKEN_PREFIX, hash_secret, mint_secret
from workbench.domain.widget import origin_of_url
from workbench.services import paging
from workbench.services.context import Workbench
from workbench.services.paging import Page


def create_site(wb: Workbench, principal: Principal, name: str, url: str) -> Site:
    """Extension (the dashboard's job in the hosted service): a new site with fresh secrets."""
    require_role(principal, Role.ADMIN)
    now = wb.clock()
    mcp = mint_secret(MCP_TOKEN_PREFIX)
    site = Site(
        id=new_id(now),
        workspace_id=principal.workspace_id,
        name=name,
        url=url,
        widget_token=mint_secret(WIDGET_TOKEN_PREFIX),
        mcp_token=mcp,
        mcp_token_hash=hash_secret(mcp),
        loader_secret_id=f"ls_{_secrets.token_hex(8)}",
        created_at=now,
        updated_at=now,
    )
    with wb.store.write() as db:
        repo.add_site(db, site)
        # The site's own pages may run its widget from the start; more origins via `sites origins`.
        origin = origin_of_url(url)
        if origin is not None:
            repo.add_origin(db, site.id, origin, now)
        wb.audit(db, principal, "site.create", "site", site.id, {"name": name, "url": url}, at=now)
    return site


def list_sites(wb: Workbench, principal: Principal) -> list[Site]:
    """Every site the caller sees (an MCP token: its own), in creation order."""
    return repo.list_sites(wb.store.db, principal.workspace_id, site_id=principal.site_id)


def sites_page(wb: Workbench, principal: Principal, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> Page[Site]:
    """GET /api/v1/sites: one page of ``list_sites``."""
    db, ws, only = wb.store.db, principal.workspace_id, principal.site_id
    return paging.page(
        wb, f"sites|{ws}|{only}", (int, str),
        lambda after, n: repo.list_sites(db, ws, site_id=only, after=after, limit=n),
        lambda s: (s.created_at, s.id), cursor=cursor, limit=limit,
    )


def tree_digest(wb: Workbench, principal: Principal) -> str:
    """Changes whenever the caller's sites list or any annotation, reply or resolution of the
    workspace does (for the sites list's ETag, which covers what a pull reads under each site)."""
    with wb.store.read() as db:
        moved = ann_repo.changes(db, principal.workspace_id)
        # The public form: a value handed to clients carries no secret, even hashed.
        listed = [s.to_public() for s in list_sites(wb, principal)]
    return f"{moved}:{listed!r}"


def get_site(wb: Workbench, principal: Principal, site_id: str) -> Site:
    site = repo.get_site(wb.store.db, principal.workspace_id, site_id)
    if site is None or (principal.site_id is not None and principal.site_id != site_id):
        raise NotFound("Site not found")
    return site


def get_secrets(wb: Workbench, principal: Principal, site_id: str) -> dict[str, str]:
    """OWNER session only: tokens are clamped to MEMBER, so they always fail this check."""
    require_session(principal, Role.OWNER)
    site = get_site(wb, principal, site_id)
    with wb.store.write() as db:
        wb.audit(db, principal, "site.secrets.read", "site", site_id)
    return {"widget_token": site.widget_token, "mcp_token": site.mcp_token, "loader_secret_id": site.loader_secret_id}


def rotate_mcp_token(wb: Workbench, principal: Principal, site_id: str) -> dict[str, str]:
    """A fresh MCP token; the old one stops resolving with this commit."""
    require_session(principal, Role.OWNER)
    get_site(wb, principal, site_id)
    now = wb.clock()
    mcp = mint_secret(MCP_TOKEN_PREFIX)
    with wb.store.write() as db:
        repo.update_site(db, site_id, mcp_token=mcp, mcp_token_hash=hash_secret(mcp), updated_at=now)
        wb.audit(db, principal, "site.mcp_token.rotate", "site", site_id, at=now)
        site = repo.get_site(db, principal.workspace_id, site_id)
    assert site is not None
    return {"widget_token": site.widget_token, "mcp_token": site.mcp_token, "loader_secret_id": site.loader_secret_id}


def create_stakeholder(wb: Workbench, principal: Principal, site_id: str, req: StakeholderCreate) -> Stakeholder:
    require_role(principal, Role.MEMBER)
    get_site(wb, principal, site_id)
    now = wb.clock()
    sh = Stakeholder(
        token=mint_secret(STAKEHOLDER_TOKEN_PREFIX),
        site_id=site_id,
        workspace_id=principal.workspace_id,
        name=req.name,
        email=req.email,
        auto_fix_default=req.auto_fix_default,
        created_at=now,
        updated_at=now,
    )
    with wb.store.write() as db:
        repo.add_stakeholder(db, sh)
        wb.audit(db, principal, "stakeholder.create", "stakeholder", sh.token[-6:], {"site_id": site_id}, at=now)
    return sh


def stakeholders_page(
    wb: Workbench, principal: Principal, site_id: str, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Stakeholder]:
    """The site's stakeholders, one page in creation order; below MEMBER (who may not create them)
    tokens and emails are redacted."""
    get_site(wb, principal, site_id)
    db = wb.store.db
    found = paging.page(
        wb, f"stakeholders|{principal.workspace_id}|{site_id}", (int, int),
        lambda after, n: repo.list_stakeholders(db, site_id, after, n),
        lambda row: (row[0].created_at, row[1]), cursor=cursor, limit=limit,
    )
    shown = [s if principal.role.rank >= Role.MEMBER.rank else s.redacted() for s, _rowid in found.items]
    return Page(shown, found.next_cursor)


def update_stakeholder(wb: Workbench, principal: Principal, site_id: str, token: str, req: StakeholderUpdate) -> Stakeholder:
    require_role(principal, Role.MEMBER)
    get_site(wb, principal, site_id)
    now = wb.clock()
    with wb.store.write() as db:
        sh = repo.get_stakeholder(db, site_id, token)
        if sh is None:
            raise NotFound("Stakeholder not found")
        changes = req.model_dump(exclude_unset=True)
        repo.update_stakeholder(db, token, **changes, updated_at=now)
        wb.audit(db, principal, "stakeholder.update", "stakeholder", token[-6:], {"fields": sorted(changes)}, at=now)
        updated = repo.get_stakeholder(db, site_id, token)
    assert updated is not None
    return updated


def revoke_stakeholder(wb: Workbench, principal: Principal, site_id: str, token: str) -> None:
    require_role(principal, Role.MEMBER)
    get_site(wb, principal, site_id)
    now = wb.clock()
    with wb.store.write() as db:
        if repo.get_stakeholder(db, site_id, token) is None:
            raise NotFound("Stakeholder not found")
        repo.update_stakeholder(db, token, revoked_at=now, updated_at=now)
        wb.audit(db, principal, "stakeholder.revoke", "stakeholder", token[-6:], {"site_id": site_id}, at=now)
