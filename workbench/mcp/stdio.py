"""``workbench mcp``: the same MCP tools over stdio, against a local store, as its local user.

An agent on the same machine (Claude Code, for instance) triages offline: the tools call the
same services the server does, so rules and audit are identical, and the writes reach a server
with the next sync. Its triage and replies join the local user's undo history (``Caller.records_undo``),
as the CLI's do: `workbench undo` or the TUI's `u` takes an agent's change back. stdout carries the
protocol, so nothing else may print there.
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import Context

from workbench.domain.roles import Principal
from workbench.mcp.tools import Caller, build_server
from workbench.services.context import Workbench


def serve_stdio(wb: Workbench, principal: Principal) -> None:
    """Serve until the client closes stdin. There is no server to upload to: ``base_url=None``."""
    caller = Caller(wb, principal, None, records_undo=True)

    def caller_of(_ctx: Context) -> Caller:
        # Each tool asks first, on the thread that runs it: a write the disk refuses then says
        # whether this call had saved anything before it (a resolution's files, say).
        wb.store.begin_unit_of_work()
        return caller

    server = build_server(caller_of, offline=True, store=wb.store)
    anyio.run(server.run_stdio_async)
