"""The server's list queries on PostgreSQL: an index walk in the list's order, never a Seq Scan or a Sort.

The same ``*_sql`` builders the repositories run (tests/storage/test_query_plans.py reads
SQLite's plans of them), translated as PgConnection translates them, planned with ``EXPLAIN``
over a database holding a few hundred thousand rows (ANALYZEd), so the planner chooses as it
would at a million: a dropped index, or a keyset or filter it cannot serve from one, shows as a
Seq Scan or a Sort node.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from storage import annotations as ann_repo
from storage import feedback_sessions as fs_repo
from storage import personas as personas_repo
from storage import test_sessions as ts_repo
from storage import thread_feed
from storage.pg import PgStore
from storage.pg_conn import sql_text
from storage.pg_sql import translate
from tests.pg_cluster import Cluster

ROWS = 200_000
# The planner prefers sorting one tester's sessions of a job while they are few: at a million it
# walks the ordered index, as SQLite always does. The test plans at the size the issue names.
SESSIONS = 1_000_000
BASE_MS = 1_700_000_000_000


@pytest.fixture(scope="module")
def big(pg_cluster: Cluster) -> Iterator[psycopg.Connection[Any]]:
    """A database with ROWS annotations over three sites, and as many sessions of each kind."""
    url = pg_cluster.create()
    PgStore(url).close()
    conn = psycopg.connect(url, autocommit=True)
    # Replica mode skips triggers and foreign keys: the rows are generated whole, in one statement each.
    conn.execute("SET session_replication_role = replica")
    # No list here reads the search column, and computing it costs ~0.4 ms a row: most of the
    # fixture's time, were it kept.
    conn.execute("ALTER TABLE annotations DROP COLUMN search")
    conn.execute("ALTER TABLE replies DROP COLUMN search")
    # The schema's other indexes are dropped and built again after the rows, in one sort each
    # rather than row by row: the planner sees the very indexes the schema makes.
    conn.execute("SET maintenance_work_mem = '256MB'")
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = current_schema() "
        "AND tablename IN ('annotations', 'feedback_sessions', 'test_sessions', 'personas', 'replies', 'resolutions') "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    ).fetchall()
    assert indexes
    for name, _ in indexes:
        conn.execute(sql_text(f"DROP INDEX {name}"))
    conn.execute(
        """
        INSERT INTO annotations (id, workspace_id, site_id, page_url, kind, body, status, auto_fix, created_at, updated_at)
        SELECT lpad(g::text, 12, '0'), 'w1', 's' || (g %% 3), '/p', (ARRAY['bug', 'idea', 'copy'])[1 + g %% 3],
               'body ' || g, (ARRAY['new', 'triaged', 'resolved', 'wontfix'])[1 + g %% 4], (g %% 5 = 0)::int,
               %s + g * 1000, %s + g * 1000
        FROM generate_series(1, %s) g
        """,
        [BASE_MS, BASE_MS, ROWS],
    )
    conn.execute(
        """
        INSERT INTO feedback_sessions (id, store_id, status, feedback_url, review_token, created_at, updated_at, version)
        SELECT lpad(g::text, 12, '0'), 'st' || (g %% 3), (ARRAY['completed', 'failed'])[1 + g %% 2], '', 'r' || g,
               %s + g * 1000, %s + g * 1000, 1
        FROM generate_series(1, %s) g
        """,
        [BASE_MS, BASE_MS, ROWS // 3],
    )
    conn.execute(
        """
        INSERT INTO test_sessions (id, job_id, tester_id, variant, status, created_at, started_at, updated_at, version, payout_queued)
        SELECT lpad(g::text, 12, '0'), 'j' || (g %% 3), 't' || (g %% 50), (ARRAY['A', 'B'])[1 + g %% 2],
               (ARRAY['in_progress', 'completed', 'confirmed'])[1 + g %% 3], %s + g * 1000, %s + g * 1000, %s + g * 1000, 1, 0
        FROM generate_series(1, %s) g
        """,
        [BASE_MS, BASE_MS, BASE_MS, SESSIONS],
    )
    conn.execute(
        """
        INSERT INTO personas (id, workspace_id, slug, name, category, description, focus, voice, is_default, created_at, updated_at)
        SELECT 'p' || g, 'w' || (g %% 100), 'p' || g, 'Persona ' || g, (ARRAY['ux', 'a11y', 'copy'])[1 + g %% 3], '', '[]', '', 0, 1, 1
        FROM generate_series(1, %s) g
        """,
        [ROWS // 3],
    )
    # The thread feed's rows: a reply and a resolution for every other annotation, a moment after it,
    # each resolution notified a second after it was made, each with its annotation's site (m037).
    conn.execute(
        """
        INSERT INTO replies (id, annotation_id, workspace_id, site_id, author_kind, author_name, body, created_at)
        SELECT 'r' || lpad(g::text, 12, '0'), lpad(g::text, 12, '0'), 'w1', 's' || (g %% 3), 'visitor', 'V', 'r', %s + g * 1000 + 1
        FROM generate_series(1, %s, 2) g
        """,
        [BASE_MS, ROWS],
    )
    conn.execute(
        """
        INSERT INTO resolutions (id, annotation_id, workspace_id, site_id, explanation, created_by, created_at, notification_status, notified_at)
        SELECT 's' || lpad(g::text, 12, '0'), lpad(g::text, 12, '0'), 'w1', 's' || (g %% 3), 'fixed', 'u', %s + g * 1000 + 2, 'sent', %s + g * 1000 + 1002
        FROM generate_series(1, %s, 2) g
        """,
        [BASE_MS, BASE_MS, ROWS],
    )
    for _, definition in indexes:
        conn.execute(sql_text(definition))
    conn.execute("ANALYZE")
    yield conn
    conn.close()
    pg_cluster.drop(url)


def explain(conn: psycopg.Connection[Any], sql: str, params: list[object]) -> dict[str, Any]:
    row = conn.execute(sql_text("EXPLAIN (FORMAT JSON) " + translate(sql)), params).fetchone()
    assert row is not None
    return row[0][0]["Plan"]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of ``plan`` but the site check's: a page's ``EXISTS`` over ``sites`` runs once
    (an InitPlan), and this fixture's few sites are read whole, as the planner should."""
    if plan.get("Parent Relationship") == "InitPlan" and plan.get("Relation Name") == "sites":
        return
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def assert_walks_an_index(conn: psycopg.Connection[Any], sql: str, params: list[object]) -> list[str]:
    kinds = [n["Node Type"] for n in nodes(explain(conn, sql, params))]
    assert "Seq Scan" not in kinds, kinds
    assert "Sort" not in kinds and "Incremental Sort" not in kinds, kinds
    assert any(k in ("Index Scan", "Index Only Scan") for k in kinds), kinds
    return kinds


ANNOTATION_FILTERS = list(itertools.product([None, "new"], [None, "bug"], [None, BASE_MS], [None, True]))


@pytest.mark.parametrize(("status", "kind", "since", "auto_fix"), ANNOTATION_FILTERS)
@pytest.mark.parametrize("deep", [False, True])
def test_annotation_pages_walk_an_ordered_index_on_postgresql(big, status, kind, since, auto_fix, deep):
    after = (BASE_MS + ROWS * 500, f"{ROWS // 2:012d}") if deep else None
    sql, params = ann_repo.list_page_sql("s1", status=status, kind=kind, since_ms=since, auto_fix=auto_fix, after=after, limit=51,
                                       workspace_id="ws")
    assert_walks_an_index(big, sql, params)


@pytest.mark.parametrize("deep", [False, True])
def test_a_sparse_since_reads_the_updated_at_index_on_postgresql(big, deep):
    after = (BASE_MS + ROWS * 500, f"{ROWS // 2:012d}") if deep else None
    sql, params = ann_repo.list_page_sql("s1", since_ms=BASE_MS + ROWS * 999, after=after, limit=51, sparse_since=True,
                                       workspace_id="ws")
    kinds = [n["Node Type"] for n in nodes(explain(big, sql, params))]
    # Few matches: the planner may sort them (as SQLite does), but never scans the table.
    assert "Seq Scan" not in kinds, kinds


@pytest.mark.parametrize(("status", "variant", "tester"), list(itertools.product([None, "completed"], [None, "A"], [None, "t7"])))
def test_test_session_pages_walk_an_ordered_index_on_postgresql(big, status, variant, tester):
    sql, params = ts_repo.list_sessions_sql("j1", status=status, variant=variant, tester_id=tester, limit=50, offset=100)
    assert_walks_an_index(big, sql, params)


@pytest.mark.parametrize("status", [None, "completed"])
def test_feedback_session_pages_walk_an_ordered_index_on_postgresql(big, status):
    sql, params = fs_repo.list_sessions_sql("st1", status=status, limit=50, offset=100)
    assert_walks_an_index(big, sql, params)


@pytest.mark.parametrize("category", [None, "ux"])
def test_personas_list_in_index_order_on_postgresql(big, category):
    sql, params = personas_repo.list_personas_sql("w7", category)
    kinds = [n["Node Type"] for n in nodes(explain(big, sql, params))]
    assert "Seq Scan" not in kinds, kinds


@pytest.mark.parametrize("category", [None, "ux"])
@pytest.mark.parametrize("after", [("ux", True, "Persona 5", "p5"), ("ux", False, "persona 7", "p7")])
def test_persona_pages_walk_the_index_on_postgresql(big, category, after):
    for sql, params in personas_repo.persona_page_sql("w7", category, after, 50):
        assert_walks_an_index(big, sql, params)


# The thread feed: from the start (a first sync), a page deep in it, with nothing new, and since a
# time most of the way through (a pull after a while offline).
FEED = {"first": (0, None), "deep": (0, (BASE_MS + ROWS * 900, "s" + f"{ROWS * 9 // 10 + 1:012d}")),
        "nothing new": (BASE_MS + ROWS * 1000 + 5000, None), "since late": (BASE_MS + ROWS * 990, None)}


@pytest.mark.parametrize("fetch", [thread_feed.replies_since_sql, thread_feed.resolutions_since_sql], ids=["replies", "resolutions"])
@pytest.mark.parametrize("case", FEED)
def test_thread_feed_pages_read_a_time_range_on_postgresql(big, fetch, case):
    since, after = FEED[case]
    plan = list(nodes(explain(big, *fetch("s1", since, after, 101))))
    kinds = [n["Node Type"] for n in plan]
    # The rows of one millisecond ordered by id as the walk goes (Incremental Sort); what is sorted
    # whole is a few rows (nothing new, the few resolutions notified since but made before, a
    # page from each range): never the table read whole, or its rows sorted.
    assert "Seq Scan" not in kinds, kinds
    assert all(n["Plan Rows"] <= 1000 for n in plan if n["Node Type"] == "Sort"), [(n["Node Type"], n["Plan Rows"]) for n in plan]
    assert any(k in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan") for k in kinds), kinds
