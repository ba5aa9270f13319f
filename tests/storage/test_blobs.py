"""An upload's bytes as a file (storage/db.py ``Store.put_blob``): on disk before the row that names them.

A row that names an upload commits after ``put_blob`` returns, and the checkpointer fsyncs the
database within half a second; the file's data, left to the kernel, is written back up to 30 s
later. A machine that loses power in between (a laptop whose battery ran out) came back with a
resolution or screenshot whose file was empty. No test can pull the plug, so this one checks the
calls that make the file durable, in the order that makes it so.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storage.db import Store


def test_an_uploads_bytes_are_on_disk_before_put_blob_returns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    store = Store(tmp_path)
    calls: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recording_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(("replace", str(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    try:
        store.put_blob("resolutions/a1/after-1.png", b"\x89PNG picture bytes")
    finally:
        monkeypatch.undo()
        store.close()
    final = store.upload_path("resolutions/a1/after-1.png")
    assert final.read_bytes() == b"\x89PNG picture bytes"
    part = str(final) + ".part"
    # The bytes reach the disk under the temporary name, then the rename, then the directory
    # that holds the new name: after a power loss the file is whole or absent, never empty.
    assert ("fsync", part) in calls and ("replace", str(final)) in calls and ("fsync", str(final.parent)) in calls
    assert calls.index(("fsync", part)) < calls.index(("replace", str(final))) < calls.index(("fsync", str(final.parent)))
