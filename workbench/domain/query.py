"""The search language of the inbox (and the CLI): GitHub-like text, parsed once into a ``Search``.

    checkout "payment declined" -mobile  coupon OR voucher
    status:new,ack kind:bug site:"Acme shop" source:annotation assignee:@me is:autofix
    page:/cart author:maria age:<7d updated:>2026-11-01  -status:resolved -is:autofix

- A word matches annotations whose body, summary or thread holds it (full-text, stemmed:
  ``crash`` finds "crashes"); ``check*`` finds words starting with "check"; a
  ``"quoted phrase"`` matches those words in that order. Whole words, as GitHub does, also
  keep a search flat at a million rows: FTS5 merges every word of a prefix before it can
  hand out the first match, while a word's own list is read only as far as the window.
- ``-word`` / ``-"phrase"`` excludes; ``OR`` joins the terms on each side of it (it binds
  tighter than the implicit AND between terms: ``a b OR c`` is ``a AND (b OR c)``).
- Qualifiers (``name:value``; ``value`` may be quoted; ``a,b`` or a repeated qualifier means
  either): see ``QUALIFIERS``. ``-status:``, ``-kind:``, ``-source:`` and ``-is:`` exclude.
- ``age:`` and ``updated:`` take ``<``, ``<=``, ``>``, ``>=`` before an age (``30m``, ``12h``,
  ``7d``, ``2w``) or a date (``2026-11-01``, or a time ``2026-11-01T10:00Z``), or a date
  range ``2026-10-01..2026-11-01`` (earlier date first). ``age:<7d``: created less than 7 days ago;
  ``updated:>2026-11-01``: changed after that (UTC) day. A range, or bounds together, that
  leave no time between them are refused, not searched for nothing.

Bad input raises ``Invalid`` with a message meant for the person typing: the unknown
qualifier, the bad value and what is accepted instead. A hand parser rather than a grammar
library: the language is a flat list of terms (no nesting), the tokenizer is the whole of the
syntax, and the work is in the qualifiers' meanings, which a grammar would not carry.
What each qualifier means for each source (sites vs stores vs studies, who the author is) is
resolved by ``workbench.services.inbox``; storage turns the result into SQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from workbench.domain.errors import Invalid
from workbench.domain.statuses import CommentStatus, Kind, Status, TestSessionStatus

MAX_QUERY = 500  # characters: a search box, not a document

QUALIFIERS: dict[str, str] = {
    "status": "status:new, status:resolved, status:open, status:completed (a comma means either; status:all, status:awaiting)",
    "kind": "kind:bug, kind:copy,design (annotations only)",
    "site": 'site:"Acme shop": a site, store or study by name',
    "source": "source:annotation, source:comment, source:test",
    "assignee": "assignee:@me, assignee:none, assignee:<member name or email> (annotations only)",
    "is": "is:autofix (auto-fix authorised; -is:autofix: not authorised)",
    "page": "page:/checkout: the page's URL or path contains this",
    "author": "author:maria: the submitter, reviewer or tester's name contains this",
    "age": "age:<7d (created less than 7 days ago), age:>2w, age:<2026-11-01",
    "updated": "updated:>2026-11-01, updated:<12h (annotations: last change)",
}
# A qualifier's first example in QUALIFIERS: a quoted value whole, up to the ": " of what it means,
# a comma or a space. The text to the first space gave 'site:"Acme' and 'page:/checkout:'.
_EXAMPLE = re.compile(r'[a-z]+:(?:"[^"]*"|[^\s,]*?)(?=: |,| |$)')


def _example(key: str) -> str:
    found = _EXAMPLE.match(QUALIFIERS[key])
    return found.group(0) if found else f"{key}:…"


NEGATABLE = ("status", "kind", "source", "is")
_SPECIAL_STATUSES = ("all", "any", "awaiting")
STATUSES = tuple(dict.fromkeys([*(s.value for s in Status), *(s.value for s in CommentStatus), *(s.value for s in TestSessionStatus)]))
_STATUS_ALIASES = {"wont_fix": "won_t_fix", "wontfix": "won_t_fix", "won't_fix": "won_t_fix", "in-progress": "in_progress",
                   "inprogress": "in_progress", "any": "all"}
SOURCES = ("annotation", "comment", "test")
_SOURCE_ALIASES = {"annotations": "annotation", "comments": "comment", "tests": "test", "test-session": "test",
                   "test_session": "test", "session": "comment"}
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_AGE = re.compile(r"^(\d{1,6})(m|h|d|w)$", re.IGNORECASE)
_WORD = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Term:
    """A word (matches words starting with it) or a phrase (those words, in that order)."""

    text: str
    phrase: bool = False
    prefix: bool = False  # ``check*``: words starting with it

    def fts(self) -> str:
        """This term as an FTS5 string: quoted, so no FTS syntax gets through."""
        quoted = '"' + self.text.replace('"', '""') + '"'
        return quoted + "*" if self.prefix else quoted


@dataclass(frozen=True, slots=True)
class Search:
    """A parsed query. Empty fields do not filter; qualifier values are checked but not yet resolved to ids."""

    text: str = ""
    groups: tuple[tuple[Term, ...], ...] = ()  # every group must match; a group: any of its terms
    excluded: tuple[Term, ...] = ()
    statuses: tuple[str, ...] = ()  # raw statuses, or "all" / "awaiting"
    excluded_statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    excluded_kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    excluded_sources: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()  # names (or ids), resolved by the service
    assignees: tuple[str, ...] = ()  # "@me", "none", or a member's name / email / id
    auto_fix: bool | None = None
    pages: tuple[str, ...] = ()  # substrings, any of them
    authors: tuple[str, ...] = ()  # substrings, any of them
    created: tuple[int | None, int | None] = (None, None)  # [from, to) epoch ms
    updated: tuple[int | None, int | None] = (None, None)
    matches_nothing: bool = False  # terms made only of punctuation: no word can match them
    qualifiers: frozenset[str] = field(default_factory=frozenset)  # which qualifiers were given

    @property
    def has_text(self) -> bool:
        return bool(self.groups or self.excluded or self.matches_nothing)

    @property
    def is_empty(self) -> bool:
        return not self.has_text and not self.qualifiers

    def fts_match(self) -> str | None:
        """The FTS5 expression rows must match (None: no positive term)."""
        if not self.groups:
            return None
        return " AND ".join("(" + " OR ".join(t.fts() for t in g) + ")" for g in self.groups)

    def fts_exclude(self) -> str | None:
        """The FTS5 expression rows must not match (None: nothing excluded)."""
        return " OR ".join(t.fts() for t in self.excluded) or None

    def matches_text(self, text: str) -> bool:
        """Whether ``text`` holds every group's term and no excluded one (case-insensitive substrings).

        For lists small enough to filter in memory (personas), where there is no FTS index.
        """
        if self.matches_nothing:
            return False
        hay = text.casefold()
        return all(any(t.text.casefold() in hay for t in g) for g in self.groups) and not any(
            t.text.casefold() in hay for t in self.excluded
        )


# -- tokens --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    quoted: bool
    negated: bool
    key: str | None = None  # a qualifier's name


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    """The text from the quote at ``i`` to the next one (or the end: an unclosed quote runs on)."""
    end = text.find('"', i + 1)
    if end < 0:
        return text[i + 1 :], len(text)
    return text[i + 1 : end], end + 1


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = False
        if text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            negated, i = True, i + 1
        if text[i] == '"':
            value, i = _read_quoted(text, i)
            out.append(_Token(value, True, negated))
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] != '"':
            if text[i] == ":" and re.fullmatch(r"[A-Za-z_]+", text[start:i]):
                key = text[start:i].lower()
                i += 1
                if i < n and text[i] == '"':
                    value, i = _read_quoted(text, i)
                else:
                    j = i
                    while i < n and not text[i].isspace():
                        i += 1
                    value = text[j:i]
                out.append(_Token(value, False, negated, key))
                break
            i += 1
        else:
            out.append(_Token(text[start:i], False, negated))
    return out


# -- parsing ---------------------------------------------------------------------------------------
def parse(text: str, now_ms: int) -> Search:
    """``text`` as a ``Search``; ``Invalid`` naming the problem for anything it cannot mean."""
    text = text or ""
    if len(text) > MAX_QUERY:
        raise Invalid(f"A search is at most {MAX_QUERY} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n" for c in text):  # C0, DEL, C1
        raise Invalid("A search cannot hold control characters")
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    fields: dict[str, list[str]] = {}
    negated: dict[str, list[str]] = {}
    ranges: dict[str, tuple[int | None, int | None]] = {}
    auto_fix: bool | None = None
    dropped = False
    pending_or = False
    tokens = _tokens(text)
    for pos, tok in enumerate(tokens):
        if tok.key is None and not tok.quoted and not tok.negated and tok.text in ("OR", "AND", "NOT"):
            if tok.text == "OR":
                if not groups or pos == len(tokens) - 1 or pending_or:
                    raise Invalid("OR needs a search term on each side, e.g. coupon OR voucher")
                pending_or = True
            elif tok.text == "NOT":
                raise Invalid('Exclude with a minus sign: -word or -"a phrase"')
            continue  # AND is what a space means already
        if tok.key is not None:
            if pending_or:
                raise Invalid("OR joins search terms, not qualifiers: for either value write status:new,ack")
            auto_fix = _qualifier(tok, now_ms, fields, negated, ranges, auto_fix)
            continue
        word = tok.text.strip()
        prefix = not tok.quoted and len(word) > 1 and word.endswith("*")
        term = Term(word.rstrip("*") if prefix else word, phrase=tok.quoted, prefix=prefix)
        if not _WORD.search(term.text):
            # Punctuation only: FTS has no word to look for (and "" would be a syntax error).
            if pending_or:
                raise Invalid("OR needs a search term on each side, e.g. coupon OR voucher")
            dropped = dropped or not tok.negated
            continue
        if tok.negated:
            if pending_or:
                raise Invalid("OR cannot join an excluded term: write -a -b to exclude both")
            excluded.append(term)
        elif pending_or:
            groups[-1].append(term)
            pending_or = False
        else:
            groups.append([term])
    if pending_or:
        raise Invalid("OR needs a search term on each side, e.g. coupon OR voucher")
    return Search(
        text=text.strip(),
        groups=tuple(tuple(g) for g in groups),
        excluded=tuple(excluded),
        statuses=tuple(fields.get("status", ())),
        excluded_statuses=tuple(negated.get("status", ())),
        kinds=tuple(fields.get("kind", ())),
        excluded_kinds=tuple(negated.get("kind", ())),
        sources=tuple(fields.get("source", ())),
        excluded_sources=tuple(negated.get("source", ())),
        sites=tuple(fields.get("site", ())),
        assignees=tuple(fields.get("assignee", ())),
        auto_fix=auto_fix,
        pages=tuple(fields.get("page", ())),
        authors=tuple(fields.get("author", ())),
        created=ranges.get("age", (None, None)),
        updated=ranges.get("updated", (None, None)),
        matches_nothing=dropped and not groups,
        qualifiers=frozenset([*fields, *negated, *ranges] + (["is"] if auto_fix is not None else [])),
    )


def parse_words(text: str, what: str) -> Search:
    """Words, phrases, ``-word`` and ``OR`` only, for lists with no qualifiers (``what``: e.g. "Personas")."""
    if re.search(r"(^|\s)-?[A-Za-z_]+:", text or ""):
        raise Invalid(f"{what} are searched by words only (no qualifiers): e.g. contrast OR keyboard -mobile")
    return parse(text, 0)


def _known() -> str:
    return ", ".join(f"{k}:" for k in QUALIFIERS)


def _qualifier(
    tok: _Token,
    now_ms: int,
    fields: dict[str, list[str]],
    negated: dict[str, list[str]],
    ranges: dict[str, tuple[int | None, int | None]],
    auto_fix: bool | None,
) -> bool | None:
    key, value = tok.key or "", tok.text.strip()
    if key not in QUALIFIERS:
        raise Invalid(f'Unknown qualifier "{key}:". Known: {_known()}. To search for the text itself, quote it: "{key}:{value}"')
    if not value:
        raise Invalid(f"{key}: needs a value, e.g. {_example(key)}")
    if tok.negated and key not in NEGATABLE:
        raise Invalid(f"-{key}: cannot exclude; only {', '.join('-' + k + ':' for k in NEGATABLE)} can")
    into = negated if tok.negated else fields
    if key == "is":
        if value.lower().replace("-", "").replace("_", "") != "autofix":
            raise Invalid(f'Unknown is:{value}. Known: is:autofix')
        wanted = not tok.negated
        if auto_fix is not None and auto_fix != wanted:
            raise Invalid("is:autofix and -is:autofix together match nothing; keep one")
        return wanted
    if key in ("age", "updated"):
        lo, hi = _when(key, value, now_ms)
        old_lo, old_hi = ranges.get(key, (None, None))
        lo, hi = _max(old_lo, lo), _min(old_hi, hi)
        if lo is not None and hi is not None and lo >= hi:
            # Two bounds that leave no time between them (updated:>2026-11-01 updated:<2026-10-01,
            # age:<7d age:>2w): refused as is:autofix -is:autofix is, rather than matching nothing.
            raise Invalid(f"{key}:{value[:80]} and the {key}: before it together match nothing; keep one")
        ranges[key] = (lo, hi)
        return auto_fix
    values = [v.strip() for v in value.split(",") if v.strip()] if key in ("status", "kind", "source") else [value]
    for v in values:
        into.setdefault(key, []).append(_checked(key, v))
    return auto_fix


def _checked(key: str, value: str) -> str:
    low = value.lower()
    if key == "status":
        low = _STATUS_ALIASES.get(low.replace(" ", "_"), low.replace(" ", "_"))
        if low not in STATUSES and low not in _SPECIAL_STATUSES:
            raise Invalid(f"Unknown status:{value}. Known: {', '.join(STATUSES)}, all, awaiting")
        return low
    if key == "kind":
        if low not in {k.value for k in Kind}:
            raise Invalid(f"Unknown kind:{value}. Known: {', '.join(k.value for k in Kind)}")
        return low
    if key == "source":
        low = _SOURCE_ALIASES.get(low, low)
        if low not in SOURCES:
            raise Invalid(f"Unknown source:{value}. Known: annotation, comment, test")
        return low
    if key == "assignee":
        return {"me": "@me", "@me": "@me", "none": "none", "nobody": "none"}.get(low, value)
    return value


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _min(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


_WHEN_HELP = "e.g. {k}:<7d, {k}:>2w, {k}:>2026-11-01, {k}:2026-10-01..2026-11-01 (units: m, h, d, w)"


def _when(key: str, value: str, now_ms: int) -> tuple[int | None, int | None]:
    """``[from, to)`` epoch ms of an ``age:`` / ``updated:`` value."""
    help_ = _WHEN_HELP.format(k=key)
    if ".." in value:
        a, _, b = value.partition("..")
        lo = _instant(key, a, help_, end=False) if a and a != "*" else None
        hi = _instant(key, b, help_, end=True) if b and b != "*" else None
        if lo is None and hi is None:
            raise Invalid(f"{key}:{value} needs a date on at least one side, {help_}")
        if lo is not None and hi is not None and lo >= hi:
            # A range written backwards matched nothing, without a word: the earlier date goes first.
            raise Invalid(f"{key}:{value[:80]} is reversed: {a[:40]!r} is after {b[:40]!r}; write {key}:{b[:40]}..{a[:40]}")
        return lo, hi
    op = next((o for o in ("<=", ">=", "<", ">") if value.startswith(o)), "")
    rest = value[len(op) :].strip()
    if not rest:
        raise Invalid(f"{key}:{value} needs an age or a date, {help_}")
    age = _AGE.match(rest)
    if age:
        ms = int(age.group(1)) * _UNIT_MS[age.group(2).lower()]
        if not op:
            raise Invalid(f"{key}:{value} needs < or > (newer or older than {rest}?), {help_}")
        at = now_ms - ms
        # An age: "<7d" is newer than 7 days ago, so the bound flips.
        return (at, None) if op.startswith("<") else (None, at + (1 if op == ">=" else 0))
    day = _is_day(rest)
    start = _instant(key, rest, help_, end=False)
    after_end = _instant(key, rest, help_, end=True)  # the end of that day (or just after that instant)
    if op == ">":
        return (after_end if day else start + 1), None
    if op == ">=":
        return start, None
    if op == "<":
        return None, start
    if op == "<=":
        return None, after_end
    return (start, after_end) if day else (start, start + 1)


def _is_day(text: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None


def _instant(key: str, text: str, help_: str, *, end: bool) -> int:
    """Epoch ms of a date (its start, or with ``end`` the next day's start) or a time (UTC when no zone)."""
    text = text.strip()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise Invalid(f"{key}: cannot read {text[:40]!r} as a date, {help_}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if end:
        dt += timedelta(days=1) if _is_day(text) else timedelta(milliseconds=1)
    try:
        return int(dt.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        raise Invalid(f"{key}: {text[:40]!r} is out of range, {help_}") from None
