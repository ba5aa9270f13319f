"""The test-sessions API over HTTP: every endpoint, the envelope on every answer, transitions and the analysis job."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

import httpx
import jwt as pyjwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_SETTINGS
from tests.session_helpers import bearer, other_workspace, owner, wait_until
from workbench.domain.errors import WORKSPACE_DELETED
from workbench.domain.test_sessions import (
    TRANSITIONS,
    CompleteRequest,
    ConfirmRequest,
    TestSessionAction,
    TestSessionCreate,
    TestSessionStatus,
)
from workbench.engine.offline import OfflineEngine
from workbench.server.app import create_app
from workbench.server.settings import ServerSettings
from workbench.services import test_sessions as tsvc
from workbench.services.auth import issue_session

BASE = "/api/sessions"
ENVELOPE = {"success", "data", "error", "metadata"}
# Endpoint and body of each action a caller may request (the analysis outcomes are the job's).
ENDPOINTS = {
    TestSessionAction.PAUSE: ("pause", None),
    TestSessionAction.RESUME: ("resume", None),
    TestSessionAction.COMPLETE: ("complete", None),
    TestSessionAction.ANALYZE: ("analyze", None),
    TestSessionAction.CONFIRM: ("confirm", {"rating": 4}),
}
PATHS = {
    TestSessionStatus.ACTIVE: [],
    TestSessionStatus.PAUSED: ["pause"],
    TestSessionStatus.COMPLETED: ["complete"],
    TestSessionStatus.ANALYZING: ["complete", "analyze"],
    TestSessionStatus.ANALYZED: ["complete", "analyze", "run"],
    TestSessionStatus.CONFIRMED: ["complete", "analyze", "run", "confirm"],
}


class BrokenEngine(OfflineEngine):
    def analyze_test_session(self, brief):  # ANN201
        raise RuntimeError("model unavailable")


@pytest.fixture
def j(creds) -> dict[str, str]:
    return bearer(creds["jwt"])


class Answer(Protocol):
    """What the envelope checks read of an answer: httpx's over TCP, or the TestClient's (an httpx2 one)."""

    status_code: int

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


def ok(r: Answer, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == ENVELOPE and body["success"] is True and body["error"] is None, body
    return body["data"]


def refused(r: Answer, status: int, code: str, message: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == ENVELOPE and body["success"] is False and body["data"] is None, body
    assert body["error"]["code"] == code and body["error"]["message"], body
    if message is not None:
        assert message in body["error"]["message"], body
    return body["error"]


def _create(client, j, job_id, tester="user_xyz789", **extra) -> dict:
    return ok(client.post(BASE, headers=j, json={"jobId": job_id, "testerId": tester, **extra}), 201)


def _reach(wb, creds, status: TestSessionStatus) -> str:
    """A session in ``status``, driven by the services (the analysis job run inline)."""
    p = owner(creds)
    sid = tsvc.create(wb, p, TestSessionCreate(jobId=creds["job_id"], testerId="t")).id
    for step in PATHS[status]:
        if step == "pause":
            tsvc.pause(wb, p, sid)
        elif step == "complete":
            tsvc.complete(wb, p, sid, CompleteRequest())
        elif step == "analyze":
            tsvc.analyze(wb, p, sid)
        elif step == "run":
            tsvc.run_analysis(wb, sid)
        elif step == "confirm":
            tsvc.confirm(wb, p, sid, ConfirmRequest(rating=5))
    assert tsvc.get(wb, p, sid).status == status.value
    return sid


def _iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _started_an_hour_ago(client, wb, j, job_id) -> tuple[str, datetime]:
    """A session whose run began an hour ago, so a completedAt 32 minutes after its start is in the past."""
    sid = _create(client, j, job_id)["sessionId"]
    with wb.store.write() as db:
        db.execute("UPDATE test_sessions SET started_at = started_at - 3600000 WHERE id = ?", [sid])
    return sid, _iso(ok(client.get(f"{BASE}/{sid}", headers=j))["startedAt"])


# --- create and get ---------------------------------------------------------------------------


def test_create_answers_the_documented_shape(client, j, creds):
    data = _create(client, j, creds["job_id"], variant="A")
    assert set(data) == {"sessionId", "jobId", "testerId", "variant", "status", "createdAt"}
    assert data["sessionId"].startswith("sess_") and data["jobId"] == creds["job_id"]
    assert (data["testerId"], data["variant"], data["status"]) == ("user_xyz789", "A", "active")
    assert len(data["createdAt"]) == 20 and data["createdAt"].endswith("Z")
    got = ok(client.get(f"{BASE}/{data['sessionId']}", headers=j))
    assert {"sessionId", "jobId", "testerId", "variant", "status", "startedAt", "completedAt", "durationSeconds"} <= set(got)
    assert got["startedAt"] == data["createdAt"] and got["completedAt"] is None and got["durationSeconds"] is None


def test_variants_are_balanced_through_the_api(client, j, creds):
    for i in range(3):
        _create(client, j, creds["job_id"], f"early{i}", variant="A")
    assigned = [_create(client, j, creds["job_id"], f"tester{i}")["variant"] for i in range(7)]
    assert assigned[:3] == ["B", "B", "B"]  # catches up with the explicit A's first
    assert sorted(assigned[3:5]) == ["A", "B"] and sorted(assigned[5:7]) == ["A", "B"]
    sessions = ok(client.get(BASE, headers=j, params={"jobId": creds["job_id"], "limit": 100}))["sessions"]
    assert sum(s["variant"] == "A" for s in sessions) == sum(s["variant"] == "B" for s in sessions) == 5


@pytest.mark.parametrize(
    "body",
    [
        {"testerId": "u"},
        {"jobId": "j"},
        {"jobId": "", "testerId": "u"},
        {"jobId": "j", "testerId": "u", "variant": "C"},
        {"jobId": "j", "testerId": "u", "extra": 1},
        [],
    ],
)
def test_create_422_for_bodies_off_schema(client, j, body):
    refused(client.post(BASE, headers=j, json=body), 422, "VALIDATION_ERROR")


def test_create_422_for_invalid_json(client, j):
    refused(client.post(BASE, headers={**j, "Content-Type": "application/json"}, content=b"{nope"), 422, "VALIDATION_ERROR", "not valid JSON")


def test_create_for_an_unknown_study_is_404(client, j):
    refused(client.post(BASE, headers=j, json={"jobId": "job_missing", "testerId": "u"}), 404, "NOT_FOUND", "Study not found")


# --- envelope on errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Missing bearer token"),
        ({"Authorization": "Basic abc"}, "Malformed Authorization header"),
        ({"Authorization": "Bearer not.a.jwt"}, "Invalid token"),
    ],
)
def test_401_is_enveloped_everywhere(client, headers, message):
    for method, path in (("POST", BASE), ("GET", f"{BASE}/x"), ("POST", f"{BASE}/x/complete"), ("POST", f"{BASE}/x/analyze"),
                         ("GET", f"{BASE}/x/notes"), ("PATCH", f"{BASE}/x/notes"), ("POST", f"{BASE}/x/confirm"),
                         ("POST", f"{BASE}/x/feedback"), ("POST", f"{BASE}/x/pause"), ("POST", f"{BASE}/x/resume"),
                         ("GET", f"{BASE}?jobId=x")):
        r = client.request(method, path, headers=headers)
        refused(r, 401, "UNAUTHORIZED", message)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_401_for_expired_foreign_and_wrong_type_tokens(client, wb, creds):
    expired = tsvc.issue_token(wb, creds["owner_user_id"], creds["workspace_id"], ttl=timedelta(seconds=-5))
    refused(client.get(f"{BASE}/x", headers=bearer(expired)), 401, "UNAUTHORIZED", "expired")
    refused(client.get(f"{BASE}/x", headers=bearer(issue_session(wb, creds["owner_user_id"]))), 401, "UNAUTHORIZED", "not valid")
    refused(client.get(f"{BASE}/x", headers=bearer(creds["member_token"])), 401, "UNAUTHORIZED")
    forged = pyjwt.encode({"sub": creds["owner_user_id"], "ws": creds["workspace_id"], "typ": "tests", "exp": 4102444800}, b"x" * 32)
    refused(client.get(f"{BASE}/x", headers=bearer(forged)), 401, "UNAUTHORIZED", "Invalid token")


def test_a_soft_deleted_workspace_is_403_for_the_jwt_until_restored(client, j, creds):
    # The JWT is a session bearer (README: soft-deleted workspace, sessions 403): still valid, the workspace closed for now.
    ws = creds["workspace_id"]
    owner_h = {**bearer(creds["owner_session"]), "X-GF-Workspace": ws}
    assert client.delete(f"/api/workspaces/{ws}", headers=owner_h).status_code == 200
    refused(client.post(BASE, headers=j, json={"jobId": creds["job_id"], "testerId": "t"}), 403, "FORBIDDEN",
            WORKSPACE_DELETED)
    refused(client.get(f"{BASE}/x", headers=j), 403, "FORBIDDEN")
    assert client.post(f"/api/workspaces/{ws}/restore", headers=owner_h).status_code == 200
    _create(client, j, creds["job_id"])


def test_unknown_routes_and_methods_are_enveloped(client, j):
    refused(client.get(f"{BASE}/x/unknown", headers=j), 404, "NOT_FOUND")
    refused(client.delete(f"{BASE}/x", headers=j), 405, "METHOD_NOT_ALLOWED")
    refused(client.get(f"{BASE}/missing", headers=j), 404, "NOT_FOUND", "Session not found")


def test_a_trailing_slash_is_an_enveloped_404_not_a_bare_redirect(client, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    for method, path in (("POST", f"{BASE}/"), ("GET", f"{BASE}/{sid}/"), ("PATCH", f"{BASE}/{sid}/notes/")):
        r = client.request(method, path, headers=j, json={"jobId": creds["job_id"], "testerId": "t"}, follow_redirects=False)
        error = refused(r, 404, "NOT_FOUND", "no trailing slash")
        assert path.rstrip("/") in error["message"]
    assert ok(client.get(f"{BASE}/{sid}", headers=j))["sessionId"] == sid


def test_a_body_too_large_has_its_own_code(wb, creds, j):
    with TestClient(create_app(wb, dataclasses.replace(TEST_SETTINGS, max_body_bytes=1024))) as c:
        r = c.patch(f"{BASE}/x/notes", headers=j, json={"notes": [{"content": "x" * 2000}]})
    refused(r, 413, "PAYLOAD_TOO_LARGE")


def test_rate_limited_answers_are_enveloped(wb, creds, j):
    with TestClient(create_app(wb, ServerSettings(token_limit=1, ip_limit=1000))) as c:
        c.get(f"{BASE}/x", headers=j)
        r = c.get(f"{BASE}/x", headers=j)
    refused(r, 429, "RATE_LIMITED", "Rate limit exceeded")
    assert "Retry-After" in r.headers


def test_other_apis_keep_their_error_shape(client, creds):
    r = client.get("/api/v1/sites/missing", headers=bearer(creds["member_token"]))
    assert r.status_code == 404 and set(r.json()) == {"detail"}
    assert set(client.get("/api/v1/feedback-sessions").json()) == {"detail"}


def test_idempotency_replay_keeps_the_envelope(client, j, creds):
    h = {**j, "Idempotency-Key": "create-1"}
    first = client.post(BASE, headers=h, json={"jobId": creds["job_id"], "testerId": "u"})
    again = client.post(BASE, headers=h, json={"jobId": creds["job_id"], "testerId": "u"})
    assert ok(again, 201) == ok(first, 201)
    refused(client.post(BASE, headers=h, json={"jobId": creds["job_id"], "testerId": "other"}), 422, "VALIDATION_ERROR")


def test_a_retried_notes_patch_with_its_idempotency_key_adds_the_notes_once(client, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    h = {**j, "Idempotency-Key": "patch-k1"}
    body = {"notes": [{"content": "retry me"}]}
    first = client.patch(f"{BASE}/{sid}/notes", headers=h, json=body)
    again = client.patch(f"{BASE}/{sid}/notes", headers=h, json=body)
    assert ok(again) == ok(first) == {"sessionId": sid, "updatedCount": 0, "createdCount": 1}
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert [n["content"] for n in ok(client.get(f"{BASE}/{sid}/notes", headers=j))["notes"]] == ["retry me"]
    refused(client.patch(f"{BASE}/{sid}/notes", headers=h, json={"notes": [{"content": "other"}]}), 422, "VALIDATION_ERROR")
    # Scoped to the method and the path: the same key on the create is another request, and so is another session's PATCH.
    other = _create(client, h, creds["job_id"])["sessionId"]
    ok(client.patch(f"{BASE}/{other}/notes", headers=h, json=body))
    assert len(ok(client.get(f"{BASE}/{other}/notes", headers=j))["notes"]) == 1
    # Without a key a PATCH runs each time, as before.
    ok(client.patch(f"{BASE}/{sid}/notes", headers=j, json=body))
    assert len(ok(client.get(f"{BASE}/{sid}/notes", headers=j))["notes"]) == 2


# --- isolation --------------------------------------------------------------------------------


def test_sessions_of_another_workspaces_study_are_404(client, wb, creds, j):
    rival = other_workspace(wb)
    theirs = _create(client, bearer(rival["jwt"]), rival["job_id"])["sessionId"]
    mine = _create(client, j, creds["job_id"])["sessionId"]
    for method, path, body in (("GET", f"{BASE}/{theirs}", None), ("POST", f"{BASE}/{theirs}/complete", None),
                               ("POST", f"{BASE}/{theirs}/analyze", None), ("GET", f"{BASE}/{theirs}/notes", None),
                               ("PATCH", f"{BASE}/{theirs}/notes", {"notes": [{"content": "x"}]}),
                               ("POST", f"{BASE}/{theirs}/confirm", {"rating": 5}),
                               ("POST", f"{BASE}/{theirs}/feedback", {"clarity": 3, "difficulty": 3, "technicalIssues": False}),
                               ("POST", f"{BASE}/{theirs}/pause", None), ("POST", f"{BASE}/{theirs}/resume", None)):
        refused(client.request(method, path, headers=j, json=body), 404, "NOT_FOUND")
    refused(client.post(BASE, headers=j, json={"jobId": rival["job_id"], "testerId": "u"}), 404, "NOT_FOUND", "Study not found")
    refused(client.get(BASE, headers=j, params={"jobId": rival["job_id"]}), 404, "NOT_FOUND")
    assert ok(client.get(f"{BASE}/{theirs}", headers=bearer(rival["jwt"])))["status"] == "active"  # untouched
    refused(client.get(f"{BASE}/{mine}", headers=bearer(rival["jwt"])), 404, "NOT_FOUND")


def test_notes_of_another_session_cannot_be_patched(client, j, creds):
    a = _create(client, j, creds["job_id"], "a")["sessionId"]
    b = _create(client, j, creds["job_id"], "b")["sessionId"]
    ok(client.patch(f"{BASE}/{a}/notes", headers=j, json={"notes": [{"content": "note of a"}]}))
    note_a = ok(client.get(f"{BASE}/{a}/notes", headers=j))["notes"][0]["noteId"]
    refused(client.patch(f"{BASE}/{b}/notes", headers=j, json={"notes": [{"noteId": note_a, "content": "hijack"}]}), 404, "NOT_FOUND")
    assert ok(client.get(f"{BASE}/{a}/notes", headers=j))["notes"][0]["content"] == "note of a"
    assert ok(client.get(f"{BASE}/{b}/notes", headers=j))["notes"] == []


# --- lifecycle --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(TestSessionStatus))
def test_every_action_from_every_status(client, wb, creds, j, status):
    for action, (segment, body) in ENDPOINTS.items():
        sid = _reach(wb, creds, status)
        r = client.post(f"{BASE}/{sid}/{segment}", headers=j, json=body)
        target = TRANSITIONS.get((status, action))
        if target is None:
            refused(r, 409, "CONFLICT", f"it is {status.value}")
            assert ok(client.get(f"{BASE}/{sid}", headers=j))["status"] == status.value
        else:
            assert ok(r)["status"] == target.value, (status, action)


def test_complete_defaults_to_now_and_derives_the_duration(client, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    started = _iso(ok(client.get(f"{BASE}/{sid}", headers=j))["startedAt"])
    before = datetime.now(UTC).replace(microsecond=0)
    data = ok(client.post(f"{BASE}/{sid}/complete", headers=j))
    assert set(data) == {"sessionId", "status", "completedAt"} and data["status"] == "completed"
    assert before <= _iso(data["completedAt"]) <= datetime.now(UTC)
    got = ok(client.get(f"{BASE}/{sid}", headers=j))
    assert got["durationSeconds"] == int((_iso(got["completedAt"]) - started).total_seconds())


def test_complete_with_a_given_time(client, wb, j, creds):
    sid, started = _started_an_hour_ago(client, wb, j, creds["job_id"])
    ok(client.post(f"{BASE}/{sid}/pause", headers=j))
    at = (started + timedelta(minutes=32)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ok(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": at}))["completedAt"] == at
    assert ok(client.get(f"{BASE}/{sid}", headers=j))["durationSeconds"] == 1920


def test_complete_refuses_a_time_without_its_zone_and_takes_an_offset(client, wb, j, creds):
    """The document writes every time with Z; a time without a zone was read as UTC, so a client's
    local time moved the run's end by its offset. Refused, saying what to add; an offset is the
    instant it names (tests/server/test_timestamps.py: the same rule for every timestamp sent)."""
    sid, started = _started_an_hour_ago(client, wb, j, creds["job_id"])
    at = started + timedelta(minutes=32)
    naive = at.strftime("%Y-%m-%dT%H:%M:%S")
    refused(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": naive}), 422, "VALIDATION_ERROR",
            f"completedAt: {naive} has no timezone: add Z for UTC or an offset such as +02:00")
    east = at.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    data = ok(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": east}))
    assert data["completedAt"] == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ok(client.get(f"{BASE}/{sid}", headers=j))["durationSeconds"] == 1920


def test_complete_refusals(client, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    started = _iso(ok(client.get(f"{BASE}/{sid}", headers=j))["startedAt"])
    early = (started - timedelta(seconds=1)).isoformat()
    refused(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": early}), 400, "BAD_REQUEST", "before the session started")
    refused(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": "soon"}), 422, "VALIDATION_ERROR")
    refused(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": "9999-12-31T23:59:59-05:00"}), 422, "VALIDATION_ERROR")
    # Later than now (beyond a few minutes of clock skew) is refused like a time before the start.
    refused(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": "2099-01-01T00:00:00Z"}), 400, "BAD_REQUEST",
            "completedAt is in the future (more than 5 minutes after the server's clock)")
    soon = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    refused(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": soon}), 400, "BAD_REQUEST", "in the future")
    # The documents write a date and a time: a number (epoch seconds) or a bare date (midnight) is a type error.
    for bad in (123, "2026-12-02"):
        refused(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": bad}), 422, "VALIDATION_ERROR",
                "completedAt: must be an ISO 8601 date and time")
    assert ok(client.get(f"{BASE}/{sid}", headers=j))["status"] == "active"
    ok(client.post(f"{BASE}/{sid}/complete", headers=j, json={}))
    refused(client.post(f"{BASE}/{sid}/complete", headers=j), 409, "CONFLICT", "it is completed")


def test_pause_and_resume(client, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    assert ok(client.post(f"{BASE}/{sid}/pause", headers=j))["status"] == "paused"
    refused(client.post(f"{BASE}/{sid}/pause", headers=j), 409, "CONFLICT")
    assert ok(client.post(f"{BASE}/{sid}/resume", headers=j))["status"] == "active"
    refused(client.post(f"{BASE}/{sid}/resume", headers=j), 409, "CONFLICT")


# --- analysis (background job) ----------------------------------------------------------------


def test_analyze_runs_in_the_background_and_get_shows_the_analysis(client, wb, j, creds):
    sid, started = _started_an_hour_ago(client, wb, j, creds["job_id"])
    ok(client.patch(f"{BASE}/{sid}/notes", headers=j, json={"notes": [{"content": "Tester struggled with the checkout flow."}]}))
    ok(client.post(f"{BASE}/{sid}/complete", headers=j, json={"completedAt": (started + timedelta(seconds=1920)).isoformat()}))
    refused(client.post(f"{BASE}/{sid}/confirm", headers=j, json={"rating": 5}), 409, "CONFLICT", "analyzed")
    data = ok(client.post(f"{BASE}/{sid}/analyze", headers=j))
    assert data == {"sessionId": sid, "status": "analyzing", "estimatedCompletionSeconds": 45}
    got = wait_until(lambda: ok(client.get(f"{BASE}/{sid}", headers=j)), lambda s: s["status"] != "analyzing", what="analysis")
    assert got["status"] == "analyzed" and got["analysisError"] is None
    analysis = got["analysis"]
    assert "checkout" in analysis["summary"] and analysis["findings"] and analysis["analyzedAt"].endswith("Z")
    refused(client.post(f"{BASE}/{sid}/analyze", headers=j), 409, "CONFLICT", "completed")


def test_a_failed_analysis_returns_to_completed_and_can_be_retried(client, wb, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    ok(client.post(f"{BASE}/{sid}/complete", headers=j))
    wb.engine = BrokenEngine()
    ok(client.post(f"{BASE}/{sid}/analyze", headers=j))
    got = wait_until(lambda: ok(client.get(f"{BASE}/{sid}", headers=j)), lambda s: s["status"] != "analyzing", what="analysis")
    assert got["status"] == "completed" and "model unavailable" in got["analysisError"] and got["analysis"] is None
    wb.engine = OfflineEngine()
    ok(client.post(f"{BASE}/{sid}/analyze", headers=j))
    got = wait_until(lambda: ok(client.get(f"{BASE}/{sid}", headers=j)), lambda s: s["status"] != "analyzing", what="analysis")
    assert got["status"] == "analyzed" and got["analysisError"] is None


def test_a_restarted_server_resumes_analyses(wb, creds, j):
    sid = _reach(wb, creds, TestSessionStatus.ANALYZING)  # as if the server died mid-analysis
    with TestClient(create_app(wb, TEST_SETTINGS)) as c:
        got = wait_until(lambda: ok(c.get(f"{BASE}/{sid}", headers=j)), lambda s: s["status"] != "analyzing", what="analysis")
    assert got["status"] == "analyzed"


# --- notes ------------------------------------------------------------------------------------


def test_notes_create_update_and_list(client, wb, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    assert ok(client.get(f"{BASE}/{sid}/notes", headers=j)) == {"sessionId": sid, "notes": []}
    data = ok(client.patch(f"{BASE}/{sid}/notes", headers=j, json={"notes": [{"content": "first"}, {"content": "second"}]}))
    assert data == {"sessionId": sid, "updatedCount": 0, "createdCount": 2}
    with wb.store.write() as db:  # written an hour ago, so an update stamping "now" would show
        db.execute("UPDATE test_notes SET timestamp = timestamp - 3600000 WHERE session_id = ?", [sid])
    notes = ok(client.get(f"{BASE}/{sid}/notes", headers=j))["notes"]
    assert [n["content"] for n in notes] == ["first", "second"]
    assert set(notes[0]) == {"noteId", "content", "timestamp", "authorId"} and notes[0]["noteId"].startswith("note_")
    assert notes[0]["authorId"] == creds["owner_user_id"]
    body = {"notes": [{"noteId": notes[0]["noteId"], "content": "Updated: tester recovered."}, {"content": "New note."}]}
    assert ok(client.patch(f"{BASE}/{sid}/notes", headers=j, json=body)) == {"sessionId": sid, "updatedCount": 1, "createdCount": 1}
    after = ok(client.get(f"{BASE}/{sid}/notes", headers=j))["notes"]
    assert [n["content"] for n in after] == ["Updated: tester recovered.", "second", "New note."]
    # README: an update replaces the content only; when and by whom the note was written stay.
    assert (after[0]["timestamp"], after[0]["authorId"]) == (notes[0]["timestamp"], notes[0]["authorId"])


def test_notes_refusals(client, wb, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    refused(client.patch(f"{BASE}/{sid}/notes", headers=j, json={"notes": [{"noteId": "note_x", "content": "x"}]}), 404, "NOT_FOUND")
    # The document's example as written (note_001 is no note here): refused whole, its new note is not written either.
    example = {"notes": [{"noteId": "note_001", "content": "Updated: tester recovered after second attempt."},
                         {"content": "New note added post-session review."}]}
    refused(client.patch(f"{BASE}/{sid}/notes", headers=j, json=example), 404, "NOT_FOUND", "note_001")
    assert ok(client.get(f"{BASE}/{sid}/notes", headers=j))["notes"] == []
    ok(client.patch(f"{BASE}/{sid}/notes", headers=j, json={"notes": [{"content": "a"}]}))
    nid = ok(client.get(f"{BASE}/{sid}/notes", headers=j))["notes"][0]["noteId"]
    twice = {"notes": [{"noteId": nid, "content": "b"}, {"noteId": nid, "content": "c"}]}
    refused(client.patch(f"{BASE}/{sid}/notes", headers=j, json=twice), 400, "BAD_REQUEST", "more than once")
    for bad in ({"notes": []}, {"notes": [{"content": ""}]}, {}, {"notes": [{"content": "x", "author": "y"}]}):
        refused(client.patch(f"{BASE}/{sid}/notes", headers=j, json=bad), 422, "VALIDATION_ERROR")
    confirmed = _reach(wb, creds, TestSessionStatus.CONFIRMED)
    refused(client.patch(f"{BASE}/{confirmed}/notes", headers=j, json={"notes": [{"content": "late"}]}), 409, "CONFLICT", "confirmed")
    assert ok(client.get(f"{BASE}/{confirmed}/notes", headers=j))["notes"] == []


# --- confirm and feedback ---------------------------------------------------------------------


def test_confirm_queues_the_payout(client, wb, j, creds):
    sid = _reach(wb, creds, TestSessionStatus.ANALYZED)
    for bad in ({}, {"rating": 0}, {"rating": 6}, {"rating": "5"}, {"rating": 4.5}, {"rating": 5, "comment": "x" * 2001}):
        refused(client.post(f"{BASE}/{sid}/confirm", headers=j, json=bad), 422, "VALIDATION_ERROR")
    data = ok(client.post(f"{BASE}/{sid}/confirm", headers=j, json={"rating": 5, "comment": "Thorough and articulate tester."}))
    assert set(data) == {"sessionId", "status", "payoutQueued", "confirmedAt"}
    assert (data["status"], data["payoutQueued"]) == ("confirmed", True) and data["confirmedAt"].endswith("Z")
    got = ok(client.get(f"{BASE}/{sid}", headers=j))
    assert (got["rating"], got["payoutQueued"], got["confirmedAt"]) == (5, True, data["confirmedAt"])
    refused(client.post(f"{BASE}/{sid}/confirm", headers=j, json={"rating": 5}), 409, "CONFLICT")


def test_feedback_once_after_completion(client, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    body = {"clarity": 4, "difficulty": 3, "technicalIssues": False, "comment": "Instructions were clear."}
    refused(client.post(f"{BASE}/{sid}/feedback", headers=j, json=body), 409, "CONFLICT", "after the session is completed")
    ok(client.post(f"{BASE}/{sid}/complete", headers=j))
    for bad in ({"clarity": 0, "difficulty": 3, "technicalIssues": False}, {"clarity": 3, "difficulty": 6, "technicalIssues": False},
                {"clarity": 3, "difficulty": 3, "technicalIssues": "yes"}, {"clarity": 3, "difficulty": 3}):
        refused(client.post(f"{BASE}/{sid}/feedback", headers=j, json=bad), 422, "VALIDATION_ERROR")
    data = ok(client.post(f"{BASE}/{sid}/feedback", headers=j, json=body), 201)
    assert set(data) == {"sessionId", "feedbackId", "submittedAt"} and data["feedbackId"].startswith("fb_")
    refused(client.post(f"{BASE}/{sid}/feedback", headers=j, json=body), 409, "CONFLICT", "already submitted")


def test_the_text_limits_readme_names(client, wb, j, creds):
    """The document sets no sizes; README names the server's, each taken at its edge and refused one past it."""
    job = creds["job_id"]
    refused(client.post(BASE, headers=j, json={"jobId": job, "testerId": "t" * 201}), 422, "VALIDATION_ERROR", "testerId")
    sid = _create(client, j, job, "t" * 200)["sessionId"]
    refused(client.patch(f"{BASE}/{sid}/notes", headers=j, json={"notes": [{"content": "n" * 10001}]}), 422, "VALIDATION_ERROR")
    refused(client.patch(f"{BASE}/{sid}/notes", headers=j, json={"notes": [{"content": "n"}] * 101}), 422, "VALIDATION_ERROR")
    assert ok(client.patch(f"{BASE}/{sid}/notes", headers=j, json={"notes": [{"content": "n" * 10000}] + [{"content": "n"}] * 99}))["createdCount"] == 100
    done = _reach(wb, creds, TestSessionStatus.COMPLETED)
    body = {"clarity": 4, "difficulty": 3, "technicalIssues": False}
    refused(client.post(f"{BASE}/{done}/feedback", headers=j, json={**body, "comment": "c" * 5001}), 422, "VALIDATION_ERROR", "comment")
    ok(client.post(f"{BASE}/{done}/feedback", headers=j, json={**body, "comment": "c" * 5000}), 201)


@pytest.mark.parametrize("status", ["analyzing", "analyzed", "confirmed"])
def test_feedback_is_accepted_in_later_statuses(client, wb, j, creds, status):
    sid = _reach(wb, creds, TestSessionStatus(status))
    ok(client.post(f"{BASE}/{sid}/feedback", headers=j, json={"clarity": 5, "difficulty": 1, "technicalIssues": True}), 201)


def test_guest_tokens_are_read_only(client, wb, j, creds):
    sid = _create(client, j, creds["job_id"])["sessionId"]
    guest_id = wb.store.db.execute("SELECT id FROM users WHERE email = 'guest@example.com'").fetchone()[0]
    g = bearer(tsvc.issue_token(wb, guest_id, creds["workspace_id"]))
    assert ok(client.get(f"{BASE}/{sid}", headers=g))["sessionId"] == sid
    refused(client.post(f"{BASE}/{sid}/complete", headers=g), 403, "FORBIDDEN")
    refused(client.post(BASE, headers=g, json={"jobId": creds["job_id"], "testerId": "u"}), 403, "FORBIDDEN")


def test_a_read_only_token_is_refused_whatever_its_body(client, wb, j, creds):
    """Its 403 comes before the body is judged: a 422 would tell it how to fix a write it may not make."""
    sid = _create(client, j, creds["job_id"])["sessionId"]
    guest_id = wb.store.db.execute("SELECT id FROM users WHERE email = 'guest@example.com'").fetchone()[0]
    g = bearer(tsvc.issue_token(wb, guest_id, creds["workspace_id"]))
    for method, path, body in (
        ("POST", BASE, {"jobId": creds["job_id"]}),
        ("POST", f"{BASE}/{sid}/complete", {"completedAt": "not a time"}),
        ("PATCH", f"{BASE}/{sid}/notes", {"notes": []}),
        ("POST", f"{BASE}/{sid}/confirm", {"rating": 9}),
        ("POST", f"{BASE}/{sid}/feedback", {"clarity": 0}),
    ):
        refused(client.request(method, path, headers=g, json=body), 403, "FORBIDDEN")
        refused(client.request(method, path, headers=j, json=body), 422, "VALIDATION_ERROR")


# --- extension: a study's sessions ------------------------------------------------------------


def test_list_a_studys_sessions_with_filters(client, wb, j, creds):
    second = tsvc.create_study(wb, owner(creds), "Other study").id
    ids = [_create(client, j, creds["job_id"], f"t{i}", variant="A" if i % 2 else "B")["sessionId"] for i in range(4)]
    _create(client, j, second, "elsewhere")
    ok(client.post(f"{BASE}/{ids[0]}/complete", headers=j))
    r = client.get(BASE, headers=j, params={"jobId": creds["job_id"]})
    body = r.json()
    assert [s["sessionId"] for s in ok(r)["sessions"]] == ids[::-1]
    assert body["metadata"] == {"total": 4, "limit": 50, "offset": 0}
    page = client.get(BASE, headers=j, params={"jobId": creds["job_id"], "limit": 2, "offset": 1}).json()
    assert [s["sessionId"] for s in page["data"]["sessions"]] == [ids[2], ids[1]] and page["metadata"]["total"] == 4
    completed = ok(client.get(BASE, headers=j, params={"jobId": creds["job_id"], "status": "completed"}))["sessions"]
    assert [s["sessionId"] for s in completed] == [ids[0]]
    a_side = ok(client.get(BASE, headers=j, params={"jobId": creds["job_id"], "variant": "A"}))["sessions"]
    assert {s["sessionId"] for s in a_side} == {ids[1], ids[3]}
    by_tester = ok(client.get(BASE, headers=j, params={"jobId": creds["job_id"], "testerId": "t2"}))["sessions"]
    assert [s["sessionId"] for s in by_tester] == [ids[2]]
    assert [s["testerId"] for s in ok(client.get(BASE, headers=j, params={"jobId": second}))["sessions"]] == ["elsewhere"]


@pytest.mark.parametrize(
    "params", [{}, {"jobId": "x", "limit": 0}, {"jobId": "x", "limit": 101}, {"jobId": "x", "offset": -1}, {"jobId": "x", "status": "done"},
               {"jobId": "x", "variant": "C"}]
)
def test_list_400_for_bad_queries(client, j, params):
    refused(client.get(BASE, headers=j, params=params), 400, "BAD_REQUEST")


# --- the real server over TCP -----------------------------------------------------------------


@pytest.mark.e2e
def test_study_run_against_the_real_server(server):
    out = subprocess.run([sys.executable, "-m", "workbench", "admin", "bootstrap", "--data-dir", str(server.data_dir), "--json"],
                         capture_output=True, text=True, check=True)
    creds = json.loads(out.stdout)
    j = bearer(creds["jwt"])
    with httpx.Client(base_url=server.url, timeout=10) as c:
        refused(c.get(f"{BASE}/x"), 401, "UNAUTHORIZED")
        sid = _create(c, j, creds["job_id"], "user_tcp")["sessionId"]
        ok(c.patch(f"{BASE}/{sid}/notes", headers=j, json={"notes": [{"content": "Completed the purchase without help."}]}))
        ok(c.post(f"{BASE}/{sid}/complete", headers=j))
        ok(c.post(f"{BASE}/{sid}/feedback", headers=j, json={"clarity": 5, "difficulty": 2, "technicalIssues": False}), 201)
        assert ok(c.post(f"{BASE}/{sid}/analyze", headers=j))["status"] == "analyzing"
        got = wait_until(lambda: ok(c.get(f"{BASE}/{sid}", headers=j)), lambda s: s["status"] != "analyzing", what="analysis")
        assert got["status"] == "analyzed" and got["analysis"]["summary"]
        assert ok(c.post(f"{BASE}/{sid}/confirm", headers=j, json={"rating": 5}))["payoutQueued"] is True
        refused(c.post(f"{BASE}/{sid}/confirm", headers=j, json={"rating": 5}), 409, "CONFLICT")
        refused(c.get(f"{BASE}/{sid}/nothing-here", headers=j), 404, "NOT_FOUND")


@pytest.mark.e2e
def test_the_studies_list_refuses_in_the_envelope_it_answers_in(server):
    """QA: GET /api/studies answers its studies in the envelope, as its OpenAPI description says,
    but a missing or bad JWT got the annotations API's {"detail": ...}, as did its trailing-slash
    404 and 405: a client reading error.message of the family it called found nothing."""
    out = subprocess.run([sys.executable, "-m", "workbench", "admin", "bootstrap", "--data-dir", str(server.data_dir), "--json"],
                         capture_output=True, text=True, check=True)
    creds = json.loads(out.stdout)
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert [s["jobId"] for s in ok(c.get("/api/studies", headers=bearer(creds["jwt"])))["studies"]] == [creds["job_id"]]
        missing = c.get("/api/studies")
        refused(missing, 401, "UNAUTHORIZED", "Missing bearer token")
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        refused(c.get("/api/studies", headers=bearer("not.a.jwt")), 401, "UNAUTHORIZED", "Invalid token")
        refused(c.get("/api/studies/", headers=bearer(creds["jwt"])), 404, "NOT_FOUND", "no trailing slash")
        wrong_method = c.post("/api/studies", headers=bearer(creds["jwt"]))
        refused(wrong_method, 405, "METHOD_NOT_ALLOWED")
        assert wrong_method.headers["Allow"] == "GET"
        schema = c.get("/openapi.json").json()
        assert schema["paths"]["/api/studies"]["get"]["responses"]["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/Envelope_Any_")
