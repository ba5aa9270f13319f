"""The annotations list answered by HotListMiddleware: the same answers as the declared route, without the router.

Each request is sent to the app twice: as built, and with the hot path taken out (the declared
FastAPI route then answers). Status, body and content type must agree for pages, filters,
cursors, bad queries and every kind of refused caller; and the hot path must answer without
reaching the router (what makes it cheap), while other paths still go through it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_SETTINGS, bearer
from workbench.server.app import create_app
from workbench.server.head import HeadAsGetMiddleware
from workbench.server.hotpath import HotListMiddleware
from workbench.server.write_failed import WriteFailedMiddleware
from workbench.services.demo import load_demo


@pytest.fixture
def both(wb, creds) -> Iterator[tuple[TestClient, TestClient]]:
    load_demo(wb, annotations=120)
    plain = create_app(wb, TEST_SETTINGS)
    outer = plain.middleware_stack
    # On PostgreSQL the hot list sits under the guard that answers the database out of reach (write_failed.py).
    assert isinstance(outer, HeadAsGetMiddleware)
    hot_list = outer.app.app if isinstance(outer.app, WriteFailedMiddleware) else outer.app
    assert isinstance(hot_list, HotListMiddleware) and isinstance(outer.app, WriteFailedMiddleware) == (wb.store.dialect == "postgresql")
    plain.middleware_stack = HeadAsGetMiddleware(plain.build_middleware_stack())  # FastAPI's own stack: no hot path in front
    with TestClient(create_app(wb, TEST_SETTINGS)) as hot, TestClient(plain) as declared:
        yield hot, declared


def test_every_answer_is_the_declared_routes(both, wb, creds):
    hot, declared = both
    site = creds["site_id"]
    other_site = wb.store.db.execute("SELECT id FROM sites WHERE id != ? LIMIT 1", [site]).fetchone()[0]
    member, guest = bearer(creds["member_token"]), bearer(creds["guest_token"])
    first = hot.get(f"/api/v1/sites/{site}/annotations?limit=7", headers=member).json()
    assert first["next_cursor"]
    cases = [
        (f"/api/v1/sites/{site}/annotations", member),
        (f"/api/v1/sites/{site}/annotations?limit=7&cursor={first['next_cursor']}", member),
        (f"/api/v1/sites/{site}/annotations?status=new&kind=bug&auto_fix=true&since=0", guest),
        (f"/api/v1/sites/{other_site}/annotations?limit=3", member),
        (f"/api/v1/sites/{site}/annotations?limit=0", member),
        (f"/api/v1/sites/{site}/annotations?limit=abc", member),
        (f"/api/v1/sites/{site}/annotations?status=nope", member),
        (f"/api/v1/sites/{site}/annotations?cursor=garbage", member),
        (f"/api/v1/sites/{site}/annotations?limit=5&limit=6", member),
        (f"/api/v1/sites/{site}/annotations?status=new&status=ack", member),
        (f"/api/v1/sites/{site}/annotations?status=new&kind=bug&status=new", member),
        (f"/api/v1/sites/{site}/annotations?status=new&status=nope", member),
        (f"/api/v1/sites/{site}/annotations?status=new&status=ack", {}),
        (f"/api/v1/sites/{site}/annotations?unknown=1&unknown=2", member),
        (f"/api/v1/sites/{site}/annotations?unknown=1", member),
        (f"/api/v1/sites/{site}/annotations", {}),
        (f"/api/v1/sites/{site}/annotations?limit=abc", {}),
        (f"/api/v1/sites/{site}/annotations", bearer("gfat_" + "x" * 40)),
        (f"/api/v1/sites/{site}/annotations", bearer(creds["store_api_key"])),
        ("/api/v1/sites/no-such-site/annotations", member),
    ]
    for path, headers in cases:
        got, want = hot.get(path, headers=headers), declared.get(path, headers=headers)
        assert (got.status_code, got.content, got.headers.get("content-type")) == \
            (want.status_code, want.content, want.headers.get("content-type")), path
        assert got.headers.get("www-authenticate") == want.headers.get("www-authenticate"), path


def test_the_list_is_answered_before_the_router(wb, creds):
    app = create_app(wb, TEST_SETTINGS)
    reached: list[str] = []
    router = app.router

    async def counting_router(scope, receive, send):
        reached.append(scope["path"])
        await router(scope, receive, send)

    with TestClient(app) as c:
        # The stack's innermost layer now hands requests to a router that notes who reached it.
        layer: Any = app.middleware_stack  # ASGI layers, each holding the next as .app: no common type says so
        while getattr(layer, "app", None) is not router:
            layer = layer.app
        layer.app = counting_router
        assert c.get(f"/api/v1/sites/{creds['site_id']}/annotations", headers=bearer(creds["member_token"])).status_code == 200
        assert reached == []
        assert c.get("/api/v1/sites", headers=bearer(creds["member_token"])).status_code == 200
        assert reached == ["/api/v1/sites"]


def test_the_list_is_counted_once_in_the_same_buckets_as_every_other_path(wb, creds):
    settings = dataclasses.replace(TEST_SETTINGS, token_limit=3)
    member = bearer(creds["member_token"])
    listing = f"/api/v1/sites/{creds['site_id']}/annotations"
    with TestClient(create_app(wb, settings)) as c:
        assert [c.get(p, headers=member).status_code for p in (listing, listing, "/api/v1/sites")] == [200, 200, 200]
        refused = c.get(listing, headers=member)
        assert refused.status_code == 429 and refused.headers["retry-after"]
        assert "per-token bucket" in refused.json()["detail"]
        assert c.get("/api/v1/sites", headers=member).status_code == 429
