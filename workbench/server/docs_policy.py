"""A Content-Security-Policy on the API docs pages (/docs, /redoc): they may load from this server only.

Their scripts and styles ship in fastapi-offline, but ReDoc still asks a CDN for the
attribution logo in its sidebar, and the option to hide it does not exist. With the policy the
browser never contacts another host, and ReDoc drops the broken image itself. Inline scripts
and styles stay allowed: FastAPI's docs pages start Swagger UI inline, and both UIs style
themselves inline. Pure ASGI, so every other request only pays one path comparison.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    b"object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
)


class DocsPolicyMiddleware:
    def __init__(self, app: ASGIApp, paths: tuple[str, ...] = ("/docs", "/redoc")) -> None:
        self.app = app
        self.paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", POLICY)]
            await send(message)

        await self.app(scope, receive, send_with_policy)
