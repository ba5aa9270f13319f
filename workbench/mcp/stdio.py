"""``workbench mcp``: the same MCP tools over stdio, against a local store, as its local user.

An agent on the same machine (Claude Code, for instance) triages offline: the tools call the
same services the server does, so rules and audit are identical, and the writes reach a server
with the next sync. stdout carries the protocol, so nothing else may print there.
"""

from __future__ import annotations

import anyio

from workbench.domain.roles import Principal
from workbench.mcp.tools import Caller, build_server
from workbench.services.context import Workbench


def serve_stdio(wb: Workbench, principal: Principal) -> None:
    """Serve until the client closes stdin. There is no server to upload to: ``base_url=None``."""
    caller = Caller(wb, principal, None)
    server = build_server(lambda _ctx: caller, offline=True)
    anyio.run(server.run_stdio_async)
