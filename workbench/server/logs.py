"""The access log's filter: no token in a path, no signature in a query, reaches a log line."""

from __future__ import annotations

import logging
import re


class RedactSecrets(logging.Filter):
    """Access logs must not carry tokens in a path (MCP, stakeholders) or signatures in a query."""

    _mcp = re.compile(r"/mcp/[^/\s\"]+")
    # A stakeholder's token is the path parameter of its PATCH and DELETE.
    _stakeholder = re.compile(r"/stakeholders/[^/\s\"?]+")
    _query = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) if isinstance(a, str) else a for a in record.args)
        return True

    def _clean(self, text: str) -> str:
        text = self._stakeholder.sub("/stakeholders/<redacted>", self._mcp.sub("/mcp/<redacted>", text))
        return self._query.sub("?…", text)
