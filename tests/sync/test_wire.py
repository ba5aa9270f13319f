"""The documented wire shapes → replica records: every reply author shape a server may send."""

from __future__ import annotations

import pytest

from sync import wire

BASE = {"id": "r1", "annotation_id": "a1", "body": "hi", "created_at": "2024-06-15T10:30:00.000Z"}


@pytest.mark.parametrize(
    ("fields", "kind", "author_id", "name"),
    [
        ({"author": {"type": "agent", "id": "tok-1", "name": "CI bot"}}, "agent", "tok-1", "CI bot"),  # the bundled server
        ({"author_name": "Dana Designer"}, "user", None, "Dana Designer"),  # the document's one field
        ({"author_name": "CI bot", "author": "agent"}, "agent", None, "CI bot"),  # "Author is agent for token callers"
        ({"author": "Dana Designer"}, "user", None, "Dana Designer"),  # a string that is no kind is the name
        ({"author_name": "CI bot", "author_type": "Agent", "author_id": 7}, "agent", "7", "CI bot"),
        ({"author_name": "Reviewer", "author_kind": "persona", "persona_id": "p1"}, "persona", None, "Reviewer"),
        ({"author_name": "Copy editor", "persona_id": "p1"}, "persona", None, "Copy editor"),
        ({"author": None, "author_name": None}, "user", None, ""),
        ({"author": {"type": "robot", "name": "X"}}, "user", None, "X"),  # an unknown kind is not stored as is
    ],
)
def test_reply_authors_in_every_shape(fields, kind, author_id, name):
    r = wire.reply({**BASE, **fields}, "ws")
    assert (r.author_kind, r.author_id, r.author_name) == (kind, author_id, name)
