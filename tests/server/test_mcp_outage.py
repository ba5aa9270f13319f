"""An MCP tool call over HTTP whose PostgreSQL database cannot be reached: a tool error in words, one log line."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

from workbench.services import annotations as annotations_svc

PASSWORD = "never-in-a-tool-error-4r8w"


@pytest.mark.postgresql_only("a database server that can be lost is PostgreSQL's")
def test_a_tool_call_that_cannot_reach_the_database_is_a_tool_error_saying_so_and_one_line(
    client: Any, creds: dict, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    """The database lost after the call was authenticated, the tool's own read failed: the SDK
    answered a bare "Error executing tool" and logged a traceback, call after call."""

    def gone(*args: Any, **kwargs: Any) -> Any:
        # A port nothing listens on: refused, as by a server that is down.
        return psycopg.connect(f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/gone", connect_timeout=2)

    monkeypatch.setattr(annotations_svc, "list_annotations", gone)
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_annotations", "arguments": {}}}
    with caplog.at_level(logging.INFO):
        r = client.post(f"/mcp/{creds['mcp_token']}", json=call, headers={"Accept": "application/json, text/event-stream"})
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["isError"] and "cannot reach its database" in result["content"][0]["text"], result
    said = [rec for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert [rec.exc_info for rec in said] == [None], [(rec.name, rec.getMessage()) for rec in said]
    assert "cannot reach the database" in said[0].getMessage() and "list_annotations" in said[0].getMessage()
    assert PASSWORD not in r.text and PASSWORD not in said[0].getMessage()


@pytest.mark.postgresql_only("a database server that can be lost is PostgreSQL's")
def test_a_call_whose_token_cannot_be_looked_up_is_a_503_the_sdk_client_can_read(client: Any, creds: dict, monkeypatch: pytest.MonkeyPatch):
    """The database lost before the token was resolved: the 503 with Retry-After, its words in a
    JSON-RPC error (workbench/mcp/http_refusals.py), not the REST family's ``{"detail": ...}``,
    which the SDK's client replaces with "Server returned an error response"."""
    from workbench.mcp import http as mcp_http

    def gone(*args: Any, **kwargs: Any) -> Any:
        return psycopg.connect(f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/gone", connect_timeout=2)

    monkeypatch.setattr(mcp_http, "authenticate_mcp", gone)
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    r = client.post(f"/mcp/{creds['mcp_token']}", json=call, headers={"Accept": "application/json, text/event-stream"})
    assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
    assert r.json() == {"jsonrpc": "2.0", "id": None, "error": {
        "code": -32600, "message": "The server cannot reach its database now; nothing was changed. Try again shortly.", "data": {"status": 503}}}
