"""Three-way merge of a replica's record against the server's, field by field.

``base`` is the last server version both sides started from, ``mine`` the local record,
``theirs`` the server's current one. A field only one side changed takes that side's value;
a field both changed to the same value is simply that value; a field both changed to
different values is a conflict: the local value stays (nothing is overwritten silently)
and the caller records the conflict for the user to settle (keep mine or take theirs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# What the documented API lets a client change on an annotation (PATCH body).
ANNOTATION_FIELDS = ("status", "summary", "assignee_id")


@dataclass(slots=True)
class Merged:
    """The merged values, the fields that took the server's value, and the conflicts."""

    values: dict[str, Any]
    taken: list[str] = field(default_factory=list)
    conflicts: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field -> (mine, theirs)


def merge(base: Mapping[str, Any], mine: Mapping[str, Any], theirs: Mapping[str, Any], fields: Iterable[str]) -> Merged:
    out = Merged(values={})
    for name in fields:
        b, m, t = base.get(name), mine.get(name), theirs.get(name)
        if m == t or t == b:
            out.values[name] = m
        elif m == b:
            out.values[name] = t
            out.taken.append(name)
        else:
            out.values[name] = m
            out.conflicts[name] = (m, t)
    return out


def dirty(base: Mapping[str, Any], mine: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The local values that differ from the base: what a push has to send."""
    return {name: mine.get(name) for name in fields if mine.get(name) != base.get(name)}
