"""Test helpers: a second, separate workspace with its own credentials and data; every page of a list."""

from __future__ import annotations

from typing import Any

from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.domain.roles import Principal, PrincipalKind, Role
from workbench.domain.tokens import TokenCreate
from workbench.services import accounts, annotations, sites
from workbench.services.auth import issue_session
from workbench.services.context import Workbench


def other_workspace(wb: Workbench, tag: str = "other") -> dict:
    ws, owner = accounts.create_workspace(wb, f"{tag} inc", f"owner@{tag}.example", f"{tag} owner")
    principal = Principal(kind=PrincipalKind.SESSION, workspace_id=ws.id, role=Role.OWNER, user_id=owner.id)
    site = sites.create_site(wb, principal, f"{tag} site", f"https://{tag}.example")
    _, member = accounts.mint_token(wb, principal, ws.id, TokenCreate(name="m", role="MEMBER"))
    ann = annotations.submit_from_widget(
        wb, site.id, site.widget_token, None, WidgetAnnotationCreate(page_url=f"https://{tag}.example/", body="secret bug")
    )
    return {
        "workspace_id": ws.id,
        "owner_user_id": owner.id,
        "owner_session": issue_session(wb, owner.id),
        "member_token": member,
        "site_id": site.id,
        "widget_token": site.widget_token,
        "mcp_token": site.mcp_token,
        "annotation_id": ann.id,
    }


def post_annotation(client, creds: dict, body: str = "The button is broken", **fields) -> dict:
    """Submit through the widget endpoint, as a page visitor would."""
    payload = {"page_url": "https://shop.acme.example/cart", "body": body, **fields}
    headers = {"X-GF-Widget-Token": creds["widget_token"]}
    if "stakeholder" in fields:
        headers["X-GF-Stakeholder-Token"] = payload.pop("stakeholder")
    r = client.post(f"/api/widget/sites/{creds['site_id']}/annotations", json=payload, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def every_page(get: Any, url: str, headers: dict[str, str], limit: int | None = None, **params: Any) -> list[dict]:
    """Every item of a documented list, its ``next_cursor`` followed to the last page (null), each
    page a 200; ``get`` is ``client.get`` or ``httpx.get``."""
    items: list[dict] = []
    cursor = None
    while True:
        page_params = {**params, **({"limit": limit} if limit else {}), **({"cursor": cursor} if cursor else {})}
        r = get(url, params=page_params, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items
