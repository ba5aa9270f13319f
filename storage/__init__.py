"""Persistence: the SQLite store (schema, migrations, repositories, full-text search).

Imports only ``workbench.domain``; everything above talks to SQLite through this package.
"""

from storage.db import Store

__all__ = ["Store"]
