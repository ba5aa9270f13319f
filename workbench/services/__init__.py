"""Use cases: each public function is one transaction that writes rows, audit (and later outbox) together.

Front ends (server, TUI, CLI, MCP) call these and nothing below them; every rule they
enforce comes from ``workbench.domain``.
"""

from workbench.services.context import Workbench

__all__ = ["Workbench"]
