"""HEAD over a real `workbench serve`: the path's GET without its body (workbench/server/head.py).

Each case compares the HEAD's status and headers with the same GET's, so a HEAD that were
routed on its own (a 405), answered with a body, or refused differently would fail here.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server.conftest import serve, served_world

# Headers that differ between two answers for reasons other than the method.
_VOLATILE = {"date", "server"}


def _same_as_get(c: httpx.Client, path: str, headers: dict[str, str]) -> httpx.Response:
    get = c.get(path, headers=headers)
    head = c.head(path, headers=headers)
    assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
    assert head.content == b"", path
    strip = lambda r: {k: v for k, v in r.headers.items() if k not in _VOLATILE}  # noqa: E731
    assert strip(head) == strip(get), path
    return head


def test_head_is_the_gets_answer_without_a_body(tmp_path: Path):
    data, w = served_world(tmp_path)
    srv = serve(data)
    try:
        member = {"Authorization": f"Bearer {w.a['member_token']}"}
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            # The annotations list is answered ahead of every layer (hotpath.py), the rest by the router.
            listing = _same_as_get(c, f"/api/v1/sites/{w.a['site_id']}/annotations?limit=5", member)
            assert listing.status_code == 200 and int(listing.headers["content-length"]) > 2
            detail = _same_as_get(c, f"/api/v1/annotations/{w.a['annotation_id']}", member)
            assert detail.status_code == 200 and detail.headers["etag"]
            store_key = {"Authorization": f"Bearer {w.a['store_api_key']}"}
            assert _same_as_get(c, "/api/v1/feedback-sessions", store_key).status_code == 200
            assert _same_as_get(c, "/widget.js", {}).status_code == 200
            # Refusals are the GET's too: no credential, and another workspace's annotation.
            assert _same_as_get(c, f"/api/v1/sites/{w.a['site_id']}/annotations", {}).status_code == 401
            rival = {"Authorization": f"Bearer {w.b['member_token']}"}
            assert _same_as_get(c, f"/api/v1/annotations/{w.a['annotation_id']}", rival).status_code == 404
            # A path without a GET still refuses HEAD, naming what it allows.
            r = c.head(f"/api/v1/annotations/{w.a['annotation_id']}/replies", headers=member)
            assert r.status_code == 405 and r.headers["allow"] == "POST"
    finally:
        srv.stop()
