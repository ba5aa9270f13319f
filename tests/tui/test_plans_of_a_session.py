"""The plans of every statement a TUI session runs: none reads a big table end to end.

tests/storage/test_query_plans.py holds the plans of the queries it names; this one holds those
it does not know of. A session on a replica of the demo store walks the screens (the inbox, an
annotation, the filter, a search, the other screens, the sync screen, the assign and views
dialogs, the workspace switcher, an annotation's next one and its reply, evidence and personas
dialogs, the bulk menu, the help, a reload, each screen's detail, a status change, its undo and
redo) with every connection traced, and each statement it ran is planned again: a scan of
the annotations, their replies and resolutions, the audit or the change journal, or a sort of
their rows, is a cost that grows with the store, on the TUI's thread or its workers. A
replica's members (the assignee filter's choices) read every user reply of the workspace this
way, 265 ms at 1M annotations, and no test saw it; the switcher counted the workspace's replies
so, 250 ms cold at 1M.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from storage import sync_state
from tests.plans import statements_reading_whole, trace_store
from tests.tui.conftest import make_app, press, wait_for
from workbench.services import remotes
from workbench.services.context import Workbench
from workbench.services.local import local_user


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch, demo_wb: Workbench) -> list[str]:
    """Every statement the store's connections run from here on, as SQLite expanded it."""
    ran: list[str] = []
    trace_store(monkeypatch, ran)
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
                     ["3"], ["4"], ["5"], ["1"], ["A"], ["escape"], ["v"], ["escape"], ["W"], ["escape"],
                     ["j", "enter"], ["right_square_bracket"], ["c"], ["escape"], ["e"], ["escape"], ["p"], ["escape"], ["escape"],
                     ["b"], ["escape"], ["question_mark"], ["escape"], ["ctrl+r"], ["2", "enter"], ["escape"], ["3", "enter"],
                     ["escape"], ["4", "enter"], ["escape"], ["1"], ["t"], ["u"], ["U"]):
            await press(pilot, *keys)
            await wait_for(pilot, lambda: not [w for w in app.workers if w.is_running])
    assert len(statements) > 50, "the session ran through the screens"
    with closing(sqlite3.connect(demo_wb.store.path)) as check:
        whole = statements_reading_whole(check, statements)
    assert not whole, whole
