"""Row ↔ record mapping shared by the repositories: column lists derived from the dataclasses.

Also ``drain_oldest``, the batch step the search indexes' pending tables share, and
``creation_order_sql``, the keyset page the lists in creation order share.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from sqlite3 import Connection
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


def columns(cls: type, prefix: str = "") -> str:
    """The SELECT list for a record class, in field order, so ``cls(*row)`` builds it."""
    return ", ".join(f"{prefix}{f.name}" for f in dataclasses.fields(cls))


def fetch_one(db: Connection, cls: Callable[..., T], sql: str, params: Sequence[Any] = ()) -> T | None:
    row = db.execute(sql, params).fetchone()
    return None if row is None else cls(*row)


def fetch_all(db: Connection, cls: Callable[..., T], sql: str, params: Sequence[Any] = ()) -> list[T]:
    return [cls(*row) for row in db.execute(sql, params).fetchall()]


def insert(db: Connection, table: str, record: Any, encode: dict[str, Callable[[Any], Any]] | None = None) -> None:
    """INSERT a record's fields as a row (``encode`` maps fields needing conversion)."""
    # The fields as they are, not ``dataclasses.asdict``: its deep copy was most of the Python in
    # a reply's write (15 of 40 us), and a row binds only flat values (an encoded field is JSON,
    # which orjson writes alike from a nested record or its dict).
    sql, names = _insert_sql(table, type(record))
    values = [getattr(record, name) for name in names]
    for name, fn in (encode or {}).items():
        at = names.index(name)
        values[at] = fn(values[at])
    db.execute(sql, values)


@functools.lru_cache(maxsize=64)
def _insert_sql(table: str, cls: type) -> tuple[str, tuple[str, ...]]:
    names = tuple(f.name for f in dataclasses.fields(cls))
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})", names


def update_fields(db: Connection, table: str, key: str, key_value: Any, values: dict[str, Any]) -> None:
    if not values:
        return
    sets = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", [*values.values(), key_value])


def json_dump(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode("utf-8")


def json_load(value: str | None) -> Any:
    return None if value is None else orjson.loads(value)


def placeholders(items: Iterable[Any]) -> str:
    """One ``?`` per item, for an ``IN (...)`` list whose values are passed as parameters."""
    return ", ".join("?" for _ in items)


def creation_order_sql(
    select: str, where: list[str], params: list[object], after: tuple[int, str] | None, limit: int | None
) -> tuple[str, list[object]]:
    """``select`` (``SELECT … FROM table``) with the conditions ``where`` (and their ``params``),
    in creation order ``(created_at, id)``: from the keyset ``after``, at most ``limit`` rows. The
    row value is one index range (a seek), never a scan of the rows before it."""
    where, params = [*where], [*params]
    if after is not None:
        where.append("(created_at, id) > (?, ?)")
        params.extend(after)
    sql = f"{select} WHERE {' AND '.join(where)} ORDER BY created_at, id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def drain_oldest(db: Connection, table: str, statements: Sequence[str], limit: int = -1) -> int:
    """Run ``statements`` (each taking one parameter: the last rowid of the batch) over the oldest
    ``limit`` rows of ``table`` by rowid (-1: all), in the caller's transaction: how many rows."""
    waiting = db.execute(f"SELECT rowid FROM {table} ORDER BY rowid LIMIT ?", [limit]).fetchall()
    if waiting:
        for sql in statements:
            db.execute(sql, [waiting[-1][0]])
    return len(waiting)
