"""Pure domain rules: auto-fix coercion, resolution rules, cursors, token rules, ids and timestamps."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.domain.annotations import (
    AnnotationPatch,
    AutoFixDefault,
    ResolutionCreate,
    check_resolution,
    effective_auto_fix,
    parse_kind,
    parse_status,
    required_summary,
)
from workbench.domain.blank import is_blank
from workbench.domain.clock import iso_ms, new_id
from workbench.domain.cursors import decode_cursor, encode_cursor
from workbench.domain.errors import Forbidden, Invalid
from workbench.domain.roles import Principal, PrincipalKind, Role, require_role, require_session
from workbench.domain.tokens import clamp_token_role, hash_secret, is_well_formed_api_token, mint_secret


def test_status_taxonomy_is_closed():
    assert [parse_status(s).value for s in ["new", "ack", "triaged", "in_progress", "resolved", "won_t_fix", "duplicate"]]
    for bad in ["", "open", "wont_fix", "NEW", "resolved "]:
        with pytest.raises(Invalid):
            parse_status(bad)
    with pytest.raises(Invalid):
        parse_kind("rant")


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "\n\t ",
        "\u200b", "\u00a0\u200b", "\x07", "\x1b\x7f\x85",  # zero-width space, NBSP, controls (C0, DEL, C1)
        "\u200d\ufeff\u2060\u00ad\u202e",  # format characters: joiner, BOM, word joiner, soft hyphen, a bidi override
        "\u3164\u115f\uffa0", "\ufe0f\U000e0100\u034f",  # Hangul fillers; variation selectors, grapheme joiner
        "\u2028\u3000", "\u2800", "\U000e0041",  # line separator, ideographic space, braille blank, a tag character
    ],
)
def test_blank_is_whatever_shows_nothing_and_counts_as_none_everywhere(text):
    """One meaning of blank: the resolve summary refuses it; PATCH's summary and an explanation store it as none."""
    assert is_blank(text)
    with pytest.raises(Invalid, match="cannot be blank"):
        required_summary(text)
    assert AnnotationPatch(summary=text).summary is None
    assert ResolutionCreate(explanation=text).explanation is None


@pytest.mark.parametrize(
    "text",
    [
        "x", "\u200bFixed", "\x07Fixed",  # invisible characters beside visible ones: kept, as written
        "\u2705\ufe0f", "\U0001fae8",  # an emoji with its variation selector; one newer than this Python's Unicode tables
        "\ue000", "\u0301", "\u0660",  # private use (icon fonts), a combining mark, an Arabic-Indic zero
    ],
)
def test_one_visible_character_says_something(text):
    assert not is_blank(text)
    assert required_summary(f" {text}\n") == text
    assert AnnotationPatch(summary=text).summary == text
    assert ResolutionCreate(explanation=text).explanation == text


def _text_that_must_say_something():
    """Each request model's field that must say something, as (build, field)."""
    from workbench.domain.annotations import ReplyCreate
    from workbench.domain.feedback_sessions import CommentCreate
    from workbench.domain.personas import PersonaCreate
    from workbench.domain.test_sessions import NoteUpsert
    from workbench.domain.tokens import TokenCreate

    return [
        (lambda t: ReplyCreate(body=t), "body"),
        (lambda t: ReplyCreate(body="ok", author_name=t), "author_name"),
        (lambda t: CommentCreate(content=t, pagePath="/"), "content"),
        (lambda t: NoteUpsert(content=t), "content"),
        (lambda t: PersonaCreate(name=t, category="ux"), "name"),
        (lambda t: TokenCreate(name=t), "name"),
    ]


@pytest.mark.parametrize("blank", ["\u200b", "\u00a0\u200b", "\x07", "\u2800"])
def test_text_that_must_say_something_refuses_blank_as_it_refuses_empty(blank):
    """A body, comment, note or name of invisible characters is refused like an empty one (domain/blank.py)."""
    from pydantic import ValidationError

    for build, field in _text_that_must_say_something():
        with pytest.raises(ValidationError) as refused:
            build(blank)
        assert refused.value.errors()[0]["loc"][-1] == field
        assert "must say something" in str(refused.value)
        assert getattr(build(f"{blank}x"), field).endswith("x")  # beside a visible character it is kept


@pytest.mark.parametrize(
    "requested,default,expected",
    [
        (True, None, False),  # anonymous: always false, whatever the client sent
        (None, None, False),
        (True, AutoFixDefault.NEVER, False),
        (None, AutoFixDefault.OPTIONAL_OFF, False),
        (True, AutoFixDefault.OPTIONAL_OFF, True),
        (None, AutoFixDefault.OPTIONAL_ON, True),
        (False, AutoFixDefault.OPTIONAL_ON, False),
    ],
)
def test_effective_auto_fix(requested, default, expected):
    assert effective_auto_fix(requested, default) is expected


@pytest.mark.parametrize(
    "fields,ok",
    [
        ({}, False),
        ({"explanation": ""}, False),
        ({"diff_url": "https://github.com/a/b/pull/1"}, True),
        ({"diff_url": "http://github.com/a/b/pull/1"}, False),
        ({"diff_url": "https://"}, False),
        ({"diff_url": "HTTPS://x"}, False),
        ({"explanation": "a" * 4096}, True),
        ({"explanation": "a" * 4097}, False),
        ({"explanation": "€" * 1365}, True),  # 4095 bytes
        ({"explanation": "€" * 1366}, False),  # 4098 bytes: the cap counts bytes, not characters
        ({"after_key": "resolutions/x/after-1.png"}, True),
    ],
)
def test_resolution_rules(fields, ok):
    res = ResolutionCreate(**fields)
    if ok:
        check_resolution(res)
    else:
        with pytest.raises(Invalid):
            check_resolution(res)


@given(st.lists(st.one_of(st.integers(), st.text(max_size=20)), max_size=4), st.text(max_size=30))
def test_cursor_roundtrip_and_scope_binding(key, scope):
    secret = b"s" * 32
    cursor = encode_cursor(secret, scope, key)
    assert decode_cursor(secret, scope, cursor) == key
    with pytest.raises(Invalid):
        decode_cursor(secret, scope + "x", cursor)
    with pytest.raises(Invalid):
        decode_cursor(b"t" * 32, scope, cursor)


@given(st.integers(min_value=0, max_value=200), st.sampled_from("AQgwxz_-/+=."))
def test_a_changed_cursor_is_refused(position, char):
    """Any string but the one issued, even one that decodes to the same bytes (the last character's unused bits)."""
    secret = b"k" * 32
    cursor = encode_cursor(secret, "scope", [1700000000000, "01a2-id"])
    i = position % len(cursor)
    if cursor[i] == char:
        return
    with pytest.raises(Invalid):
        decode_cursor(secret, "scope", cursor[:i] + char + cursor[i + 1 :])


def test_other_base64_spellings_of_a_cursor_are_refused():
    secret = b"k" * 32
    key = [1700000000000, "01a2-id"]
    cursor = encode_cursor(secret, "scope", key)
    payload, sig = cursor.split(".")
    raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    standard = base64.b64encode(raw).rstrip(b"=").decode()
    for other in [cursor + "=", cursor + "==", payload + "=." + sig, payload + "." + standard, cursor + "\n", " " + cursor]:
        if other != cursor:
            with pytest.raises(Invalid):
                decode_cursor(secret, "scope", other)
    assert decode_cursor(secret, "scope", cursor) == key


def test_token_rules():
    token = mint_secret("gfat_")
    assert is_well_formed_api_token(token) and not is_well_formed_api_token("gfat_short") and not is_well_formed_api_token("x" + token)
    assert len(hash_secret(token)) == 64 and hash_secret(token) != hash_secret(token + "x")
    assert [clamp_token_role(r) for r in (Role.OWNER, Role.ADMIN, Role.MEMBER, Role.GUEST, None)] == [
        Role.MEMBER, Role.MEMBER, Role.MEMBER, Role.GUEST, Role.MEMBER,
    ]


def test_roles_rank_and_session_only():
    guest = Principal(kind=PrincipalKind.TOKEN, workspace_id="w", role=Role.GUEST, token_id="t")
    with pytest.raises(Forbidden, match="Insufficient role"):
        require_role(guest, Role.MEMBER)
    owner_token = Principal(kind=PrincipalKind.TOKEN, workspace_id="w", role=Role.OWNER, token_id="t")
    with pytest.raises(Forbidden):
        require_session(owner_token, Role.OWNER)
    mcp = Principal(kind=PrincipalKind.MCP, workspace_id="w", role=Role.MEMBER, site_id="s1")
    assert mcp.actor_id == "mcp:s1" and mcp.is_agent and not mcp.is_session
    assert guest.actor_id == "token:t"


def test_ids_sort_by_time_and_timestamps_format():
    ids = [new_id(1_700_000_000_000 + i) for i in range(50)]
    assert ids == sorted(ids) and len(set(ids)) == 50
    assert iso_ms(1_718_447_400_000) == "2024-06-15T10:30:00.000Z"
    assert iso_ms(1_718_447_400_007) == "2024-06-15T10:30:00.007Z" and iso_ms(None) is None


@given(st.integers(min_value=-62_135_596_800_000, max_value=253_402_300_799_999))
def test_timestamps_format_as_the_c_library_formats_them(ms: int) -> None:
    # iso_ms assembles the string from kept parts (a day's date, tables for the time): the
    # C library's strftime of the same instant, from year 1 to 9999, is the reference.
    seconds, milli = divmod(ms, 1000)
    assert iso_ms(ms) == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{milli:03d}Z"
