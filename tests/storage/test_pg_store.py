"""PgStore's writes: one at a time across threads and stores, begun and committed in one round trip each; never a replica."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from storage import pg, pg_conn, sync_state
from storage.pg import PgStore
from storage.pg_conn import redact, sql_text
from tests.pg_cluster import Cluster
from tests.session_helpers import wait_until


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    url = pg_cluster.create()
    yield url
    pg_cluster.drop(url)


def test_read_decide_write_never_loses_an_update_across_threads_and_stores(pg_url: str):
    """Each write reads a counter and writes it back plus one: without the writers' lock taken
    in the same round trip as BEGIN, two would read the same value and one increment would be lost."""
    stores = [PgStore(pg_url), PgStore(pg_url, migrate=False)]  # two stores: as two processes would be
    try:
        with stores[0].write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('n', '0')")
        before = stores[0].version()

        def bump(store: PgStore) -> None:
            for _ in range(15):
                with store.write() as db:
                    n = int(db.execute("SELECT value FROM meta WHERE key = 'n'").fetchone()[0])
                    db.execute("UPDATE meta SET value = ? WHERE key = 'n'", [str(n + 1)])

        threads = [threading.Thread(target=bump, args=(stores[i % 2],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert stores[1].db.execute("SELECT value FROM meta WHERE key = 'n'").fetchone()[0] == "90"
        assert stores[1].version() != before
        assert not stores[0].db.in_transaction and not stores[1].db.in_transaction
    finally:
        for store in stores:
            store.close()


def test_a_threads_connection_is_closed_when_the_thread_ends(pg_url: str):
    """Its connection went with a thread's locals, and psycopg's finaliser closed it with a
    ResourceWarning (six of them from the test above); a threadpool worker idle too long ends so.
    The store closes it itself now."""
    store = PgStore(pg_url)
    try:
        raws: list[psycopg.Connection] = []

        def use() -> None:
            store.db.execute("SELECT 1")
            raws.append(store.db.raw)  # pyright: ignore[reportAttributeAccessIssue]  # a PgConnection

        thread = threading.Thread(target=use)
        thread.start()
        thread.join()
        [raw] = raws
        wait_until(lambda: raw.closed, bool, what="the ended thread's connection closed")
        assert not store.db.raw.closed  # pyright: ignore[reportAttributeAccessIssue]  # this thread's is its own
    finally:
        store.close()


def test_a_postgresql_store_is_never_a_replica(pg_url: str):
    """A replica is the TUI's local SQLite store: a team server's writes never queue for a push,
    and asking costs no round trip."""
    store = PgStore(pg_url)
    try:
        with store.write() as db:
            with pytest.raises(ValueError, match="local SQLite store"):
                sync_state.add_remote(db, "origin", "https://wb.example", 0)
            assert sync_state.is_replica(db, "any-workspace") is False
        assert store.db.execute("SELECT count(*) FROM sync_remotes").fetchone()[0] == 0
    finally:
        store.close()


def _kill_backend_of(store: PgStore, admin_url: str) -> None:
    """End this thread's connection's server process, as a restart ends every one, and wait till it is gone."""
    pid = store.db.raw.info.backend_pid  # pyright: ignore[reportAttributeAccessIssue]  # a PgConnection
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql_text("SELECT pg_terminate_backend(%s)"), [pid])
        wait_until(lambda: admin.execute(sql_text("SELECT count(*) FROM pg_stat_activity WHERE pid = %s"), [pid]).fetchone(),
                   lambda row: row is not None and row[0] == 0, what="the backend gone")


@pytest.mark.parametrize("seen", ["hung up", "unseen"])
def test_a_connection_its_server_dropped_while_idle_costs_no_failed_read_or_write(pg_url: str, pg_cluster: Cluster,
                                                                                  seen: str, monkeypatch: pytest.MonkeyPatch):
    """"hung up": the server closed it and said so, which the checkout sees. "unseen": a loss the
    socket does not show (a network's), found by the transaction's first round trip, which is
    then sent again on a new connection: nothing of that transaction had reached the server."""
    if seen == "unseen":
        monkeypatch.setattr(pg, "hung_up", lambda raw: raw.closed)
    store = PgStore(pg_url)
    try:
        for step in ("read", "write", "read again"):
            _kill_backend_of(store, pg_cluster.admin_url)
            if step == "write":
                with store.write() as db:
                    db.execute("INSERT INTO meta (key, value) VALUES ('after', 'kill')")
            else:
                with store.read() as db:
                    assert db.execute("SELECT count(*) FROM meta WHERE key = 'after'").fetchone()[0] == (step == "read again")
    finally:
        store.close()


def test_a_write_whose_connection_is_lost_mid_transaction_is_not_sent_again(pg_url: str, pg_cluster: Cluster):
    """Past its first round trip a write's fate is the server's: the error reaches the caller, never a second try."""
    store = PgStore(pg_url)
    try:
        with pytest.raises(psycopg.OperationalError) as lost, store.write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('once', '1')")
            _kill_backend_of(store, pg_cluster.admin_url)
            db.execute("INSERT INTO meta (key, value) VALUES ('twice', '2')")
        assert pg_conn.unreachable(lost.value)
        assert store.db.execute("SELECT count(*) FROM meta WHERE key IN ('once', 'twice')").fetchone()[0] == 0
    finally:
        store.close()


@pytest.mark.parametrize(
    "url,shown",
    [
        ("postgresql://postgres@127.0.0.1:5432/wb", "postgresql://postgres@127.0.0.1:5432/wb"),  # nothing to hide: as given
        ("postgresql://u:p%40ss@db.example:5432/wb?sslmode=require", "postgresql://u:***@db.example:5432/wb?sslmode=require"),
        ("postgresql://u@db.example/wb?password=s3cret&sslmode=require", "postgresql://u@db.example/wb?sslmode=require"),
        ("postgresql://u:pw@[::1]:5432/wb", "postgresql://u:***@[::1]:5432/wb"),  # the IPv6 host keeps its brackets
        ("postgres://:pw@h/wb?PASSWORD=x", "postgres://:***@h/wb"),
    ],
)
def test_redact_hides_every_password_of_a_url(url: str, shown: str):
    assert redact(url) == shown
