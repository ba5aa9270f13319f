"""Uploaded evidence and screenshots as files under the data directory, written atomically."""

from __future__ import annotations

import hashlib

from storage.db import Store


def write_blob(store: Store, key: str, data: bytes) -> str:
    """Store ``data`` at ``key`` and return its SHA-256; a crash leaves the old file or the new, never half."""
    path = store.upload_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()
