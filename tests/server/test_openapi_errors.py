"""The OpenAPI document declares each operation's refusals with their body schema, and real refusals match it."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from workbench.server.errors import ErrorDetail


def _operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def test_every_operation_declares_its_refusals_with_a_schema(client):
    spec = client.get("/openapi.json").json()
    for method, path, op in _operations(spec):
        codes = set(op["responses"])
        if method == "PUT" and path.startswith("/uploads/"):
            expected = {"400", "403", "409", "413"}  # the signature authorises; no bearer to refuse
        elif path.startswith(("/api/v1/feedback-sessions", "/api/widget/feedback-sessions")):
            expected = {"400", "401", "404", "422", "429"}  # a store key or review token has no roles
        else:
            expected = {"400", "401", "403", "404", "422", "429"}
        assert expected <= codes, (method, path, sorted(codes))
        for code, response in op["responses"].items():
            if code.startswith("4"):
                assert "$ref" in response["content"]["application/json"]["schema"], (method, path, code)
        if "429" in codes:
            # The wait comes in a header: declared, so a client generated from the schema reads it.
            assert op["responses"]["429"]["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}, (method, path)
            assert "60-second" not in op["responses"]["429"]["description"]  # the window is --window's, and the header says the wait
    patch = spec["paths"]["/api/v1/annotations/{annotation_id}"]["patch"]["responses"]
    assert {"409", "412"} <= set(patch)
    assert "413" in spec["paths"]["/api/widget/sites/{site_id}/annotations"]["post"]["responses"]


PERSONA = {"name": "Robot", "category": "accessibility"}


@pytest.mark.parametrize(
    "method,url,template,code,token,body",
    [
        ("get", "/api/v1/sites/{site}/annotations?status=nope", "/api/v1/sites/{site_id}/annotations", 400, "member_token", None),
        ("get", "/api/v1/sites/{site}/annotations", "/api/v1/sites/{site_id}/annotations", 401, None, None),
        ("post", "/api/personas", "/api/personas", 403, "guest_token", PERSONA),
        ("get", "/api/v1/annotations/nope/markdown", "/api/v1/annotations/{annotation_id}/markdown", 404, "member_token", None),
        ("post", "/api/personas", "/api/personas", 422, "member_token", {}),
    ],
)
def test_real_refusals_are_the_declared_json_body(client, creds, method, url, template, code, token, body):
    spec = client.get("/openapi.json").json()
    declared = spec["paths"][template][method]["responses"][str(code)]["content"]
    assert declared["application/json"]["schema"]["$ref"].endswith("/ErrorDetail")
    r = client.request(method.upper(), url.format(site=creds["site_id"]), json=body, headers=bearer(creds[token]) if token else {})
    assert r.status_code == code and r.headers["content-type"].startswith("application/json"), r.text
    ErrorDetail.model_validate_json(r.content, strict=True)
