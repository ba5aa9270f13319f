"""storage/pg_sql.py: SQLite's spellings rewritten into statements PostgreSQL accepts, and only those."""

from __future__ import annotations

import pytest

from storage.pg import PgStore
from storage.pg_sql import translate
from tests.pg_cluster import Cluster


@pytest.mark.parametrize(
    ("sqlite", "postgresql"),
    [
        (
            "SELECT r.id FROM replies r CROSS JOIN annotations a ON a.id = r.annotation_id WHERE a.site_id = ?",
            "SELECT r.id FROM replies r JOIN annotations a ON a.id = r.annotation_id WHERE a.site_id = %s",
        ),
        (
            "SELECT 1 FROM replies AS r CROSS JOIN annotations AS a ON a.id = r.annotation_id",
            "SELECT 1 FROM replies AS r JOIN annotations AS a ON a.id = r.annotation_id",
        ),
        ("SELECT 1 FROM replies cross  join annotations on annotations.id = replies.annotation_id",
         "SELECT 1 FROM replies JOIN annotations on annotations.id = replies.annotation_id"),
        # A CROSS JOIN with no condition means the same on both engines: left as it is.
        ("SELECT 1 FROM sites CROSS JOIN stores WHERE sites.id = stores.id", "SELECT 1 FROM sites CROSS JOIN stores WHERE sites.id = stores.id"),
        # Inside a literal it is text, not SQL.
        ("SELECT 'x CROSS JOIN y ON z'", "SELECT 'x CROSS JOIN y ON z'"),
    ],
)
def test_a_cross_join_with_a_condition_becomes_a_join(sqlite: str, postgresql: str) -> None:
    assert translate(sqlite) == postgresql


def test_the_rewritten_cross_join_runs_on_postgresql(pg_cluster: Cluster) -> None:
    with pg_cluster.database() as url:
        store = PgStore(url, migrate=False)
        try:
            with store.write() as db:
                db.execute("INSERT INTO workspaces (id, name, created_at) VALUES ('w', 'W', 0)")
            rows = store.db.execute(
                "SELECT w.id, v.id FROM workspaces w CROSS JOIN workspaces v ON v.id = w.id WHERE w.id = ?", ["w"]
            ).fetchall()
        finally:
            store.close()
    assert rows == [("w", "w")]
