"""One valid request per endpoint of the matrix, built fresh for each cell where the request consumes its target.

Every request is one that its rightful caller gets a 2xx for, so a cell's code is decided by
the credential alone. A row that needs a feedback or test session in a given status gets a new
one of store A / study A for every row (only the store key and the JWT of A can move them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from storage import feedback_sessions as fs_repo
from tests.images import PNG
from tests.server.world import World
from tests.session_helpers import wait_until
from workbench.domain.annotations import ResolutionCreate, StakeholderCreate, UploadUrlRequest
from workbench.domain.errors import Conflict
from workbench.domain.feedback_sessions import FeedbackAction
from workbench.domain.personas import PersonaCreate
from workbench.domain.test_sessions import CompleteRequest, TestSessionCreate
from workbench.domain.tokens import TokenCreate
from workbench.services import accounts, personas, resolutions, sites
from workbench.services import feedback_sessions as fsvc
from workbench.services import test_sessions as tsvc

MCP_INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "matrix", "version": "1"}}}


@dataclass
class Req:
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)  # added to the column's credential headers
    content: bytes | None = None


Build = Callable[[World, str], Req]  # (world, column) -> the request of that cell


def _ann(w: World) -> str:
    return w.a["annotation_id"]


def _persona_id(w: World) -> str:
    return personas.list_mine(w.wb, w.owner_a)[0].id


def _fresh_persona(w: World, col: str) -> Req:
    p = personas.create(w.wb, w.owner_a, PersonaCreate(name=f"Doomed {col}", category="accessibility"))
    return Req("DELETE", f"/api/personas/{p.id}")


def _fresh_token(w: World, col: str) -> Req:
    # Minted by A's OWNER: theirs to revoke, not a MEMBER's.
    token, _ = accounts.mint_token(w.wb, w.owner_a, w.a["workspace_id"], TokenCreate(name=f"doomed {col}"))
    return Req("DELETE", f"/api/workspaces/{w.a['workspace_id']}/api-tokens/{token.id}")


def _fresh_stakeholder(w: World, col: str) -> Req:
    token = sites.create_stakeholder(w.wb, w.owner_a, w.a["site_id"], StakeholderCreate(name=f"doomed {col}")).token
    return Req("DELETE", f"/api/widget/sites/{w.a['site_id']}/stakeholders/{token}")


def _signed_put(w: World, col: str) -> Req:
    url = resolutions.upload_url(w.wb, w.owner_a, _ann(w), UploadUrlRequest(kind="after"), "http://testserver")["url"]
    parts = urlsplit(url)
    return Req("PUT", f"{parts.path}?{parts.query}", headers={"Content-Type": "image/png"}, content=PNG)


def _unsigned_put(w: World, col: str) -> Req:
    url = resolutions.upload_url(w.wb, w.owner_a, _ann(w), UploadUrlRequest(kind="after"), "http://testserver")["url"]
    return Req("PUT", urlsplit(url).path, headers={"Content-Type": "image/png"}, content=PNG)


def _evidence(w: World) -> Build:
    """A resolution of A's annotation with its after picture: the key the row reads."""
    up = resolutions.upload_url(w.wb, w.owner_a, _ann(w), UploadUrlRequest(kind="after"), "http://testserver")
    q = dict(parse_qsl(urlsplit(up["url"]).query))
    resolutions.receive_upload(w.wb, up["key"], q["expires"], q["signature"], "image/png", PNG)
    resolutions.create(w.wb, w.owner_a, _ann(w), ResolutionCreate(after_key=up["key"]))
    return lambda w, c: Req("GET", f"/uploads/{up['key']}")


# --- feedback sessions of store A, one per row, in the status the row's action needs ----------------

_FS_PATHS = {
    "created": [],
    "in_review": ["deploy"],
    "in_progress": ["deploy", FeedbackAction.START_WORK],
    "task_review": ["deploy", FeedbackAction.SUBMIT_ROUND],
    "processing": ["deploy", FeedbackAction.SUBMIT_ROUND, FeedbackAction.APPROVE_TASKS],
}


def _store_a(w: World):
    store = fs_repo.get_store(w.wb.store.db, w.a["store_id"])
    assert store is not None
    return store


_ENDS = {"created": FeedbackAction.CANCEL, "processing": FeedbackAction.BUILDER_FAILED, "in_review": FeedbackAction.FINALIZE,
         "in_progress": FeedbackAction.FINALIZE, "task_review": FeedbackAction.FINALIZE}


def _active(w: World) -> list[tuple[str, str]]:
    """(id, status) of store A's sessions not yet ended."""
    found = [(s.id, s.status if isinstance(s.status, str) else s.status.value)
             for s in fsvc.list_sessions(w.wb, _store_a(w), limit="100", offset="0")[0]]
    return [(sid, status) for sid, status in found if status in _ENDS]


def _end_active(w: World) -> None:
    """Finish store A's active session, if any, so a new one may start (one active per store).

    A session a route started deploys in a background job: on PostgreSQL any worker's claimer runs
    it while this helper reads, so a ``created`` session may be ``in_review`` by the time it is
    cancelled. The table refuses that action, and the session is read again and ended from where it is."""
    def ended(active: list[tuple[str, str]]) -> bool:
        for sid, status in active:
            try:
                fsvc.act(w.wb, _store_a(w), sid, _ENDS[status])
            except Conflict:
                return False  # it moved on under us: read it again
        return True

    wait_until(lambda: _active(w), ended, what="store A's active sessions to end")


def feedback_session(w: World, status: str, with_comment: bool = False) -> tuple[str, str | None]:
    """A new session of store A in ``status`` (and the id of one comment on it, when asked)."""
    from workbench.domain.feedback_sessions import CommentCreate
    _end_active(w)
    store = _store_a(w)
    s = fsvc.start(w.wb, store)
    comment_id = None
    for step in _FS_PATHS[status]:
        if step == "deploy":
            fsvc.deploy(w.wb, s.id, env={})
            if with_comment:
                token = s.feedback_url.split("token=", 1)[1]
                comment_id = fsvc.add_comment(w.wb, s.id, token, CommentCreate(content="Make the logo larger", pagePath="/")).id
        else:
            fsvc.act(w.wb, store, s.id, step)
    return s.id, comment_id


def _fs_row(action: str, status: str) -> Callable[[World], Build]:
    def prepare(w: World) -> Build:
        sid, _ = feedback_session(w, status)
        return lambda w, col: Req("POST", f"/api/v1/feedback-sessions/{sid}/{action}")
    return prepare


def _fs_comment_row(action: str) -> Callable[[World], Build]:
    def prepare(w: World) -> Build:
        sid, cid = feedback_session(w, "in_review", with_comment=True)
        assert cid is not None
        if action == "reopen":
            fsvc.set_comment_resolved(w.wb, _store_a(w), sid, cid, True)
        return lambda w, col: Req("POST", f"/api/v1/feedback-sessions/{sid}/comments/{cid}/{action}")
    return prepare


def _fs_create(w: World) -> Build:
    _end_active(w)
    return lambda w, col: Req("POST", "/api/v1/feedback-sessions")


# --- test sessions of study A, one per row ----------------------------------------------------------


def make_test_session(w: World, status: str) -> str:
    p = w.owner_a
    sid = tsvc.create(w.wb, p, TestSessionCreate(jobId=w.a["job_id"], testerId="matrix")).id
    if status == "paused":
        tsvc.pause(w.wb, p, sid)
    if status in ("completed", "analyzed"):
        tsvc.complete(w.wb, p, sid, CompleteRequest())
    if status == "analyzed":
        tsvc.analyze(w.wb, p, sid)
        tsvc.run_analysis(w.wb, sid)
    return sid


def _ts_row(method: str, suffix: str, status: str, body: Any = None) -> Callable[[World], Build]:
    def prepare(w: World) -> Build:
        sid = make_test_session(w, status)
        return lambda w, col: Req(method, f"/api/sessions/{sid}{suffix}", json=body)
    return prepare


def _static(build: Build) -> Callable[[World], Build]:
    return lambda w: build


def _mcp(w: World, col: str) -> Req:
    # The MCP credential travels in the path: each column puts its own secret there.
    secret = w.secrets[col] or "-"
    return Req("POST", f"/mcp/{secret}", json=MCP_INIT, headers={"Accept": "application/json, text/event-stream"})


def ws(w: World) -> str:
    return w.a["workspace_id"]


def site(w: World) -> str:
    return w.a["site_id"]


# Row key (method + OpenAPI path, or a label for the non-schema routes) -> prepare(world) -> build(world, column).
ROWS: dict[str, Callable[[World], Build]] = {
    "GET /api/v1/sites": _static(lambda w, c: Req("GET", "/api/v1/sites")),
    "GET /api/v1/sites/{site_id}": _static(lambda w, c: Req("GET", f"/api/v1/sites/{site(w)}")),
    "GET /api/v1/sites/{site_id}/annotations": _static(lambda w, c: Req("GET", f"/api/v1/sites/{site(w)}/annotations")),
    "GET /api/v1/sites/{site_id}/thread-changes": _static(lambda w, c: Req("GET", f"/api/v1/sites/{site(w)}/thread-changes")),
    "GET /api/v1/annotations/{annotation_id}": _static(lambda w, c: Req("GET", f"/api/v1/annotations/{_ann(w)}")),
    "PATCH /api/v1/annotations/{annotation_id}": _static(
        lambda w, c: Req("PATCH", f"/api/v1/annotations/{_ann(w)}", json={"summary": f"seen by {c}"})),
    "POST /api/v1/annotations/{annotation_id}/replies": _static(
        lambda w, c: Req("POST", f"/api/v1/annotations/{_ann(w)}/replies", json={"body": f"reply from {c}"})),
    "GET /api/v1/annotations/{annotation_id}/markdown": _static(lambda w, c: Req("GET", f"/api/v1/annotations/{_ann(w)}/markdown")),
    "POST /api/v1/annotations/{annotation_id}/run-personas": _static(
        lambda w, c: Req("POST", f"/api/v1/annotations/{_ann(w)}/run-personas", json={"persona_ids": [_persona_id(w)]})),
    "POST /api/v1/annotations/{annotation_id}/resolutions/upload-url": _static(
        lambda w, c: Req("POST", f"/api/v1/annotations/{_ann(w)}/resolutions/upload-url", json={"kind": "after", "content_type": "image/png"})),
    "PUT /uploads/{key} (signed)": _static(_signed_put),
    "PUT /uploads/{key} (unsigned)": _static(_unsigned_put),
    "GET /uploads/{key}": _evidence,
    "POST /api/v1/annotations/{annotation_id}/resolutions": _static(
        lambda w, c: Req("POST", f"/api/v1/annotations/{_ann(w)}/resolutions", json={"diff_url": "https://github.com/acme/shop/pull/7"})),
    "GET /api/v1/annotations/{annotation_id}/resolutions": _static(lambda w, c: Req("GET", f"/api/v1/annotations/{_ann(w)}/resolutions")),
    "GET /api/v1/workspace": _static(lambda w, c: Req("GET", "/api/v1/workspace")),
    "GET /api/v1/store": _static(lambda w, c: Req("GET", "/api/v1/store")),
    "GET /api/personas/mine": _static(lambda w, c: Req("GET", "/api/personas/mine")),
    "GET /api/personas/category/{category}": _static(lambda w, c: Req("GET", "/api/personas/category/accessibility")),
    "POST /api/personas/reset-defaults": _static(
        lambda w, c: Req("POST", "/api/personas/reset-defaults", json={"slug": personas.list_mine(w.wb, w.owner_a)[0].slug})),
    "GET /api/personas/{persona_id}": _static(lambda w, c: Req("GET", f"/api/personas/{_persona_id(w)}")),
    "PATCH /api/personas/{persona_id}": _static(lambda w, c: Req("PATCH", f"/api/personas/{_persona_id(w)}", json={"voice": f"as {c}"})),
    "DELETE /api/personas/{persona_id}": _static(_fresh_persona),
    "POST /api/personas": _static(lambda w, c: Req("POST", "/api/personas", json={"name": f"Custom {c}", "category": "accessibility"})),
    "POST /api/workspaces/{workspace_id}/api-tokens": _static(
        lambda w, c: Req("POST", f"/api/workspaces/{ws(w)}/api-tokens", json={"name": f"minted by {c}"})),
    "GET /api/workspaces/{workspace_id}/api-tokens": _static(lambda w, c: Req("GET", f"/api/workspaces/{ws(w)}/api-tokens")),
    "DELETE /api/workspaces/{workspace_id}/api-tokens/{token_id}": _static(_fresh_token),
    "DELETE /api/workspaces/{workspace_id}": _static(lambda w, c: Req("DELETE", f"/api/workspaces/{ws(w)}")),
    "POST /api/workspaces/{workspace_id}/restore": _static(lambda w, c: Req("POST", f"/api/workspaces/{ws(w)}/restore")),
    "GET /api/widget/sites/{site_id}/secrets": _static(lambda w, c: Req("GET", f"/api/widget/sites/{site(w)}/secrets")),
    "POST /api/widget/sites/{site_id}/secrets/rotate-mcp-token": _static(
        lambda w, c: Req("POST", f"/api/widget/sites/{w.a['site2_id']}/secrets/rotate-mcp-token")),
    "POST /api/widget/sites/{site_id}/stakeholders": _static(
        lambda w, c: Req("POST", f"/api/widget/sites/{site(w)}/stakeholders", json={"name": f"added by {c}"})),
    "GET /api/widget/sites/{site_id}/stakeholders": _static(lambda w, c: Req("GET", f"/api/widget/sites/{site(w)}/stakeholders")),
    "PATCH /api/widget/sites/{site_id}/stakeholders/{token}": _static(
        lambda w, c: Req("PATCH", f"/api/widget/sites/{site(w)}/stakeholders/{w.a['stakeholder2_token']}", json={"name": f"renamed by {c}"})),
    "DELETE /api/widget/sites/{site_id}/stakeholders/{token}": _static(_fresh_stakeholder),
    "GET /api/widget/sites/{site_id}/config": _static(lambda w, c: Req("GET", f"/api/widget/sites/{site(w)}/config")),
    "GET /api/widget/sites/{site_id}/mine": _static(
        lambda w, c: Req("GET", f"/api/widget/sites/{site(w)}/mine", headers={"X-GF-Submitter-Key": "k" * 43})),
    "POST /api/widget/sites/{site_id}/annotations": _static(
        lambda w, c: Req("POST", f"/api/widget/sites/{site(w)}/annotations", json={"page_url": "https://shop.acme.example/", "body": f"from {c}"})),
    "GET /api/studies": _static(lambda w, c: Req("GET", "/api/studies")),
    "GET /api/v1/feedback-sessions": _static(lambda w, c: Req("GET", "/api/v1/feedback-sessions")),
    "POST /api/v1/feedback-sessions": _fs_create,
    "GET /api/v1/feedback-sessions/{session_id}": lambda w: (
        lambda sid: (lambda w, c: Req("GET", f"/api/v1/feedback-sessions/{sid}")))(feedback_session(w, "in_review")[0]),
    "GET /api/v1/feedback-sessions/{session_id}/comments": lambda w: (
        lambda sid: (lambda w, c: Req("GET", f"/api/v1/feedback-sessions/{sid}/comments")))(feedback_session(w, "in_review")[0]),
    "POST /api/v1/feedback-sessions/{session_id}/cancel": _fs_row("cancel", "created"),
    "POST /api/v1/feedback-sessions/{session_id}/finalize": _fs_row("finalize", "in_review"),
    "POST /api/v1/feedback-sessions/{session_id}/start-work": _fs_row("start-work", "in_review"),
    "POST /api/v1/feedback-sessions/{session_id}/submit-round": _fs_row("submit-round", "in_review"),
    "POST /api/v1/feedback-sessions/{session_id}/return-to-review": _fs_row("return-to-review", "task_review"),
    "POST /api/v1/feedback-sessions/{session_id}/approve-tasks": _fs_row("approve-tasks", "task_review"),
    "POST /api/v1/feedback-sessions/{session_id}/builder-finished": _fs_row("builder-finished", "processing"),
    "POST /api/v1/feedback-sessions/{session_id}/builder-failed": _fs_row("builder-failed", "processing"),
    "POST /api/v1/feedback-sessions/{session_id}/comments/{comment_id}/resolve": _fs_comment_row("resolve"),
    "POST /api/v1/feedback-sessions/{session_id}/comments/{comment_id}/reopen": _fs_comment_row("reopen"),
    "POST /api/widget/feedback-sessions/{session_id}/comments": _static(
        lambda w, c: Req("POST", f"/api/widget/feedback-sessions/{w.a['review_session_id']}/comments",
                         json={"content": f"Bigger logo, says {c}", "pagePath": "/"})),
    "GET /api/widget/feedback-sessions/{session_id}/comments": _static(
        lambda w, c: Req("GET", f"/api/widget/feedback-sessions/{w.a['review_session_id']}/comments")),
    "POST /api/sessions": _static(lambda w, c: Req("POST", "/api/sessions", json={"jobId": w.a["job_id"], "testerId": f"t-{c}"})),
    "GET /api/sessions": _static(lambda w, c: Req("GET", f"/api/sessions?jobId={w.a['job_id']}")),
    "GET /api/sessions/{session_id}": _ts_row("GET", "", "active"),
    "POST /api/sessions/{session_id}/complete": _ts_row("POST", "/complete", "active"),
    "POST /api/sessions/{session_id}/analyze": _ts_row("POST", "/analyze", "completed"),
    "GET /api/sessions/{session_id}/notes": _ts_row("GET", "/notes", "active"),
    "PATCH /api/sessions/{session_id}/notes": _ts_row("PATCH", "/notes", "active", {"notes": [{"content": "hesitated at the total"}]}),
    "POST /api/sessions/{session_id}/confirm": _ts_row("POST", "/confirm", "analyzed", {"rating": 4}),
    "POST /api/sessions/{session_id}/feedback": _ts_row(
        "POST", "/feedback", "completed", {"clarity": 4, "difficulty": 2, "technicalIssues": False}),
    "POST /api/sessions/{session_id}/pause": _ts_row("POST", "/pause", "active"),
    "POST /api/sessions/{session_id}/resume": _ts_row("POST", "/resume", "paused"),
    "POST /mcp/{token}": _static(_mcp),
}
