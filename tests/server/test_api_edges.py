"""The API's edges over a real `workbench serve`: a list's query parameter given twice, and a path
with a trailing slash.

Both are rules of every route, so the cases come from the server's own route table: each list
in ``LISTS`` is checked parameter by parameter, and ``LISTS`` is held to every GET the served
OpenAPI document declares with query parameters (a new list, or a new parameter of one, fails
until it is listed here, where it fails again if it reads a repeat last-wins). Every operation of
that document, and the routes kept out of it, is asked for with a trailing slash.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ENGINES, ServerProcess, on_engine
from tests.domain.test_domain_images import png_claiming
from tests.images import PNG, image_bytes
from tests.server.conftest import serve, served_world
from tests.server.world import World
from workbench.server import envelope

pytestmark = pytest.mark.e2e

# Every list that takes query parameters: its path, the credential column (world.py) its family
# takes, and its parameters as the served OpenAPI document declares them.
LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "/api/v1/sites": ("memb", ("cursor", "limit")),
    "/api/v1/sites/{site_id}/annotations": ("memb", ("status", "kind", "since", "auto_fix", "cursor", "limit")),
    "/api/v1/sites/{site_id}/thread-changes": ("memb", ("since", "cursor", "limit")),
    "/api/v1/annotations/{annotation_id}/resolutions": ("memb", ("cursor", "limit")),
    "/api/personas/mine": ("memb", ("cursor", "limit")),
    "/api/personas/category/{category}": ("memb", ("cursor", "limit")),
    "/api/workspaces/{workspace_id}/api-tokens": ("owner", ("cursor", "limit")),
    "/api/widget/sites/{site_id}/stakeholders": ("memb", ("cursor", "limit")),
    "/api/v1/feedback-sessions": ("skey", ("limit", "offset", "status")),
    "/api/sessions": ("jwt", ("jobId", "status", "variant", "testerId", "limit", "offset")),
}
# The routes the OpenAPI document leaves out (pages, the widget's files, the docs), by method and path.
UNDOCUMENTED = [
    ("GET", "/widget.js"), ("GET", "/widget/app.{version}.js"), ("GET", "/widget/html-to-image.js"),
    ("GET", "/review/{session_id}"), ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/redoc"),
]
# A path whose last parameter may hold slashes, so a trailing one is part of its value: the default
# preview is a small site whose home is /preview/<id>/; the MCP endpoint takes both spellings
# (tests/mcp/test_mcp_http.py).
SLASH_IS_DATA = ("/preview/", "/mcp/")


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Per module, not per test: one server answers every case (tests/conftest.py, on_engine)."""
    yield from on_engine(request)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[tuple[World, ServerProcess]]:
    data, w = served_world(tmp_path_factory.mktemp("edges"))
    # Widget submissions are limited per client IP even on loopback; the cases here are not about that.
    srv = serve(data, "--widget-ip-limit", "1000000", "--widget-site-limit", "1000000")
    yield w, srv
    srv.stop()


def _ids(w: World) -> dict[str, str]:
    a = w.a
    return {"site_id": a["site_id"], "annotation_id": a["annotation_id"], "workspace_id": a["workspace_id"], "category": "accessibility"}


def _refusal(r: httpx.Response, path: str) -> str:
    """The message of a refusal in its family's shape: the envelope under /api/sessions and /api/studies, ``{detail}`` elsewhere."""
    body = r.json()
    if envelope.covers(path):
        assert body["success"] is False and body["data"] is None, body
        assert body["error"]["code"] == {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 404: "NOT_FOUND"}[r.status_code], body
        return body["error"]["message"]
    assert set(body) == {"detail"} and isinstance(body["detail"], str), body
    return body["detail"]


def test_every_list_with_query_parameters_is_in_the_table(served: tuple[World, ServerProcess]):
    _, srv = served
    doc = httpx.get(srv.url + "/openapi.json").json()
    declared = {
        path: tuple(p["name"] for p in ops["get"].get("parameters", []) if p["in"] == "query")
        for path, ops in doc["paths"].items() if "get" in ops
    }
    with_query = {path: names for path, names in declared.items() if names}
    assert with_query == {path: names for path, (_, names) in LISTS.items()}, "a list to add to LISTS (and check)"


@pytest.mark.parametrize(("path", "name"), [(path, name) for path, (_, names) in LISTS.items() for name in names])
def test_a_list_parameter_given_twice_is_a_400_naming_it(served: tuple[World, ServerProcess], path: str, name: str):
    """Read last-wins, ``limit=5&limit=9`` paged by a value the client may never have meant."""
    w, srv = served
    column, _ = LISTS[path]
    url = srv.url + path.format(**_ids(w))
    required = {"jobId": w.a["job_id"]} if path == "/api/sessions" and name != "jobId" else {}
    # Values no list accepts for most of its parameters: the repeat is judged first, having no one value to judge.
    query = [*required.items(), (name, "1"), (name, "2")]
    r = httpx.get(url, params=query, headers=w.headers[column])
    assert r.status_code == 400, (path, name, r.text)
    assert _refusal(r, path).startswith(f"Invalid {name}: given more than once"), r.text
    # The repeat is refused, not the parameter: given once, it is judged on its value alone.
    once = httpx.get(url, params=query[:-1], headers=w.headers[column])
    assert once.status_code == 200 or "more than once" not in _refusal(once, path), (path, name, once.text)
    # The caller first, as everywhere: a request no credential backs learns nothing of its query.
    anonymous = httpx.get(url, params=query)
    assert anonymous.status_code == 401, (path, name, anonymous.text)
    assert "more than once" not in _refusal(anonymous, path)


def _operations(srv: ServerProcess) -> list[tuple[str, str]]:
    doc = httpx.get(srv.url + "/openapi.json").json()
    return [(method.upper(), path) for path, ops in doc["paths"].items() for method in ops] + UNDOCUMENTED


def test_a_trailing_slash_is_the_familys_404_never_a_redirect(served: tuple[World, ServerProcess]):
    """Every documented prefix, every method: one spelling per path. A 307 to the other spelling
    makes a client re-send its body, and may lose its Authorization header on the way."""
    w, srv = served
    operations = _operations(srv)
    # Each family the README documents is in the route table the cases come from.
    assert {"/api/v1/sites", "/api/v1/sites/{site_id}/annotations", "/api/v1/annotations/{annotation_id}",
            "/api/v1/feedback-sessions", "/api/sessions", "/api/sessions/{session_id}/notes", "/api/studies",
            "/api/personas/mine", "/api/workspaces/{workspace_id}/api-tokens", "/api/widget/sites/{site_id}/config",
            "/api/widget/feedback-sessions/{session_id}/comments", "/uploads/{key}", "/review/{session_id}",
            "/widget.js"} <= {path for _, path in operations}
    failures = []
    with httpx.Client(base_url=srv.url, headers=w.headers["memb"], timeout=10) as c:
        for method, template in operations:
            assert not template.startswith(SLASH_IS_DATA), template
            path = re.sub(r"{(\w+)}", "x", template) + "/"
            r = c.request(method, path, json={} if method in ("POST", "PUT", "PATCH") else None)
            expected = f"Not Found: {path} (paths here take no trailing slash: {path[:-1]})"
            if r.status_code != 404 or "location" in r.headers or _refusal(r, path) != expected:
                failures.append((method, path, r.status_code, r.headers.get("location"), r.text[:200]))
    assert not failures, "\n".join(map(str, failures))


def test_the_paths_whose_slash_is_data_keep_it(served: tuple[World, ServerProcess]):
    """The default preview's home is ``/preview/<id>/``, the link its pages carry: not a 404 of the rule."""
    w, srv = served
    home = httpx.get(f"{srv.url}/preview/{w.a['review_session_id']}/")
    assert home.status_code == 200 and "Harbour" in home.text


def test_a_weak_if_match_never_matches(served: tuple[World, ServerProcess]):
    """If-Match compares strongly (RFC 9110 13.1.1): ``W/"v<current>"`` was taken for the current
    version and the PATCH applied; an unquoted tag is no entity-tag at all."""
    w, srv = served
    url = f"{srv.url}/api/v1/annotations/{w.a['annotation_id']}"
    with httpx.Client(headers=w.headers["memb"], timeout=10) as c:
        etag = c.get(url).headers["etag"]
        for query in ("", "?via=route"):  # the hot path (server/hotwrites.py), then the declared route
            r = c.patch(url + query, json={"summary": "weakly matched"}, headers={"If-Match": f"W/{etag}"})
            assert r.status_code == 412 and "weak" in r.json()["detail"], r.text
            bare = c.patch(url + query, json={"summary": "bare"}, headers={"If-Match": etag.strip('"')})
            assert bare.status_code == 400 and "If-Match" in bare.json()["detail"], bare.text
        assert c.get(url).headers["etag"] == etag


def _presign(w: World, srv: ServerProcess, content_type: str = "image/png") -> str:
    r = httpx.post(f"{srv.url}/api/v1/annotations/{w.a['annotation_id']}/resolutions/upload-url",
                   json={"kind": "after", "content_type": content_type}, headers=w.headers["memb"])
    assert r.status_code == 200, r.text
    return r.json()["url"]


def test_a_used_upload_url_is_a_409_whatever_the_replay_carries(served: tuple[World, ServerProcess]):
    """Single use is judged before the bytes: an empty replay read "not an image" (400), which
    tells the client to send another file to the same URL rather than to ask for a new one."""
    w, srv = served
    url = _presign(w, srv)
    assert httpx.put(url, content=PNG, headers={"Content-Type": "image/png"}).status_code == 200
    for replay in (b"", b"not an image", PNG):
        r = httpx.put(url, content=replay, headers={"Content-Type": "image/png"})
        assert r.status_code == 409 and "already used" in r.json()["detail"], (replay[:12], r.text)


@pytest.mark.parametrize("port", ["99999", "65536", "x443", "-1"])
def test_a_diff_url_with_an_impossible_port_is_a_400(served: tuple[World, ServerProcess], port: str):
    """``urlsplit`` parses ``https://host:99999/`` and raises only when its port is asked for,
    so the URL was stored: a link no browser can open, shown to the submitter as the fix."""
    w, srv = served
    r = httpx.post(f"{srv.url}/api/v1/annotations/{w.a['annotation_id']}/resolutions",
                   json={"diff_url": f"https://github.com:{port}/acme/shop/pull/42"}, headers=w.headers["memb"])
    assert r.status_code == 400 and r.json()["detail"].startswith("diff_url must be"), r.text


@pytest.mark.parametrize("page_url", [
    "javascript:alert(document.cookie)", "JavaScript:alert(1)", "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
    "vbscript:msgbox", "ftp://shop.acme.example/", "https://", "http:///cart", "https://shop.acme.example:99999/",
    "shop.acme.example/cart", "/cart", "https://shop.acme.example/\x1b[201~",
])
def test_a_widget_page_url_must_be_a_web_page(served: tuple[World, ServerProcess], page_url: str):
    """The page URL is shown to triagers and opened with `o` in the TUI: a ``javascript:`` one
    was stored as the visitor sent it. Refused naming the field, as the widget shows it."""
    w, srv = served
    r = httpx.post(f"{srv.url}/api/widget/sites/{w.a['site_id']}/annotations", json={"page_url": page_url, "body": "odd page"},
                   headers={"X-GF-Widget-Token": w.a["widget_token"]})
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    assert error["loc"] == ["body", "page_url"] and "http:// or https://" in error["msg"], error


def test_a_widget_page_url_on_the_web_is_kept_as_sent(served: tuple[World, ServerProcess]):
    w, srv = served
    page_url = "HTTPS://shop.acme.example:8443/cart?coupon=SPRING10#total"
    r = httpx.post(f"{srv.url}/api/widget/sites/{w.a['site_id']}/annotations", json={"page_url": page_url, "body": "on the web"},
                   headers={"X-GF-Widget-Token": w.a["widget_token"]})
    assert r.status_code == 201 and r.json()["page_url"] == page_url, r.text


# Spellings int() or pydantic's lax mode took for a number, or for a boolean, that no document writes.
LOOSE_INTS = ("5_0", "+5", " 5", "5 ", "50.0", "-0_1")
LOOSE_BOOLS = ("yes", "on", "1", "t", "TRUE", "True", "no", "off", "0")


@pytest.mark.parametrize(("path", "name"), [
    (path, name) for path, (_, names) in LISTS.items() for name in names if name in ("limit", "offset", "since", "auto_fix")
])
def test_a_query_number_or_boolean_takes_only_its_documented_spelling(served: tuple[World, ServerProcess], path: str, name: str):
    """``limit=5_0`` paged by 50 and ``auto_fix=yes`` filtered as true: refused as any bad value
    is, in the family's shape, naming the parameter; the documented spellings still answer."""
    w, srv = served
    column, _ = LISTS[path]
    url = srv.url + path.format(**_ids(w))
    required = [("jobId", w.a["job_id"])] if path == "/api/sessions" else []
    loose, plain = (LOOSE_BOOLS, ("true", "false")) if name == "auto_fix" else (LOOSE_INTS, ("5",))
    with httpx.Client(headers=w.headers[column], timeout=10) as c:
        for value in loose:
            r = c.get(url, params=[*required, (name, value)])
            assert r.status_code == 400 and name in _refusal(r, path), (value, r.status_code, r.text)
        for value in plain:
            assert c.get(url, params=[*required, (name, value)]).status_code == 200, value


@pytest.mark.parametrize(("content_type", "data"), [
    ("image/png", PNG[: len(PNG) // 2]),  # cut short
    ("image/png", PNG[:8] + bytes(64)),  # the signature, then garbage
    ("image/jpeg", image_bytes("JPEG")[:-10]),
    ("image/gif", image_bytes("GIF")[:-10]),
    ("image/webp", image_bytes("WEBP")[:20]),
], ids=["png-cut-short", "png-signature-then-garbage", "jpeg-cut-short", "gif-cut-short", "webp-cut-short"])
def test_an_upload_or_screenshot_that_does_not_decode_is_a_400(served: tuple[World, ServerProcess], content_type: str, data: bytes):
    """Judged by their first bytes only, a truncated picture or a signature and garbage was stored
    as evidence or a screenshot, and shown to every triager as a broken image."""
    w, srv = served
    url = _presign(w, srv, content_type)
    put = httpx.put(url, content=data, headers={"Content-Type": content_type})
    assert put.status_code == 400 and "does not decode" in put.json()["detail"], put.text
    # Nothing was recorded: the same URL takes the real picture.
    whole = image_bytes({"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}[content_type])
    assert httpx.put(url, content=whole, headers={"Content-Type": content_type}).status_code == 200
    shot = f"data:{content_type};base64," + base64.b64encode(data).decode()
    r = httpx.post(f"{srv.url}/api/widget/sites/{w.a['site_id']}/annotations",
                   json={"page_url": "https://shop.acme.example/cart", "body": "broken shot", "screenshot": shot},
                   headers={"X-GF-Widget-Token": w.a["widget_token"]})
    assert r.status_code == 400 and r.json()["detail"].startswith("screenshot is not a whole"), r.text


def test_a_picture_claiming_more_pixels_than_taken_is_refused_unread(served: tuple[World, ServerProcess]):
    """A decompression bomb: a few kilobytes of PNG can claim a canvas whose decoding would take
    the server's memory; its header is all that is read."""
    w, srv = served
    put = httpx.put(_presign(w, srv), content=png_claiming(7000, 7000), headers={"Content-Type": "image/png"})
    assert put.status_code == 400 and "pixels" in put.json()["detail"], put.text
