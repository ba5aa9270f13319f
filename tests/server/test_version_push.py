"""The store's version pushed by PostgreSQL (storage/pg_versions.py): heard, vouched for, given up when lost, and what it spares a cached page."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from storage import pg_versions, rate_leases
from storage.pg import PgStore
from tests.conftest import TEST_SETTINGS, bearer
from tests.session_helpers import wait_until, wait_until_async
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.server.app import create_app
from workbench.services import annotations as svc

ONLY = pytest.mark.postgresql_only("PostgreSQL pushes its version to serving processes; SQLite's is a PRAGMA in the process")


@contextlib.asynccontextmanager
async def running(watch: pg_versions.VersionWatch) -> AsyncIterator[pg_versions.VersionWatch]:
    task = asyncio.ensure_future(watch.run())
    try:
        await wait_until_async(lambda: watch.current() is not None, "the watch listens")
        yield watch
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _counter(store: PgStore) -> int:
    with psycopg.connect(store.url, autocommit=True) as conn:
        row = conn.execute("SELECT n FROM store_version").fetchone()
        assert row is not None
        return int(row[0])


def _write(store: PgStore) -> int:
    with store.write() as db:
        db.execute("INSERT INTO meta (key, value) VALUES ('moved', '1') ON CONFLICT (key) DO UPDATE SET value = meta.value || '1'")
    return _counter(store)


@ONLY
async def test_another_process_commit_is_heard_without_asking(pg_store: PgStore, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pg_versions, "HEARTBEAT", 60.0)  # no read of the counter could be what told it
    # A watch no store of this process reports to: it learns of the commit as another process's watch would.
    async with running(pg_versions.VersionWatch(pg_store.url)) as watch:
        before = watch.current()
        n = await asyncio.to_thread(_write, pg_store)
        assert before is not None and before[1] < n
        await wait_until_async(lambda: watch.current() == (0, n), "the commit's notification arrived")


def _revoke_all(store: PgStore) -> int:
    """A change to who may do what (``auth_changes`` moves): every API token revoked."""
    with store.write() as db:
        db.execute("UPDATE api_tokens SET revoked_at = 1")
        db.execute("INSERT INTO workspaces (id, name, created_at) VALUES ('ws-settle', 'Settle', 0) ON CONFLICT (id) DO NOTHING")
    return _counter(store)


@ONLY
async def test_a_change_to_tokens_returns_once_every_watch_has_heard_it(pg_store: PgStore, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pg_versions, "HEARTBEAT", 60.0)  # only the notification can tell them
    # Two watches, as two serving processes would have; neither is told by this process's writes.
    async with running(pg_versions.VersionWatch(pg_store.url)) as one, running(pg_versions.VersionWatch(pg_store.url)) as two:
        heard: list[object] = []
        loop = asyncio.get_running_loop()

        def revoke_then_look() -> int:
            # The watches' loop is busy for a moment as the write commits: only a writer that
            # waits for their answers finds both knowing of it when it returns.
            loop.call_soon_threadsafe(time.sleep, 0.5)
            n = _revoke_all(pg_store)
            heard.extend([one.current(), two.current()])  # what each would answer the next request with
            return n

        n = await asyncio.to_thread(revoke_then_look)
        assert heard == [(0, n), (0, n)]
        # Any other write waits for no one: it returns at once, heard or not.
        blocked = loop.time()
        m = _write(pg_store)  # on the loop's own thread: the watches cannot answer until it returns
        assert loop.time() - blocked < pg_versions.SETTLE_SECONDS / 2 and m > n


@ONLY
async def test_a_writer_listens_for_answers_only_while_it_waits(pg_store: PgStore):
    def listening() -> list[str]:
        return [row[0] for row in pg_store.db.execute("SELECT pg_listening_channels()").fetchall()]

    _revoke_all(pg_store)  # no watch runs: nobody to wait for, and nothing left listened to
    assert listening() == []
    async with running(pg_versions.VersionWatch(pg_store.url)):
        # On one thread, so on the writer's own connection. The answers' channel would otherwise
        # queue every later answer on this connection, unread.
        assert await asyncio.to_thread(lambda: (_revoke_all(pg_store), listening())[1]) == []


@ONLY
async def test_a_change_to_tokens_with_a_watch_that_cannot_answer_waits_a_bounded_time(pg_store: PgStore):
    watch = pg_versions.VersionWatch(pg_store.url)
    async with running(watch):
        loop = asyncio.get_running_loop()
        started = loop.time()
        _revoke_all(pg_store)  # on the loop's thread: the watch is counted but cannot answer
        waited = loop.time() - started
        assert pg_versions.SETTLE_SECONDS * 0.9 <= waited < pg_versions.SETTLE_SECONDS + 1.0


@ONLY
async def test_this_process_commit_is_known_before_the_write_returns(pg_store: PgStore):
    watch = pg_versions.watch_for(pg_store.url)
    async with running(watch):
        # The write runs on this thread, so the loop cannot deliver the notification before the check.
        n = _write(pg_store)
        assert pg_store.known_version() == (0, n)
        assert pg_store.version() == (0, n)


@ONLY
async def test_a_lost_listener_steps_aside_and_catches_up(pg_store: PgStore, monkeypatch: pytest.MonkeyPatch):
    # Long enough that the commit below lands while the watch is away.
    monkeypatch.setattr(pg_versions, "RECONNECT_AFTER", (0.5,))
    watch = pg_versions.watch_for(pg_store.url)
    async with running(watch):
        with psycopg.connect(pg_store.url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'workbench version watch' AND datname = current_database()"
            )
        await wait_until_async(lambda: watch.current() is None, "the watch noticed its connection was gone")
        n = await asyncio.to_thread(_write, pg_store)
        # Meanwhile every version is read, never the last one heard.
        assert pg_store.version() == (0, n)
        await wait_until_async(lambda: watch.connects == 2 and watch.current() == (0, n), "the watch listens again and read the counter")


@ONLY
async def test_a_silent_watch_is_not_trusted(pg_store: PgStore, monkeypatch: pytest.MonkeyPatch):
    watch = pg_versions.watch_for(pg_store.url)
    async with running(watch):
        assert pg_store.known_version() is not None
        # As if the loop had stalled or the connection had died without a word: nothing heard for too long.
        now = pg_versions.clock()
        monkeypatch.setattr(pg_versions, "clock", lambda: now + pg_versions.TRUSTED_HEARTBEATS * pg_versions.HEARTBEAT + 1)
        assert pg_store.known_version() is None


class Statements:
    """Every statement this process sends PostgreSQL, on any connection, sync or async."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        for cls in (psycopg.Cursor, psycopg.AsyncCursor):
            monkeypatch.setattr(cls, "execute", self._counting(cls.execute))

    def _counting(self, execute):
        def counted(cur, query, *args, **kwargs):
            self.sent.append(str(query))
            return execute(cur, query, *args, **kwargs)

        return counted


@ONLY
def test_a_cached_page_asks_the_database_nothing(wb, creds, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pg_versions, "HEARTBEAT", 60.0)  # no heartbeat falls inside the measured requests
    # Nor does a lease's settling: on a loaded machine 40 requests outlast the 0.1 s a lease's
    # units stay, and each lapse would cost a give-back and a fresh lease.
    monkeypatch.setattr(rate_leases, "TTL", 60.0)
    for i in range(30):  # no demo data: its test sessions' analyses are jobs that write while the test measures
        svc.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None, WidgetAnnotationCreate(page_url="https://x/", body=f"note {i}"))
    url = f"/api/v1/sites/{creds['site_id']}/annotations?limit=20"
    member = bearer(creds["member_token"])
    app = create_app(wb, TEST_SETTINGS)
    with TestClient(app) as client:
        app.state.sweep.result(timeout=10)  # the startup sweep's writes are done before the page is kept
        wait_until(wb.store.known_version, lambda v: v is not None, what="the server's version watch listens")
        first = client.get(url, headers=member)
        assert first.status_code == 200
        statements = Statements(monkeypatch)
        for _ in range(40):
            r = client.get(url, headers=member)
            assert r.status_code == 200 and r.content == first.content
        # The rate limit's lease refills are the only round trips (a unit each of 40 requests would be 40).
        assert [s for s in statements.sent if "rate_lease" not in s] == []
        assert len(statements.sent) <= 2, statements.sent
        # The same requests while the watch cannot vouch for the version: each batch reads it.
        monkeypatch.setattr(pg_versions, "known", lambda url: None)
        for _ in range(10):
            assert client.get(url, headers=member).status_code == 200
        assert any("store_version" in s for s in statements.sent), statements.sent


@ONLY
async def test_the_watch_says_why_it_lost_its_connection_without_the_password(caplog: pytest.LogCaptureFixture):
    """Its line named the driver's exception type alone ("OperationalError"): a restart, a refused
    login and a wrong host read the same."""
    watch = pg_versions.VersionWatch("postgresql://wb:hunter2-secret@127.0.0.1:1/gone")  # nothing listens on port 1
    running = asyncio.ensure_future(watch.run())
    try:
        await wait_until_async(lambda: any("version watch lost" in r.getMessage() for r in caplog.records), "the watch's line")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    said = [r.getMessage() for r in caplog.records if "version watch lost" in r.getMessage()]
    assert len(said) == 1 and "refused" in said[0] and "hunter2" not in said[0], said
