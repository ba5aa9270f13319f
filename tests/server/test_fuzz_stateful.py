"""Stateful schemathesis over a real `workbench serve`: chains of calls on real ids, one run per kind of caller.

Each run is one caller (a MEMBER token, a GUEST token, or the OWNER's session + X-GF-Workspace)
with the credential each API asks for: that caller's bearer on the annotations API, the store
key (wbsk_) on feedback sessions, a test-sessions JWT of the same user's role on /api/sessions,
the review token on the reviewers' widget. The schema's operations are chained by OpenAPI links
added here, in the test (the server's schema stays as the documents describe it): a listed
site's id feeds every site route, a created persona or stakeholder its own routes, a created
feedback or test session its actions. The checks: no 5xx, every response matches its schema.

Bounded for CI; raise the counts for a nightly-style run (README, "Security testing"):
WORKBENCH_FUZZ_EXAMPLES (scenarios per caller, default 20) and WORKBENCH_FUZZ_STEPS (calls per
scenario, default 25); setting either also drops CI's fixed seed, so each nightly run explores anew.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import ENGINES, ServerProcess, on_engine
from tests.server.conftest import serve, served_world
from tests.server.world import World

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("WORKBENCH_FUZZ_EXAMPLES", "20"))
STEPS = int(os.environ.get("WORKBENCH_FUZZ_STEPS", "25"))
# CI replays the same scenarios every run; a nightly-style run (either count raised) explores new ones.
NIGHTLY = "WORKBENCH_FUZZ_EXAMPLES" in os.environ or "WORKBENCH_FUZZ_STEPS" in os.environ

SITE = "$response.body#/items/0/id"
# (source method, source path, status) -> [(target method, target path, {parameter: expression})]
LINKS: dict[tuple[str, str, str], list[tuple[str, str, dict[str, str]]]] = {
    ("get", "/api/v1/sites", "200"): [
        ("get", "/api/v1/sites/{site_id}", {"site_id": SITE}),
        ("get", "/api/v1/sites/{site_id}/annotations", {"site_id": SITE}),
        ("get", "/api/v1/sites/{site_id}/thread-changes", {"site_id": SITE}),
        ("post", "/api/widget/sites/{site_id}/annotations", {"site_id": SITE}),
        ("post", "/api/widget/sites/{site_id}/stakeholders", {"site_id": SITE}),
        ("get", "/api/widget/sites/{site_id}/stakeholders", {"site_id": SITE}),
        ("get", "/api/widget/sites/{site_id}/secrets", {"site_id": SITE}),
        ("post", "/api/widget/sites/{site_id}/secrets/rotate-mcp-token", {"site_id": SITE}),
        ("get", "/api/workspaces/{workspace_id}/api-tokens", {"workspace_id": "$response.body#/items/0/workspace_id"}),
        ("post", "/api/workspaces/{workspace_id}/api-tokens", {"workspace_id": "$response.body#/items/0/workspace_id"}),
        ("post", "/api/workspaces/{workspace_id}/restore", {"workspace_id": "$response.body#/items/0/workspace_id"}),
    ],
    ("post", "/api/workspaces/{workspace_id}/api-tokens", "201"): [
        ("delete", "/api/workspaces/{workspace_id}/api-tokens/{token_id}",
         {"workspace_id": "$request.path.workspace_id", "token_id": "$response.body#/id"}),
    ],
    ("post", "/api/widget/sites/{site_id}/stakeholders", "201"): [
        ("patch", "/api/widget/sites/{site_id}/stakeholders/{token}", {"site_id": "$request.path.site_id", "token": "$response.body#/token"}),
        ("delete", "/api/widget/sites/{site_id}/stakeholders/{token}", {"site_id": "$request.path.site_id", "token": "$response.body#/token"}),
    ],
    ("post", "/api/personas", "201"): [
        (m, "/api/personas/{persona_id}", {"persona_id": "$response.body#/id"}) for m in ("get", "patch", "delete")
    ],
    ("get", "/api/personas/mine", "200"): [
        (m, "/api/personas/{persona_id}", {"persona_id": "$response.body#/items/0/id"}) for m in ("get", "patch")
    ],
    ("post", "/api/v1/feedback-sessions", "201"): [
        ("get", "/api/v1/feedback-sessions/{session_id}", {"session_id": "$response.body#/id"}),
        ("get", "/api/v1/feedback-sessions/{session_id}/comments", {"session_id": "$response.body#/id"}),
        *[("post", f"/api/v1/feedback-sessions/{{session_id}}/{a}", {"session_id": "$response.body#/id"})
          for a in ("cancel", "finalize", "start-work", "submit-round", "return-to-review", "approve-tasks", "builder-finished", "builder-failed")],
    ],
    ("get", "/api/studies", "200"): [("get", "/api/sessions", {"query.jobId": "$response.body#/data/studies/0/jobId"})],
    ("post", "/api/sessions", "201"): [
        (m, f"/api/sessions/{{session_id}}{suffix}", {"session_id": "$response.body#/data/sessionId"})
        for m, suffix in (("get", ""), ("post", "/complete"), ("post", "/analyze"), ("get", "/notes"), ("patch", "/notes"),
                          ("post", "/confirm"), ("post", "/feedback"), ("post", "/pause"), ("post", "/resume"))
    ],
}
ANNOTATION_OPS = [("get", ""), ("patch", ""), ("post", "/replies"), ("get", "/markdown"), ("post", "/run-personas"),
                  ("post", "/resolutions/upload-url"), ("post", "/resolutions"), ("get", "/resolutions")]
LINKS[("get", "/api/v1/sites/{site_id}/annotations", "200")] = [
    (m, f"/api/v1/annotations/{{annotation_id}}{s}", {"annotation_id": "$response.body#/items/0/id"}) for m, s in ANNOTATION_OPS]
LINKS[("post", "/api/widget/sites/{site_id}/annotations", "201")] = [
    (m, f"/api/v1/annotations/{{annotation_id}}{s}", {"annotation_id": "$response.body#/id"}) for m, s in ANNOTATION_OPS]


def with_links(raw: dict[str, Any]) -> dict[str, Any]:
    """The server's schema plus the links above (by operationId, which FastAPI generates).

    Every other operation is linked from the site listing too, so a scenario reaches each one in
    two steps rather than only at the end of a long chain (before_call then aims it at real ids).
    """
    linked = {(m, p) for targets in LINKS.values() for m, p, _ in targets}
    roots = {("get", "/api/v1/sites"), ("get", "/api/personas/mine"), ("get", "/api/studies"), ("get", "/api/v1/feedback-sessions")}
    rest = [(m, p, {name: SITE for name in re.findall(r"{(\w+)}", p)})
            for p, ops in raw["paths"].items() for m in ops if (m, p) not in linked | roots]
    links = {**LINKS, ("get", "/api/v1/sites", "200"): LINKS[("get", "/api/v1/sites", "200")] + rest}
    for (method, path, status), targets in links.items():
        response = raw["paths"][path][method]["responses"].setdefault(status, {"description": "OK"})
        for n, (t_method, t_path, params) in enumerate(targets):
            response.setdefault("links", {})[f"L{n}"] = {"operationId": raw["paths"][t_path][t_method]["operationId"], "parameters": params}
    return raw


def real_ids(base: str, w) -> dict[str, str]:
    """Ids of rows of workspace A that the fuzz may aim at: one of each kind a path can name."""
    h = w.headers["owner"]
    persona = httpx.post(f"{base}/api/personas", json={"name": "Fuzz target", "category": "accessibility"}, headers=h).json()
    session = httpx.post(f"{base}/api/v1/feedback-sessions", headers=w.headers["skey"]).json()
    test_session = httpx.post(f"{base}/api/sessions", json={"jobId": w.a["job_id"], "testerId": "fuzz"}, headers=w.headers["jwt"]).json()
    return {
        "site_id": w.a["site_id"], "annotation_id": w.a["annotation_id"], "workspace_id": w.a["workspace_id"],
        "persona_id": persona["id"], "token": w.a["stakeholder2_token"], "session_id": session["id"],
        "review_session_id": w.a["review_session_id"], "test_session_id": test_session["data"]["sessionId"],
        "category": "accessibility",
    }


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Per module, not per test: the module's store outlives one test (tests/conftest.py, on_engine)."""
    yield from on_engine(request)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[tuple[World, ServerProcess, dict[str, str]]]:
    """One server for the three callers: each run starts where the previous one left the store."""
    data, w = served_world(tmp_path_factory.mktemp("fuzz"))
    srv = serve(data)
    yield w, srv, real_ids(srv.url, w)
    srv.stop()


@pytest.mark.parametrize("caller", ["memb", "guest", "owner"])
def test_chains_of_calls_never_error_and_always_match_the_schema(served: tuple[World, ServerProcess, dict[str, str]], caller: str):
    w, srv, pool = served
    raw = httpx.get(srv.url + "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(with_links(raw))
    tests_jwt = w.secrets["gjwt"] if caller == "guest" else w.a["jwt"]
    rng = random.Random(caller)
    seen: list[tuple[str, str, int]] = []
    failures: list[str] = []

    def headers_for(path: str) -> dict[str, str]:
        if path.startswith(("/api/sessions", "/api/studies")):
            return {"Authorization": f"Bearer {tests_jwt}"}
        if path.startswith("/api/v1/feedback-sessions"):
            return dict(w.headers["skey"])
        if path.startswith("/api/widget/feedback-sessions"):
            return {"X-Review-Token": w.a["review_token"]}
        headers = dict(w.headers[caller])
        if path.endswith("/annotations") and path.startswith("/api/widget/"):
            headers["X-GF-Widget-Token"] = w.a["widget_token"]
            if rng.random() < 0.5:
                headers["X-GF-Stakeholder-Token"] = w.a["stakeholder_token"]
        return headers


    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case) -> None:
            # Links carry ids only down a chain; a scenario's first call would mostly meet a 404. Seven
            # times in ten a path id becomes a real one of the caller's workspace (and the study of a new
            # test session its real jobId), so every route's deeper code runs from the first step.
            if isinstance(case.body, dict) and "jobId" in case.body and rng.random() < 0.7:
                case.body["jobId"] = w.a["job_id"]
            for name in list(case.path_parameters or {}):
                key = "review_session_id" if case.path.startswith("/api/widget/feedback-sessions") else (
                    "test_session_id" if case.path.startswith("/api/sessions") else name)
                if key in pool and rng.random() < 0.7:
                    case.path_parameters[name] = pool[key]
            # The generated Authorization and token headers would win over the caller's; the matrix
            # covers wrong credentials, so here they are the caller's but for one call in ten.
            if rng.random() < 0.9:
                case.headers.update(headers_for(case.path))  # case-insensitive: a generated "authorization" gives way too

        def get_call_kwargs(self, case) -> dict[str, Any]:
            return {"base_url": srv.url}

        def after_call(self, response, case) -> None:
            seen.append((case.method, case.path, response.status_code))
            # A soft-deleted workspace would turn every later call into a 401/403: restore it at once.
            if case.method == "DELETE" and case.path == "/api/workspaces/{workspace_id}" and response.status_code == 200:
                httpx.post(f"{srv.url}/api/workspaces/{case.path_parameters['workspace_id']}/restore", headers=w.headers["owner"])

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            # Recorded, not raised: the server keeps its state between scenarios, so Hypothesis could
            # not replay a failure to shrink it. Schemathesis' message ends with a curl line that reproduces it.
            try:
                case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every check failure is collected, reported below
                failures.append(f"{case.method} {response.request.url} -> {response.status_code}: {str(exc)[:1200]}")

    for rounds in range(1, 4):
        try:
            Machine.run(settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                                          suppress_health_check=list(HealthCheck),  # pyright: ignore[reportArgumentType]  # hypothesis' HealthCheckMeta.__iter__ is unannotated: inferred to yield the metaclass
                                          derandomize=not NIGHTLY and rounds == 1,
                                          phases=[Phase.generate]))
        except (hypothesis.errors.Flaky, AssertionError) as exc:
            if isinstance(exc, AssertionError) and not is_inconsistent_replay(exc):
                raise
            # A scenario's rules depend on what the server answered before (its state moved on):
            # Hypothesis calls that flaky. Keep the calls made so far and run more scenarios.
            continue
        break
    assert not failures, f"{len(failures)} failing calls:\n" + "\n".join(failures[:20])
    # The run proves something only if chains reached real rows: 2xx answers on routes that take an id.
    deep = {(m, p) for m, p, code in seen if 200 <= code < 300 and "{" in p}
    assert len(deep) >= min(5, EXAMPLES * STEPS // 60), f"only {sorted(deep)} answered 2xx on an id: the links did not chain"
