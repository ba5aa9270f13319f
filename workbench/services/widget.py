"""Use cases of the site widget: its public credentials, the toggle it shows, a browser's own annotations, origins, the tag.

The widget token is public by design (it sits in every page's HTML), so it opens exactly two
doors: submitting an annotation and reading the annotations of the browser that holds a given
submitter key. Everything else about a site needs a member's credentials.
"""

from __future__ import annotations

import html
from sqlite3 import Connection
from typing import Any

from storage import accounts as accounts_repo
from storage import annotations as annotations_repo
from storage import sites as repo
from workbench.domain.clock import iso_ms
from workbench.domain.errors import WORKSPACE_DELETED, Invalid, NotFound, Unauthenticated
from workbench.domain.records import Site, Stakeholder
from workbench.domain.roles import Principal, Role, require_role, require_session
from workbench.domain.tokens import same_secret
from workbench.domain.widget import MAX_ORIGINS_PER_SITE, parse_base_url, parse_origin, submitter_key_hash, toggle_for
from workbench.services.context import Workbench

MINE_LIMIT = 200  # a browser's newest annotations on a site the revisit view returns
TAG_BASE_KEY = "widget_tag_base"  # meta: the base the TUI's Sites screen last put in a widget tag


def authenticate(
    db: Connection, site_id: str, widget_token: str | None, stakeholder_token: str | None = None
) -> tuple[Site, Stakeholder | None]:
    """The site a widget token opens (and the stakeholder, if a token is sent), or Unauthenticated."""
    site = repo.get_site_any(db, site_id)
    if site is None or not widget_token or not same_secret(site.widget_token, widget_token):
        raise Unauthenticated("Unknown widget token for this site")
    ws = accounts_repo.get_workspace(db, site.workspace_id)
    if ws is None or ws.deleted_at is not None:
        raise Unauthenticated(WORKSPACE_DELETED)
    stakeholder = None
    if stakeholder_token:
        stakeholder = repo.get_stakeholder(db, site_id, stakeholder_token)
        if stakeholder is None:
            raise Unauthenticated("Unknown or revoked stakeholder token")
    return site, stakeholder


def config(wb: Workbench, site_id: str, widget_token: str | None, stakeholder_token: str | None) -> dict[str, Any]:
    """What the widget needs before it draws its form: who the visitor is and how "Auto-fix" renders."""
    _, stakeholder = authenticate(wb.store.db, site_id, widget_token, stakeholder_token)
    return {
        "site_id": site_id,
        "stakeholder": None if stakeholder is None else {
            "name": stakeholder.name,
            "auto_fix_default": stakeholder.auto_fix_default,
            # Their stored email goes with their feedback over anything typed, so the widget asks none.
            "has_email": bool(stakeholder.email),
        },
        "auto_fix": toggle_for(stakeholder.auto_fix_default if stakeholder else None),
    }


def mine(wb: Workbench, site_id: str, widget_token: str | None, submitter_key: str | None) -> list[dict[str, Any]]:
    """The annotations this browser (its submitter key) left on this site, with status and thread.

    Only the digest of the key is looked up, so the answer is empty for any key but the one the
    browser generated; a reply's author id and a submitter's email are never in it.
    """
    key_hash = submitter_key_hash(submitter_key or "")
    with wb.store.read() as db:
        authenticate(db, site_id, widget_token)
        anns = annotations_repo.list_by_submitter(db, site_id, key_hash, MINE_LIMIT)
        threads = annotations_repo.replies_of(db, [a.id for a in anns])
    return [
        {
            "id": a.id,
            "page_url": a.page_url,
            "selector": a.selector,
            "anchor": (a.capture or {}).get("anchor"),
            "kind": a.kind,
            "body": a.body,
            "status": a.status,
            "summary": a.summary,
            "created_at": iso_ms(a.created_at),
            "updated_at": iso_ms(a.updated_at),
            "replies": [
                {"author": {"type": r.author_kind, "name": r.author_name}, "body": r.body, "created_at": iso_ms(r.created_at)}
                for r in threads[a.id]
            ],
        }
        for a in anns
    ]


# -- allowed origins (member credentials) --------------------------------------------------------
def _site(wb: Workbench, principal: Principal, site_id: str) -> Site:
    site = repo.get_site(wb.store.db, principal.workspace_id, site_id)
    if site is None or (principal.site_id is not None and principal.site_id != site_id):
        raise NotFound("Site not found")
    return site


def list_origins(wb: Workbench, principal: Principal, site_id: str) -> list[str]:
    _site(wb, principal, site_id)
    return repo.list_origins(wb.store.db, site_id)


def add_origin(wb: Workbench, principal: Principal, site_id: str, origin: str) -> list[str]:
    """Allow one more origin to run the widget (MEMBER and up); adding one already there is a no-op."""
    require_role(principal, Role.MEMBER)
    _site(wb, principal, site_id)
    value = parse_origin(origin)
    now = wb.clock()
    with wb.store.write() as db:
        if len(repo.list_origins(db, site_id)) >= MAX_ORIGINS_PER_SITE and not repo.origin_allowed(db, site_id, value):
            raise Invalid(f"A site has at most {MAX_ORIGINS_PER_SITE} allowed origins")
        if repo.add_origin(db, site_id, value, now):
            wb.audit(db, principal, "site.origin.add", "site", site_id, {"origin": value}, at=now)
        return repo.list_origins(db, site_id)


def remove_origin(wb: Workbench, principal: Principal, site_id: str, origin: str) -> list[str]:
    require_role(principal, Role.MEMBER)
    _site(wb, principal, site_id)
    value = parse_origin(origin)
    now = wb.clock()
    with wb.store.write() as db:
        if not repo.remove_origin(db, site_id, value):
            raise NotFound(f"{value} is not an allowed origin of this site")
        wb.audit(db, principal, "site.origin.remove", "site", site_id, {"origin": value}, at=now)
        return repo.list_origins(db, site_id)


def origin_allowed(wb: Workbench, site_id: str, origin: str) -> bool:
    """Whether a browser page on ``origin`` may call this site's widget endpoints (the CORS check)."""
    return repo.origin_allowed(wb.store.db, site_id, origin)


def snippet(wb: Workbench, principal: Principal, site_id: str, base_url: str) -> str:
    """The one tag a site owner pastes: it carries the widget token, so like the secrets it is OWNER-only."""
    require_session(principal, Role.OWNER)
    site = _site(wb, principal, site_id)
    base = parse_base_url(base_url)
    # Escaped although each value is checked: the tag is HTML, whatever a value may come to hold.
    src, sid, token = (html.escape(v, quote=True) for v in (f"{base}/widget.js", site.id, site.widget_token))
    return f'<script src="{src}" data-site="{sid}" data-widget-token="{token}" async></script>'


def tag_base(wb: Workbench) -> str:
    """The base a widget tag is shown with: the one last set (``set_tag_base``), else the front ends' own
    (``WORKBENCH_PUBLIC_URL``, else ``workbench serve``'s default address)."""
    from workbench.services.feedback_sessions import local_base

    return accounts_repo.meta_get(wb.store.db, TAG_BASE_KEY) or local_base()


def set_tag_base(wb: Workbench, principal: Principal, base_url: str) -> str:
    """Remember where pages reach ``workbench serve`` (production's address, not localhost), so the tag
    shown next time is the one to paste. Only who may see the tag (OWNER) may set it."""
    require_session(principal, Role.OWNER)
    base = parse_base_url(base_url)
    with wb.store.write() as db:
        accounts_repo.meta_set(db, TAG_BASE_KEY, base)
    return base
