"""The change counters' migrations (m018, m021, m022): tables that triggers move on every write, so readers learn what changed without reading it.

``storage/schema.py`` registers these in its one ordered list, as it does the search index's
(``storage/schema_search.py``); each is read by one cache:

- ``annotation_changes``: the sites list's ETag (a replica's no-op sync);
- ``auth_changes``: the server's token cache (``workbench/services/auth.py``);
- ``annotation_journal``: the server's kept list pages, refreshed from the rows that changed.
"""

from __future__ import annotations

from sqlite_utils import Database


def m018_annotation_changes(db: Database) -> None:
    # One counter per workspace, moved by every write to its annotations, replies and
    # resolutions: the bundled server's sites-list ETag reads it, so a replica with nothing new
    # learns it in one 304 instead of one `since` request per site for annotations and threads.
    # A counter, not max(updated_at): a write that took its timestamp before another committed
    # would not move a maximum. Rows appear on the first write (no backfill: 0 is a value too).
    script = [
        """
        CREATE TABLE IF NOT EXISTS annotation_changes (
            workspace_id TEXT PRIMARY KEY,
            n INTEGER NOT NULL
        ) WITHOUT ROWID;
        """
    ]
    for table in ("annotations", "replies", "resolutions"):
        for event, row in (("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")):
            script.append(
                f"""
        CREATE TRIGGER IF NOT EXISTS {table}_changes_{event.lower()} AFTER {event} ON {table} BEGIN
            INSERT INTO annotation_changes (workspace_id, n) VALUES ({row}.workspace_id, 1)
                ON CONFLICT (workspace_id) DO UPDATE SET n = n + 1;
        END;
        """
            )
    db.executescript("".join(script))


def m021_auth_changes(db: Database) -> None:
    # One counter moved by every write to what an API token's authentication reads (the token,
    # its workspace): the server keeps a token's principal until it moves, not until any commit,
    # so a write does not cost the next request of every caller a lookup, and a revocation from
    # any process is still refused on the next request. One row, made by the first such write.
    script = ["CREATE TABLE IF NOT EXISTS auth_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);"]
    for table in ("api_tokens", "workspaces"):
        for event in ("INSERT", "UPDATE", "DELETE"):
            script.append(
                f"""
        CREATE TRIGGER IF NOT EXISTS {table}_auth_{event.lower()} AFTER {event} ON {table} BEGIN
            INSERT INTO auth_changes (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1;
        END;
        """
            )
    db.executescript("".join(script))


# The journal keeps the newest JOURNAL_KEEP entries; every JOURNAL_PRUNE_EVERY-th insert drops
# the older ones (a range at the start of its B-tree: a few pages, not a scan).
JOURNAL_KEEP = 20_000
JOURNAL_PRUNE_EVERY = 1_000


def m022_annotation_journal(db: Database) -> None:
    # The ids of changed annotations, in commit order (``seq`` is assigned under the write lock),
    # from every writer in every process: the server's kept list pages read what changed since
    # they were built and fetch only those rows (storage/annotations.py ``changed_since``),
    # instead of reading the whole page again after each write. SQLite only: PostgreSQL's pages
    # are read in the threadpool, and storage/pg_schema.py leaves the journal out.
    script = ["CREATE TABLE IF NOT EXISTS annotation_journal (seq INTEGER PRIMARY KEY, annotation_id TEXT NOT NULL);"]
    for event, row in (("INSERT", "new"), ("UPDATE", "new"), ("DELETE", "old")):
        script.append(
            f"""
        CREATE TRIGGER IF NOT EXISTS annotations_journal_{event.lower()} AFTER {event} ON annotations BEGIN
            INSERT INTO annotation_journal (annotation_id) VALUES ({row}.id);
        END;"""
        )
    script.append(
        f"""
        CREATE TRIGGER IF NOT EXISTS annotations_journal_rekey AFTER UPDATE OF id ON annotations WHEN old.id IS NOT new.id BEGIN
            INSERT INTO annotation_journal (annotation_id) VALUES (old.id);
        END;
        CREATE TRIGGER IF NOT EXISTS annotation_journal_prune AFTER INSERT ON annotation_journal
        WHEN new.seq % {JOURNAL_PRUNE_EVERY} = 0 BEGIN
            DELETE FROM annotation_journal WHERE seq <= new.seq - {JOURNAL_KEEP};
        END;
        """
    )
    db.executescript("".join(script))
