"""Every 405 of a real `workbench serve` names, in ``Allow``, every method the path serves (RFC 9110 §15.5.6)."""

from __future__ import annotations

import re

import httpx

from tests.conftest import ServerProcess
from tests.mcp.test_mcp_http import seed

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allow_of(response: httpx.Response) -> set[str]:
    return {m.strip() for m in response.headers.get("allow", "").split(",") if m.strip()}


def test_every_405_carries_an_allow_naming_every_method_of_the_path(tmp_path):
    data = tmp_path / "data"
    creds = seed(data)
    server = ServerProcess(data)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            paths = http.get("/openapi.json").json()["paths"]
            checked = 0
            for template, operations in paths.items():
                documented = {m.upper() for m in operations}
                url = re.sub(r"\{[^}]+\}", "x", template)
                for method in sorted(set(METHODS) - documented):
                    # Every method the path does not serve: a path named literally is not also a
                    # value of its parametrised sibling's (GET /api/personas/reset-defaults read
                    # the persona "reset-defaults", a 404).
                    r = http.request(method, url)
                    checked += 1
                    assert r.status_code == 405, (method, template, r.status_code, r.text)
                    assert allow_of(r) - {"HEAD"} == documented, (method, template, r.headers.get("allow"))
            assert checked > 50
            # The MCP endpoint (the SDK's transport) is stateless: no session a DELETE could end.
            mcp = http.delete(f"/mcp/{creds['mcp_token']}", headers={"Accept": "application/json, text/event-stream"})
            assert mcp.status_code == 405 and allow_of(mcp) == {"POST"}
            assert allow_of(http.put(f"/mcp/{creds['mcp_token']}")) == {"POST"}
            # Stateless: no event stream is opened and left idle (it was held open until the client left).
            stream = http.get(f"/mcp/{creds['mcp_token']}", headers={"Accept": "text/event-stream"}, timeout=5)
            assert stream.status_code == 405 and allow_of(stream) == {"POST"} and "no event stream" in stream.json()["error"]["message"]
            assert http.get("/mcp/not-a-token", headers={"Accept": "text/event-stream"}).status_code == 401  # the caller first
    finally:
        server.stop()
