"""Property-based fuzz of the whole API from its own OpenAPI schema: no 5xx, no response that breaks it."""

from __future__ import annotations

import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from workbench.server.app import create_app
from workbench.server.settings import ServerSettings
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.demo import load_demo

# Module-level because schemathesis reads the schema at collection time.
_wb = Workbench.open(tempfile.mkdtemp(prefix="wb-fuzz-"), mailer=None)
_creds = bootstrap(_wb)
load_demo(_wb, annotations=40)
_app = create_app(_wb, ServerSettings(token_limit=10**9, ip_limit=10**9, widget_ip_limit=10**9, widget_site_limit=10**9))
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)

_SESSION_PATHS = ("/api/workspaces/", "/secrets")


@pytest.mark.slow
@pytest.mark.sqlite_only("its store and app are built at import, for schemathesis, before any engine fixture; "
                         "test_fuzz_stateful fuzzes the API on both engines")
@schema.parametrize()
@settings(max_examples=20, deadline=None,
          suppress_health_check=list(HealthCheck))  # pyright: ignore[reportArgumentType]  # hypothesis' HealthCheckMeta.__iter__ is unannotated
def test_api_never_errors_and_matches_its_schema(case):
    # Each API with its own credential, so the fuzz reaches past authentication.
    if case.path.startswith("/api/sessions"):
        headers = {"Authorization": f"Bearer {_creds['jwt']}"}
    elif "feedback-sessions" in case.path:
        headers = {"Authorization": f"Bearer {_creds['store_api_key']}"}
    elif any(p in case.path for p in _SESSION_PATHS):
        headers = {"Authorization": f"Bearer {_creds['owner_session']}", "X-GF-Workspace": _creds["workspace_id"]}
    else:
        headers = {"Authorization": f"Bearer {_creds['member_token']}"}
    if case.path_parameters:
        # Half the cases aim at real rows so deeper code runs, not just the 404 path.
        for name in case.path_parameters:
            if name == "site_id" and hash(str(case.body)) % 2:
                case.path_parameters[name] = _creds["site_id"]
            if name == "workspace_id" and hash(str(case.query)) % 2:
                case.path_parameters[name] = _creds["workspace_id"]
    case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance, content_type_conformance])
