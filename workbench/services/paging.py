"""One page of a documented list other than the annotations list: keyset, signed cursor, ``next_cursor``.

Each list reads its rows after a keyset position on an index in its documented order
(storage); this module turns that into the documented page. The cursor is the last row's sort
key signed for ``scope`` (domain/cursors.py), which names the list and what it is filtered to,
so a cursor from another list, another filter or another workspace is a 400, like a changed
byte. ``next_cursor`` is None on the last page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from workbench.domain.cursors import InvalidCursor, decode_cursor, encode_cursor
from workbench.domain.paging import DEFAULT_LIMIT, check_limit
from workbench.services.context import Workbench

R = TypeVar("R")


@dataclass(slots=True)
class Page(Generic[R]):
    items: list[R]
    next_cursor: str | None


def page(
    wb: Workbench,
    scope: str,
    key_types: Sequence[type],
    read: Callable[[tuple[Any, ...] | None, int], list[R]],
    key_of: Callable[[R], Sequence[Any]],
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[R]:
    """``read(after, n)``: at most n rows after the keyset ``after`` (None: from the start), in order;
    ``key_of(row)``: the row's sort key, of ``key_types``, which a cursor must match exactly."""
    check_limit(limit)
    after = None
    if cursor:
        key = decode_cursor(wb.secret, scope, cursor)
        # bool is an int to isinstance: compare the types themselves.
        if len(key) != len(key_types) or any(type(v) is not t for v, t in zip(key, key_types, strict=True)):
            raise InvalidCursor()
        after = tuple(key)
    rows = read(after, limit + 1)
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, encode_cursor(wb.secret, scope, list(key_of(rows[-1]))))
