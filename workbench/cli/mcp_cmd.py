"""``workbench mcp``: serve the agent tools over stdio (what ``claude mcp add`` launches)."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.options import Database, DataDir, open_workbench
from workbench.cli.output import fail
from workbench.domain.errors import DomainError
from workbench.services.local import local_user


def mcp(
    data_dir: DataDir = None,
    database: Database = None,
    workspace: Annotated[str | None, typer.Option(help="Workspace id", show_default="the store's own")] = None,
) -> None:
    """Serve the MCP tools over stdio against the local store, as its local user.

    A store with no workspace yet is refused (exit 2), never given one: make one first with
    `workbench admin bootstrap` or `workbench demo`, or `workbench sync` from a remote.

    Claude Code: claude mcp add workbench -- workbench mcp --data-dir DIR
    """
    from workbench.mcp.stdio import serve_stdio  # the MCP SDK loads only for this command

    wb = open_workbench(data_dir, database)
    try:
        # As the CLI's verbs: an agent's first call must not invent the workspace it works in.
        principal = local_user(wb, workspace, create=False)
    except DomainError as exc:
        # The server cannot start, as over an unusable store: said before a client sends anything.
        fail(exc.message, 2)
    serve_stdio(wb, principal, records_undo=database is None)
