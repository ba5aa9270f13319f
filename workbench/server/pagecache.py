"""Serialised list pages, reused until anything commits to the store.

The store's data version (``storage.data_version``: ``PRAGMA data_version`` on a read-only
connection of its own) changes whenever any connection (any thread or process: the TUI, a
sync, this server's writers) commits, so a page is never served stale.
Authentication and scope checks still run on every request; only the query and the JSON
encoding of an unchanged page are skipped.

A commit empties the pages, but most rows of the next page are the ones just encoded: each
row's JSON is kept by the row's own values (a changed row is a different key), so the page
rebuilt after a write re-encodes only what the write changed. Under mixed load (10 % writes)
every write was followed by a whole page's encoding, as much CPU as the write itself. And what
each page was built from is kept across commits (``source``), so its builder can refresh it by
reading only the rows that changed (services.annotation_rows ``refresh_annotation_rows``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import orjson

from storage import Store

# Bytes of row encodings kept (keys and values counted alike); past it they are all dropped,
# which costs one page's encoding per page afterwards, no more.
ROW_BYTES = 16 * 1024 * 1024


class PageCache:
    def __init__(self, store: Store, size: int = 512, row_bytes: int = ROW_BYTES) -> None:
        self.store = store
        self.size = size
        self.row_bytes = row_bytes
        self._version: object = None
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._rows: dict[tuple[Any, ...], orjson.Fragment] = {}
        self._rows_held = 0
        # What each page was built from, and its bytes, kept across versions: the next build may
        # only refresh it, and when the refresh changed none of its rows, reuse the bytes.
        self._sources: OrderedDict[Hashable, tuple[object, bytes]] = OrderedDict()
        # Each page's rows as last encoded, with their JSON, by position (``page_rows``).
        self._encoded: OrderedDict[Hashable, tuple[Sequence[tuple[Any, ...]], list[orjson.Fragment]]] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], bytes], version: object = None) -> bytes:
        """The page for ``key``; ``build`` runs on a miss. Call from one thread (the event loop).

        ``version``: the store's data version read at the start of this request, when the
        caller has it (the hot path reads it once for authentication and the page)."""
        if version is None:
            version = self.store.version()
        body = self.peek(key, version)
        return body if body is not None else self.put(key, build(), version)

    def peek(self, key: Hashable, version: object) -> bytes | None:
        """The page for ``key`` if one was kept at ``version`` (a newer version empties the pages)."""
        if version != self._version:
            self._pages.clear()
            self._version = version
        body = self._pages.get(key)
        if body is not None:
            self._pages.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes, version: object, source: object = None) -> bytes:
        """Keep ``body`` (built from rows read after ``version`` was) unless the pages have moved
        on to a newer version meanwhile (PostgreSQL builds in a thread while the loop serves on).
        ``source``: what it was built from, for ``source`` to hand back after the version moves."""
        if version == self._version:
            self._pages[key] = body
            if len(self._pages) > self.size:
                self._pages.popitem(last=False)
        if source is not None:
            self._sources[key] = (source, body)
            self._sources.move_to_end(key)
            if len(self._sources) > self.size:
                self._sources.popitem(last=False)
        return body

    def source(self, key: Hashable) -> object | None:
        """What the page for ``key`` was last built from, at whatever version (its builder knows
        how to bring it up to date), or None."""
        kept = self._sources.get(key)
        return kept[0] if kept is not None else None

    def body_of(self, key: Hashable, source: object) -> bytes | None:
        """The bytes the page for ``key`` was last built into, if it was built from ``source`` itself."""
        kept = self._sources.get(key)
        return kept[1] if kept is not None and kept[0] is source else None

    def page_rows(self, key: Hashable, rows: Sequence[tuple[Any, ...]], encode: Callable[[tuple[Any, ...]], bytes]) -> list[orjson.Fragment]:
        """The JSON of each of the rows of the page for ``key`` (``row``). A page refreshed after a
        write keeps its unchanged rows' very objects in their places, so a row that is the one this
        page held there when last encoded takes that JSON without a lookup: after one write the page
        looks up one row, not 50 (hashing 50 rows of 22 values: a page encoded after a write took
        31-36 us, 23-26 us without)."""
        last = self._encoded.get(key)
        if last is None:
            fragments = [self.row(row, encode) for row in rows]
        else:
            before, kept = last
            fragments = [kept[i] if i < len(before) and before[i] is row else self.row(row, encode) for i, row in enumerate(rows)]
        self._encoded[key] = (rows, fragments)
        self._encoded.move_to_end(key)
        if len(self._encoded) > self.size:
            self._encoded.popitem(last=False)
        return fragments

    def row(self, row: tuple[Any, ...], encode: Callable[[tuple[Any, ...]], bytes]) -> orjson.Fragment:
        """The JSON of one stored row (``encode`` runs when this exact row was not seen), to
        place in a page with ``orjson.dumps``. Call from the thread that calls ``get``."""
        fragment = self._rows.get(row)
        if fragment is None:
            body = encode(row)
            size = 2 * len(body)  # the row's values are about as big as their JSON
            if self._rows_held + size > self.row_bytes:
                self._rows.clear()
                self._encoded.clear()  # what it holds came from here: the bound covers it too
                self._rows_held = 0
            fragment = self._rows[row] = orjson.Fragment(body)
            self._rows_held += size
        return fragment
