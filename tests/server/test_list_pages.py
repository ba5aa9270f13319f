"""Every documented list besides the annotations list pages as the spec's Pagination says.

Sites, personas (all and by category), resolutions, stakeholders and API tokens: ``limit``
(default 50, 1..200, else a 400 like the annotations list's), a signed ``cursor`` bound to its
list and filter (a tampered one, or one from another list, is a 400), ``next_cursor`` null on
the last page, each list in its documented order, and never another workspace's rows.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.conftest import bearer
from tests.helpers import every_page, other_workspace, post_annotation
from workbench.domain.annotations import ResolutionCreate, StakeholderCreate
from workbench.domain.cursors import encode_cursor
from workbench.domain.personas import PersonaCreate
from workbench.domain.tokens import TokenCreate
from workbench.services import accounts, personas, resolutions, sites
from workbench.services.bootstrap import owner_principal

# Past the largest page (200), so the default and the maximum both leave a next page.
MANY = 201


@dataclass
class Listing:
    url: str
    headers: dict[str, str]
    # The documented order of an item, and what identifies it.
    order: Callable[[dict], tuple]
    ident: str = "id"


def _owner(creds):
    return owner_principal(creds["workspace_id"], creds["owner_user_id"])


def _sites(wb, creds, client) -> Listing:
    for i in range(MANY - 1):  # bootstrap made one
        sites.create_site(wb, _owner(creds), f"Site {i}", f"https://s{i}.example")
    return Listing("/api/v1/sites", bearer(creds["member_token"]), lambda s: (s["created_at"], s["id"]))


def _persona_order(p):
    return (p["category"], not p["is_default"], p["name"].lower(), p["name"], p["id"])


def _add_personas(wb, creds, n, categories=("accessibility", "design", "zz-last"), tag="custom"):
    # Names equal but for case, and customs among the defaults' categories, test the order's every column.
    for i in range(n):
        name = ["Zed", "zed", "ZED", "alpha", "Beta"][i % 5] + f" {i // 5:03d}"
        category = categories[i % len(categories)]
        personas.create(wb, _owner(creds), PersonaCreate(name=name, category=category, slug=f"{tag}-{i}"))


def _personas(wb, creds, client) -> Listing:
    _add_personas(wb, creds, MANY - 60)  # the 60 defaults, and these
    return Listing("/api/personas/mine", bearer(creds["guest_token"]), _persona_order)


def _category(wb, creds, client) -> Listing:
    _add_personas(wb, creds, MANY, categories=("design",))  # with the category's defaults
    _add_personas(wb, creds, 4, categories=("accessibility", "zz-last"), tag="elsewhere")  # the list leaves these out
    return Listing("/api/personas/category/design", bearer(creds["guest_token"]), _persona_order)


def _resolutions(wb, creds, client) -> Listing:
    ann = post_annotation(client, creds)["id"]
    for i in range(MANY):
        resolutions.create(wb, _owner(creds), ann, ResolutionCreate(diff_url=f"https://github.com/acme/shop/pull/{i}"))
    return Listing(f"/api/v1/annotations/{ann}/resolutions", bearer(creds["guest_token"]), lambda r: (r["created_at"], r["id"]))


def _stakeholders(wb, creds, client) -> Listing:
    made = [sites.create_stakeholder(wb, _owner(creds), creds["site_id"], StakeholderCreate(name=f"Vera {i}")).token for i in range(MANY)]
    # Creation order (a tie in created_at keeps the order they were made in).
    return Listing(f"/api/widget/sites/{creds['site_id']}/stakeholders", bearer(creds["member_token"]), lambda s: (made.index(s["token"]),), "token")


def _tokens(wb, creds, client) -> Listing:
    for i in range(MANY):
        accounts.mint_token(wb, _owner(creds), creds["workspace_id"], TokenCreate(name=f"ci {i}"))
    headers = bearer(creds["owner_session"], creds["workspace_id"])
    return Listing(f"/api/workspaces/{creds['workspace_id']}/api-tokens", headers, lambda t: (t["created_at"], t["id"]))


LISTS = {
    "sites": _sites, "personas": _personas, "personas by category": _category, "resolutions": _resolutions,
    "stakeholders": _stakeholders, "api tokens": _tokens,
}


@pytest.fixture(params=list(LISTS))
def listing(request, wb, creds, client) -> Listing:
    return LISTS[request.param](wb, creds, client)


def _get(client, listing: Listing, **params):
    return client.get(listing.url, params=params, headers=listing.headers)


def test_a_small_limit_walks_every_item_once_in_the_documented_order(client, listing):
    walked = every_page(client.get, listing.url, listing.headers, limit=7)
    ids = [x[listing.ident] for x in walked]
    assert len(ids) == len(set(ids)) >= MANY, "an item was repeated or skipped"
    assert walked == sorted(walked, key=listing.order)
    assert walked == every_page(client.get, listing.url, listing.headers, limit=200)


def test_default_50_max_200_and_null_on_the_last_page(client, listing):
    first = _get(client, listing).json()
    assert len(first["items"]) == 50 and first["next_cursor"]
    biggest = _get(client, listing, limit=200).json()
    assert len(biggest["items"]) == 200 and biggest["next_cursor"]
    assert biggest["items"][:50] == first["items"]
    rest = _get(client, listing, limit=200, cursor=biggest["next_cursor"]).json()
    assert rest["items"] and rest["next_cursor"] is None
    for bad in (0, 201, -1, "ten"):
        r = _get(client, listing, limit=bad)
        assert r.status_code == 400 and r.json()["detail"].startswith("Invalid limit: "), (bad, r.text)


def test_a_tampered_cursor_is_400(client, listing, wb):
    cursor = _get(client, listing, limit=3).json()["next_cursor"]
    payload, sig = cursor.split(".")
    raw = base64.urlsafe_b64decode(payload + "==")
    forged = base64.urlsafe_b64encode(raw.replace(b"[", b"[0,", 1)).rstrip(b"=").decode() + "." + sig
    flipped = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (forged, flipped, "garbage", "a.b.c", "%%%", cursor + "x" * 1000):
        r = _get(client, listing, cursor=bad)
        assert r.status_code == 400, (bad, r.text)
    assert _get(client, listing, cursor=cursor).status_code == 200


def test_a_cursor_from_another_list_is_400(client, wb, creds):
    _add_personas(wb, creds, 10)
    ann = post_annotation(client, creds)["id"]
    other_ann = post_annotation(client, creds)["id"]
    for a in (ann, other_ann):
        for i in range(3):
            resolutions.create(wb, _owner(creds), a, ResolutionCreate(diff_url=f"https://github.com/acme/shop/pull/{i}"))
    for i in range(3):
        sites.create_site(wb, _owner(creds), f"Site {i}", f"https://s{i}.example")
        accounts.mint_token(wb, _owner(creds), creds["workspace_id"], TokenCreate(name=f"ci {i}"))
    member, session = bearer(creds["member_token"]), bearer(creds["owner_session"], creds["workspace_id"])
    urls = {
        "/api/v1/sites": member,
        "/api/personas/mine": member,
        "/api/personas/category/design": member,
        "/api/personas/category/accessibility": member,
        f"/api/v1/annotations/{ann}/resolutions": member,
        f"/api/v1/annotations/{other_ann}/resolutions": member,
        f"/api/workspaces/{creds['workspace_id']}/api-tokens": session,
        f"/api/v1/sites/{creds['site_id']}/annotations": member,
    }
    cursors = {}
    for url, headers in urls.items():
        cursors[url] = client.get(url, params={"limit": 1}, headers=headers).json()["next_cursor"]
        assert cursors[url], url
    for url, headers in urls.items():
        for source, cursor in cursors.items():
            status = client.get(url, params={"limit": 1, "cursor": cursor}, headers=headers).status_code
            assert status == (200 if source == url else 400), (source, url)
    # Signed with the right secret for the right list, but not a key of its shape.
    scope = f"sites|{creds['workspace_id']}|None"
    for key in (["x"], [1, 2], ["1", "x"], [True, "x"], []):
        assert client.get("/api/v1/sites", params={"cursor": encode_cursor(wb.secret, scope, key)}, headers=member).status_code == 400


def test_another_workspaces_items_never_appear_and_its_cursors_are_refused(client, wb, creds):
    theirs = other_workspace(wb)
    mine_ann = post_annotation(client, creds)["id"]
    them = owner_principal(theirs["workspace_id"], theirs["owner_user_id"])
    for i in range(3):
        sites.create_site(wb, them, f"Their site {i}", f"https://t{i}.example")
        sites.create_stakeholder(wb, them, theirs["site_id"], StakeholderCreate(name=f"Theirs {i}"))
        resolutions.create(wb, them, theirs["annotation_id"], ResolutionCreate(diff_url="https://github.com/them/x/pull/1"))
        personas.create(wb, them, PersonaCreate(name=f"Theirs {i}", category="design"))
    ours, their_headers = bearer(creds["member_token"]), bearer(theirs["member_token"])
    their_ids = set()
    for url in ("/api/v1/sites", "/api/personas/mine", "/api/personas/category/design"):
        their_ids |= {x["id"] for x in every_page(client.get, url, their_headers, limit=2)}
        seen = {x["id"] for x in every_page(client.get, url, ours, limit=2)}
        assert seen and not seen & their_ids, url
        cursor = client.get(url, params={"limit": 1}, headers=their_headers).json()["next_cursor"]
        assert client.get(url, params={"cursor": cursor}, headers=ours).status_code == 400, url
    assert client.get(f"/api/v1/annotations/{theirs['annotation_id']}/resolutions", headers=ours).status_code == 404
    assert client.get(f"/api/widget/sites/{theirs['site_id']}/stakeholders", headers=ours).status_code == 404
    assert every_page(client.get, f"/api/v1/annotations/{mine_ann}/resolutions", ours) == []
    their_session = bearer(theirs["owner_session"], theirs["workspace_id"])
    tokens_url = f"/api/workspaces/{theirs['workspace_id']}/api-tokens"
    accounts.mint_token(wb, them, theirs["workspace_id"], TokenCreate(name="second"))
    cursor = client.get(tokens_url, params={"limit": 1}, headers=their_session).json()["next_cursor"]
    own_tokens = f"/api/workspaces/{creds['workspace_id']}/api-tokens"
    own_session = bearer(creds["owner_session"], creds["workspace_id"])
    assert client.get(own_tokens, params={"cursor": cursor}, headers=own_session).status_code == 400


def test_a_guests_stakeholder_cursor_carries_no_token(client, wb, creds):
    """The stakeholders list keys its pages on creation order and rowid: a GUEST sees tokens
    redacted, and a cursor's payload is readable, so no token may ride in one."""
    made = [sites.create_stakeholder(wb, _owner(creds), creds["site_id"], StakeholderCreate(name=f"V {i}")).token for i in range(3)]
    url = f"/api/widget/sites/{creds['site_id']}/stakeholders"
    page = client.get(url, params={"limit": 1}, headers=bearer(creds["guest_token"])).json()
    payload = json.loads(base64.urlsafe_b64decode(page["next_cursor"].split(".")[0] + "=="))
    assert page["items"][0]["token"].startswith("****")
    assert [type(v) for v in payload] == [int, int] and not any(t in json.dumps(payload) for t in made)
