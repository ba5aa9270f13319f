"""The plans of every statement the API runs: no endpoint reads a growing table end to end.

tests/storage/test_query_plans.py holds the plans of the list queries it names; this one holds
those it does not. One request to every endpoint of the authorisation matrix
(tests/server/matrix_rows.py), each sent with a credential the matrix answers with a 2xx, runs
against a store whose connections are traced, and each statement is planned again
(tests/plans.py). The thread feed walked every resolution of the store for a pull with nothing
new (112 ms at 200k resolutions), and no named plan test saw it.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_SETTINGS
from tests.plans import statements_reading_whole, trace_store
from tests.server.matrix_rows import ROWS
from tests.server.test_auth_matrix import MATRIX, RUN_ORDER, heal, parse_matrix, send
from tests.server.world import build_world
from workbench.server.app import create_app
from workbench.services.context import Workbench


@pytest.mark.sqlite_only("SQLite's plans; tests/storage/test_query_plans_pg.py holds PostgreSQL's for the lists and the feeds")
def test_no_endpoint_reads_a_growing_table_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    trace_store(monkeypatch, ran)
    wb = Workbench.open(str(tmp_path / "data"), mailer=None)
    w = build_world(wb)
    app = create_app(wb, TEST_SETTINGS)
    expected = parse_matrix(MATRIX)
    answered: dict[str, int] = {}
    with TestClient(app) as client:
        app.state.sweep.result(timeout=10)
        ran.clear()
        for row, prepare in ROWS.items():
            col = next((c for c in RUN_ORDER if 200 <= expected[(row, c)] < 300), None)
            if col is None:  # a row every credential is refused (an unsigned upload): no reads to run
                continue
            build = prepare(w)
            answered[row] = send(client, w, col, build(w, col)).status_code
            heal(w)
    # The matrix's own test holds every code; here a refusal would leave the endpoint's reads unrun.
    assert all(200 <= code < 300 for code in answered.values()), {r: c for r, c in answered.items() if not 200 <= c < 300}
    with closing(sqlite3.connect(wb.store.path)) as check:
        whole = statements_reading_whole(check, ran)
    wb.store.close()
    assert not whole, whole
