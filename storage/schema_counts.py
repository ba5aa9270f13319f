"""Kept counts' migrations (m014's status counts, m039's reply counts): tables triggers keep, so a count reads a few rows.

``storage/schema.py`` registers these in its one ordered list, as it does the change counters'
(``storage/schema_changes.py``). Each migration counts the rows already there once, then its
triggers move the count with every insert, delete and move between workspaces (a REPLACE deletes
first: the store turns recursive triggers on). Readers:

- ``annotation_status_counts``: the TUI's awaiting and status counts (``storage/inbox.py``);
- ``reply_counts``: the workspace switcher's counts (``storage/workspaces.py``), SQLite only
  (``storage/pg_schema.py`` ``SQLITE_ONLY``).
"""

from __future__ import annotations

from sqlite_utils import Database


def status_counts(db: Database) -> None:
    """Annotations per (workspace, status), part of m014_flat_lists."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS annotation_status_counts (
            workspace_id TEXT NOT NULL,
            status TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (workspace_id, status)
        ) WITHOUT ROWID;
        DELETE FROM annotation_status_counts;
        INSERT INTO annotation_status_counts (workspace_id, status, n)
            SELECT workspace_id, status, count(*) FROM annotations GROUP BY workspace_id, status;
        CREATE TRIGGER IF NOT EXISTS annotations_count_insert AFTER INSERT ON annotations BEGIN
            INSERT INTO annotation_status_counts (workspace_id, status, n) VALUES (new.workspace_id, new.status, 1)
                ON CONFLICT (workspace_id, status) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER IF NOT EXISTS annotations_count_delete AFTER DELETE ON annotations BEGIN
            UPDATE annotation_status_counts SET n = n - 1 WHERE workspace_id = old.workspace_id AND status = old.status;
        END;
        CREATE TRIGGER IF NOT EXISTS annotations_count_update AFTER UPDATE OF workspace_id, status ON annotations
        WHEN old.workspace_id IS NOT new.workspace_id OR old.status IS NOT new.status BEGIN
            UPDATE annotation_status_counts SET n = n - 1 WHERE workspace_id = old.workspace_id AND status = old.status;
            INSERT INTO annotation_status_counts (workspace_id, status, n) VALUES (new.workspace_id, new.status, 1)
                ON CONFLICT (workspace_id, status) DO UPDATE SET n = n + 1;
        END;
        """
    )


def m039_reply_counts(db: Database) -> None:
    # The TUI's workspace switcher showed each workspace's replies by counting them, a scan of
    # the replies table (no index leads with the workspace) on the TUI's thread: 42 ms warm and
    # 250 ms cold for 300k replies at 1M annotations. Triggers keep the count per workspace, as
    # annotation_status_counts does for the annotations (storage/workspaces.py reads it).
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS reply_counts (
            workspace_id TEXT PRIMARY KEY,
            n INTEGER NOT NULL
        ) WITHOUT ROWID;
        DELETE FROM reply_counts;
        INSERT INTO reply_counts (workspace_id, n) SELECT workspace_id, count(*) FROM replies GROUP BY workspace_id;
        CREATE TRIGGER IF NOT EXISTS replies_count_insert AFTER INSERT ON replies BEGIN
            INSERT INTO reply_counts (workspace_id, n) VALUES (new.workspace_id, 1)
                ON CONFLICT (workspace_id) DO UPDATE SET n = n + 1;
        END;
        CREATE TRIGGER IF NOT EXISTS replies_count_delete AFTER DELETE ON replies BEGIN
            UPDATE reply_counts SET n = n - 1 WHERE workspace_id = old.workspace_id;
        END;
        CREATE TRIGGER IF NOT EXISTS replies_count_update AFTER UPDATE OF workspace_id ON replies
        WHEN old.workspace_id IS NOT new.workspace_id BEGIN
            UPDATE reply_counts SET n = n - 1 WHERE workspace_id = old.workspace_id;
            INSERT INTO reply_counts (workspace_id, n) VALUES (new.workspace_id, 1)
                ON CONFLICT (workspace_id) DO UPDATE SET n = n + 1;
        END;
        """
    )
