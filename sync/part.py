"""What the parts of the sync engine (pull, push, sessions) may use of ``sync.engine.Engine``.

Each part is a mixin of ``Engine``, which provides these attributes, ``ws``,
``_capability``/``_set_capability`` and the methods of its other parts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.db import Store
    from storage.sync_state import Remote
    from sync.client import RemoteClient
    from sync.engine import Progress, Report


class EnginePart:
    store: Store
    name: str
    client: RemoteClient
    clock: Callable[[], int]
    progress: Progress
    report: Report
    remote: Remote
