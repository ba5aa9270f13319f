"""A prefix in a search (``check*``) rewritten as the indexed words it completes, so FTS5 reads only as far as the window.

FTS5 answers ``"check"*`` by merging the lists of every indexed word starting with "check"
into one before it hands out the first match: at a million annotations a window of 50 cost
11 ms, eighteen times the same window at 10k. An OR of those same words is read lazily, each
word's list only as far as the window (0.08 ms). The words come from the search index itself,
through an ``fts5vocab`` table over ``inbox_fts`` (one seek per word, whatever the store's
size), so the OR matches exactly what the prefix matches, or the prefix is left to FTS5:
- the prefix is tokenized and stemmed as FTS5 does it (the porter tokenizer, on a temporary
  FTS5 table): text that is not one word (``foo-bar*``, a phrase) keeps FTS5's own merge;
- each completion must search as itself: porter is not idempotent ("agreed" is indexed as
  "agre", and ``"agre"`` would be searched as "agr"), so a prefix completing such a word
  keeps FTS5's own merge too;
- more than ``MAX_WORDS`` completions (a one-letter prefix, a large vocabulary) do too.

Every table here lives in the connection's ``temp`` schema, made on first use: nothing is
written to the store, and a read-only connection can rewrite.
"""

from __future__ import annotations

import re
from sqlite3 import Connection

MAX_WORDS = 64  # beyond this many completions FTS5's one merge is the cheaper (measured: 15 words 0.5 ms at 100k)

_QUOTED = re.compile(r'"((?:[^"]|"")*)"(\*?)')  # domain.query.Term.fts: every term quoted, a prefix followed by *
_SETUP = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.wb_inbox_words USING fts5vocab(main, inbox_fts, instance)",
    # The same tokenizer as inbox_fts (storage/schema_search.py m016), to stem as a MATCH stems.
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.wb_tokens USING fts5(text, tokenize='porter')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.wb_token_words USING fts5vocab(temp, wb_tokens, instance)",
)


def expand(db: Connection, fts: str | None) -> str | None:
    """``fts`` with each prefix term replaced by an OR of the words it completes, where that is exact (see the module)."""
    if not fts or '"*' not in fts:
        return fts
    for statement in _SETUP:
        db.execute(statement)

    def rewrite(m: re.Match[str]) -> str:
        if not m.group(2):
            return m.group(0)
        words = _completions(db, m.group(1).replace('""', '"'))
        return m.group(0) if words is None else "(" + " OR ".join(f'"{w}"' for w in words) + ")"

    return _QUOTED.sub(rewrite, fts)


def _completions(db: Connection, text: str) -> list[str] | None:
    """The indexed words starting with ``text`` as FTS5 stems it, each searching as itself; None when FTS5 must merge."""
    stems = _tokens(db, [text])[0]
    if len(stems) != 1:
        return None
    prefix = stems[0]
    words: list[str] = []
    after = prefix
    while True:
        row = db.execute("SELECT term FROM temp.wb_inbox_words WHERE term >= ? LIMIT 1", [after]).fetchone()
        if row is None or not row[0].startswith(prefix):
            break
        if len(words) == MAX_WORDS:
            return None
        words.append(row[0])
        # The next word: no indexed word holds a character below U+0002 (unicode61 splits on them).
        after = row[0] + "\x01"
    if not words:
        return None  # nothing to merge: FTS5's prefix finds nothing as cheaply
    if any(t != [w] for w, t in zip(words, _tokens(db, words), strict=True)):
        return None
    if any('"' in w for w in words):
        return None  # cannot be: unicode61 splits on quotes; kept so a word can never end the quoting
    return words


def _tokens(db: Connection, texts: list[str]) -> list[list[str]]:
    """Each text's words as the porter tokenizer makes them, in order."""
    db.execute("DELETE FROM temp.wb_tokens")
    db.executemany("INSERT INTO temp.wb_tokens(rowid, text) VALUES (?, ?)", enumerate(texts))
    found: dict[int, list[tuple[int, str]]] = {}
    for term, doc, offset in db.execute("SELECT term, doc, offset FROM temp.wb_token_words"):
        found.setdefault(doc, []).append((offset, term))
    return [[t for _, t in sorted(found.get(i, []))] for i in range(len(texts))]
