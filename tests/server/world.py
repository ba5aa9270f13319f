"""The attack suite's world: two workspaces, a user in both, and one credential of every kind.

Built through the services (the same code the API runs), so the ids are real and every
credential works, or is refused, for the reason its name says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from storage import accounts as accounts_repo
from workbench.domain.annotations import StakeholderCreate, WidgetAnnotationCreate
from workbench.domain.roles import Principal, PrincipalKind, Role
from workbench.domain.tokens import TokenCreate
from workbench.services import accounts, annotations, sites, stores
from workbench.services import feedback_sessions as fsvc
from workbench.services import test_sessions as tsvc
from workbench.services.auth import issue_session
from workbench.services.bootstrap import GUEST_EMAIL, bootstrap
from workbench.services.context import Workbench

# Column order of the matrix, and what each credential is.
CREDENTIALS = {
    "none": "no Authorization header at all",
    "junk": "Authorization: Bearer garbage",
    "memb": "workspace A's MEMBER API token (gfat_)",
    "guest": "workspace A's GUEST API token",
    "owner": "A's OWNER session + X-GF-Workspace: A",
    "nows": "A's OWNER session without X-GF-Workspace",
    "strgr": "B's OWNER session + X-GF-Workspace: A (not a member of A)",
    "revkd": "a revoked MEMBER token of A",
    "rival": "workspace B's MEMBER API token",
    "dualA": "session of a user in both (MEMBER of A, OWNER of B) + X-GF-Workspace: A",
    "dualB": "the same session + X-GF-Workspace: B, aimed at A's resources",
    "skey": "A's store API key (wbsk_)",
    "rskey": "B's store API key",
    "jwt": "A's test-sessions JWT (OWNER of A)",
    "rjwt": "B's test-sessions JWT",
    "gjwt": "a test-sessions JWT of A's GUEST (read-only)",
    "widgt": "A's site widget token (as bearer and X-GF-Widget-Token)",
    "stake": "A's stakeholder token (bearer and X-GF-Stakeholder-Token, with the widget token)",
    "revw": "a review token of A's feedback session (bearer and X-Review-Token)",
    "mcp": "A's site MCP token (as bearer, and in /mcp/<token>)",
}


def principal(workspace_id: str, user_id: str, role: Role = Role.OWNER, kind: PrincipalKind = PrincipalKind.LOCAL) -> Principal:
    return Principal(kind=kind, workspace_id=workspace_id, role=role, user_id=user_id)


@dataclass
class World:
    wb: Workbench
    a: dict[str, Any]  # bootstrap's credentials of workspace A
    b: dict[str, Any] = field(default_factory=dict)  # workspace B's
    secrets: dict[str, str] = field(default_factory=dict)  # column -> the secret it presents
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> request headers
    ids_of_a: list[str] = field(default_factory=list)  # must never appear in an answer to B's credentials

    @property
    def owner_a(self) -> Principal:
        return principal(self.a["workspace_id"], self.a["owner_user_id"])


def build_world(wb: Workbench) -> World:
    a = bootstrap(wb)
    w = World(wb, a)
    ws_a, owner_a = a["workspace_id"], w.owner_a
    site = sites.get_site(wb, owner_a, a["site_id"])
    ann = annotations.submit_from_widget(
        wb, site.id, a["widget_token"], None,
        WidgetAnnotationCreate(page_url="https://shop.acme.example/cart", body="Checkout button overlaps the total"),
    )
    a["annotation_id"] = ann.id
    # A second site, so rotating its MCP token leaves the MCP column's token alive.
    a["site2_id"] = sites.create_site(wb, owner_a, "Acme blog", "https://blog.acme.example").id
    stake = sites.create_stakeholder(wb, owner_a, site.id, StakeholderCreate(name="Sam Stakeholder", auto_fix_default="optional_on"))
    a["stakeholder_token"] = stake.token
    a["stakeholder2_token"] = sites.create_stakeholder(wb, owner_a, site.id, StakeholderCreate(name="Pat")).token
    revoked, revoked_plain = accounts.mint_token(wb, owner_a, ws_a, TokenCreate(name="old", role="MEMBER"))
    accounts.revoke_token(wb, owner_a, ws_a, revoked.id)
    # A feedback session of a third store: its review token is a column, and it stays in review
    # while the matrix drives store A's own sessions through their states.
    review_store, _ = stores.create_store(wb, owner_a, "Review store", ai_built=True)
    review_session = fsvc.start(wb, review_store)
    fsvc.deploy(wb, review_session.id, env={})
    a["review_session_id"] = review_session.id
    a["review_token"] = fsvc.get(wb, review_store, review_session.id)["feedbackUrl"].split("token=", 1)[1]

    ws_b, owner_b = accounts.create_workspace(wb, "Rival inc", "owner@rival.example", "Rita Rival")
    pb = principal(ws_b.id, owner_b.id)
    site_b = sites.create_site(wb, pb, "Rival shop", "https://rival.example")
    _, member_b = accounts.mint_token(wb, pb, ws_b.id, TokenCreate(name="rival ci", role="MEMBER"))
    store_b, store_key_b = stores.create_store(wb, pb, "Rival store", ai_built=True)
    w.b = {
        "workspace_id": ws_b.id, "owner_user_id": owner_b.id, "owner_session": issue_session(wb, owner_b.id),
        "member_token": member_b, "site_id": site_b.id, "store_api_key": store_key_b, "store_id": store_b.id,
        "jwt": tsvc.issue_token(wb, owner_b.id, ws_b.id), "job_id": tsvc.create_study(wb, pb, "Rival study").id,
    }
    dual = accounts.add_member(wb, ws_a, "dana@both.example", "Dana Dual", Role.MEMBER)
    accounts.add_member(wb, ws_b.id, "dana@both.example", "Dana Dual", Role.OWNER)
    dual_session = issue_session(wb, dual.id)
    guest_user = accounts_repo.get_user_by_email(wb.store.db, GUEST_EMAIL)
    assert guest_user is not None


    def bearer(s: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {s}"}

    w.secrets = {
        "none": "", "junk": "garbage", "memb": a["member_token"], "guest": a["guest_token"], "owner": a["owner_session"],
        "nows": a["owner_session"], "strgr": w.b["owner_session"], "revkd": revoked_plain, "rival": member_b,
        "dualA": dual_session, "dualB": dual_session, "skey": a["store_api_key"], "rskey": store_key_b, "jwt": a["jwt"],
        "rjwt": w.b["jwt"], "gjwt": tsvc.issue_token(wb, guest_user.id, ws_a), "widgt": a["widget_token"],
        "stake": a["stakeholder_token"], "revw": a["review_token"],
        "mcp": a["mcp_token"],
    }
    w.headers = {col: (bearer(secret) if secret else {}) for col, secret in w.secrets.items()}
    w.headers["owner"]["X-GF-Workspace"] = ws_a
    w.headers["strgr"]["X-GF-Workspace"] = ws_a
    w.headers["dualA"]["X-GF-Workspace"] = ws_a
    w.headers["dualB"]["X-GF-Workspace"] = ws_b.id
    w.headers["widgt"]["X-GF-Widget-Token"] = a["widget_token"]
    w.headers["stake"] |= {"X-GF-Widget-Token": a["widget_token"], "X-GF-Stakeholder-Token": a["stakeholder_token"]}
    w.headers["revw"]["X-Review-Token"] = a["review_token"]
    assert list(w.secrets) == list(CREDENTIALS) == list(w.headers)
    w.ids_of_a = [ws_a, a["site_id"], a["site2_id"], ann.id, a["store_id"], a["job_id"], a["review_session_id"]]
    return w
