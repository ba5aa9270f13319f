"""PostgreSQL's schema, derived from the one migration list in storage/schema.py.

There is one source of truth: the SQLite migrations. To learn the schema they produce, they
are applied to an in-memory SQLite database, and its tables, indexes and triggers are
translated:
- types become 64-bit integers, ``bytea`` and identities;
- every table gains a ``rowid`` identity, the tie-breaker some lists order by, as SQLite's
  rowid is;
- triggers become PL/pgSQL functions.

SQLite's full-text tables are left out. PostgreSQL's own full-text search (a generated
``tsvector`` column with a GIN index) stands in their place, and so do two tables only a
shared server needs: ``blobs`` (uploads every host can read) and ``store_version`` (the
counter caches compare).

``migrate`` brings a database to that target additively: it adds missing tables, columns,
indexes and triggers (a migration that drops or retypes something needs its own step here).
It runs under an advisory lock, so workers starting together do it once, and it is skipped
when the database already carries the target's digest.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.pg import PgStore
    from storage.pg_conn import PgConnection

MIGRATE_LOCK = 0x5742_4D47  # "WBMG": one migrator at a time, across hosts

# SQLite's own tables (the migration log, AUTOINCREMENT's counters): PostgreSQL keeps its own.
_SKIP = re.compile(r"^(sqlite_|_sqlite_)")
# Kept for SQLite's in-process readers only, left out with the triggers that feed them: the
# journal (storage/schema.py ``m022_annotation_journal``) and the replies' counts the TUI's
# workspace switcher reads (``m039_reply_counts``; a server's database has no switcher, and its
# counts would cost every reply a row lock on its workspace's count).
SQLITE_ONLY = {"annotation_journal", "reply_counts"}

# -- full-text search --------------------------------------------------------------------------
# PostgreSQL's search must find what SQLite's FTS5 (tokenize='porter', over unicode61) finds.
# - Stemming: Snowball's "porter" is the algorithm FTS5's porter implements ('english' is
#   Porter2, and drops stop words such as "not", "off", "up", which FTS5 indexes). No stop words.
# - Words: unicode61 splits on anything but letters and digits; PostgreSQL's parser keeps
#   e-mail addresses, URLs, hyphenated words and versions whole. WORDS_SQL leaves only letters,
#   digits and spaces first, so both engines see the same words.
# - Accents: unicode61 folds a Latin letter with one diacritic to its base letter ("café" is
#   "cafe") and drops combining diacritics; FOLD_FROM/FOLD_TO and _MARKS do the same.
# - Not matched: number symbols (½, ², Ⅻ), which unicode61 keeps as words and PostgreSQL's
#   parser drops, and words over 64 bytes, which FTS5 leaves unstemmed.
# - Short words: FTS5 leaves words under 3 bytes unstemmed ("as", "is"), Snowball does not
#   ("as" would be "a"). Those words get SHORT_MARK appended, a form no stemmer changes, and
#   lose it again once stemmed (workbench_search_vector), so "us" and "used" both index "us".
# Body and summary are weighted A and B (replies A), so a phrase never runs from one into the
# other: FTS5 matches a phrase within one column.
SEARCH_CONFIG = "workbench_search"
SHORT_MARK = "0"
SHORT_WORD = r"[a-rt-z0-9]s|[aeiou]y"  # exactly the 1-2 character words Snowball's porter changes


def _fold_table() -> tuple[str, str]:
    """Latin letters FTS5's unicode61 folds (one diacritic on an ASCII letter), and what they fold to."""
    src, dst = ["\u017f", "\u1e9b"], ["s", "s"]  # long s, long s with dot: unicode61 folds them to s
    for code in [*range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        parts = unicodedata.normalize("NFD", chr(code))
        if len(parts) == 2 and parts[0].isascii() and parts[0].isalpha() and unicodedata.combining(parts[1]):
            src.append(chr(code))
            dst.append(parts[0].lower())
    return "".join(src), "".join(dst)


FOLD_FROM, FOLD_TO = _fold_table()
# A text's words, lower-cased and folded, one space between them: what both the index and a query's terms go through.
# Combining diacritics (a decomposed "é") go first: unicode61 drops them inside a word, where PostgreSQL would split it.
_MARKS = f"{chr(0x300)}-{chr(0x36F)}"
# translate() reads its whole table for every character, so only a text holding a letter to fold pays for it.
_FOLDED = (
    f"CASE WHEN t ~ '[{_MARKS}{FOLD_FROM}]' "
    f"THEN translate(regexp_replace(t, '[{_MARKS}]+', '', 'g'), '{FOLD_FROM}', '{FOLD_TO}') ELSE t END"
)
WORDS_SQL = f"regexp_replace(regexp_replace(lower({_FOLDED}), '[^[:alnum:]]+', ' ', 'g'), '\\m({SHORT_WORD})\\M', '\\1{SHORT_MARK}', 'g')"


def _search_vector(*columns: tuple[str, str]) -> str:
    return " || ".join(f"{SEARCH_CONFIG}_vector(coalesce({c}, ''), '{w}')" for c, w in columns)


# The stemmed words of ``t`` at weight ``w``, each marked short word back as it was written:
# "us0" is "us" again, where "used" stems to, as in FTS5.
_VECTOR_SQL = f"""
    SELECT setweight(coalesce(string_agg(
        chr(39) || replace(regexp_replace(lexeme, '^({SHORT_WORD}){SHORT_MARK}$', '\\1'), chr(39), chr(39) || chr(39)) || chr(39)
        || ':' || array_to_string(positions, ','), ' ')::tsvector, ''::tsvector), w)
    FROM unnest(to_tsvector('{SEARCH_CONFIG}'::regconfig, {SEARCH_CONFIG}_words(t)))
"""


SEARCH_EXTRAS = [
    # CREATE TEXT SEARCH … has no IF NOT EXISTS; a database migrated before keeps what it has.
    f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_ts_dict WHERE dictname = '{SEARCH_CONFIG}_porter' AND dictnamespace = current_schema()::regnamespace) THEN
            CREATE TEXT SEARCH DICTIONARY {SEARCH_CONFIG}_porter (TEMPLATE = snowball, Language = porter);
        END IF;
        IF NOT EXISTS (SELECT FROM pg_ts_config WHERE cfgname = '{SEARCH_CONFIG}' AND cfgnamespace = current_schema()::regnamespace) THEN
            CREATE TEXT SEARCH CONFIGURATION {SEARCH_CONFIG} (PARSER = default);
            ALTER TEXT SEARCH CONFIGURATION {SEARCH_CONFIG} ADD MAPPING FOR asciiword, word, numword, asciihword, hword,
                numhword, hword_asciipart, hword_part, hword_numpart, int, uint, float, sfloat, version WITH {SEARCH_CONFIG}_porter;
        END IF;
    END $$""",
    f"CREATE OR REPLACE FUNCTION {SEARCH_CONFIG}_words(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE "
    f"AS $fn$ SELECT {WORDS_SQL} $fn$",
    f"""CREATE OR REPLACE FUNCTION {SEARCH_CONFIG}_vector(t text, w "char") RETURNS tsvector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $fn${_VECTOR_SQL}$fn$""",
    # A database made before these definitions has another generated column: it is rebuilt.
    f"""DO $$ DECLARE t text; BEGIN
        FOR t IN SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()
            AND table_name IN ('annotations', 'replies') AND column_name = 'search'
            AND generation_expression NOT LIKE '%{SEARCH_CONFIG}_vector%' LOOP
            EXECUTE format('ALTER TABLE %I DROP COLUMN search', t);
        END LOOP;
    END $$""",
    f"ALTER TABLE annotations ADD COLUMN IF NOT EXISTS search tsvector GENERATED ALWAYS AS "
    f"({_search_vector(('body', 'A'), ('summary', 'B'))}) STORED",
    "CREATE INDEX IF NOT EXISTS annotations_search ON annotations USING gin (search)",
    f"ALTER TABLE replies ADD COLUMN IF NOT EXISTS search tsvector GENERATED ALWAYS AS ({_search_vector(('body', 'A'))}) STORED",
    "CREATE INDEX IF NOT EXISTS replies_search ON replies USING gin (search)",
]

# What a later SQLite migration dropped, dropped here too: the additive steps of ``migrate`` would leave
# it in a database made before.
DROPPED = [
    "DROP INDEX IF EXISTS audit_actor",  # m024
    "DROP INDEX IF EXISTS sites_ws",  # m025
    "DROP INDEX IF EXISTS api_tokens_ws",  # m025
    "DROP INDEX IF EXISTS annotations_ws_updated",  # m031
    "DROP INDEX IF EXISTS resolutions_notified",  # m036
    "DROP INDEX IF EXISTS replies_created",  # m037
    "DROP INDEX IF EXISTS resolutions_created",  # m037
    "DROP INDEX IF EXISTS resolutions_notified_since",  # m037
]

# What a later SQLite migration filled in for rows made before it, filled here too: ``migrate`` adds
# the column, not its values. Each touches only rows still without one.
BACKFILLS = [
    # m037: a reply's and a resolution's site, its annotation's.
    "UPDATE replies r SET site_id = a.site_id FROM annotations a WHERE a.id = r.annotation_id AND r.site_id IS NULL",
    "UPDATE resolutions s SET site_id = a.site_id FROM annotations a WHERE a.id = s.annotation_id AND s.site_id IS NULL",
]

# One round trip of a worker's leases (storage/rate_leases.py), atomic under the row's lock: it
# settles what the worker says of its lease in window ``p_started`` (``p_back`` unused units given
# back, its part of ``held`` ``p_mine`` replaced by the ``p_keep`` units it goes on handing out),
# then grants up to ``p_want`` more from what remains of the limit. A window that ended starts
# afresh (what was leased in it is void), and a lease of an ended window settles nothing: a
# settlement never touches a newer window. Answers the grant, the window and the ms left in it,
# what remains, the units other workers hold (``held`` less this worker's part) and the store's
# version, read after the request arrived (the list's hot path takes it).
RATE_LEASE = """CREATE OR REPLACE FUNCTION rate_lease(
        p_key text, p_window bigint, p_limit bigint, p_started bigint, p_mine bigint, p_back bigint, p_keep bigint, p_want bigint,
        OUT granted bigint, OUT started bigint, OUT left_ms bigint, OUT remaining bigint, OUT others bigint, OUT version bigint)
    LANGUAGE plpgsql AS $fn$
    DECLARE
        now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
        row_n bigint;
        row_held bigint;
        mine bigint := 0;
    BEGIN
        version := (SELECT s.n FROM store_version s);
        SELECT b.window_start, b.n, b.held INTO started, row_n, row_held FROM rate_buckets b WHERE b.key = p_key FOR UPDATE;
        IF p_want = 0 AND (NOT FOUND OR started <= now_ms - p_window) THEN
            -- A settlement of a window that ended (or was swept): nothing to settle, and a
            -- settlement never starts a window (a key's window starts at its first request).
            granted := 0; started := -1; left_ms := 0; remaining := p_limit; others := 0;
            RETURN;
        END IF;
        IF NOT FOUND THEN
            INSERT INTO rate_buckets AS b (key, window_start, n, held) VALUES (p_key, now_ms, 0, 0) ON CONFLICT (key) DO NOTHING;
            SELECT b.window_start, b.n, b.held INTO started, row_n, row_held FROM rate_buckets b WHERE b.key = p_key FOR UPDATE;
        END IF;
        IF started <= now_ms - p_window THEN
            started := now_ms;
            row_n := 0;
            row_held := 0;
        ELSIF started = p_started THEN
            row_n := greatest(0, row_n - p_back);
            row_held := greatest(0, row_held - p_mine) + p_keep;
            mine := p_keep;
        END IF;
        granted := least(p_want, greatest(0, p_limit - row_n));
        UPDATE rate_buckets b SET window_start = started, n = row_n + granted, held = row_held + granted WHERE b.key = p_key;
        left_ms := started + p_window - now_ms;
        remaining := greatest(0, p_limit - row_n - granted);
        others := greatest(0, row_held - mine);
    END $fn$"""

# PostgreSQL-only parts: full-text search, shared uploads, the version counter.
EXTRAS = [
    # ``stored_at`` (ms, the database's clock) dates a blob for the sweep of those no upload row
    # names (storage/upload_sweep.py): younger ones may be a writer's still committing its row.
    "CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BYTEA NOT NULL, "
    "stored_at BIGINT NOT NULL DEFAULT (extract(epoch FROM now()) * 1000)::bigint)",
    # A database made before the sweep: its blobs are dated from the upgrade, swept an hour later.
    "ALTER TABLE blobs ADD COLUMN IF NOT EXISTS stored_at BIGINT NOT NULL DEFAULT (extract(epoch FROM now()) * 1000)::bigint",
    "CREATE TABLE IF NOT EXISTS store_version (n BIGINT NOT NULL)",
    "INSERT INTO store_version (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM store_version)",
    # The jobs of every worker (deployments, analyses, notifications), claimed with SKIP LOCKED.
    """CREATE TABLE IF NOT EXISTS jobs (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued',
        attempts BIGINT NOT NULL DEFAULT 0,
        run_after BIGINT NOT NULL,
        claimed_by TEXT,
        claimed_at BIGINT,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        again BOOLEAN NOT NULL DEFAULT false
    )""",
    # Enqueued again while running (storage/jobs.py): run once more when this run ends. A database made before it: none is.
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS again BOOLEAN NOT NULL DEFAULT false",
    "CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (state, run_after, id)",
    # One waiting or running job per kind and payload: enqueuing again (every worker's startup sweep) adds nothing.
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_once ON jobs (kind, payload) WHERE state IN ('queued', 'running')",
    # The rate-limit buckets, shared by every worker: one row per key, its current window (from
    # its first request, in ms), the count in it and the units leased out and not yet settled
    # (``held``). UNLOGGED: counts need no WAL (storage/rate_buckets.py, storage/rate_leases.py).
    """CREATE UNLOGGED TABLE IF NOT EXISTS rate_buckets (
        key TEXT PRIMARY KEY,
        window_start BIGINT NOT NULL,
        n BIGINT NOT NULL,
        held BIGINT NOT NULL DEFAULT 0
    )""",
    # A database made before leases: its counts are disposable, a zero is right for every row.
    "ALTER TABLE rate_buckets ADD COLUMN IF NOT EXISTS held BIGINT NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS rate_buckets_window ON rate_buckets (window_start)",
    RATE_LEASE,
    *SEARCH_EXTRAS,
]


@dataclass
class Target:
    """The schema PostgreSQL should have: tables (name → CREATE), their columns, indexes, triggers."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)

    def digest(self) -> str:
        text = repr((sorted(self.tables.items()), sorted(self.indexes.items()), sorted(self.triggers.items()), EXTRAS))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _type(decl: str) -> str:
    decl = decl.upper()
    if "INT" in decl:
        return "BIGINT"
    if "BLOB" in decl or not decl:
        return "BYTEA" if "BLOB" in decl else "TEXT"
    if any(word in decl for word in ("REAL", "FLOA", "DOUB")):
        return "DOUBLE PRECISION"
    return "TEXT"


def _unquote(sql: str) -> str:
    return re.sub(r"\[(\w+)\]", r'"\1"', sql)


def _table(name: str, sql: str) -> str:
    sql = _unquote(sql)
    sql = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql, flags=re.I)
    sql = re.sub(r"\bINTEGER\b", "BIGINT", sql, flags=re.I)
    sql = re.sub(r"\bBLOB\b", "BYTEA", sql, flags=re.I)
    sql = re.sub(r"\bREAL\b|\bFLOAT\b", "DOUBLE PRECISION", sql, flags=re.I)
    sql = re.sub(r"\s+COLLATE\s+NOCASE", "", sql, flags=re.I)
    sql = re.sub(r"\)\s*WITHOUT\s+ROWID\s*$", ")", sql.strip(), flags=re.I)
    # SQLite's rowid, kept as a column some lists order by; last, so positional INSERTs still fit.
    has_rowid = re.search(r"\browid\b", sql, flags=re.I) is not None
    if not has_rowid:
        sql = sql[: sql.rindex(")")] + ",\n    rowid BIGINT GENERATED BY DEFAULT AS IDENTITY UNIQUE\n)"
    return sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1) if "IF NOT EXISTS" not in sql.upper() else sql


def _index(sql: str) -> str:
    sql = _unquote(sql)
    sql = re.sub(r"((?:\w+\.)?\w+)\s+COLLATE\s+NOCASE", r"lower(\1)", sql, flags=re.I)
    if not re.match(r"\s*CREATE\s+UNIQUE", sql, flags=re.I):
        sql = _ending_with_rowid(sql)
    if "IF NOT EXISTS" not in sql.upper():
        sql = re.sub(r"^CREATE\s+(UNIQUE\s+)?INDEX", lambda m: f"CREATE {m.group(1) or ''}INDEX IF NOT EXISTS", sql.strip(), flags=re.I)
    return sql


def _ending_with_rowid(sql: str) -> str:
    """Every SQLite index entry ends with the row's rowid, so ``ORDER BY created_at, rowid`` walks
    ``(job_id, created_at)`` in order: PostgreSQL's copy of the index carries the column explicitly."""
    m = re.search(r"\bON\s+\w+\s*\(", sql, flags=re.I)
    if m is None:
        return sql
    depth, i = 1, m.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(sql[i], 0)
        i += 1
    return f"{sql[: i - 1]}, rowid{sql[i - 1 :]}"


_TRIGGER = re.compile(
    r"CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>\w+)\s+(?P<when>AFTER|BEFORE)\s+(?P<event>INSERT|DELETE|UPDATE(?:\s+OF\s+[\w\s,]+?)?)\s+"
    r"ON\s+(?P<table>\w+)\s*(?:FOR\s+EACH\s+ROW\s+)?(?:WHEN\s+(?P<cond>.*?)\s+)?BEGIN\s+(?P<body>.*)END\s*;?\s*$",
    re.I | re.S,
)


def _trigger(sql: str) -> str:
    m = _TRIGGER.match(sql.strip())
    if m is None:
        raise ValueError(f"a trigger storage/pg_schema.py cannot translate: {sql[:80]!r}")
    name, table = m["name"], m["table"]
    body = re.sub(r"\bIS\s+NOT\s+(?!NULL\b)", "IS DISTINCT FROM ", m["body"].strip(), flags=re.I)
    # DO UPDATE SET n = n + 1: PostgreSQL needs the target's name on the right-hand side.
    body = re.sub(r"DO\s+UPDATE\s+SET\s+n\s*=\s*n\s*\+", f"DO UPDATE SET n = {_conflict_target(body)}.n +", body, flags=re.I)
    cond = m["cond"]
    if cond:
        cond = re.sub(r"\bIS\s+NOT\s+(?!NULL\b)", "IS DISTINCT FROM ", cond, flags=re.I)
        body = f"IF {cond} THEN\n{body}\nEND IF;"
    event = re.sub(r"\s+", " ", m["event"].upper())
    return (
        f"CREATE OR REPLACE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS $fn$\nBEGIN\n{body}\nRETURN NULL;\nEND\n$fn$;\n"
        f"DROP TRIGGER IF EXISTS {name} ON {table};\n"
        f"CREATE TRIGGER {name} {m['when'].upper()} {event} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}_fn();"
    )


def _conflict_target(body: str) -> str:
    m = re.search(r"INSERT\s+INTO\s+(\w+)", body, flags=re.I)
    return m.group(1) if m else ""


@functools.cache
def target() -> Target:
    """The schema the migrations produce, in PostgreSQL's words (computed once per process)."""
    from sqlite_utils import Database

    from storage.schema import migrations

    conn = sqlite3.connect(":memory:")
    try:
        migrations.apply(Database(conn))
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").fetchall()
        virtual = [name for kind, name, _t, sql in rows if kind == "table" and sql.upper().startswith("CREATE VIRTUAL")]
        shadow = re.compile(rf"^({'|'.join(map(re.escape, virtual))})(_\w+)?$") if virtual else None
        out = Target()
        for kind, name, table, sql in rows:
            if _SKIP.match(name) or _SKIP.match(table) or (shadow and (shadow.match(name) or shadow.match(table))):
                continue
            if table in SQLITE_ONLY or (kind == "trigger" and SQLITE_ONLY & set(re.findall(r"\w+", sql))):
                continue
            if kind == "table":
                out.tables[name] = _table(name, sql)
                out.columns[name] = {
                    col: _type(decl) for _cid, col, decl, *_rest in conn.execute(f"PRAGMA table_info({name})").fetchall()
                }
            elif kind == "index":
                out.indexes[name] = _index(sql)
            elif kind == "trigger" and not (shadow and any(shadow.match(word) for word in re.findall(r"\w+", sql))):
                # A trigger feeding SQLite's full-text tables: PostgreSQL's generated tsvector replaces it.
                out.triggers[name] = _trigger(sql)
        return out
    finally:
        conn.close()


def migrate(store: PgStore) -> None:
    """Bring the database to ``target()`` (additively), once, whichever worker gets there first."""
    from storage.pg_conn import sql_text

    want = target()
    db: PgConnection = store.db  # pyright: ignore[reportAssignmentType]  # PgStore's connection is a PgConnection
    raw = db.raw
    with raw.transaction():
        raw.execute(sql_text(f"SELECT pg_advisory_xact_lock({MIGRATE_LOCK})"))
        raw.execute(sql_text("CREATE TABLE IF NOT EXISTS workbench_schema (digest TEXT NOT NULL)"))
        row = raw.execute(sql_text("SELECT digest FROM workbench_schema")).fetchone()
        if row is not None and row[0] == want.digest():
            return
        for sql in want.tables.values():
            raw.execute(sql_text(sql))
        have: dict[str, dict[str, str]] = {}
        for table, column, data_type in raw.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()"
        ).fetchall():
            have.setdefault(table, {})[column] = data_type
        for table, columns in want.columns.items():
            for column, data_type in columns.items():
                if column not in have.get(table, {}):
                    raw.execute(sql_text(f'ALTER TABLE {table} ADD COLUMN "{column}" {data_type}'))
        for sql in want.indexes.values():
            raw.execute(sql_text(sql))
        for sql in want.triggers.values():
            raw.execute(sql_text(sql))
        for sql in EXTRAS:
            raw.execute(sql_text(sql))
        for sql in DROPPED:
            raw.execute(sql_text(sql))
        for sql in BACKFILLS:
            raw.execute(sql_text(sql))
        raw.execute(sql_text("DELETE FROM workbench_schema"))
        raw.execute("INSERT INTO workbench_schema (digest) VALUES (%s)", [want.digest()])

