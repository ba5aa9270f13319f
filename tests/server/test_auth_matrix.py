"""Authorisation matrix: every endpoint x every kind of credential, each cell the code the documents promise.

Rows are the operations of /openapi.json plus the routes outside it (/mcp/<token>, PUT /uploads
signed and unsigned); columns are the credentials of ``tests/server/world.py`` (read its
CREDENTIALS for what each column is). The expected codes are written by hand from
greatfeedback-api.txt, feedback-sessions-api.txt, test-sessions-api.txt and README's choices,
never computed from the code under test. Every request is valid, so only the credential decides.

How the columns read, in short (spec: "404 = doesn't exist OR is in a workspace the caller doesn't own"):
- 401 for no, unknown, revoked or wrong-kind credentials (a store key is not a bearer of /api/v1, a
  test-sessions JWT is not a session, an MCP or widget token is not an API token);
- 400 for a session without X-GF-Workspace; 404 for a session naming a workspace its user is not in;
- 403 for a role below the endpoint's minimum (GUEST writes that need MEMBER, tokens on OWNER-session
  endpoints), 404 for any resource of workspace A reached with B's credentials (or B's workspace header);
- API tokens on the OWNER-session-only secrets endpoints: 403 whatever their workspace ("API tokens cannot
  read these endpoints"; refused before any lookup, so B's token learns nothing about A's site);
- PATCH and replies on an annotation are GUEST in the document's table, so a GUEST token gets 200/201;
- each other API takes only its own credential: the store key on feedback sessions (B's key lists its own,
  A's sessions are 404), test-sessions JWTs on /api/sessions and /api/studies (GUEST: reads 200, writes 403;
  B's: A's study and sessions 404), the review token on the reviewers' widget, the widget token (with or
  without a stakeholder's) on the widget submit, the MCP token in /mcp/<token>; anything else there is 401;
- a signed PUT /uploads is authorised by its signature alone: 200 whoever sends it (and it echoes its key);
- GET /uploads/{key} (a picture an annotation or resolution names) takes what an annotation's read takes;
- listings aimed at "my workspace" (sites, personas, studies, feedback sessions) answer B's credentials
  with B's own rows, 200, and never one of A's ids (checked on every 2xx to a B-side credential).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from storage import accounts as accounts_repo
from tests.conftest import ENGINES, TEST_SETTINGS, on_engine
from tests.server.matrix_rows import ROWS, Req
from tests.server.world import CREDENTIALS, World, build_world, principal
from workbench.domain.roles import PrincipalKind
from workbench.server.app import create_app
from workbench.services import accounts
from workbench.services.context import Workbench

# Columns whose credential belongs to workspace B (or names it): a 2xx to them must not carry A's ids.
B_SIDE = ("strgr", "rival", "dualB", "rskey", "rjwt")

MATRIX = """
endpoint                                                               | none  junk  memb  guest owner nows  strgr revkd rival dualA dualB skey  rskey jwt   rjwt  gjwt  widgt stake revw  mcp
GET /api/v1/sites                                                      | 401   401   200   200   200   400   404   401   200   200   200   401   401   401   401   401   401   401   401   401
GET /api/v1/sites/{site_id}                                            | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
GET /api/v1/sites/{site_id}/annotations                                | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
GET /api/v1/sites/{site_id}/thread-changes                             | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
GET /api/v1/annotations/{annotation_id}                                | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
PATCH /api/v1/annotations/{annotation_id}                              | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
POST /api/v1/annotations/{annotation_id}/replies                       | 401   401   201   201   201   400   404   401   404   201   404   401   401   401   401   401   401   401   401   401
GET /api/v1/annotations/{annotation_id}/markdown                       | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
POST /api/v1/annotations/{annotation_id}/run-personas                  | 401   401   201   403   201   400   404   401   404   201   404   401   401   401   401   401   401   401   401   401
POST /api/v1/annotations/{annotation_id}/resolutions/upload-url        | 401   401   200   403   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
PUT /uploads/{key} (signed)                                            | 200   200   200   200   200   200   200   200   200   200   200   200   200   200   200   200   200   200   200   200
PUT /uploads/{key} (unsigned)                                          | 403   403   403   403   403   403   403   403   403   403   403   403   403   403   403   403   403   403   403   403
GET /uploads/{key}                                                     | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
POST /api/v1/annotations/{annotation_id}/resolutions                   | 401   401   201   403   201   400   404   401   404   201   404   401   401   401   401   401   401   401   401   401
GET /api/v1/annotations/{annotation_id}/resolutions                    | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
GET /api/v1/workspace                                                  | 401   401   200   200   200   400   404   401   200   200   200   401   401   401   401   401   401   401   401   401
GET /api/v1/store| 401   401   401   401   401   401   401   401   401   401   401   200   200   401   401   401   401   401   401   401
GET /api/personas/mine                                                 | 401   401   200   200   200   400   404   401   200   200   200   401   401   401   401   401   401   401   401   401
GET /api/personas/category/{category}                                  | 401   401   200   200   200   400   404   401   200   200   200   401   401   401   401   401   401   401   401   401
POST /api/personas/reset-defaults                                      | 401   401   200   403   200   400   404   401   200   200   200   401   401   401   401   401   401   401   401   401
GET /api/personas/{persona_id}                                         | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
PATCH /api/personas/{persona_id}                                       | 401   401   200   403   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
DELETE /api/personas/{persona_id}                                      | 401   401   204   403   204   400   404   401   404   204   404   401   401   401   401   401   401   401   401   401
POST /api/personas                                                     | 401   401   201   403   201   400   404   401   201   201   201   401   401   401   401   401   401   401   401   401
POST /api/workspaces/{workspace_id}/api-tokens                         | 401   401   403   403   201   400   404   401   404   403   404   401   401   401   401   401   401   401   401   401
GET /api/workspaces/{workspace_id}/api-tokens                          | 401   401   403   403   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
DELETE /api/workspaces/{workspace_id}/api-tokens/{token_id}            | 401   401   403   403   204   400   404   401   404   404   404   401   401   401   401   401   401   401   401   401
DELETE /api/workspaces/{workspace_id}                                  | 401   401   403   403   200   400   404   401   404   403   404   401   401   401   401   401   401   401   401   401
POST /api/workspaces/{workspace_id}/restore                            | 401   401   403   403   200   400   404   401   404   403   404   401   401   401   401   401   401   401   401   401
GET /api/widget/sites/{site_id}/secrets                                | 401   401   403   403   200   400   404   401   403   403   404   401   401   401   401   401   401   401   401   401
POST /api/widget/sites/{site_id}/secrets/rotate-mcp-token              | 401   401   403   403   200   400   404   401   403   403   404   401   401   401   401   401   401   401   401   401
POST /api/widget/sites/{site_id}/stakeholders                          | 401   401   201   403   201   400   404   401   404   201   404   401   401   401   401   401   401   401   401   401
GET /api/widget/sites/{site_id}/stakeholders                           | 401   401   200   200   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
PATCH /api/widget/sites/{site_id}/stakeholders/{token}                 | 401   401   200   403   200   400   404   401   404   200   404   401   401   401   401   401   401   401   401   401
DELETE /api/widget/sites/{site_id}/stakeholders/{token}                | 401   401   204   403   204   400   404   401   404   204   404   401   401   401   401   401   401   401   401   401
GET /api/widget/sites/{site_id}/config                                | 401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   200   200   401   401
GET /api/widget/sites/{site_id}/mine                                  | 401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   200   200   401   401
POST /api/widget/sites/{site_id}/annotations                           | 401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   201   201   401   401
GET /api/studies                                                       | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   200   200   401   401   401   401
GET /api/v1/feedback-sessions                                          | 401   401   401   401   401   401   401   401   401   401   401   200   200   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions                                         | 401   401   401   401   401   401   401   401   401   401   401   201   201   401   401   401   401   401   401   401
GET /api/v1/feedback-sessions/{session_id}                             | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
GET /api/v1/feedback-sessions/{session_id}/comments                    | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/cancel                     | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/finalize                   | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/start-work                 | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/submit-round               | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/return-to-review           | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/approve-tasks              | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/builder-finished           | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/builder-failed             | 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/comments/{comment_id}/resolve| 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/v1/feedback-sessions/{session_id}/comments/{comment_id}/reopen| 401   401   401   401   401   401   401   401   401   401   401   200   404   401   401   401   401   401   401   401
POST /api/widget/feedback-sessions/{session_id}/comments               | 401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   201   401
GET /api/widget/feedback-sessions/{session_id}/comments                | 401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   200   401
POST /api/sessions                                                     | 401   401   401   401   401   401   401   401   401   401   401   401   401   201   404   403   401   401   401   401
GET /api/sessions                                                      | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   200   401   401   401   401
GET /api/sessions/{session_id}                                         | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   200   401   401   401   401
POST /api/sessions/{session_id}/complete                               | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   403   401   401   401   401
POST /api/sessions/{session_id}/analyze                                | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   403   401   401   401   401
GET /api/sessions/{session_id}/notes                                   | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   200   401   401   401   401
PATCH /api/sessions/{session_id}/notes                                 | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   403   401   401   401   401
POST /api/sessions/{session_id}/confirm                                | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   403   401   401   401   401
POST /api/sessions/{session_id}/feedback                               | 401   401   401   401   401   401   401   401   401   401   401   401   401   201   404   403   401   401   401   401
POST /api/sessions/{session_id}/pause                                  | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   403   401   401   401   401
POST /api/sessions/{session_id}/resume                                 | 401   401   401   401   401   401   401   401   401   401   401   401   401   200   404   403   401   401   401   401
POST /mcp/{token}                                                      | 401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   401   200
"""


def parse_matrix(text: str) -> dict[tuple[str, str], int]:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    header = lines[0].split("|")[1].split()
    assert header == list(CREDENTIALS), f"matrix columns {header} != {list(CREDENTIALS)}"
    cells = {}
    for line in lines[1:]:
        row, codes = line.split("|")
        values = codes.split()
        assert len(values) == len(header), f"row {row.strip()!r} has {len(values)} cells"
        cells.update({(row.strip(), col): int(v) for col, v in zip(header, values, strict=True)})
    return cells


def heal(w: World) -> None:
    """Undo what a cell may leave behind that would change the next cell's answer (a deleted workspace)."""
    for ws, owner in ((w.a["workspace_id"], w.a["owner_user_id"]), (w.b["workspace_id"], w.b["owner_user_id"])):
        found = accounts_repo.get_workspace(w.wb.store.db, ws)
        if found is not None and found.deleted_at is not None:
            accounts.restore_workspace(w.wb, principal(ws, owner, kind=PrincipalKind.SESSION), ws)


def send(client: TestClient, w: World, col: str, req: Req):
    headers = {**w.headers[col], **req.headers}
    return client.request(req.method, req.path, json=req.json, content=req.content, headers=headers)


# The store key and the JWT move their row's session to a new status, so they go last: every other
# column meets the session in the status the row was prepared for (a 403 must not become a 409).
RUN_ORDER = [c for c in CREDENTIALS if c not in ("skey", "jwt")] + ["skey", "jwt"]


def run_matrix(client: TestClient, w: World) -> dict[tuple[str, str], tuple[int, str]]:
    got = {}
    for row, prepare in ROWS.items():
        build = prepare(w)
        for col in RUN_ORDER:
            r = send(client, w, col, build(w, col))
            got[(row, col)] = (r.status_code, r.text)
            heal(w)
    return got


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Per module, not per test: the module's store outlives one test (tests/conftest.py, on_engine)."""
    yield from on_engine(request)


@pytest.fixture(scope="module")
def world_and_client(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[tuple[World, TestClient]]:
    wb = Workbench.open(str(tmp_path_factory.mktemp("matrix")), mailer=None)
    w = build_world(wb)
    app = create_app(wb, TEST_SETTINGS)
    with TestClient(app) as c:
        app.state.sweep.result(timeout=10)
        yield w, c
    wb.store.close()


def test_the_matrix_covers_every_operation_of_the_schema(world_and_client):
    _, client = world_and_client
    schema = client.get("/openapi.json").json()
    operations = {f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops}
    rows = {row for row, _ in parse_matrix(MATRIX)}
    assert operations - {row.split(" (")[0] for row in rows} == set(), "endpoints missing from the matrix"
    assert set(ROWS) == rows, "every row of the table has its request, and every request its row"


def test_every_cell_answers_its_documented_code(world_and_client):
    w, client = world_and_client
    expected = parse_matrix(MATRIX)
    got = run_matrix(client, w)
    wrong = [f"{row} [{col}]: expected {want}, got {got[(row, col)][0]} {got[(row, col)][1][:160]}"
             for (row, col), want in expected.items() if got[(row, col)][0] != want]
    leaks = [f"{row} [{col}] leaked an id of workspace A" for (row, col), (code, text) in got.items()
             if col in B_SIDE and 200 <= code < 300 and not row.startswith("PUT /uploads") and any(i in text for i in w.ids_of_a)]
    # Issue 13, item 8: below MEMBER, a stakeholder listing shows only the last four characters.
    below_member = ("guest", "gjwt")
    secrets = [w.a["stakeholder_token"], w.a["stakeholder2_token"]]
    leaks += [f"{row} [{col}] showed a stakeholder token to a role that may not create one" for (row, col), (code, text) in got.items()
              if col in below_member and 200 <= code < 300 and any(s in text for s in secrets)]
    assert not wrong + leaks, f"{len(wrong)} cells differ, {len(leaks)} leaks:\n" + "\n".join(wrong + leaks)
