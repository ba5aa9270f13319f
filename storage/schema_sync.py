"""The sync's migrations: a replica's remotes, outbox, merge bases, conflicts, pull cursors and id map
(m010, with the serving side's indexes for incremental pulls), and the pictures a pull could not fetch (m032).

``storage/schema.py`` registers them in its one ordered list, as it does the sessions' and the search
index's; m010's SQL is one of the largest single steps, so it lives here with its later sibling.
"""

from __future__ import annotations

from sqlite_utils import Database


def m010_sync(db: Database) -> None:
    # Sync (storage/sync_state.py): remotes (never their secrets: those live in the keyring),
    # the outbox, the base copies for three-way merges, open conflicts, pull cursors and the
    # local-id -> server-id map. Plus indexes that keep incremental pulls (`since`) cheap on
    # the serving side.
    db.executescript(
        """
        CREATE TABLE sync_remotes (
            name TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            workspace_id TEXT,
            store_id TEXT,
            study_ids TEXT,
            capabilities TEXT,
            created_at INTEGER NOT NULL,
            last_sync_at INTEGER,
            last_error TEXT
        );
        CREATE UNIQUE INDEX sync_remotes_ws ON sync_remotes(workspace_id) WHERE workspace_id IS NOT NULL;

        CREATE TABLE sync_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace_id TEXT NOT NULL,
            op TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            local_id TEXT,
            payload TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            ambiguous INTEGER NOT NULL DEFAULT 0,
            last_status INTEGER,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX sync_outbox_ws ON sync_outbox(workspace_id, state, seq);
        CREATE INDEX sync_outbox_entity ON sync_outbox(entity_type, entity_id);

        CREATE TABLE sync_base (
            entity_type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            fields TEXT NOT NULL,
            version INTEGER,
            etag TEXT,
            server_updated_at INTEGER,
            PRIMARY KEY (entity_type, entity_id)
        );

        CREATE TABLE sync_conflicts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace_id TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            field TEXT NOT NULL,
            base_value TEXT,
            mine_value TEXT,
            theirs_value TEXT,
            theirs_version INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (entity_type, entity_id, field)
        );

        CREATE TABLE sync_cursors (
            remote TEXT NOT NULL,
            resource TEXT NOT NULL,
            watermark INTEGER,
            run_since INTEGER,
            run_next INTEGER,
            run_cursor TEXT,
            PRIMARY KEY (remote, resource)
        );

        CREATE TABLE sync_id_map (
            local_id TEXT PRIMARY KEY,
            remote_id TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX sync_id_map_remote ON sync_id_map(remote_id);

        CREATE TABLE sync_todo (
            remote TEXT NOT NULL,
            kind TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            PRIMARY KEY (remote, kind, entity_id)
        );

        CREATE INDEX IF NOT EXISTS annotations_site_updated ON annotations(site_id, updated_at);
        CREATE INDEX IF NOT EXISTS replies_created ON replies(created_at);
        CREATE INDEX IF NOT EXISTS resolutions_created ON resolutions(created_at);
        CREATE INDEX IF NOT EXISTS resolutions_notified ON resolutions(notified_at);
        """
    )


def m032_picture_failures(db: Database) -> None:
    # A picture a replica's sync could not fetch (refused, missing or no image on the server) was
    # asked for again at every sync, forever: its failures are kept per remote, so the next attempt
    # waits a number of pictures passes that doubles with each one (sync/pictures.py).
    db.execute(
        "CREATE TABLE IF NOT EXISTS sync_picture_failures (remote TEXT NOT NULL, key TEXT NOT NULL, "
        "attempts INTEGER NOT NULL, failed_pass INTEGER NOT NULL, failed_at INTEGER NOT NULL, PRIMARY KEY (remote, key))"
    )
