"""Test hook of the sync engine: SIGKILL the process at a named point of a run."""

from __future__ import annotations

import os
import signal

CRASH_ENV = "WORKBENCH_SYNC_CRASH_AT"

_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Test hook: SIGKILL this process at a named point.

    ``WORKBENCH_SYNC_CRASH_AT=push:after_send`` kills at the first pass, ``…=pull:after_page:3``
    at the third. Points: ``push:before_send`` (the entry is flagged, nothing sent),
    ``push:after_send`` (the server applied it, the replica has not recorded that),
    ``pull:after_page`` (a page committed, the pull unfinished).
    """
    wanted = os.environ.get(CRASH_ENV)
    if not wanted or not wanted.startswith(name):
        return
    point, _, nth = wanted.partition(name)[2].partition(":")
    if point:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
