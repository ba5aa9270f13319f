"""The search indexes' migrations (the inbox's: m016, m019, m020; the annotation search's: m023): the FTS5 documents and the triggers that keep them.

``storage/schema.py`` registers these in its one ordered list (the order the migrations apply
in); their SQL lives here, beside the helpers that write it, so the schema's list stays readable.
"""

from __future__ import annotations

from sqlite_utils import Database

from storage import annotations, inbox

# The search index of the inbox (storage/inbox.py): one document per annotation (body, summary
# and its thread's replies), whose rowid is the list's order: ``created second << 30 | rowid``.
# FTS5 hands matches out in rowid order and stops at the LIMIT, so a window of a search reads
# about as many matches as it shows, at any store size, where probing FTS per listed row (or
# collecting every match to sort them) grows with the store. Rows of one second come out by
# rowid; ``storage.inbox`` reads the whole second at a window's edge and orders it by
# ``(created_at, id)``. Contentless: an old document is removed by giving FTS its old text,
# which the AFTER triggers rebuild from ``old`` and the replies (in their one order).
# The document's key and thread, as storage.inbox (which re-indexes kept documents) writes them.
_search_key = inbox.search_key_sql
_thread = inbox.thread_sql


def _doc(op: str, row: str, thread: str) -> str:
    if op == "delete":
        return (f"INSERT INTO inbox_fts(inbox_fts, rowid, body, summary, thread) "
                f"VALUES ('delete', {_search_key(row)}, {row}.body, {row}.summary, {thread});")
    return f"INSERT INTO inbox_fts(rowid, body, summary, thread) VALUES ({_search_key(row)}, {row}.body, {row}.summary, {thread});"


def _reply_docs(op: str, annotation_id: str, thread: str, when: str = "1") -> str:
    """Remove or add the document of the annotation ``annotation_id`` (when it exists) with ``thread``."""
    if op == "delete":
        return (f"INSERT INTO inbox_fts(inbox_fts, rowid, body, summary, thread) SELECT 'delete', {_search_key('a')}, "
                f"a.body, a.summary, {thread} FROM annotations a WHERE a.id = {annotation_id} AND {when};")
    return (f"INSERT INTO inbox_fts(rowid, body, summary, thread) SELECT {_search_key('a')}, a.body, a.summary, {thread} "
            f"FROM annotations a WHERE a.id = {annotation_id} AND {when};")


def m016_search_index(db: Database) -> None:
    changed = "old.body IS NOT new.body OR old.summary IS NOT new.summary OR old.created_at IS NOT new.created_at"
    reply_changed = ("old.body IS NOT new.body OR old.created_at IS NOT new.created_at OR old.id IS NOT new.id "
                     "OR old.annotation_id IS NOT new.annotation_id")
    moved = "old.annotation_id IS NOT new.annotation_id"  # the reply left one thread for another
    db.executescript(
        f"""
        CREATE VIRTUAL TABLE IF NOT EXISTS inbox_fts USING fts5(body, summary, thread, content='', tokenize='porter');
        INSERT INTO inbox_fts(rowid, body, summary, thread)
            SELECT {_search_key('a')}, a.body, a.summary, {_thread('a.id')} FROM annotations a;
        CREATE TRIGGER inbox_fts_insert AFTER INSERT ON annotations BEGIN
            {_doc('insert', 'new', _thread('new.id'))}
        END;
        CREATE TRIGGER inbox_fts_update AFTER UPDATE OF body, summary, created_at ON annotations WHEN {changed} BEGIN
            {_doc('delete', 'old', _thread('old.id'))}
            {_doc('insert', 'new', _thread('new.id'))}
        END;
        CREATE TRIGGER inbox_fts_delete AFTER DELETE ON annotations BEGIN
            {_doc('delete', 'old', _thread('old.id'))}
        END;
        CREATE TRIGGER inbox_fts_reply_insert AFTER INSERT ON replies BEGIN
            {_reply_docs('delete', 'new.annotation_id', _thread('new.annotation_id', without='new.rowid'))}
            {_reply_docs('insert', 'new.annotation_id', _thread('new.annotation_id'))}
        END;
        CREATE TRIGGER inbox_fts_reply_delete AFTER DELETE ON replies BEGIN
            {_reply_docs('delete', 'old.annotation_id', _thread('old.annotation_id', plus='old'))}
            {_reply_docs('insert', 'old.annotation_id', _thread('old.annotation_id'))}
        END;
        CREATE TRIGGER inbox_fts_reply_update AFTER UPDATE OF body, created_at, id, annotation_id ON replies
        WHEN {reply_changed} BEGIN
            {_reply_docs('delete', 'old.annotation_id', _thread('old.annotation_id', without='new.rowid', plus='old'))}
            {_reply_docs('insert', 'old.annotation_id', _thread('old.annotation_id'))}
            {_reply_docs('delete', 'new.annotation_id', _thread('new.annotation_id', without='new.rowid'), moved)}
            {_reply_docs('insert', 'new.annotation_id', _thread('new.annotation_id'), moved)}
        END;
        """
    )


def m019_search_on_text_changes(db: Database) -> None:
    # sqlite-utils' full-text triggers re-indexed a row on every UPDATE: a status change, the
    # version bump, the updated_at touch of each reply. That delete and insert into
    # annotations_fts were most of a triage write's cost. Only a change of the indexed text
    # touches the index now (the other columns leave it exactly as it was).
    script = []
    for table, columns in (("annotations", ("body", "summary")), ("replies", ("body",))):
        cols = ", ".join(columns)
        changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)
        script.append(f"""
        DROP TRIGGER IF EXISTS {table}_au;
        CREATE TRIGGER {table}_au AFTER UPDATE OF {cols} ON {table} WHEN {changed} BEGIN
            INSERT INTO {table}_fts ({table}_fts, rowid, {cols}) VALUES ('delete', old.rowid, {", ".join(f"old.{c}" for c in columns)});
            INSERT INTO {table}_fts (rowid, {cols}) VALUES (new.rowid, {", ".join(f"new.{c}" for c in columns)});
        END;
        """)
    db.executescript("".join(script))


def _pending(annotation_id: str, thread: str, row: str | None = None) -> str:
    """Keep the document annotation ``annotation_id`` has in ``inbox_fts`` (its key and text as
    indexed) unless one is kept already: the ``row`` it was indexed from, else the stored
    annotation (when it exists) with ``thread``. The check comes first, so a thread already kept
    is not read again."""
    kept = f"NOT EXISTS (SELECT 1 FROM inbox_fts_pending WHERE annotation_id = {annotation_id})"
    insert = "INSERT INTO inbox_fts_pending (annotation_id, key, body, summary, thread) SELECT"
    if row is not None:
        return f"{insert} {row}.id, {_search_key(row)}, {row}.body, {row}.summary, {thread} WHERE {kept};"
    return f"{insert} a.id, {_search_key('a')}, a.body, a.summary, {thread} FROM annotations a WHERE a.id = {annotation_id} AND {kept};"


def m020_search_index_later(db: Database) -> None:
    # m016's triggers rebuilt an annotation's whole document (body, summary, every reply) twice on
    # each change: a reply's request cost grew with its thread (0.7 ms at 100 replies, 6.4 ms at
    # 2,000), and so did a summary edit's. Now a change only keeps the document as it was
    # indexed, once until the next re-index (a contentless index deletes a document by its old
    # text), and ``storage.inbox.index_pending`` re-indexes each kept annotation once: before a
    # search reads the index, and from an upkeep soon after the writes (the server's event loop,
    # else the store's checkpoint thread). A new annotation is still indexed at once (it has no
    # old document and, but for a sync, no thread).
    changed = "old.body IS NOT new.body OR old.summary IS NOT new.summary OR old.created_at IS NOT new.created_at"
    reply_changed = ("old.body IS NOT new.body OR old.created_at IS NOT new.created_at OR old.id IS NOT new.id "
                     "OR old.annotation_id IS NOT new.annotation_id")
    db.executescript(
        f"""
        CREATE TABLE IF NOT EXISTS inbox_fts_pending (
            annotation_id TEXT PRIMARY KEY,
            key INTEGER NOT NULL,
            body TEXT,
            summary TEXT,
            thread TEXT
        );
        DROP TRIGGER IF EXISTS inbox_fts_update;
        DROP TRIGGER IF EXISTS inbox_fts_delete;
        DROP TRIGGER IF EXISTS inbox_fts_reply_insert;
        DROP TRIGGER IF EXISTS inbox_fts_reply_delete;
        DROP TRIGGER IF EXISTS inbox_fts_reply_update;
        CREATE TRIGGER inbox_fts_update AFTER UPDATE OF body, summary, created_at ON annotations WHEN {changed} BEGIN
            {_pending('old.id', _thread('old.id'), row='old')}
        END;
        CREATE TRIGGER inbox_fts_delete AFTER DELETE ON annotations BEGIN
            {_pending('old.id', _thread('old.id'), row='old')}
            INSERT INTO inbox_fts(inbox_fts, rowid, body, summary, thread)
                SELECT 'delete', key, body, summary, thread FROM inbox_fts_pending WHERE annotation_id = old.id;
            DELETE FROM inbox_fts_pending WHERE annotation_id = old.id;
        END;
        CREATE TRIGGER inbox_fts_reply_insert AFTER INSERT ON replies BEGIN
            {_pending('new.annotation_id', _thread('new.annotation_id', without='new.rowid'))}
        END;
        CREATE TRIGGER inbox_fts_reply_delete AFTER DELETE ON replies BEGIN
            {_pending('old.annotation_id', _thread('old.annotation_id', plus='old'))}
        END;
        CREATE TRIGGER inbox_fts_reply_update AFTER UPDATE OF body, created_at, id, annotation_id ON replies
        WHEN {reply_changed} BEGIN
            {_pending('old.annotation_id', _thread('old.annotation_id', without='new.rowid', plus='old'))}
            {_pending('new.annotation_id', _thread('new.annotation_id', without='new.rowid'))}
        END;
        """
    )


def m023_text_search_later(db: Database) -> None:
    # sqlite-utils' triggers indexed each insert and each text change inside the write: a
    # segment of FTS5 pages per commit (7 of a summary PATCH's 18 WAL pages, 4 of a reply's 19)
    # for an index only a search reads. Now a write keeps the row once, until
    # ``storage.annotations.index_text_pending`` indexes the rows in batches: before a search
    # reads the index, and from the same upkeep as the inbox's documents. Each index
    # (annotations_fts, replies_fts: external content, made by sqlite-utils in m001) has a table
    # of what waits, keyed by the row's rowid: ``indexed`` 1 with the text the index holds for
    # it (an external-content index deletes a document by its old text), 0 when it holds none
    # (a row inserted since).
    script = []
    for table, columns in annotations.TEXT_INDEXES.items():
        cols = ", ".join(columns)
        old = ", ".join(f"old.{c}" for c in columns)
        changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)
        # Kept unless a row waits already: a check, not INSERT OR IGNORE, whose IGNORE a mirror's
        # INSERT OR REPLACE would turn into REPLACE (the outer statement's conflict policy wins).
        waits = f"NOT EXISTS (SELECT 1 FROM {table}_fts_pending WHERE rid = {{row}}.rowid)"
        keep_old = f"INSERT INTO {table}_fts_pending (rid, indexed, {cols}) SELECT old.rowid, 1, {old} WHERE {waits.format(row='old')};"
        script.append(f"""
        CREATE TABLE IF NOT EXISTS {table}_fts_pending (
            rid INTEGER PRIMARY KEY,
            indexed INTEGER NOT NULL,
            {", ".join(f"{c} TEXT" for c in columns)}
        );
        DROP TRIGGER IF EXISTS {table}_ai;
        DROP TRIGGER IF EXISTS {table}_au;
        DROP TRIGGER IF EXISTS {table}_ad;
        CREATE TRIGGER {table}_ai AFTER INSERT ON {table} BEGIN
            INSERT INTO {table}_fts_pending (rid, indexed) SELECT new.rowid, 0 WHERE {waits.format(row='new')};
        END;
        CREATE TRIGGER {table}_au AFTER UPDATE OF {cols} ON {table} WHEN {changed} BEGIN
            {keep_old}
        END;
        CREATE TRIGGER {table}_ad AFTER DELETE ON {table} BEGIN
            {keep_old}
        END;
        """)
    db.executescript("".join(script))
