"""GET /uploads/{key} over a real `workbench serve`: a screenshot or evidence picture, to its workspace's callers only."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.images import PNG, image_bytes
from tests.server.conftest import serve, served_world


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_picture_is_served_to_its_workspace_and_to_no_one_else(tmp_path: Path):
    data, w = served_world(tmp_path)
    srv = serve(data)
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            shot = "data:image/png;base64," + base64.b64encode(PNG).decode()
            r = c.post(f"/api/widget/sites/{w.a['site_id']}/annotations", json={"page_url": "https://x/", "body": "b", "screenshot": shot},
                       headers={"X-GF-Widget-Token": w.a["widget_token"]})
            assert r.status_code == 201, r.text
            ann = r.json()
            shot_key = ann["screenshot_key"]
            after = image_bytes("JPEG", colour="red")
            pre = c.post(f"/api/v1/annotations/{ann['id']}/resolutions/upload-url", json={"kind": "after", "content_type": "image/jpeg"},
                         headers=_bearer(w.secrets["memb"])).json()
            u = urlsplit(pre["url"])
            assert c.put(f"{u.path}?{u.query}", content=after, headers={"Content-Type": "image/jpeg"}).status_code == 200
            assert c.post(f"/api/v1/annotations/{ann['id']}/resolutions", json={"after_key": pre["key"]},
                          headers=_bearer(w.secrets["memb"])).status_code == 201

            got = c.get(f"/uploads/{shot_key}", headers=_bearer(w.secrets["memb"]))
            assert got.status_code == 200 and got.content == PNG
            assert got.headers["content-type"] == "image/png"
            assert got.headers["x-content-type-options"] == "nosniff"
            assert got.headers["content-security-policy"] == "default-src 'none'"
            assert got.headers["cache-control"] == "private, max-age=31536000, immutable"
            etag = got.headers["etag"]
            assert etag.startswith('"') and not etag.startswith("W/")
            # A GUEST reads what it may read of the annotation.
            ev = c.get(f"/uploads/{pre['key']}", headers=_bearer(w.secrets["guest"]))
            assert ev.status_code == 200 and ev.content == after and ev.headers["content-type"] == "image/jpeg"

            again = c.get(f"/uploads/{shot_key}", headers={**_bearer(w.secrets["memb"]), "If-None-Match": etag})
            assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag

            rival = c.get(f"/uploads/{shot_key}", headers=_bearer(w.secrets["rival"]))
            # The route's own 404 says so by its code: a sync tells it from a server without the route by that.
            assert rival.status_code == 404 and rival.json() == {"detail": "Upload not found", "code": "upload_not_found"}
            nothing = c.get("/uploads/screenshots/nothing-here.png", headers=_bearer(w.secrets["memb"]))
            assert nothing.status_code == 404 and nothing.json()["code"] == "upload_not_found"
            assert "code" not in c.get("/uploads/screenshots/", headers=_bearer(w.secrets["memb"])).json()  # no key: not the route's
            # A path is never enough: the uploads directory's neighbours are no one's picture.
            assert c.get("/uploads/..%2F..%2Fserved%2Fstore.db", headers=_bearer(w.secrets["memb"])).status_code == 404
            anonymous = c.get(f"/uploads/{shot_key}")
            assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
            # Bytes gone from the server's files (SQLite's; PostgreSQL keeps them in rows): a 404, not a 500.
            stored = data / "uploads" / pre["key"]
            if stored.exists():
                stored.unlink()
                assert c.get(f"/uploads/{pre['key']}", headers=_bearer(w.secrets["memb"])).status_code == 404
    finally:
        srv.stop()
