"""A write the disk refuses (storage/db.py ``Store.write``): rolled back, said as ``StoreWriteFailed``, the connection usable after.

The full disk here is SQLite's own (``tests.disk_limit.pages_capped``): ``PRAGMA max_page_count``
caps how far the database may grow, and a write past it fails inside SQLite's pager with
SQLITE_FULL, the code a full disk gives. A file-size limit (RLIMIT_FSIZE) would act on the whole
pytest process; the CLI and MCP tests use one on a subprocess instead (the same module).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import Store
from storage.failures import StoreWriteFailed
from tests.disk_limit import pages_capped
from tests.stores import reading

BIG = "x" * 200_000  # some 50 pages: more than any slack the store has


def scratch(store: Store) -> None:
    with store.write() as db:
        db.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, body TEXT)")


def rows(store: Store) -> list[int]:
    """The committed rows, read on a connection of its own (what another process would see)."""
    with reading(store.data_dir) as db:
        return [i for (i,) in db.execute("SELECT id FROM scratch ORDER BY id")]


def test_a_write_past_a_full_disk_is_rolled_back_and_says_so(tmp_path: Path):
    store = Store(tmp_path)
    scratch(store)
    store.begin_unit_of_work()  # as a front end does when an action starts: the table above is not this action's
    with pages_capped(store):
        with pytest.raises(StoreWriteFailed) as failed, store.write() as db:
            db.execute("INSERT INTO scratch (id, body) VALUES (1, 'small, fits')")
            db.execute("INSERT INTO scratch (id, body) VALUES (2, ?)", [BIG])
        assert str(failed.value) == (
            f"cannot write to the store in {tmp_path.resolve()}: the disk is full (SQLITE_FULL); free space there and try again: "
            "nothing was changed"
        )
        assert failed.value.full and isinstance(failed.value.__cause__, sqlite3.OperationalError)
        assert not store.db.in_transaction
        assert rows(store) == []  # the small row of the same transaction went with it
    # Space freed: the same thread's connection writes again, in a transaction of its own.
    with store.write() as db:
        db.execute("INSERT INTO scratch (id, body) VALUES (3, ?)", [BIG])
    assert rows(store) == [3]


def test_what_the_same_action_saved_before_is_said_to_stay(tmp_path: Path):
    """A use case of two transactions (a resolution's upload, then the resolution) keeps the first: "nothing was changed" would be untrue."""
    store = Store(tmp_path)
    scratch(store)
    store.begin_unit_of_work()
    with store.write() as db:
        db.execute("INSERT INTO scratch (id, body) VALUES (1, 'saved first')")
    with pages_capped(store), pytest.raises(StoreWriteFailed) as failed, store.write() as db:
        db.execute("INSERT INTO scratch (id, body) VALUES (2, ?)", [BIG])
    assert str(failed.value).endswith(": that write was rolled back; what was saved before it stays")
    assert rows(store) == [1]


def test_a_commit_that_fails_ends_its_transaction(tmp_path: Path):
    """SQLite may leave a transaction open when COMMIT fails (a deferred constraint here; a full disk
    may too): it is rolled back there and then, so the connection's next write is a transaction of
    its own, not a savepoint inside the failed one that nothing would ever commit."""
    store = Store(tmp_path)
    with store.write() as db:
        db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError), store.write() as db:
        db.execute("INSERT INTO scratch (id, parent) VALUES (1, 99)")  # no parent 99: refused at COMMIT
    assert not store.db.in_transaction
    with store.write() as db:
        db.execute("INSERT INTO scratch (id, parent) VALUES (2, NULL)")
    assert rows(store) == [2]
