"""Removing the uploads a killed writer left behind: files in a SQLite store's uploads directory, ``blobs`` rows in a PostgreSQL store.

Two kinds of leftovers: a ``<key>.part`` file (``Store.put_blob`` was killed before its rename)
and bytes that no ``uploads`` row names (they were written, then the process died before the
row committed: evidence copied by ``attach_local_file``, a widget screenshot, a sync's
re-keying of pushed evidence). Nothing else ever removes them. PostgreSQL has no ``.part``
(a blob is one INSERT), but the second kind alike: a screenshot's or an attached file's blob
commits on its own before the row's transaction (an upload's PUT writes both in one).

Only leftovers untouched for ``SWEEP_AGE_S`` are removed, so a writer in another process (``serve``,
the TUI, a CLI command, a sync) is never raced: each writes its bytes *before* its row commits,
and that gap is bounded by the store's busy timeout (10 s), far under the hour. A file's age is
taken from the later of its modification and status-change times, because a sync's re-keying
hard-links an old file under its new key (the link keeps the old mtime but moves the ctime); a
blob's from its ``stored_at``, on the database's clock, which every host shares.
Each orphan's row is looked up again just before it is removed (for a blob, in the DELETE
itself), and directories are never removed (a writer may have just made one for its file).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Store

SWEEP_AGE_S = 3600
PART = ".part"


@dataclass(slots=True)
class Swept:
    """What a sweep removed (keys, as paths under the uploads directory), and what it left for being too young."""

    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    too_young: list[str] = field(default_factory=list)

    def to_public(self) -> dict[str, object]:
        return {"removed": self.removed, "freed_bytes": self.freed_bytes, "too_young": self.too_young}


def sweep(store: Store, *, older_than_s: float | None = None, now: float | None = None, dry_run: bool = False) -> Swept:
    """Remove ``.part`` files and files no ``uploads`` row names, untouched for ``older_than_s`` (default ``SWEEP_AGE_S``)."""
    out = Swept()
    age = SWEEP_AGE_S if older_than_s is None else older_than_s
    if store.dialect == "postgresql":
        # ``now`` is this host's clock; the blobs are dated on the database's: only the offset carries over.
        return _sweep_blobs(store, age - (0.0 if now is None else now - time.time()), dry_run, out)
    root = store.uploads_dir
    if store.dialect != "sqlite" or not root.is_dir():
        return out
    cutoff = (time.time() if now is None else now) - age
    named = {key for (key,) in store.db.execute("SELECT key FROM uploads")}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            key = os.path.relpath(path, root).replace(os.sep, "/")
            if not name.endswith(PART) and key in named:
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue  # its writer renamed or removed it meanwhile
            if max(st.st_mtime, st.st_ctime) > cutoff:
                out.too_young.append(key)
                continue
            if not name.endswith(PART) and _is_named(store, key):
                continue  # its row committed after the keys were read
            if not dry_run:
                try:
                    os.unlink(path)
                except OSError:
                    continue  # gone meanwhile, or not ours to remove: left as it is
            out.removed.append(key)
            out.freed_bytes += st.st_size
    out.removed.sort()
    out.too_young.sort()
    return out


# The database's clock, in ms, less an age in seconds: the blobs stored before it are old enough.
_CUTOFF = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint - ? * 1000"
_UNNAMED = "NOT EXISTS (SELECT 1 FROM uploads u WHERE u.key = b.key)"
ORPHAN_BLOBS = f"SELECT b.key, octet_length(b.data), b.stored_at <= {_CUTOFF} FROM blobs b WHERE {_UNNAMED}"
# Dated and unnamed again as it is deleted: a row that committed since the SELECT keeps its blob.
DELETE_ORPHAN = f"DELETE FROM blobs b WHERE b.key = ? AND b.stored_at <= {_CUTOFF} AND {_UNNAMED} RETURNING octet_length(b.data)"


def _sweep_blobs(store: Store, age_s: float, dry_run: bool, out: Swept) -> Swept:
    """The sweep of a PostgreSQL store: ``blobs`` rows no ``uploads`` row names, stored ``age_s`` ago or earlier."""
    for key, size, old in store.db.execute(ORPHAN_BLOBS, [age_s]).fetchall():
        if not old:
            out.too_young.append(key)
            continue
        if not dry_run:
            row = store.db.execute(DELETE_ORPHAN, [key, age_s]).fetchone()
            if row is None:
                continue  # named, or stored again, since it was read
            size = row[0]
        out.removed.append(key)
        out.freed_bytes += int(size)
    out.removed.sort()
    out.too_young.sort()
    return out


def _is_named(store: Store, key: str) -> bool:
    return store.db.execute("SELECT 1 FROM uploads WHERE key = ?", [key]).fetchone() is not None
