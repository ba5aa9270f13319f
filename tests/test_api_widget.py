"""Stakeholders, auto_fix coercion and the widget's submit endpoint (extension)."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import bearer
from tests.helpers import other_workspace, post_annotation


def _stakeholder(client, creds, **body):
    r = client.post(f"/api/widget/sites/{creds['site_id']}/stakeholders", json=body, headers=bearer(creds["member_token"]))
    assert r.status_code == 201, r.text
    return r.json()


def test_stakeholder_crud_and_roles(client, creds):
    base = f"/api/widget/sites/{creds['site_id']}/stakeholders"
    assert client.post(base, json={"name": "x"}, headers=bearer(creds["guest_token"])).status_code == 403
    sh = _stakeholder(client, creds, name="Dana", email="dana@acme.example", auto_fix_default="optional_on")
    assert sh["token"].startswith("gfsh_") and sh["auto_fix_default"] == "optional_on"
    listed = client.get(base, headers=bearer(creds["guest_token"])).json()["items"]
    assert [s["token"] for s in listed] == ["****" + sh["token"][-4:]]  # a guest sees only the last four
    assert client.patch(f"{base}/{sh['token']}", json={"auto_fix_default": "never"}, headers=bearer(creds["guest_token"])).status_code == 403
    up = client.patch(f"{base}/{sh['token']}", json={"auto_fix_default": "never"}, headers=bearer(creds["member_token"]))
    assert up.status_code == 200 and up.json()["auto_fix_default"] == "never" and up.json()["name"] == "Dana"
    assert client.patch(f"{base}/{sh['token']}", json={"auto_fix_default": "always"}, headers=bearer(creds["member_token"])).status_code == 422
    assert client.patch(f"{base}/{sh['token']}", json={}, headers=bearer(creds["member_token"])).status_code == 422
    assert client.post(base, json={"email": "not-an-email"}, headers=bearer(creds["member_token"])).status_code == 422
    assert client.delete(f"{base}/{sh['token']}", headers=bearer(creds["member_token"])).status_code == 204
    assert client.get(base, headers=bearer(creds["member_token"])).json()["items"] == []
    assert client.delete(f"{base}/{sh['token']}", headers=bearer(creds["member_token"])).status_code == 404


def test_anonymous_auto_fix_is_always_false(client, creds):
    a = post_annotation(client, creds, auto_fix=True)
    assert a["auto_fix"] is False and a["submitter"]["type"] == "anonymous"


@pytest.mark.parametrize(
    "default,sent,expected",
    [
        ("never", True, False),
        ("optional_off", None, False),
        ("optional_off", True, True),
        ("optional_on", None, True),
        ("optional_on", False, False),
    ],
)
def test_stakeholder_auto_fix_default_gates_the_toggle(client, creds, default, sent, expected):
    sh = _stakeholder(client, creds, name="S", auto_fix_default=default)
    fields = {"stakeholder": sh["token"]} | ({"auto_fix": sent} if sent is not None else {})
    a = post_annotation(client, creds, **fields)
    assert a["auto_fix"] is expected and a["submitter"] == {"name": "S", "type": "stakeholder", "has_email": False}


def test_widget_submit_validation_and_tokens(client, creds, wb):
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    ok = {"page_url": "https://shop/", "body": "b"}
    assert client.post(url, json=ok).status_code == 401
    assert client.post(url, json=ok, headers={"X-GF-Widget-Token": "gfw_wrong"}).status_code == 401
    h = {"X-GF-Widget-Token": creds["widget_token"]}
    assert client.post(url, json=ok, headers=h | {"X-GF-Stakeholder-Token": "gfsh_nope"}).status_code == 401
    assert client.post(url, json={**ok, "kind": "rant"}, headers=h).status_code == 422
    assert client.post(url, json={**ok, "body": ""}, headers=h).status_code == 422
    assert client.post(url, json={**ok, "screenshot": "data:text/html;base64,AAAA"}, headers=h).status_code == 400
    # Another site's widget token does not open this site.
    other = other_workspace(wb)
    assert client.post(url, json=ok, headers={"X-GF-Widget-Token": other["widget_token"]}).status_code == 401


def test_widget_screenshot_and_styles_are_kept(client, creds, wb):
    png = b"\x89PNG\r\n\x1a\nfake"
    a = post_annotation(
        client, creds, "Blurry", selector="img.hero", kind="design",
        screenshot="data:image/png;base64," + base64.b64encode(png).decode(), computed_styles={"font-size": "12px"},
    )
    assert a["screenshot_key"] == f"screenshots/{a['id']}.png" and a["computed_styles"] == {"font-size": "12px"}
    assert (wb.store.uploads_dir / a["screenshot_key"]).read_bytes() == png
    assert a["status"] == "new" and a["selector"] == "img.hero"


def test_stakeholders_of_another_workspace_are_404(client, creds, wb):
    other = other_workspace(wb)
    assert client.get(f"/api/widget/sites/{other['site_id']}/stakeholders", headers=bearer(creds["member_token"])).status_code == 404
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    assert client.get(f"/api/widget/sites/{other['site_id']}/secrets", headers=owner).status_code == 404
