"""How much a statement reads, as tests judge it: plans that read a growing table whole, and SQLite's steps.

tests/tui/test_plans_of_a_session.py (a TUI session) and tests/server/test_plans_of_the_api.py (a
request to every endpoint) trace the statements they ran and plan each again with ``whole_reads``;
``vm_steps`` counts the virtual machine's steps of a call, a measure of work no machine's speed moves.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable

import pytest

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

    def growing(detail: str, reads: tuple[str, ...]) -> bool:
        m = _READS.match(detail)
        return bool(m and m[1] in reads and tables.get(m[2], m[2]) in GROWING and "VIRTUAL TABLE" not in detail)

    found = [d for _, _, _, d in steps if growing(d, ("SCAN",))]
    # A sort is charged to the rows beside it in its (sub)query: the inbox's comments and test
    # sessions are merged in order after a sort of their own, which is not one of these. A sort
    # of the "RIGHT PART" orders only rows that tie on the index's leading time (a feed's rows of
    # one millisecond by id), a few at a time as the walk goes.
    for _, parent, _, detail in steps:
        if "TEMP B-TREE" in detail and "RIGHT PART" not in detail and any(growing(d, ("SCAN", "SEARCH")) for _, p, _, d in steps if p == parent):
            found.append(detail)
    return found


def statements_reading_whole(db: sqlite3.Connection, statements: Iterable[str]) -> dict[str, list[str]]:
    """The reads and writes among ``statements`` (each once) whose plan reads or sorts a growing table whole."""
    out = {}
    for sql in dict.fromkeys(statements):
        if sql.lstrip().split(None, 1)[0].upper() in ("SELECT", "WITH", "UPDATE", "DELETE") and (found := whole_reads(db, sql)):
            out[sql[:300]] = found
    return out


def trace_store(monkeypatch: pytest.MonkeyPatch, ran: list[str]) -> None:
    """Every connection a Store opens from here on traces its statements into ``ran`` (SQLite's expanded text)."""
    from storage.db import Store

    connect = Store._connect

    def traced(self: Store) -> sqlite3.Connection:
        conn = connect(self)
        conn.set_trace_callback(ran.append)
        return conn

    monkeypatch.setattr(Store, "_connect", traced)


def vm_steps(db: sqlite3.Connection, run: Callable[[], object]) -> int:
    """The steps SQLite's virtual machine takes on ``db`` while ``run()`` runs (a progress handler called every step)."""
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    db.set_progress_handler(step, 1)
    try:
        run()
    finally:
        db.set_progress_handler(None, 1)
    return steps
