"""A tool call meeting another writer (a sync, the TUI, a long command) that outlasts the busy timeout.

A write is a tool error in words, as a full disk is: over stdio with the store's place and what
to do, over HTTP without the place (the operator's). It was a bare "Error executing tool" and a
traceback in the log. A read does not wait for the writer at all. The tools run in process, on
each engine, behind a real transaction of another connection (tests/stores.py ``another_writer``),
the timeout cut to a moment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from storage import db as sqlite_store
from storage import pg
from tests.mcp.test_mcp_http import refused, row, seed
from tests.stores import another_writer
from workbench.mcp.tools import Caller, build_server
from workbench.services.auth import authenticate_mcp
from workbench.services.context import Workbench
from workbench.services.local import local_user

WAITED = "another writer has held it for over 0.2 s"


async def test_a_write_behind_another_writer_is_a_tool_error_and_a_read_goes_through(tmp_path: Path, own_store: str, monkeypatch: pytest.MonkeyPatch):
    data = tmp_path / "local"
    creds = seed(data)
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(pg, "LOCK_TIMEOUT_MS", 200)
    wb = Workbench.open(str(data), mailer=None)
    try:
        local = Caller(wb, local_user(wb, None, create=False), None)
        agent = Caller(wb, authenticate_mcp(wb, creds["mcp_token"]), "http://localhost:11001")
        where = wb.store.label if wb.store.dialect == "postgresql" else data.resolve()
        with another_writer(wb.store):
            async with Client(build_server(lambda _ctx: local, offline=True)) as client:
                said: Any = await client.call_tool("acknowledge", {"id": creds["a"]})
                refused(said, f"Error executing tool acknowledge: cannot write to the store in {where}: {WAITED}")
                assert said.content[0].text.endswith("wait for that writer to finish and try again: nothing was changed")
                listed: Any = await client.call_tool("list_annotations", {"limit": 1})
                assert not listed.is_error and listed.structured_content["next_cursor"], listed.content[0].text
            async with Client(build_server(lambda _ctx: agent)) as client:
                said = await client.call_tool("acknowledge", {"id": creds["a"]})
                assert said.content[0].text == (
                    "Error executing tool acknowledge: The server cannot store this now: another write has held its store "
                    "for over 0.2 s. The write was rolled back; try again shortly."
                )
                assert said.is_error
                listed = await client.call_tool("list_annotations", {"limit": 1})
                assert not listed.is_error, listed.content[0].text
        assert row(data, "SELECT status FROM annotations WHERE id = ?", creds["a"])[0] == "new"
    finally:
        wb.store.close()
