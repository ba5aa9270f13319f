"""The schema, as an ordered list of sqlite-utils migrations; ``migrate`` applies what is pending.

Timestamps are integers, milliseconds since the epoch (UTC), so ``since`` filters and cursor
keys compare as numbers. JSON columns hold small dicts or lists as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils import Database, Migrations

from storage import schema_changes, schema_counts, schema_search, schema_sessions, schema_sync, search_merge

if TYPE_CHECKING:
    from storage.db import Store

migrations = Migrations("workbench")


@migrations()
def m001_core(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE workspaces (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            deleted_at INTEGER
        );
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE memberships (
            workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            user_id TEXT NOT NULL REFERENCES users(id),
            role TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (workspace_id, user_id)
        );
        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            last4 TEXT NOT NULL,
            created_by TEXT NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            revoked_at INTEGER
        );
        CREATE INDEX api_tokens_ws ON api_tokens(workspace_id, created_at);

        CREATE TABLE sites (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            widget_token TEXT NOT NULL UNIQUE,
            mcp_token TEXT NOT NULL,
            mcp_token_hash TEXT NOT NULL UNIQUE,
            loader_secret_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX sites_ws ON sites(workspace_id, created_at);

        CREATE TABLE stakeholders (
            token TEXT PRIMARY KEY,
            site_id TEXT NOT NULL REFERENCES sites(id),
            workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            name TEXT,
            email TEXT,
            auto_fix_default TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            revoked_at INTEGER
        );
        CREATE INDEX stakeholders_site ON stakeholders(site_id, created_at);

        CREATE TABLE annotations (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            site_id TEXT NOT NULL REFERENCES sites(id),
            page_url TEXT NOT NULL,
            selector TEXT,
            kind TEXT NOT NULL,
            body TEXT NOT NULL,
            status TEXT NOT NULL,
            summary TEXT,
            assignee_id TEXT,
            auto_fix INTEGER NOT NULL DEFAULT 0,
            submitter_name TEXT,
            submitter_email TEXT,
            stakeholder_token TEXT,
            screenshot_key TEXT,
            computed_styles TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX annotations_site_order ON annotations(site_id, created_at DESC, id DESC);
        CREATE INDEX annotations_site_status ON annotations(site_id, status, created_at DESC, id DESC);
        CREATE INDEX annotations_ws_updated ON annotations(workspace_id, updated_at);

        CREATE TABLE replies (
            id TEXT PRIMARY KEY,
            annotation_id TEXT NOT NULL REFERENCES annotations(id),
            workspace_id TEXT NOT NULL,
            author_kind TEXT NOT NULL,
            author_id TEXT,
            author_name TEXT NOT NULL,
            body TEXT NOT NULL,
            persona_id TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX replies_annotation ON replies(annotation_id, created_at, id);

        CREATE TABLE resolutions (
            id TEXT PRIMARY KEY,
            annotation_id TEXT NOT NULL REFERENCES annotations(id),
            workspace_id TEXT NOT NULL,
            before_key TEXT,
            after_key TEXT,
            diff_url TEXT,
            explanation TEXT,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            notification_status TEXT NOT NULL,
            notified_at INTEGER
        );
        CREATE INDEX resolutions_annotation ON resolutions(annotation_id, created_at, id);
        CREATE INDEX resolutions_pending ON resolutions(notification_status);

        CREATE TABLE uploads (
            key TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL,
            annotation_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );

        CREATE TABLE personas (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            slug TEXT NOT NULL,
            name TEXT NOT NULL,
            category TEXT NOT NULL,
            description TEXT NOT NULL,
            focus TEXT NOT NULL,
            voice TEXT NOT NULL,
            is_default INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (workspace_id, slug)
        );

        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace_id TEXT,
            at INTEGER NOT NULL,
            actor_id TEXT NOT NULL,
            action TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            detail TEXT
        );
        CREATE INDEX audit_entity ON audit(entity_type, entity_id, id);
        CREATE INDEX audit_actor ON audit(actor_id, id);

        CREATE TABLE idempotency (
            principal TEXT NOT NULL,
            key TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            body_hash TEXT NOT NULL,
            state TEXT NOT NULL,
            status_code INTEGER,
            content_type TEXT,
            response_body BLOB,
            boot_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (principal, key)
        );
        """
    )
    # Full-text search over what a triager reads: bodies, summaries and the thread.
    db.table("annotations").enable_fts(["body", "summary"], create_triggers=True, tokenize="porter")
    db.table("replies").enable_fts(["body"], create_triggers=True, tokenize="porter")


@migrations()
def m002_sessions(db: Database) -> None:
    """Feedback sessions and test sessions (storage/schema_sessions.py)."""
    schema_sessions.m002_sessions(db)


@migrations()
def m010_sync(db: Database) -> None:
    """A replica's sync state and the serving side's pull indexes (storage/schema_sync.py)."""
    schema_sync.m010_sync(db)


@migrations()
def m011_inbox_index(db: Database) -> None:
    # The unified inbox walks this covering index for its ordered window (storage/inbox.py),
    # so LIMIT/OFFSET at 100k annotations reads index pages instead of sorting the table.
    db.execute(
        "CREATE INDEX IF NOT EXISTS inbox_annotations ON annotations(workspace_id, created_at DESC, id DESC, status, kind, site_id, auto_fix, assignee_id)"
    )


@migrations()
def m012_idempotency_scope(db: Database) -> None:
    # Records are now scoped by credential id + workspace + method + path (server/idempotency.py),
    # so the old ones (keyed by the raw Authorization header) can never match again, and some
    # held minted secrets in plaintext: drop them rather than keep them for their last 24 h.
    # ``audit_id`` names what the request's own transaction wrote (its first audit entry), for
    # the answer to a retry whose first response was lost. The created_at index makes the
    # 24 h sweep a range delete instead of a scan of the table.
    db.executescript(
        """
        DELETE FROM idempotency;
        ALTER TABLE idempotency ADD COLUMN audit_id INTEGER;
        CREATE INDEX idempotency_created ON idempotency(created_at);
        """
    )


@migrations()
def m013_widget(db: Database) -> None:
    # The widget's capture rides along as one JSON column (read whole, never queried into);
    # the submitter key's digest is what a revisiting browser is found by.
    db.executescript(
        """
        ALTER TABLE annotations ADD COLUMN capture TEXT;
        ALTER TABLE annotations ADD COLUMN submitter_key_hash TEXT;
        CREATE INDEX annotations_submitter ON annotations(site_id, submitter_key_hash, created_at DESC)
            WHERE submitter_key_hash IS NOT NULL;

        CREATE TABLE site_origins (
            site_id TEXT NOT NULL REFERENCES sites(id),
            origin TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (site_id, origin)
        ) WITHOUT ROWID;
        """
    )
    # Existing sites start with their own URL's origin, as new ones do (services/sites.py).
    from workbench.domain.widget import origin_of_url

    for site_id, url, created_at in db.execute("SELECT id, url, created_at FROM sites").fetchall():
        origin = origin_of_url(url)
        if origin is not None:
            db.execute("INSERT OR IGNORE INTO site_origins VALUES (?, ?, ?)", [site_id, origin, created_at])


@migrations()
def m014_flat_lists(db: Database) -> None:
    # Every list page walks one index in its sort order and starts at its keyset position
    # (storage/annotations.py): the filter columns ride in the index, so a selective filter
    # skips index entries without reading table pages. The old (site, created_at, id) and
    # (site, status, created_at, id) indexes are prefixes of the new ones. The TUI's status
    # counts are kept per (workspace, status) by triggers (storage/schema_counts.py).
    db.executescript(
        """
        DROP INDEX IF EXISTS annotations_site_order;
        DROP INDEX IF EXISTS annotations_site_status;
        CREATE INDEX IF NOT EXISTS annotations_site_walk
            ON annotations(site_id, created_at DESC, id DESC, status, kind, auto_fix, updated_at);
        CREATE INDEX IF NOT EXISTS annotations_site_status_walk
            ON annotations(site_id, status, created_at DESC, id DESC, kind, auto_fix, updated_at);
        """
    )
    schema_counts.status_counts(db)
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS personas_ws_order
            ON personas(workspace_id, category, is_default DESC, name COLLATE NOCASE, name, id);
        """
    )


@migrations()
def m015_undo(db: Database) -> None:
    # The TUI's undo history (storage/undo.py): one row per user action (a bulk batch is one),
    # one row per change it made, with what the change replaced, so ``u`` works after a restart
    # and after the change has been pushed. The steps are written in the change's own
    # transaction. ``seq`` names the outbox entry a step wrote, while it may still be unsent.
    db.executescript(
        """
        CREATE TABLE undo_actions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            workspace_id TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            what TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'done',
            reason TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX undo_actions_actor ON undo_actions(workspace_id, actor_id, state, id);

        CREATE TABLE undo_steps (
            action_id INTEGER NOT NULL REFERENCES undo_actions(id) ON DELETE CASCADE,
            n INTEGER NOT NULL,
            op TEXT NOT NULL,
            entity_type TEXT NOT NULL,
            entity_id TEXT NOT NULL,
            local_id TEXT,
            seq INTEGER,
            payload TEXT NOT NULL,
            after TEXT,
            PRIMARY KEY (action_id, n)
        ) WITHOUT ROWID;
        """
    )


@migrations()
def m016_search_index(db: Database) -> None:
    """The inbox's search index, one document per annotation with its thread (storage/schema_search.py)."""
    schema_search.m016_search_index(db)


@migrations()
def m018_annotation_changes(db: Database) -> None:
    """A counter per workspace moved by every annotation, reply and resolution write (storage/schema_changes.py)."""
    schema_changes.m018_annotation_changes(db)


@migrations()
def m019_search_on_text_changes(db: Database) -> None:
    """Full-text triggers that fire only when indexed text changes (storage/schema_search.py)."""
    schema_search.m019_search_on_text_changes(db)


@migrations()
def m020_search_index_later(db: Database) -> None:
    """A change keeps its document pending; storage.inbox re-indexes it (storage/schema_search.py)."""
    schema_search.m020_search_index_later(db)


@migrations()
def m021_auth_changes(db: Database) -> None:
    """A counter moved by every write to API tokens and workspaces (storage/schema_changes.py)."""
    schema_changes.m021_auth_changes(db)


@migrations()
def m022_annotation_journal(db: Database) -> None:
    """The ids of changed annotations, in commit order (storage/schema_changes.py)."""
    schema_changes.m022_annotation_journal(db)


@migrations()
def m023_text_search_later(db: Database) -> None:
    """The annotation search's indexes are kept current after the write, as the inbox's are (storage/schema_search.py)."""
    schema_search.m023_text_search_later(db)


@migrations()
def m024_no_audit_actor_index(db: Database) -> None:
    # m001's index of the audit by actor was never read by any query, and every audited write
    # (every user action) paid a page of it in the WAL and again in the checkpoint.
    db.execute("DROP INDEX IF EXISTS audit_actor")


@migrations()
def m025_list_keysets(db: Database) -> None:
    # The sites and API-token lists page on (created_at, id) (storage/sites.py, storage/accounts.py):
    # with id in the index a page starts at its keyset position and reads in order, where the
    # (workspace, created_at) indexes left each tie to a sort. They are prefixes of the new ones.
    db.executescript(
        """
        DROP INDEX IF EXISTS sites_ws;
        DROP INDEX IF EXISTS api_tokens_ws;
        CREATE INDEX IF NOT EXISTS sites_ws_order ON sites(workspace_id, created_at, id);
        CREATE INDEX IF NOT EXISTS api_tokens_ws_order ON api_tokens(workspace_id, created_at, id);
        """
    )


@migrations()
def m026_inbox_by_assignee(db: Database) -> None:
    # The inbox walks inbox_annotations in the list's order and tests each entry against the
    # filter: for one person's annotations (assignee:@me, a few among a million) that walked the
    # whole workspace, 200-300 ms at 1M on the TUI's thread. This index walks only theirs, in
    # the same order, and holds what the inbox filters on as inbox_annotations does: without
    # status and kind, "my new bugs" (none, among 73k of mine) read every one of the 73k rows
    # from the table (108 ms at 1M). Only assigned rows: a status change rewrites the entry, and
    # most are made before anyone is assigned (status changes cost 0.1 ms more at p50 with every
    # row in it); "assignee: none" is most of a workspace and walks inbox_annotations.
    db.execute(
        "CREATE INDEX IF NOT EXISTS inbox_assignee ON annotations(workspace_id, assignee_id, created_at DESC, id DESC, status, kind, site_id, auto_fix) "
        "WHERE assignee_id IS NOT NULL"
    )


@migrations()
def m027_list_by_kind(db: Database) -> None:
    # A site's list filtered by kind walked annotations_site_walk in order, testing each entry:
    # a kind with few rows (29 of 333k in a site) walked the whole site, 75 ms at 1M on the
    # server's event loop. This index seeks the kind and walks only its rows in the same order.
    # It holds auto-fix, not status or updated_at, which triage moves (each would be a page
    # more in every status change, or every write): with a status, the planner may walk the
    # status's index instead, which holds the kind.
    db.execute("CREATE INDEX IF NOT EXISTS annotations_site_kind_walk ON annotations(site_id, kind, created_at DESC, id DESC, auto_fix)")


@migrations()
def m028_list_auto_fix(db: Database) -> None:
    # auto_fix=true, the stakeholders' few, walked the whole site as a rare kind did (m027). A
    # partial index holds only those rows, so it costs nothing to the writes of the others
    # (42 ms -> 0.1 ms at 1M for a site with 29 auto-fix annotations).
    db.execute(
        "CREATE INDEX IF NOT EXISTS annotations_site_auto_fix_walk ON annotations(site_id, created_at DESC, id DESC, status, kind) "
        "WHERE auto_fix = 1"
    )


@migrations()
def m029_inbox_by_kind(db: Database) -> None:
    # The inbox's kind filter (a kind with 99 annotations among a million) walked the whole
    # workspace on the TUI's thread: 228 ms at 1M. This index walks one kind's rows in the
    # list's order. It holds nothing that triage changes: a window reads status from the table,
    # a lookup per walked row, which a dense kind ends after about two rows per row shown.
    db.execute("CREATE INDEX IF NOT EXISTS inbox_kind ON annotations(workspace_id, kind, created_at DESC, id DESC)")



@migrations()
def m030_inbox_auto_fix(db: Database) -> None:
    # The inbox's auto-fix filter walked the whole workspace as a rare kind did (m029): a
    # partial index of the auto-fix rows only, which costs nothing to the others' writes (auto_fix
    # in it too, always 1: SQLite tests the filter's term from the index instead of the table).
    db.execute(
        "CREATE INDEX IF NOT EXISTS inbox_auto_fix ON annotations(workspace_id, created_at DESC, id DESC, status, kind, site_id, assignee_id, auto_fix) "
        "WHERE auto_fix = 1"
    )


@migrations()
def m031_no_workspace_updated_index(db: Database) -> None:
    # m001's (workspace_id, updated_at) index was never read by any query (pulls and `since` lists
    # read a site's, annotations_site_updated), and every annotation write moves updated_at, so
    # each paid two pages of it in the WAL (of 21 to 28 for a status change) and again in the
    # checkpoint.
    db.execute("DROP INDEX IF EXISTS annotations_ws_updated")


@migrations()
def m032_picture_failures(db: Database) -> None:
    """The pictures a replica's sync could not fetch (storage/schema_sync.py)."""
    schema_sync.m032_picture_failures(db)


@migrations()
def m033_resolutions_by_workspace(db: Database) -> None:
    # A sync fetches a replica's missing pictures newest record first, so many a run (sync/pictures.py):
    # the workspace's resolutions in that order were a scan of every workspace's and a sort. With this
    # index they are one ordered walk, merged with the annotations' (storage.annotations.pictures_not_held).
    db.execute("CREATE INDEX IF NOT EXISTS resolutions_ws_order ON resolutions(workspace_id, created_at DESC, id DESC)")


@migrations()
def m034_inbox_by_assignee_and_status(db: Database) -> None:
    # "My new bugs" (one assignee, one status, one kind) walked all of the assignee's entries in
    # inbox_assignee, testing status and kind in each: 73k at 1M for the busiest assignee, none of
    # them new, 10-14 ms (189x its 10k figure). Keyed by status after the assignee, the walk
    # starts at the assignee's rows of that status and reads only those. inbox_assignee stays for
    # one assignee with several statuses (the default "awaiting", or all), which this index could
    # give in the list's order only by sorting. Assigned rows only, as there: a status change of
    # an assigned row moves its entry here too (13.7 WAL frames for the bare UPDATE against 10.4
    # without it, measured); the others' writes never touch it.
    db.execute(
        "CREATE INDEX IF NOT EXISTS inbox_assignee_status ON annotations(workspace_id, assignee_id, status, created_at DESC, id DESC, kind, site_id, auto_fix) "
        "WHERE assignee_id IS NOT NULL"
    )


@migrations()
def m035_reply_authors(db: Database) -> None:
    # A replica names the server's members from their replies (storage.inbox_filters.server_members):
    # the inbox's filter offers them, the annotation screen names assignees with them, and each
    # read every user reply of the workspace, newest first: 270 ms at 1M annotations (300k user
    # replies), on the TUI's thread at start and at every store change. With this index each
    # author is one seek and their newest name another. Users' replies only: a visitor's or the
    # system's costs nothing more.
    db.execute(
        "CREATE INDEX IF NOT EXISTS replies_user_authors ON replies(workspace_id, author_id, created_at) "
        "WHERE author_kind = 'user' AND author_id IS NOT NULL"
    )


@migrations()
def m036_resolutions_notified_since(db: Database) -> None:
    # The thread feed's resolutions notified since a time but created before it
    # (storage.thread_feed.resolutions_since_sql) are read from this index; with created_at in
    # it, those created since (most of what was notified since) are passed over in the index
    # instead of each read from the table: 5.5 -> 2.0 ms for a page at 1M annotations with
    # 9,400 resolutions notified since. It replaces the (notified_at) index, which only that
    # query read.
    db.executescript(
        """
        DROP INDEX IF EXISTS resolutions_notified;
        CREATE INDEX IF NOT EXISTS resolutions_notified_since ON resolutions(notified_at, created_at);
        """
    )


@migrations()
def m037_threads_by_site(db: Database) -> None:
    # The thread feed reads one site's replies and resolutions in time order, and its time
    # indexes held every site of every workspace: a site's page walked the others' rows between
    # its own (a small site's first page read ~the whole store's replies, 1 row in 1,000 kept;
    # its daily sync read the day of every site). Each row carries its annotation's site
    # (annotations never move between sites), so the feed's ranges are one site's: the writes
    # fill it (storage/annotations.py, storage/sync_mirror.py), and the trigger fills a row
    # inserted without it, so no writer can leave a row out of the feed. The store-wide time
    # indexes only the feed read are dropped.
    script = [
        """
        ALTER TABLE replies ADD COLUMN site_id TEXT;
        ALTER TABLE resolutions ADD COLUMN site_id TEXT;
        UPDATE replies SET site_id = (SELECT a.site_id FROM annotations a WHERE a.id = replies.annotation_id);
        UPDATE resolutions SET site_id = (SELECT a.site_id FROM annotations a WHERE a.id = resolutions.annotation_id);
        CREATE INDEX IF NOT EXISTS replies_site_created ON replies(site_id, created_at, id);
        CREATE INDEX IF NOT EXISTS resolutions_site_created ON resolutions(site_id, created_at, id);
        CREATE INDEX IF NOT EXISTS resolutions_site_notified ON resolutions(site_id, notified_at, created_at);
        DROP INDEX IF EXISTS replies_created;
        DROP INDEX IF EXISTS resolutions_created;
        DROP INDEX IF EXISTS resolutions_notified_since;
        """
    ]
    for table in ("replies", "resolutions"):
        script.append(
            f"""
        CREATE TRIGGER IF NOT EXISTS {table}_site_filled AFTER INSERT ON {table} WHEN new.site_id IS NULL BEGIN
            UPDATE {table} SET site_id = (SELECT a.site_id FROM annotations a WHERE a.id = new.annotation_id) WHERE id = new.id;
        END;
        """
        )
    db.executescript("".join(script))


@migrations()
def m038_search_merge_in_upkeep(db: Database) -> None:
    # FTS5 merged an index's segments inside whichever write filled a level: an upkeep's batch
    # took 30-77 ms instead of 1, and the writers queued behind it waited as long. The upkeep
    # merges in short steps of their own instead (storage/search_merge.py).
    db.executescript(search_merge.settings_sql())


@migrations()
def m039_reply_counts(db: Database) -> None:
    """Replies per workspace, kept by triggers, for the workspace switcher (storage/schema_counts.py)."""
    schema_counts.m039_reply_counts(db)


def migrate(store: Store) -> None:
    """Apply pending migrations under one IMMEDIATE lock so concurrent openers don't race.

    Ends by stamping ``SCHEMA_VERSION`` into ``PRAGMA user_version`` in the same transaction,
    which is what later opens check before loading this module.
    """
    from storage.db import SCHEMA_VERSION

    with store.write() as conn:
        db = Database(conn, execute_plugins=False)
        migrations.apply(db)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
