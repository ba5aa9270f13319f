"""storage/pg_sql.py: SQLite's spellings rewritten into statements PostgreSQL accepts, and only those."""

from __future__ import annotations

import pytest

from storage.pg import PgStore
from storage.pg_sql import UnportableSql, translate
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


@pytest.mark.parametrize(
    ("sqlite", "postgresql"),
    [
        ("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", "INSERT INTO meta(key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING"),
        ("INSERT OR IGNORE INTO t(a) VALUES (?) RETURNING a", "INSERT INTO t(a) VALUES (%s)  ON CONFLICT DO NOTHING RETURNING a"),
        ("SELECT a FROM annotations INDEXED BY annotations_site_walk WHERE x = ?", "SELECT a FROM annotations WHERE x = %s"),
        ("SELECT 1 FROM p ORDER BY p.name COLLATE NOCASE, id", "SELECT 1 FROM p ORDER BY lower(p.name), id"),
        ("SELECT 1 WHERE (name COLLATE NOCASE, id) > (? COLLATE NOCASE, ?)", "SELECT 1 WHERE (lower(name), id) > (lower(%s), %s)"),
        ("SELECT 1 WHERE a LIKE ?", "SELECT 1 WHERE a ILIKE %s"),
        ("SELECT 1 WHERE old.s IS NOT new.s AND x IS NOT NULL", "SELECT 1 WHERE old.s IS DISTINCT FROM new.s AND x IS NOT NULL"),
        ("SELECT CAST(v AS INTEGER)", "SELECT CAST(v AS BIGINT)"),
        ("SELECT max(a, b), max(c), min(x, (y))", "SELECT greatest(a, b), max(c), least(x, (y))"),
        # psycopg reads % everywhere, literals included; a ? in a literal is text.
        ("SELECT 5 % 2, 'a%b', 'why?' WHERE k = ?", "SELECT 5 %% 2, 'a%%b', 'why?' WHERE k = %s"),
    ],
)
def test_sqlite_spellings_become_postgresqls(sqlite: str, postgresql: str) -> None:
    assert translate(sqlite) == postgresql


@pytest.mark.parametrize("sql", ["INSERT OR REPLACE INTO t VALUES (1)", "PRAGMA user_version", "SELECT 1 FROM f WHERE f MATCH ?"])
def test_what_only_sqlite_can_say_is_refused_by_name(sql: str) -> None:
    with pytest.raises(UnportableSql, match="SQLite-only"):
        translate(sql)


def test_percent_signs_and_question_marks_in_text_reach_postgresql_as_written(pg_cluster: Cluster) -> None:
    with pg_cluster.database() as url:
        store = PgStore(url, migrate=False)
        try:
            assert store.db.execute("SELECT 5 % 2, 'a%b', 'why?'").fetchone() == (1, "a%b", "why?")
            assert store.db.execute("SELECT 'a%b', ?, ? || '%'", [7, "50"]).fetchone() == ("a%b", 7, "50%")
        finally:
            store.close()
