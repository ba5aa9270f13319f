"""Validated field types shared by the request models: the edge where caller text is refused or let in."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from workbench.domain.blank import is_blank
from workbench.domain.safe_text import refuse_nul

# Every caller-supplied string of a request model carries NoNul: a NUL byte is refused with a
# 422 naming the field, before it can reach SQLite, a log line or a terminal. It goes LAST in
# an Annotated[...]: a StringConstraints placed after a validator is silently ignored by
# pydantic (min_length and strip_whitespace stop applying), so constraints come first:
#     Annotated[str, StringConstraints(max_length=100), NoNul]
NoNul = AfterValidator(refuse_nul)

# A string with no constraint of its own besides NoNul.
CleanStr = Annotated[str, NoNul]


def _refuse_blank(value: str) -> str:
    # strip_whitespace leaves a zero-width space or a BEL, which says nothing (domain/blank.py).
    if is_blank(value):
        raise ValueError("must say something: only invisible characters were given")
    return value


# On text that must say something (a body, a comment, a note, a name): after its constraints,
# like NoNul, so ``min_length`` still refuses "" with its own message.
Said = AfterValidator(_refuse_blank)
