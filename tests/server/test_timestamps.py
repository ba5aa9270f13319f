"""Every timestamp a request sends says its zone: one rule (workbench/domain/fields.py ``Timestamp``,
clock.no_zone), over TCP against a real `workbench serve`, on both engines.

A token's ``expires_at`` was refused without a zone (pydantic's "Input should have timezone
info") while a test session's ``completedAt`` was read as UTC, so a client sending its local time
had its run's end moved by its offset, silently. Now both are refused alike, with a 422 naming the
field and saying what to add, and a time with an offset is stored as the instant it names.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, bearer
from tests.server.conftest import serve
from tests.stores import bootstrapped

NO_ZONE = "has no timezone: add Z for UTC or an offset such as +02:00"
PLUS_TWO = timezone(timedelta(hours=2))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    data = tmp_path / "served"
    creds = bootstrapped(data)
    srv = serve(data)
    yield srv, creds
    srv.stop()


def test_a_token_expiry_needs_its_zone_and_an_offset_is_the_instant_it_names(served):
    srv, creds = served
    url = f"{srv.url}/api/workspaces/{creds['workspace_id']}/api-tokens"
    owner = bearer(creds["owner_session"], creds["workspace_id"])
    naive = httpx.post(url, json={"name": "ci", "expires_at": "2030-01-01T12:00:00"}, headers=owner)
    assert naive.status_code == 422, naive.text
    [error] = naive.json()["detail"]
    assert error["loc"] == ["body", "expires_at"] and error["msg"].startswith(f"2030-01-01T12:00:00 {NO_ZONE}"), error
    for bad in (1893456000, "2030-01-01"):  # epoch seconds, a bare date: not a time a client means
        r = httpx.post(url, json={"name": "ci", "expires_at": bad}, headers=owner)
        assert r.status_code == 422 and "must be an ISO 8601 date and time with its timezone" in r.text, r.text
    zoned = httpx.post(url, json={"name": "ci", "expires_at": "2030-01-01T12:00:00+02:00"}, headers=owner)
    assert zoned.status_code == 201 and zoned.json()["expires_at"] == "2030-01-01T10:00:00.000Z", zoned.text
    listed = httpx.get(url, headers=owner).json()["items"]
    assert [t["expires_at"] for t in listed if t["name"] == "ci"] == ["2030-01-01T10:00:00.000Z"]


def test_a_completed_at_needs_its_zone_and_an_offset_is_the_instant_it_names(served):
    srv, creds = served
    tester = {"Authorization": f"Bearer {creds['jwt']}"}
    created = httpx.post(f"{srv.url}/api/sessions", json={"jobId": creds["job_id"], "testerId": "user_tz"}, headers=tester)
    assert created.status_code in (200, 201), created.text
    sid = created.json()["data"]["sessionId"]
    now = datetime.now(UTC).replace(microsecond=0)
    naive = httpx.post(f"{srv.url}/api/sessions/{sid}/complete", json={"completedAt": now.replace(tzinfo=None).isoformat()}, headers=tester)
    assert naive.status_code == 422, naive.text
    error = naive.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["message"].startswith(f"completedAt: {now.replace(tzinfo=None).isoformat()} {NO_ZONE}")
    assert httpx.get(f"{srv.url}/api/sessions/{sid}", headers=tester).json()["data"]["status"] == "active"  # nothing was recorded
    local = now.astimezone(PLUS_TWO).isoformat()  # the same instant, as a client two hours east writes it
    done = httpx.post(f"{srv.url}/api/sessions/{sid}/complete", json={"completedAt": local}, headers=tester)
    assert done.status_code == 200, done.text
    assert done.json()["data"]["completedAt"] == now.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_mcp_since_needs_a_zone_on_a_time_of_day(served):
    """MCP's ``since`` also takes a bare date (that day in UTC) and an age: a time of day without
    its zone is refused as the REST bodies refuse it, in a tool error naming the argument."""
    srv, creds = served
    url = f"{srv.url}/mcp/{creds['mcp_token']}"
    accept = {"Accept": "application/json, text/event-stream"}

    def listing(since: str) -> dict[str, Any]:
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "list_annotations", "arguments": {"since": since}}}
        r = httpx.post(url, json=call, headers=accept)
        assert r.status_code == 200, r.text
        return r.json()["result"]

    refused = listing("2024-06-01T10:00")
    assert refused["isError"] and f"since 2024-06-01T10:00 {NO_ZONE}" in refused["content"][0]["text"], refused
    for since in ("2024-06-01T10:00Z", "2024-06-01T12:00+02:00", "2024-06-01", "12h"):
        assert not listing(since)["isError"], since


def test_the_published_schema_states_the_rule(served):
    """A client generated from /openapi.json is told the zone is needed, not only "date-time"."""
    srv, _ = served
    schemas = httpx.get(f"{srv.url}/openapi.json").json()["components"]["schemas"]
    for model, field in (("TokenCreate", "expires_at"), ("CompleteRequest", "completedAt")):
        described = schemas[model]["properties"][field]
        assert "date and time with its timezone" in described["description"], (model, described)
