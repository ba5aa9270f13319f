"""Stakeholders, auto_fix coercion and the widget's submit endpoint (extension)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.helpers import other_workspace, post_annotation
from tests.images import image_bytes
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.domain.errors import Invalid
from workbench.domain.widget import parse_origin
from workbench.server.app import create_app
from workbench.server.settings import ServerSettings
from workbench.services import annotations
from workbench.services import widget as widget_svc
from workbench.services.local import local_user


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
    png = image_bytes()
    a = post_annotation(
        client, creds, "Blurry", selector="img.hero", kind="design",
        screenshot="data:image/png;base64," + base64.b64encode(png).decode(), computed_styles={"font-size": "12px"},
    )
    assert a["screenshot_key"] == f"screenshots/{a['id']}.png" and a["computed_styles"] == {"font-size": "12px"}
    assert wb.store.get_blob(a["screenshot_key"]) == png
    assert a["status"] == "new" and a["selector"] == "img.hero"


def test_stakeholders_of_another_workspace_are_404(client, creds, wb):
    other = other_workspace(wb)
    assert client.get(f"/api/widget/sites/{other['site_id']}/stakeholders", headers=bearer(creds["member_token"])).status_code == 404
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    assert client.get(f"/api/widget/sites/{other['site_id']}/secrets", headers=owner).status_code == 404


# -- the site widget's own endpoints (issue 11) ------------------------------------------------------

KEY_A = "a" * 43
KEY_B = "b" * 43
SHOP = "https://shop.acme.example"  # the bootstrapped site's own URL: allowed from the start


def _w(creds, **extra):
    return {"X-GF-Widget-Token": creds["widget_token"], **extra}


def test_origins_are_validated_and_normalised():
    assert parse_origin("HTTPS://Shop.Example:443/") == "https://shop.example"
    assert parse_origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert parse_origin("http://[::1]:3000") == "http://[::1]:3000"
    # A host in Unicode is stored as browsers send it in Origin (Chromium: "https://xn--bcher-kva.example").
    assert parse_origin("https://Bücher.example") == "https://xn--bcher-kva.example"
    assert parse_origin("https://faß.example:8443") == "https://xn--fa-hia.example:8443"
    assert parse_origin("https://xn--bcher-kva.example") == "https://xn--bcher-kva.example"
    for bad in ("shop.example", "ftp://shop.example", "https://shop.example/path", "https://shop.example?q=1",
                "https://user:pw@shop.example", "https://", "https://shop.example:99999", "https://bad_host.example", "",
                "https://bü cher.example", "https://a\u200eb.example"):
        with pytest.raises(Invalid):
            parse_origin(bad)


def test_cors_answers_the_sites_allowed_origins_only(client, creds, wb):
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, idempotency-key, x-gf-widget-token"}
    ok = client.options(url, headers={"Origin": SHOP, **pre})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == SHOP
    allowed = {h.strip().lower() for h in ok.headers["access-control-allow-headers"].split(",")}
    assert {"idempotency-key", "x-gf-widget-token", "x-gf-stakeholder-token", "x-gf-submitter-key", "content-type"} <= allowed
    refused = client.options(url, headers={"Origin": "https://evil.example", **pre})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    # A "simple" request that skips the preflight is refused before anything is stored.
    simple = client.post(url, content='{"page_url": "x", "body": "b"}', headers=_w(creds, Origin="https://evil.example"))
    assert simple.status_code == 403 and "access-control-allow-origin" not in simple.headers
    assert client.get(f"/api/v1/sites/{creds['site_id']}/annotations", headers=bearer(creds["member_token"])).json()["items"] == []
    # From the allowed origin, the answer (errors included) carries the CORS headers.
    sent = client.post(url, json={"page_url": SHOP + "/", "body": "b"}, headers=_w(creds, Origin=SHOP))
    assert sent.status_code == 201 and sent.headers["access-control-allow-origin"] == SHOP
    bad = client.post(url, json={"page_url": SHOP + "/"}, headers=_w(creds, Origin=SHOP))
    assert bad.status_code == 422 and bad.headers["access-control-allow-origin"] == SHOP
    # Another site's allowed origin opens nothing here, and member endpoints answer no CORS at all.
    me = local_user(wb)
    widget_svc.add_origin(wb, me, creds["site_id"], "http://localhost:5173")
    assert client.options(url, headers={"Origin": "http://localhost:5173", **pre}).status_code == 204
    widget_svc.remove_origin(wb, me, creds["site_id"], "http://localhost:5173")
    assert client.options(url, headers={"Origin": "http://localhost:5173", **pre}).status_code == 403
    stake = client.get(f"/api/widget/sites/{creds['site_id']}/stakeholders", headers={**bearer(creds["member_token"]), "Origin": SHOP})
    assert stake.status_code == 200 and "access-control-allow-origin" not in stake.headers


def test_config_tells_the_widget_how_to_render_the_toggle(client, creds):
    url = f"/api/widget/sites/{creds['site_id']}/config"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=_w(creds)).json() == {
        "site_id": creds["site_id"], "stakeholder": None, "auto_fix": {"visible": False, "checked": False},
    }
    expected = {"never": (False, False), "optional_off": (True, False), "optional_on": (True, True)}
    for default, (visible, checked) in expected.items():
        sh = _stakeholder(client, creds, name="S", auto_fix_default=default)
        got = client.get(url, headers=_w(creds, **{"X-GF-Stakeholder-Token": sh["token"]})).json()
        assert got["auto_fix"] == {"visible": visible, "checked": checked} and got["stakeholder"]["auto_fix_default"] == default
        assert got["stakeholder"]["has_email"] is False
    # Whether the site has their email (which then goes with their feedback), not the email itself.
    mailed = _stakeholder(client, creds, name="M", email="m@example.com")
    got = client.get(url, headers=_w(creds, **{"X-GF-Stakeholder-Token": mailed["token"]})).json()
    assert got["stakeholder"] == {"name": "M", "auto_fix_default": "never", "has_email": True} and "m@example.com" not in str(got)
    assert client.get(url, headers=_w(creds, **{"X-GF-Stakeholder-Token": "gfsh_revoked"})).status_code == 401


def test_a_revoked_stakeholder_token_is_a_401(client, creds):
    """README: "An unknown or revoked stakeholder token is a 401". Revoking keeps the row (revoked_at),
    so only a token that really was issued and then revoked shows the row is not still believed."""
    sh = _stakeholder(client, creds, name="Leaving", auto_fix_default="optional_on")
    headers = _w(creds, **{"X-GF-Stakeholder-Token": sh["token"]})
    config = f"/api/widget/sites/{creds['site_id']}/config"
    submit = f"/api/widget/sites/{creds['site_id']}/annotations"
    body = {"page_url": "https://shop.acme.example/", "body": "as a stakeholder", "auto_fix": True}
    assert client.get(config, headers=headers).status_code == 200
    base = f"/api/widget/sites/{creds['site_id']}/stakeholders"
    assert client.delete(f"{base}/{sh['token']}", headers=bearer(creds["member_token"])).status_code == 204
    assert client.get(config, headers=headers).status_code == 401
    assert client.post(submit, json=body, headers=headers).status_code == 401


def test_capture_is_stored_bounded_and_exposed(client, creds):
    capture = {
        "anchor": {"css": "main > p.price", "xpath": "/html/body/main/p", "text_quote": {"exact": "€ 39", "prefix": "Kettle", "suffix": "Add"},
                   "box": {"x": 10, "y": 20.5, "width": 100, "height": 30}},
        "viewport": {"width": 1280, "height": 800, "device_pixel_ratio": 2},
        "user_agent": "Mozilla/5.0",
        "console": [{"level": "error", "message": "boom", "at": 1}],
        "network": [{"method": "GET", "url": "/missing.json", "status": 404, "at": 2}],
    }
    a = post_annotation(client, creds, capture=capture, submitter_key=KEY_A)
    assert a["selector"] == "main > p.price"  # the CSS anchor stands in for a missing selector
    got = client.get(f"/api/v1/annotations/{a['id']}", headers=bearer(creds["member_token"])).json()
    assert got["capture"]["anchor"]["text_quote"]["prefix"] == "Kettle" and got["capture"]["viewport"]["device_pixel_ratio"] == 2
    assert got["capture"]["network"][0]["status"] == 404 and "submitter_key" not in str(got)
    listed = client.get(f"/api/v1/sites/{creds['site_id']}/annotations", headers=bearer(creds["member_token"])).json()["items"]
    assert listed[0]["capture"]["user_agent"] == "Mozilla/5.0"
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    base = {"page_url": "https://x/", "body": "b"}
    too_many = [{"message": "e", "at": 1}] * 21
    for bad in ({"capture": {"console": too_many}}, {"capture": {"user_agent": "u" * 513}},
                {"capture": {"viewport": {"width": 0, "height": 1, "device_pixel_ratio": 1}}},
                {"capture": {"anchor": {"css": "x" * 2001}}}, {"capture": {"secret": 1}}, {"submitter_key": "short"},
                {"computed_styles": {f"p{i}": "1" for i in range(61)}}, {"computed_styles": {"x" * 65: "1"}}):
        assert client.post(url, json={**base, **bad}, headers=_w(creds)).status_code == 422, bad


def test_mine_lists_only_the_keys_own_annotations_with_their_thread(client, creds, wb):
    a = post_annotation(client, creds, "Mine", submitter_key=KEY_A)
    post_annotation(client, creds, "Someone else's", submitter_key=KEY_B)
    post_annotation(client, creds, "No key at all")
    member = bearer(creds["member_token"])
    client.post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "On it"}, headers=member)
    client.patch(f"/api/v1/annotations/{a['id']}", json={"status": "in_progress"}, headers=member)
    url = f"/api/widget/sites/{creds['site_id']}/mine"
    items = client.get(url, headers=_w(creds, **{"X-GF-Submitter-Key": KEY_A})).json()["items"]
    assert [(i["body"], i["status"]) for i in items] == [("Mine", "in_progress")]
    assert [r["body"] for r in items[0]["replies"]] == ["On it"] and set(items[0]["replies"][0]["author"]) == {"type", "name"}
    assert [i["body"] for i in client.get(url, headers=_w(creds, **{"X-GF-Submitter-Key": KEY_B})).json()["items"]] == ["Someone else's"]
    assert client.get(url, headers=_w(creds, **{"X-GF-Submitter-Key": "c" * 43})).json()["items"] == []
    assert client.get(url, headers=_w(creds)).status_code == 400  # no key: nothing to list by
    assert client.get(url, headers={"X-GF-Submitter-Key": KEY_A}).status_code == 401
    # The key of this site opens nothing on another workspace's site.
    other = other_workspace(wb)
    assert client.get(f"/api/widget/sites/{other['site_id']}/mine", headers=_w(creds, **{"X-GF-Submitter-Key": KEY_A})).status_code == 401
    # Only the key's digest is stored.
    stored = wb.store.db.execute("SELECT submitter_key_hash FROM annotations WHERE id = ?", [a["id"]]).fetchone()[0]
    assert stored and KEY_A not in stored and len(stored) == 64


def test_mine_is_the_keys_newest_200(client, creds, wb):
    """README: ``…/mine`` answers "that browser's annotations on the site (newest 200)"."""
    start = wb.clock()
    ids = []
    for i in range(201):  # one past the cap, each a millisecond apart so "newest" is unambiguous
        wb.clock = lambda i=i: start + i
        ids.append(annotations.submit_from_widget(
            wb, creds["site_id"], creds["widget_token"], None,
            WidgetAnnotationCreate(page_url="https://shop.acme.example/", body=f"note {i}", submitter_key=KEY_A)).id)
    items = client.get(f"/api/widget/sites/{creds['site_id']}/mine", headers=_w(creds, **{"X-GF-Submitter-Key": KEY_A})).json()["items"]
    assert [i["id"] for i in items] == ids[:0:-1]  # the 200 newest, newest first; the first one sent is left out


def test_submissions_are_rate_limited_per_ip_and_per_site(wb, creds):
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    body = {"page_url": "https://x/", "body": "b"}
    with TestClient(create_app(wb, ServerSettings(widget_ip_limit=2, widget_site_limit=1000))) as c:
        assert [c.post(url, json=body, headers=_w(creds)).status_code for _ in range(3)] == [201, 201, 429]
        r = c.post(url, json=body, headers=_w(creds))
        assert "per-IP widget submissions" in r.json()["detail"] and int(r.headers["Retry-After"]) >= 1
        # Reading one's own is not a submission.
        assert c.get(f"/api/widget/sites/{creds['site_id']}/mine", headers=_w(creds, **{"X-GF-Submitter-Key": KEY_A})).status_code == 200
    with TestClient(create_app(wb, ServerSettings(widget_ip_limit=1000, widget_site_limit=2))) as c:
        codes = [c.post(url, json=body, headers=_w(creds)).status_code for _ in range(3)]
        assert codes == [201, 201, 429] and "per-site" in c.post(url, json=body, headers=_w(creds)).json()["detail"]


def test_a_refused_body_is_not_a_widget_submission_but_is_counted_per_ip(wb, creds):
    """README (The site widget, Limits): the widget's own buckets count well-formed submissions, so a
    visitor who mends a refused form is not held back; a flood of bad bodies meets the server's
    per-IP bucket, as every request from a remote client does."""
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    bad = {"page_url": "javascript:alert(1)", "body": "b"}
    good = {"page_url": "https://x/", "body": "b"}
    with TestClient(create_app(wb, ServerSettings(ip_limit=1000, widget_ip_limit=2, widget_site_limit=2))) as c:
        assert [c.post(url, json=bad, headers=_w(creds)).status_code for _ in range(5)] == [422] * 5
        assert [c.post(url, json=good, headers=_w(creds)).status_code for _ in range(3)] == [201, 201, 429]
    with TestClient(create_app(wb, ServerSettings(ip_limit=3, limit_loopback_ip=True, widget_ip_limit=1000, widget_site_limit=1000))) as c:
        codes = [c.post(url, json=bad, headers=_w(creds)).status_code for _ in range(4)]
        assert codes == [422, 422, 422, 429]


def test_idempotency_keys_of_the_widget_are_scoped_to_its_site(client, creds, wb):
    other = other_workspace(wb)
    body = {"page_url": "https://x/", "body": "b"}
    first = client.post(f"/api/widget/sites/{creds['site_id']}/annotations", json=body, headers=_w(creds, **{"Idempotency-Key": "k1"}))
    again = client.post(f"/api/widget/sites/{creds['site_id']}/annotations", json=body, headers=_w(creds, **{"Idempotency-Key": "k1"}))
    assert first.status_code == again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    # Another site's widget with the same key is its own submission, not a replay of (or a 422 on) ours.
    theirs = client.post(
        f"/api/widget/sites/{other['site_id']}/annotations", json=body,
        headers={"X-GF-Widget-Token": other["widget_token"], "Idempotency-Key": "k1"},
    )
    assert theirs.status_code == 201 and "idempotent-replayed" not in theirs.headers and theirs.json()["site_id"] == other["site_id"]


def test_widget_js_is_a_small_loader_naming_an_app_cached_for_good(client):
    r = client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=300, stale-while-revalidate=86400"
    assert b"attachShadow" not in r.content  # the interface is the app's, fetched after the page's load
    etag = r.headers["etag"]
    assert client.get("/widget.js", headers={"If-None-Match": etag}).status_code == 304
    gz = client.get("/widget.js", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["content-encoding"] == "gzip" and gz.content == r.content  # httpx decodes it
    assert int(gz.headers["content-length"]) < 2048  # what every page view waits for stays small

    # The loader names the app by its content hash: that URL never changes content, so it is immutable.
    (name,) = re.findall(rb"/widget/(app\.[0-9a-f]{16}\.js)", r.content)
    app = client.get(f"/widget/{name.decode()}")
    assert app.status_code == 200 and b"attachShadow" in app.content
    assert app.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert hashlib.sha256(app.content).hexdigest().startswith(name.decode()[4:-3])
    # A loader cached before an upgrade names an older app: it is sent to the current one, uncached.
    old = client.get("/widget/app.0123456789abcdef.js", follow_redirects=False)
    assert old.status_code == 302 and old.headers["location"] == name.decode() and old.headers["cache-control"] == "no-store"
    assert client.get("/widget/app.0123456789abcdef.js").content == app.content

    lib = client.get("/widget/html-to-image.js")
    assert lib.status_code == 200 and b"htmlToImage" in lib.content
