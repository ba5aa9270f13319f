"""The repositories' SQL, as PostgreSQL reads it: one statement text, rewritten once and cached.

The repositories are written once, in the SQL both engines share (``ON CONFLICT … DO UPDATE``,
``coalesce``, keyset ``WHERE (a, b) < (?, ?)``). What SQLite spells its own way is rewritten here,
so a repository never branches on the engine:

- ``?`` parameters become ``%s`` outside quoted text, and every ``%`` becomes ``%%`` (the
  statement is always sent with its parameters, even none, so psycopg always reads it so);
- ``INSERT OR IGNORE`` becomes ``INSERT … ON CONFLICT DO NOTHING``;
- ``INDEXED BY`` hints are dropped (PostgreSQL's planner takes no orders);
- ``x COLLATE NOCASE`` becomes ``lower(x)``, a parameter's (``? COLLATE NOCASE``, a keyset
  position compared with a NOCASE column) too, and ``LIKE`` becomes ``ILIKE`` (SQLite's LIKE
  ignores ASCII case);
- ``IS NOT`` between values becomes ``IS DISTINCT FROM``; ``CAST(… AS INTEGER)`` is 64-bit;
- two-argument ``max``/``min`` (SQLite's scalar forms) become ``greatest``/``least``;
- ``CROSS JOIN t ON …`` (SQLite's way to pin the join order) becomes ``JOIN t ON …``:
  PostgreSQL's CROSS JOIN takes no condition, and its planner picks the order itself.

A statement that still holds something only SQLite knows (``INSERT OR REPLACE``, ``PRAGMA``,
``MATCH``) raises ``UnportableSql`` naming it, instead of failing later in PostgreSQL's words.
"""

from __future__ import annotations

import functools
import re


class UnportableSql(ValueError):
    """A statement this module cannot say in PostgreSQL's dialect."""


_QUOTED = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")
_INSERT_OR_IGNORE = re.compile(r"\bINSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)
# ``%s``: a parameter, already rewritten from ``?`` when this runs.
_NOCASE = re.compile(r"(%s|(?:\w+\.)?\w+)\s+COLLATE\s+NOCASE", re.IGNORECASE)
_LIKE = re.compile(r"\bLIKE\b", re.IGNORECASE)
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|DISTINCT\b|TRUE\b|FALSE\b)", re.IGNORECASE)
_AS_INTEGER = re.compile(r"\bAS\s+INTEGER\s*\)", re.IGNORECASE)
_CROSS_JOIN_ON = re.compile(r"\bCROSS\s+JOIN\s+(\w+(?:\s+(?:AS\s+)?(?!ON\b)\w+)?\s+ON)\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_UNPORTABLE = re.compile(r"\b(INSERT\s+OR\s+REPLACE|REPLACE\s+INTO|PRAGMA|MATCH|GLOB|WITHOUT\s+ROWID)\b", re.IGNORECASE)


def _scalar_extremes(code: str) -> str:
    """``max(a, b)`` → ``greatest(a, b)``: only calls with a top-level comma are SQLite's scalar form."""
    out: list[str] = []
    i = 0
    for m in re.finditer(r"\b(max|min)\s*\(", code, re.IGNORECASE):
        if m.start() < i:
            continue
        depth, j, comma = 1, m.end(), False
        while j < len(code) and depth:
            ch = code[j]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 1:
                comma = True
            j += 1
        if comma:
            out.append(code[i : m.start()])
            out.append("greatest(" if m.group(1).lower() == "max" else "least(")
            i = m.end()
    out.append(code[i:])
    return "".join(out)


def _code(code: str) -> str:
    """Rewrite one stretch of statement text that holds no quoted literal."""
    if m := _UNPORTABLE.search(code):
        raise UnportableSql(f"SQLite-only SQL has no PostgreSQL form here: {m.group(0)!r}")
    code = code.replace("%", "%%").replace("?", "%s")
    code = _INDEXED_BY.sub("", code)
    code = _NOCASE.sub(r"lower(\1)", code)
    code = _LIKE.sub("ILIKE", code)
    code = _IS_NOT.sub("IS DISTINCT FROM ", code)
    code = _AS_INTEGER.sub("AS BIGINT)", code)
    code = _CROSS_JOIN_ON.sub(r"JOIN \1", code)
    return _scalar_extremes(code)


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """``sql`` (written for SQLite) as PostgreSQL reads it; cached, so a hot statement pays once."""
    ignore = bool(_INSERT_OR_IGNORE.search(sql))
    if ignore:
        sql = _INSERT_OR_IGNORE.sub("INSERT INTO", sql)
    parts = _QUOTED.split(sql)
    # split() with one capture group alternates code, quoted, code, …: quoted text is kept as it is.
    # psycopg reads ``%`` everywhere, quoted text included: a literal ``%`` is doubled there too.
    out = "".join(part.replace("%", "%%") if k % 2 else _code(part) for k, part in enumerate(parts))
    if ignore:
        tail = _RETURNING.search(out)
        out = (
            f"{out[: tail.start()]} ON CONFLICT DO NOTHING {out[tail.start() :]}"
            if tail
            else out.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
        )
    return out
