"""Serialised list pages, reused until anything commits to the store.

The store's data version (``storage.data_version``: ``PRAGMA data_version`` on a read-only
connection of its own) changes whenever any connection (any thread or process: the TUI, a
sync, this server's writers) commits, so a page is never served stale.
Authentication and scope checks still run on every request; only the query and the JSON
encoding of an unchanged page are skipped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from storage import Store
from storage.data_version import data_version


class PageCache:
    def __init__(self, store: Store, size: int = 512) -> None:
        self.store = store
        self.size = size
        self._version: object = None
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], bytes], version: object = None) -> bytes:
        """The page for ``key``; ``build`` runs on a miss. Call from one thread (the event loop).

        ``version``: the store's data version read at the start of this request, when the
        caller has it (the hot path reads it once for authentication and the page)."""
        if version is None:
            version = data_version(self.store.path)
        if version != self._version:
            self._pages.clear()
            self._version = version
        body = self._pages.get(key)
        if body is None:
            body = build()
            self._pages[key] = body
            if len(self._pages) > self.size:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(key)
        return body
