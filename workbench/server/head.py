"""HEAD answered as the path's GET, without its body (RFC 9110 §9.3.2).

FastAPI's routes match only the methods they declare, so HEAD was a 405 wherever GET worked.
The request is routed as a GET in a copy of the scope: one code path per resource, so status,
ETag and Content-Length are exactly the GET's, and the server (uvicorn), whose own scope still
says HEAD, sends no body. The MCP endpoint keeps HEAD as it is: its GET opens an event stream.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD" and not scope["path"].startswith("/mcp/"):
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)
