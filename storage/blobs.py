"""Uploaded evidence and screenshots: kept by the store (files for SQLite, rows for PostgreSQL)."""

from __future__ import annotations

import hashlib

from storage.db import Store


def write_blob(store: Store, key: str, data: bytes) -> str:
    """Store ``data`` at ``key`` and return its SHA-256; a crash leaves the old bytes or the new, never half."""
    store.put_blob(key, data)
    return hashlib.sha256(data).hexdigest()

