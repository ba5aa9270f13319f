"""The plans of every statement a TUI session runs: none reads a big table end to end.

tests/storage/test_query_plans.py holds the plans of the queries it names; this one holds those
it does not know of. A session on a replica of the demo store walks the screens (the inbox, an
annotation, the filter, a search, the other screens, the sync screen, the assign and views
dialogs) with every connection traced, and each statement it ran is planned again: a scan of
the annotations, their replies and resolutions, the audit or the change journal, or a sort of
their rows, is a cost that grows with the store, on the TUI's thread or its workers. A
replica's members (the assignee filter's choices) read every user reply of the workspace this
way, 265 ms at 1M annotations, and no test saw it.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from storage import sync_state
from storage.db import Store
from tests.tui.conftest import make_app, press, wait_for
from workbench.services import remotes
from workbench.services.context import Workbench
from workbench.services.local import local_user

# Tables whose rows grow with the feedback a workspace holds (the FTS tables are searched by MATCH).
GROWING = {"annotations", "replies", "resolutions", "audit", "annotation_changes", "sync_outbox"}
_NAMED = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.IGNORECASE)
_NOT_ALIASES = {"where", "indexed", "join", "on", "cross", "left", "inner", "natural", "order", "group", "limit", "union", "using",
                "as", "not"}
_READS = re.compile(r"^(SCAN|SEARCH) (\w+)")


def _tables(sql: str) -> dict[str, str]:
    """Alias (or name) → table, for the tables ``sql`` names: plans call a table by its alias."""
    out: dict[str, str] = {}
    for table, alias in _NAMED.findall(sql):
        out[table] = table
        if alias and alias.lower() not in _NOT_ALIASES:
            out[alias] = table
    return out


def whole_reads(db: sqlite3.Connection, sql: str) -> list[str]:
    """The plan's steps that read a growing table end to end, or sort the rows it read."""
    steps = db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
    tables = _tables(sql)

    def growing(detail: str, kind: str) -> bool:
        m = _READS.match(detail)
        return bool(m and m[1] in kind and tables.get(m[2], m[2]) in GROWING and "VIRTUAL TABLE" not in detail)

    found = [d for _, _, _, d in steps if growing(d, "SCAN")]
    # A sort is charged to the rows beside it in its (sub)query: the inbox's comments and test
    # sessions are merged in order after a sort of their own, which is not one of these.
    for _, parent, _, detail in steps:
        if "TEMP B-TREE" in detail and any(growing(d, "SCAN SEARCH") for _, p, _, d in steps if p == parent):
            found.append(detail)
    return found


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch, demo_wb: Workbench) -> list[str]:
    """Every statement the store's connections run from here on, as SQLite expanded it."""
    ran: list[str] = []
    connect = Store._connect

    def traced(self: Store) -> sqlite3.Connection:
        conn = connect(self)
        conn.set_trace_callback(ran.append)
        return conn

    monkeypatch.setattr(Store, "_connect", traced)
    demo_wb.store.db.set_trace_callback(ran.append)  # the fixture's own connection, opened before
    return ran


async def test_a_replicas_session_reads_no_growing_table_end_to_end(demo_wb: Workbench, statements: list[str]) -> None:
    ws = local_user(demo_wb).workspace_id
    remotes.add(demo_wb, "origin", "http://127.0.0.1:9")
    with demo_wb.store.write() as db:
        sync_state.update_remote(db, "origin", workspace_id=ws)
    statements.clear()
    app = make_app(demo_wb)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        for keys in (["j", "enter"], ["escape"], ["f"], ["escape"], ["/", *"checkout"], ["escape"], ["2", "enter"], ["escape"],
                     ["3"], ["4"], ["5"], ["1"], ["A"], ["escape"], ["v"], ["escape"]):
            await press(pilot, *keys)
            await wait_for(pilot, lambda: not [w for w in app.workers if w.is_running])
    assert len(statements) > 50, "the session ran through the screens"
    check = sqlite3.connect(demo_wb.store.path)
    whole = {}
    for sql in dict.fromkeys(statements):
        if sql.lstrip().split(None, 1)[0].upper() in ("SELECT", "WITH", "UPDATE", "DELETE") and (found := whole_reads(check, sql)):
            whole[sql[:300]] = found
    check.close()
    assert not whole, whole
