"""On PostgreSQL, the reads the event loop itself would make (each a round trip there) never hold it up.

While such a read waits on the database (here: another session holds its table locked), the
same server keeps answering other requests, and the waiting one is answered once the database
lets it go. Checked for the three ways a request is authenticated (the declared routes'
dependency, the hot writes, and the list's hot path after a write, when its cached principal is
no longer valid), for the widget's CORS check of the caller's origin, and for a list page the
hot path has not kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from storage.pg_conn import sql_text
from tests.conftest import TEST_SETTINGS, bearer
from tests.session_helpers import wait_until
from workbench.server.app import create_app
from workbench.services import widget as widget_svc
from workbench.services.demo import load_demo
from workbench.services.local import local_user

WHY = "on SQLite these are local reads, made on the loop on purpose (server/deps.py)"


@pytest.fixture
def served(wb, creds) -> Iterator[TestClient]:
    load_demo(wb, annotations=5)
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        yield c


def _while_locked(table: str, wb, c: TestClient, request: Callable[[], httpx.Response]) -> httpx.Response:
    url = wb.store.url
    with psycopg.connect(url) as holder, ThreadPoolExecutor(2) as pool:
        holder.execute(sql_text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        pending = pool.submit(request)

        def waiting() -> int:
            with psycopg.connect(url, autocommit=True) as probe:
                row = probe.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", [table]).fetchone()
                return row[0] if row else 0

        wait_until(waiting, bool, what=f"the request's read of {table} waiting for the lock")
        # The loop is free: a request needing nothing from the store is answered now.
        other = pool.submit(c.get, "/openapi.json")
        assert other.result(timeout=5).status_code == 200
        assert not pending.done()
        holder.rollback()
        return pending.result(timeout=10)


@pytest.mark.postgresql_only(WHY)
def test_a_routed_request_waits_for_its_token_off_the_loop(served, wb, creds):
    member = bearer(creds["member_token"])
    target = served.get(f"/api/v1/sites/{creds['site_id']}/annotations?limit=1", headers=member).json()["items"][0]["id"]
    got = _while_locked("api_tokens", wb, served, lambda: served.get(f"/api/v1/annotations/{target}", headers=member))
    assert got.status_code == 200 and got.json()["id"] == target


@pytest.mark.postgresql_only(WHY)
def test_a_hot_write_waits_for_its_token_off_the_loop(served, wb, creds):
    member = bearer(creds["member_token"])
    target = served.get(f"/api/v1/sites/{creds['site_id']}/annotations?limit=1", headers=member).json()["items"][0]["id"]
    got = _while_locked(
        "api_tokens", wb, served, lambda: served.patch(f"/api/v1/annotations/{target}", json={"summary": "after the lock"}, headers=member)
    )
    assert got.status_code == 200 and got.json()["summary"] == "after the lock"


@pytest.mark.postgresql_only(WHY)
def test_the_hot_list_looks_a_token_up_off_the_loop_after_a_write(served, wb, creds):
    member = bearer(creds["member_token"])
    listing = f"/api/v1/sites/{creds['site_id']}/annotations?limit=2"
    target = served.get(listing, headers=member).json()["items"][0]["id"]
    # A write moves the store's version: the list's cached principal is no longer valid.
    assert served.patch(f"/api/v1/annotations/{target}", json={"summary": "moved"}, headers=member).status_code == 200
    got = _while_locked("api_tokens", wb, served, lambda: served.get(listing, headers=member))
    assert got.status_code == 200 and got.json()["items"][0]["summary"] == "moved"


@pytest.mark.postgresql_only(WHY)
def test_the_widgets_origin_check_waits_off_the_loop(served, wb, creds):
    shop = "https://shop.example"
    widget_svc.add_origin(wb, local_user(wb), creds["site_id"], shop)
    url = f"/api/widget/sites/{creds['site_id']}/annotations"
    preflight = {"Origin": shop, "Access-Control-Request-Method": "POST"}
    got = _while_locked("site_origins", wb, served, lambda: served.options(url, headers=preflight))
    assert got.status_code == 204 and got.headers["access-control-allow-origin"] == shop


@pytest.mark.postgresql_only(WHY)
def test_the_hot_list_reads_a_page_it_has_not_kept_off_the_loop(served, wb, creds):
    member = bearer(creds["member_token"])
    listing = f"/api/v1/sites/{creds['site_id']}/annotations"
    first = served.get(f"{listing}?limit=2", headers=member).json()["items"]  # the token is now known at this version
    got = _while_locked("annotations", wb, served, lambda: served.get(f"{listing}?limit=3", headers=member))
    assert got.status_code == 200 and [a["id"] for a in got.json()["items"][:2]] == [a["id"] for a in first]
