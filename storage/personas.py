"""Repository of personas (the seeded defaults and a workspace's customs), in the documented order."""

from __future__ import annotations

import dataclasses
from sqlite3 import Connection
from typing import Any

from storage.rows import columns, fetch_all, fetch_one, json_dump, json_load, update_fields
from workbench.domain.records import Persona

_P = columns(Persona)
_FIELDS = [f.name for f in dataclasses.fields(Persona)]
_FOCUS_AT = _FIELDS.index("focus")
_DEFAULT_AT = _FIELDS.index("is_default")
# "Ordered: category asc, defaults before customs in a category, name asc."
_ORDER = "ORDER BY category, is_default DESC, name COLLATE NOCASE, name, id"


def _persona(*row: Any) -> Persona:  # sqlite3 rows are untyped; the field order is the schema
    values = list(row)
    values[_FOCUS_AT] = json_load(values[_FOCUS_AT]) or []
    values[_DEFAULT_AT] = bool(values[_DEFAULT_AT])
    return Persona(*values)


def _row(p: Persona) -> list[object]:
    values = [getattr(p, n) for n in _FIELDS]
    values[_FIELDS.index("focus")] = json_dump(list(p.focus))
    values[_FIELDS.index("is_default")] = int(p.is_default)
    return values


def add_personas(db: Connection, personas: list[Persona]) -> None:
    db.executemany(f"INSERT INTO personas ({_P}) VALUES ({', '.join('?' for _ in _FIELDS)})", [_row(p) for p in personas])


def get_persona(db: Connection, workspace_id: str, persona_id: str) -> Persona | None:
    return fetch_one(db, _persona, f"SELECT {_P} FROM personas WHERE id = ? AND workspace_id = ?", [persona_id, workspace_id])


def get_by_slug(db: Connection, workspace_id: str, slug: str) -> Persona | None:
    return fetch_one(db, _persona, f"SELECT {_P} FROM personas WHERE slug = ? AND workspace_id = ?", [slug, workspace_id])


def list_personas_sql(workspace_id: str, category: str | None = None) -> tuple[str, list[object]]:
    """The SELECT ``list_personas`` runs (tests read its plan): the personas_ws_order index, in order."""
    if category is None:
        return f"SELECT {_P} FROM personas WHERE workspace_id = ? {_ORDER}", [workspace_id]
    return f"SELECT {_P} FROM personas WHERE workspace_id = ? AND category = ? {_ORDER}", [workspace_id, category]


def list_personas(db: Connection, workspace_id: str, category: str | None = None) -> list[Persona]:
    sql, params = list_personas_sql(workspace_id, category)
    return fetch_all(db, _persona, sql, params)


# A keyset position in the documented order: (category, is_default, name, id) of a page's last persona.
PersonaKey = tuple[str, bool, str, str]


def persona_page_sql(workspace_id: str, category: str | None, after: PersonaKey, limit: int) -> list[tuple[str, list[object]]]:
    """The SELECTs (tests read their plans) that continue the list after ``after``, in order: the rest
    of its (category, is_default) run, then customs of its category when it was a default, then the
    later categories (all categories' list only). ``is_default DESC`` runs against the other columns,
    so no one row value spans the order; each part is a range of the personas_ws_order index."""
    at_category, at_default, at_name, at_id = after
    head = f"SELECT {_P} FROM personas WHERE workspace_id = ? AND "
    tail = f" {_ORDER} LIMIT ?"
    # The scalar bound is what SQLite seeks the index by; the row value then orders equal names.
    parts: list[tuple[str, list[object]]] = [(
        head + "category = ? AND is_default = ? AND name COLLATE NOCASE >= ? COLLATE NOCASE "
        "AND (name COLLATE NOCASE, name, id) > (? COLLATE NOCASE, ?, ?)" + tail,
        [workspace_id, at_category, int(at_default), at_name, at_name, at_name, at_id, limit],
    )]
    if at_default:
        parts.append((head + "category = ? AND is_default = 0" + tail, [workspace_id, at_category, limit]))
    if category is None:
        parts.append((head + "category > ?" + tail, [workspace_id, at_category, limit]))
    return parts


def list_personas_page(db: Connection, workspace_id: str, category: str | None, after: PersonaKey | None, limit: int) -> list[Persona]:
    """At most ``limit`` personas of the documented order (one category's, or all), after ``after``."""
    if after is None:
        sql, params = list_personas_sql(workspace_id, category)
        return fetch_all(db, _persona, sql + " LIMIT ?", [*params, limit])
    found: list[Persona] = []
    for sql, params in persona_page_sql(workspace_id, category, after, limit):
        params[-1] = limit - len(found)
        found += fetch_all(db, _persona, sql, params)
        if len(found) == limit:
            break
    return found


def persona_key(p: Persona) -> PersonaKey:
    return (p.category, p.is_default, p.name, p.id)


def update_persona(db: Connection, persona_id: str, values: dict[str, Any]) -> None:
    if "focus" in values:
        values = {**values, "focus": json_dump(list(values["focus"]))}
    if "is_default" in values:
        values = {**values, "is_default": int(bool(values["is_default"]))}
    update_fields(db, "personas", "id", persona_id, values)


def delete_persona(db: Connection, persona_id: str) -> None:
    db.execute("DELETE FROM personas WHERE id = ?", [persona_id])
