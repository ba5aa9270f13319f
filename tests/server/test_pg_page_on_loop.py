"""On PostgreSQL the list's uncached pages are read on the event loop (storage/pg.py ``LoopReads``), not in a thread.

The threadpool's read (``routes.annotations.page_rows``) answers only what the loop's cannot: a
``since``, a cursor not of its listing, an empty page. The pages are the ones the route builds.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from storage.pg_conn import sql_text
from tests.conftest import TEST_SETTINGS, bearer
from tests.session_helpers import wait_until
from workbench.server import hotpath
from workbench.server.app import create_app
from workbench.services.demo import load_demo

pytestmark = pytest.mark.postgresql_only("SQLite reads its pages on the loop in the process: there is no thread to avoid")


@pytest.fixture
def threadpool_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each page the threadpool reads, by what it asked (the real read still answers)."""
    reads: list[str] = []
    real = hotpath.page_rows

    def counted(wb, caller, site_id, q):
        reads.append(f"status={q.status} since={q.since} cursor={bool(q.cursor)}")
        return real(wb, caller, site_id, q)

    monkeypatch.setattr(hotpath, "page_rows", counted)
    return reads


@pytest.fixture
def served(wb, creds) -> Iterator[TestClient]:
    load_demo(wb, annotations=30)
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        yield c


async def _refuse(self, caller, site_id, q):
    return None


def test_pages_with_and_without_a_cursor_are_read_on_the_loop(served, wb, creds, threadpool_reads, monkeypatch):
    auth = bearer(creds["member_token"])
    path = f"/api/v1/sites/{creds['site_id']}/annotations"
    first = served.get(f"{path}?limit=7", headers=auth)
    assert first.status_code == 200 and len(first.json()["items"]) == 7
    walked = list(first.json()["items"])
    cursor = first.json()["next_cursor"]
    while cursor:
        page = served.get(f"{path}?limit=7", params={"cursor": cursor}, headers=auth).json()
        walked += page["items"]
        cursor = page["next_cursor"]
    assert len(walked) == len({a["id"] for a in walked}) > 7  # more than one page, none twice
    assert served.get(f"{path}?status=new&limit=5", headers=auth).status_code == 200
    assert threadpool_reads == []
    # The same page as the threadpool's read builds.
    with monkeypatch.context() as m, TestClient(create_app(wb, TEST_SETTINGS)) as fresh:
        m.setattr(hotpath.HotListMiddleware, "_page_on_loop", _refuse)
        again = fresh.get(f"{path}?limit=7", headers=auth)
    assert again.content == first.content
    assert threadpool_reads == ["status=None since=None cursor=False"]


def test_what_the_loop_cannot_answer_is_read_in_the_threadpool_as_before(served, wb, creds, threadpool_reads):
    auth = bearer(creds["member_token"])
    with wb.store.write() as db:
        db.execute("UPDATE annotations SET status = 'new' WHERE status = 'won_t_fix'")  # an empty page, below
    path = f"/api/v1/sites/{creds['site_id']}/annotations"
    assert served.get(f"{path}?since=0&limit=5", headers=auth).status_code == 200
    assert served.get(f"{path}?cursor=garbage", headers=auth).status_code == 400
    assert served.get("/api/v1/sites/no-such-site/annotations?cursor=garbage", headers=auth).status_code == 404
    assert served.get(f"{path}?status=won_t_fix", headers=auth).json()["items"] == []
    assert served.get("/api/v1/sites/no-such-site/annotations", headers=auth).status_code == 404
    assert threadpool_reads == ["status=None since=0 cursor=False", "status=None since=None cursor=True",
                                "status=None since=None cursor=True", "status=won_t_fix since=None cursor=False",
                                "status=None since=None cursor=False"]


def test_a_page_read_survives_its_connection_being_closed(served, wb, creds, threadpool_reads):
    auth = bearer(creds["member_token"])
    path = f"/api/v1/sites/{creds['site_id']}/annotations"
    assert served.get(f"{path}?limit=3", headers=auth).status_code == 200
    with psycopg.connect(wb.store.url, autocommit=True) as admin:
        admin.execute(sql_text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'workbench loop reads'"))

        def gone() -> int:
            row = admin.execute(sql_text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'workbench loop reads'")).fetchone()
            return row[0] if row else 0

        wait_until(gone, lambda n: n == 0, what="the loop's page connections closed")
    got = served.get(f"{path}?limit=4", headers=auth)
    assert got.status_code == 200 and len(got.json()["items"]) == 4
    assert threadpool_reads == []
