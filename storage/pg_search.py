"""A parsed search (workbench/domain/query.py) as a PostgreSQL ``tsquery`` that finds what FTS5 finds.

SQLite reads the query as FTS5 text (``Search.fts_match``/``fts_exclude``). Here each term's
words go through the same function as the indexed text (``workbench_search_words``, see
storage/pg_schema.py) and are stemmed by the same dictionary, in one round trip; the query
is then put together from those words, so nothing from the user's text is parsed as
``tsquery`` syntax:

- a term is its words in order (``<->``); FTS5 reads a term as a phrase, and a phrase stays
  inside one column, so a phrase of several words is asked once per weight (body or reply A,
  summary B);
- ``check*`` ends in a prefix (``:*``), stemmed as FTS5 stems it;
- a word under 3 characters is not stemmed (FTS5 leaves it as it is): it is looked up as
  written, without the mark (pg_schema.SHORT_MARK) that kept the stemmer off it;
- groups are AND, a group's terms OR, excluded terms ``& !(…)``;
- a term with no words (``_``) matches nothing, as FTS5's empty phrase does: it drops out of
  its group, and an empty group makes the whole search match nothing (``None``).
"""

from __future__ import annotations

import re
from sqlite3 import Connection

from storage.pg_schema import SEARCH_CONFIG, SHORT_MARK, SHORT_WORD
from workbench.domain.query import Search, Term

_MARKED = re.compile(rf"^(?:{SHORT_WORD}){re.escape(SHORT_MARK)}$")

# One row per word of each term: the term's position, the word as indexed, and its stem.
_WORDS_SQL = f"""
    SELECT u.n, d.token, d.lexemes
    FROM unnest(?::text[]) WITH ORDINALITY AS u(term, n),
         LATERAL ts_debug('{SEARCH_CONFIG}', {SEARCH_CONFIG}_words(u.term))
             WITH ORDINALITY AS d(alias, description, token, dictionaries, dictionary, lexemes, k)
    WHERE d.lexemes IS NOT NULL AND cardinality(d.lexemes) > 0
    ORDER BY u.n, d.k
"""


def _quoted(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _operand(words: list[tuple[str, str]], prefix: bool) -> str:
    """One term: its stems in order, the last a prefix for ``check*``; asked per weight when a phrase."""

    def lexemes(weight: str) -> str:
        out = []
        for i, (token, stem) in enumerate(words):
            # A short word is indexed as written (workbench_search_vector); FTS5 stems a prefix as it stems a word.
            word = token[: -len(SHORT_MARK)] if _MARKED.match(token) else stem
            star = "*" if prefix and i == len(words) - 1 else ""
            out.append(f"{_quoted(word)}:{star}{weight}" if star or weight else _quoted(word))
        return " <-> ".join(out)

    if len(words) == 1:
        return lexemes("")
    return f"(({lexemes('A')}) | ({lexemes('B')}))"


def tsquery(db: Connection, search: Search) -> str | None:
    """``search``'s terms as ``tsquery`` text (None: it can match nothing)."""
    terms: list[Term] = [t for g in search.groups for t in g] + list(search.excluded)
    words: list[list[tuple[str, str]]] = [[] for _ in terms]
    for n, token, stems in db.execute(_WORDS_SQL, [[t.text for t in terms]]).fetchall():
        words[n - 1].append((token, stems[0]))
    operands = iter(_operand(w, t.prefix) if w else None for t, w in zip(terms, words, strict=True))
    parts: list[str] = []
    for group in search.groups:
        ors = [op for op in (next(operands) for _ in group) if op is not None]
        if not ors:
            return None
        parts.append("(" + " | ".join(ors) + ")")
    if not parts:
        return None
    nots = [op for op in operands if op is not None]
    if nots:
        parts.append("!(" + " | ".join(nots) + ")")
    return " & ".join(parts)
