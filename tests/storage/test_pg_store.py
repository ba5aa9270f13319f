"""PgStore's writes: one at a time across threads and stores, begun and committed in one round trip each; never a replica."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from storage import sync_state
from storage.pg import PgStore, redact
from tests.pg_cluster import Cluster


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
