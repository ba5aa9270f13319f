"""Personas: 60 defaults per new workspace, documented ordering, CRUD (MEMBER+), reset-defaults."""

from __future__ import annotations

from tests.conftest import bearer
from tests.helpers import every_page, other_workspace
from workbench.domain.personas import DEFAULT_PERSONAS


def _mine(client, token):
    return every_page(client.get, "/api/personas/mine", bearer(token))


def _order_key(p):
    return (p["category"], not p["is_default"], p["name"].lower(), p["name"])


def test_sixty_defaults_seeded_in_documented_order(client, creds):
    items = _mine(client, creds["guest_token"])
    assert len(items) == 60 and all(p["is_default"] for p in items)
    assert {p["slug"] for p in items} == {s.slug for s in DEFAULT_PERSONAS}
    assert items == sorted(items, key=_order_key)


def test_customs_sort_after_defaults_within_category(client, creds):
    h = bearer(creds["member_token"])
    r = client.post("/api/personas", json={"name": "Aaron custom", "category": "accessibility", "description": "d", "focus": ["contrast"]}, headers=h)
    assert r.status_code == 201 and r.json()["is_default"] is False
    items = _mine(client, creds["member_token"])
    acc = [p for p in items if p["category"] == "accessibility"]
    assert acc[-1]["name"] == "Aaron custom" and all(p["is_default"] for p in acc[:-1])
    assert items == sorted(items, key=_order_key)
    cat = client.get("/api/personas/category/accessibility", headers=h).json()["items"]
    assert cat == acc
    assert client.get("/api/personas/category/none-such", headers=h).json()["items"] == []


def test_crud_roles_and_validation(client, creds):
    h, g = bearer(creds["member_token"]), bearer(creds["guest_token"])
    assert client.post("/api/personas", json={"name": "x", "category": "design"}, headers=g).status_code == 403
    assert client.post("/api/personas", json={"name": "x", "category": "Bad Category"}, headers=h).status_code == 422
    p = client.post("/api/personas", json={"name": "Nora", "category": "design"}, headers=h).json()
    assert client.post("/api/personas", json={"name": "Nora", "category": "design"}, headers=h).status_code == 409
    assert client.get(f"/api/personas/{p['id']}", headers=g).json()["name"] == "Nora"
    assert client.patch(f"/api/personas/{p['id']}", json={"voice": "wry"}, headers=g).status_code == 403
    up = client.patch(f"/api/personas/{p['id']}", json={"voice": "wry"}, headers=h)
    assert up.status_code == 200 and up.json()["voice"] == "wry"
    for empty in ({}, {"name": None}):  # a body that does not fit the schema, like an empty annotation PATCH
        r = client.patch(f"/api/personas/{p['id']}", json=empty, headers=h)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"], r.text
    assert client.delete(f"/api/personas/{p['id']}", headers=g).status_code == 403
    assert client.delete(f"/api/personas/{p['id']}", headers=h).status_code == 204
    assert client.get(f"/api/personas/{p['id']}", headers=h).status_code == 404


def test_defaults_can_be_edited_and_deleted_then_reset(client, creds):
    h = bearer(creds["member_token"])
    items = _mine(client, creds["member_token"])
    first, second = items[0], items[1]
    client.patch(f"/api/personas/{first['id']}", json={"name": "Renamed"}, headers=h)
    client.delete(f"/api/personas/{second['id']}", headers=h)
    custom = client.post("/api/personas", json={"name": "Mine", "category": "design"}, headers=h).json()
    one = client.post("/api/personas/reset-defaults", json={"slug": first["slug"]}, headers=h)
    assert one.status_code == 200 and one.json() == {"reset_count": 1}
    assert client.get(f"/api/personas/{first['id']}", headers=h).json()["name"] == first["name"]
    assert second["slug"] not in {p["slug"] for p in _mine(client, creds["member_token"])}
    everything = client.post("/api/personas/reset-defaults", json={"slug": None}, headers=h)
    assert everything.json() == {"reset_count": 60}
    after = _mine(client, creds["member_token"])
    assert len(after) == 61 and custom["id"] in {p["id"] for p in after}  # customs untouched
    assert client.post("/api/personas/reset-defaults", json={"slug": "no-such"}, headers=h).status_code == 404
    assert client.post("/api/personas/reset-defaults", headers=bearer(creds["guest_token"])).status_code == 403
    assert client.post("/api/personas/reset-defaults", headers=h).json() == {"reset_count": 60}


def test_personas_are_workspace_scoped(client, creds, wb):
    other = other_workspace(wb)
    theirs = _mine(client, other["member_token"])
    assert len(theirs) == 60
    mine_ids = {p["id"] for p in _mine(client, creds["member_token"])}
    assert not mine_ids & {p["id"] for p in theirs}
    assert client.get(f"/api/personas/{theirs[0]['id']}", headers=bearer(creds["member_token"])).status_code == 404
    assert client.delete(f"/api/personas/{theirs[0]['id']}", headers=bearer(creds["member_token"])).status_code == 404


def test_names_without_latin_letters_make_distinct_personas(client, creds):
    """QA finding 6: every such name used to slug to "persona", so the second was a 409."""
    h = bearer(creds["member_token"])
    kept = client.post("/api/personas", json={"name": "Old", "category": "design", "slug": "persona"}, headers=h)
    assert kept.status_code == 201  # a slug stored before this rule keeps its place
    slugs = []
    for name in ("😀😀", "Анна, редактор", "田中 さん", "Ünïcødé Ωmega"):
        r = client.post("/api/personas", json={"name": name, "category": "localization"}, headers=h)
        assert r.status_code == 201, r.text
        slugs.append(r.json()["slug"])
    assert len(set(slugs)) == 4 and "persona" not in slugs
    assert client.post("/api/personas", json={"name": "田中 さん", "category": "design"}, headers=h).status_code == 409


def test_the_legacy_built_in_listing_and_field_are_gone(client, creds):
    """The document: "is_built_in is no longer part of the API; the legacy GET /api/personas/built-in
    endpoint is removed" (is_default replaced both)."""
    h = bearer(creds["guest_token"])
    r = client.get("/api/personas/built-in", headers=h)
    assert r.status_code == 404, r.text
    mine = _mine(client, creds["guest_token"])
    one = client.get(f"/api/personas/{mine[0]['id']}", headers=h).json()
    assert all("is_built_in" not in p for p in [*mine, one]) and one["is_default"] is True

