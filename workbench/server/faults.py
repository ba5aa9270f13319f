"""Test-only fault injection for crash tests; inert unless its environment variable is set.

``WORKBENCH_TEST_CRASH_AFTER_APPLY="<METHOD> <path regex>"`` makes the server SIGKILL itself
when a matching request has been applied (the route returned a 2xx) but before the response
leaves: exactly the "server applied the write, the client never heard" failure.
"""

from __future__ import annotations

import os
import re
import signal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ENV = "WORKBENCH_TEST_CRASH_AFTER_APPLY"


class CrashAfterApply:
    def __init__(self, app: ASGIApp, pattern: str) -> None:
        self.app = app
        method, _, path = pattern.partition(" ")
        self.method = method.upper()
        self.path = re.compile(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != self.method or not self.path.search(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                os.kill(os.getpid(), signal.SIGKILL)
            await send(message)

        await self.app(scope, receive, _send)
