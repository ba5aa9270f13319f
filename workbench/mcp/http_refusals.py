"""The bodies of the MCP endpoint's HTTP-level refusals (401, 405, 415, 429, 503): JSON-RPC errors.

The MCP SDK's streamable HTTP client reads a non-2xx answer's body as a JSON-RPC error when it is
one, and hands that error to the caller; any other body (the REST family's ``{"detail": ...}``)
becomes its stand-in, "Server returned an error response" (Internal error, -32603), and the reason
is lost: an agent is told neither that its token was rotated nor when to come back. So these
answers keep their status and headers (``WWW-Authenticate``, ``Retry-After``, ``Allow``), which
HTTP clients and OAuth-aware ones act on, and carry the reason as a JSON-RPC error with
``"id": null`` (the request's id is not read before a refusal; the SDK answers its own HTTP-level
refusals so, with Invalid Request). ``data`` repeats the status, and for a 429 the seconds to wait,
for a caller that sees only the error; the SDK's own refusals (400, 406) are given the same
(workbench/mcp/http.py ``_answered``). Plain data: importing this loads no part of the SDK.
"""

from __future__ import annotations

from typing import Any

from workbench.mcp.unreadable import INVALID_REQUEST

PREFIX = "/mcp/"


def covers(path: str) -> bool:
    """Whether ``path`` is the MCP endpoint's (``/mcp/<token>``, either spelling)."""
    return path.startswith(PREFIX)


def refusal(status: int, message: str, *, retry_after: int | None = None) -> dict[str, Any]:
    """The JSON-RPC error body of an HTTP ``status`` refusal saying ``message``."""
    data: dict[str, Any] = {"status": status}
    if retry_after is not None:
        data["retryAfter"] = retry_after
    return {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message, "data": data}}
