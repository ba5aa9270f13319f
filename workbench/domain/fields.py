"""Validated field types shared by the request models: the edge where caller text is refused or let in."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

from workbench.domain.blank import is_blank
from workbench.domain.clock import NO_ZONE, TIMESTAMP_FORM
from workbench.domain.safe_text import refuse_nul

# A lone surrogate ("\udfff" in a JSON body): Python's JSON reader lets it in, but no UTF-8
# encoder lets it out, so it failed the store's write (a 500) or the answer's encoding.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_nul_and_surrogates(value: str) -> str:
    refuse_nul(value)
    if _SURROGATE.search(value):
        # Pydantic's own refusal of such a string in a constrained field, so every field says it alike.
        raise PydanticCustomError("string_unicode", "Input should be a valid string, unable to parse raw data as a unicode string")
    return value


# Every caller-supplied string of a request model carries NoNul: a NUL byte or a lone surrogate
# is refused with a 422 naming the field, before it can reach SQLite, a log line or a terminal
# (pydantic refuses a surrogate itself only in a field with constraints). It goes LAST in
# an Annotated[...]: a StringConstraints placed after a validator is silently ignored by
# pydantic (min_length and strip_whitespace stop applying), so constraints come first:
#     Annotated[str, StringConstraints(max_length=100), NoNul]
NoNul = AfterValidator(_refuse_nul_and_surrogates)

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


# Query values as the documents write them (``limit=50``, ``auto_fix=true``). Pydantic's lax
# parsing took "5_0", "+5", " 5" and "50.0" for numbers and "yes", "on", "1", "t" or "TRUE" for
# true: a typo, or another API's spelling, paged or filtered as if it had been meant. A sign
# stays readable, so a negative value gets its field's own range message.
_QUERY_INT = re.compile(r"-?[0-9]+")


def _query_digits(value: object) -> object:
    if isinstance(value, str) and not _QUERY_INT.fullmatch(value):
        raise PydanticCustomError("int_parsing", "Input should be a whole number in ASCII digits, like 50")
    return value


def _query_true_or_false(value: object) -> object:
    if isinstance(value, str):
        if value not in ("true", "false"):
            raise PydanticCustomError("bool_parsing", "Input should be true or false")
        return value == "true"
    return value


QueryInt = Annotated[int, BeforeValidator(_query_digits)]
QueryBool = Annotated[bool, BeforeValidator(_query_true_or_false)]


# A timestamp a request sends (a token's ``expires_at``, a test session's ``completedAt``; a date
# and time in MCP's and the CLI's ``since`` meets the same rule in since.py): an ISO 8601 date and
# time with its zone, as the documents write every time ("2026-03-16T10:32:00Z"). Without a zone
# it is ambiguous: read as UTC, a client that sent its local time (Python's
# ``datetime.now().isoformat()``) would have it moved by its offset, silently, into a wrong
# duration or expiry; so it is refused, saying what to add.
# A number (epoch seconds to pydantic) or a bare date (midnight) is no time a client means here.
_DATE_AND_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _zoned_date_and_time(value: object) -> object:
    if isinstance(value, datetime):  # a Python caller's own, held to the same rule
        if value.utcoffset() is None:
            raise PydanticCustomError("timezone_aware", NO_ZONE, {"sent": value.isoformat()})
        return value
    if not isinstance(value, str) or not _DATE_AND_TIME.match(value):
        raise PydanticCustomError("datetime_type", f"must be {TIMESTAMP_FORM}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("datetime_parsing", f"is not a valid date and time: must be {TIMESTAMP_FORM}") from None
    if parsed.utcoffset() is None:
        raise PydanticCustomError("timezone_aware", NO_ZONE, {"sent": value})  # parsed: ISO digits and separators only
    return parsed


Timestamp = Annotated[AwareDatetime, BeforeValidator(_zoned_date_and_time)]
