"""The search language (workbench/domain/query.py): terms, operators, qualifiers, and a clear refusal for bad input."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.domain.errors import Invalid
from workbench.domain.query import MAX_QUERY, Search, Term, parse, parse_words

NOW = int(datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp() * 1000)
DAY = 86_400_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_words_phrases_exclusions_and_or():
    s = parse('checkout "payment declined" -mobile -"dark mode" coupon OR voucher check*', NOW)
    assert s.groups == (
        (Term("checkout"),), (Term("payment declined", phrase=True),), (Term("coupon"), Term("voucher")), (Term("check", prefix=True),)
    )
    assert s.excluded == (Term("mobile"), Term("dark mode", phrase=True))
    assert s.fts_match() == '("checkout") AND ("payment declined") AND ("coupon" OR "voucher") AND ("check"*)'
    assert s.fts_exclude() == '"mobile" OR "dark mode"'
    assert parse("a OR b OR c", NOW).groups == ((Term("a"), Term("b"), Term("c")),)
    assert parse("a AND b", NOW).groups == ((Term("a"),), (Term("b"),))


def test_quotes_inside_terms_cannot_escape_into_fts_syntax():
    s = parse('say"NEAR(x y)" "a""b', NOW)
    for group in s.groups:
        for term in group:
            fts = term.fts()
            assert fts.startswith('"') and fts.rstrip("*").endswith('"')
            assert '"' not in fts.rstrip("*")[1:-1].replace('""', "")


def test_qualifiers_and_their_values():
    s = parse('status:new,ACK -status:resolved kind:bug site:"Acme shop" source:comments assignee:@me is:auto-fix '
              "page:/cart author:maria", NOW)
    assert s.statuses == ("new", "ack") and s.excluded_statuses == ("resolved",)
    assert s.kinds == ("bug",) and s.sites == ("Acme shop",) and s.sources == ("comment",)
    assert s.assignees == ("@me",) and s.auto_fix is True and s.pages == ("/cart",) and s.authors == ("maria",)
    assert s.groups == () and not s.has_text and not s.is_empty
    assert parse("-is:autofix", NOW).auto_fix is False
    assert parse("assignee:none assignee:Maria", NOW).assignees == ("none", "Maria")
    assert parse("status:won't_fix status:wontfix", NOW).statuses == ("won_t_fix", "won_t_fix")
    assert parse("kind:bug,", NOW).kinds == ("bug",)  # a trailing comma, as typing leaves it
    assert parse("", NOW) == Search() and parse("   ", NOW).is_empty


@pytest.mark.parametrize(
    ("text", "created", "updated"),
    [
        ("age:<7d", (NOW - 7 * DAY, None), (None, None)),
        ("age:>2w", (None, NOW - 14 * DAY), (None, None)),
        ("age:<12h age:>1h", (NOW - 12 * 3_600_000, NOW - 3_600_000), (None, None)),
        ("updated:>2026-11-01", (None, None), (ms("2026-11-02"), None)),
        ("updated:>=2026-11-01", (None, None), (ms("2026-11-01"), None)),
        ("updated:<2026-11-01", (None, None), (None, ms("2026-11-01"))),
        ("updated:<=2026-11-01", (None, None), (None, ms("2026-11-02"))),
        ("updated:2026-11-01", (None, None), (ms("2026-11-01"), ms("2026-11-02"))),
        ("updated:2026-10-01..2026-11-01", (None, None), (ms("2026-10-01"), ms("2026-11-02"))),
        ("updated:2026-10-01..*", (None, None), (ms("2026-10-01"), None)),
        ("updated:>2026-11-01T10:00Z", (None, None), (ms("2026-11-01T10:00") + 1, None)),
        ("age:<2026-11-01", (None, ms("2026-11-01")), (None, None)),
    ],
)
def test_ages_and_dates_become_half_open_ranges(text, created, updated):
    s = parse(text, NOW)
    assert (s.created, s.updated) == (created, updated)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour:red", 'Unknown qualifier "colour:". Known: status:, kind:, site:'),
        ("http://example.com", 'quote it: "http://example.com"'),
        ("status:", "status: needs a value, e.g. status:new"),
        ("status:open-ish", "Unknown status:open-ish. Known: new, ack"),
        ("kind:feature", "Unknown kind:feature. Known: bug"),
        ("source:email", "Unknown source:email"),
        ("is:open", "Unknown is:open. Known: is:autofix"),
        ("is:autofix -is:autofix", "match nothing"),
        ("-site:x", "-site: cannot exclude"),
        ("age:7d", "age:7d needs < or >"),
        ("age:<7y", "cannot read '7y' as a date"),
        ("updated:>2026-13-01", "updated: cannot read '2026-13-01' as a date"),
        ("updated:>yesterday", "cannot read 'yesterday'"),
        ("updated:..", "needs a date on at least one side"),
        # A range written backwards, or bounds that leave no time, matched nothing without a word.
        ("updated:2026-11-05..2026-11-01", "updated:2026-11-05..2026-11-01 is reversed: '2026-11-05' is after '2026-11-01'; "
                                           "write updated:2026-11-01..2026-11-05"),
        ("age:2026-11-02..2026-11-01", "age:2026-11-02..2026-11-01 is reversed"),
        ("updated:2026-11-01T10:00Z..2026-11-01T09:00Z", "is reversed"),
        ("updated:>2026-11-01 updated:<2026-10-01", "updated:<2026-10-01 and the updated: before it together match nothing"),
        ("age:<7d age:>2w", "age:>2w and the age: before it together match nothing"),
        ("OR coupon", "OR needs a search term on each side"),
        ("coupon OR", "OR needs a search term on each side"),
        ("a OR OR b", "OR needs a search term on each side"),
        ("a OR -b", "OR cannot join an excluded term"),
        ("a OR status:new", "OR joins search terms, not qualifiers"),
        ("NOT coupon", "Exclude with a minus sign"),
        ("a\x1b[2Jb", "control characters"),
        ("a\x9b2Jb", "control characters"),  # a C1 CSI
        ("a\x7f", "control characters"),
        ("x" * (MAX_QUERY + 1), f"at most {MAX_QUERY} characters"),
    ],
)
def test_bad_input_is_refused_with_the_reason(text, message):
    with pytest.raises(Invalid) as refused:
        parse(text, NOW)
    assert message in refused.value.message


def test_punctuation_only_matches_nothing_rather_than_everything():
    s = parse('"*(', NOW)
    assert s.matches_nothing and s.groups == () and not s.is_empty
    assert not parse("coupon -", NOW).matches_nothing  # a stray sign beside a word is ignored


def test_words_only_lists_refuse_qualifiers_and_match_in_memory():
    s = parse_words('contrast OR keyboard -"dark mode"', "Personas")
    assert s.matches_text("Keyboard-only navigator") and not s.matches_text("keyboard in dark mode") and not s.matches_text("x")
    with pytest.raises(Invalid, match="Personas are searched by words only"):
        parse_words("category:ux", "Personas")


FTS = sqlite3.connect(":memory:", check_same_thread=False)
FTS.execute("CREATE VIRTUAL TABLE t USING fts5(body, content='', tokenize='porter')")


@given(st.text(max_size=120))
def test_any_text_parses_or_is_refused_cleanly_and_its_fts_runs(text):
    try:
        s = parse(text, NOW)
    except Invalid as exc:
        assert exc.message
        return
    for expr in (s.fts_match(), s.fts_exclude()):
        if expr is not None:
            FTS.execute("SELECT rowid FROM t WHERE t MATCH ?", [expr]).fetchall()  # no FTS syntax error
