"""The schema, as an ordered list of sqlite-utils migrations; ``migrate`` applies what is pending.

Timestamps are integers, milliseconds since the epoch (UTC), so ``since`` filters and cursor
keys compare as numbers. JSON columns hold small dicts or lists as text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils import Database, Migrations

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
    db["annotations"].enable_fts(["body", "summary"], create_triggers=True, tokenize="porter")
    db["replies"].enable_fts(["body"], create_triggers=True, tokenize="porter")


def migrate(store: Store) -> None:
    """Apply pending migrations under one IMMEDIATE lock so concurrent openers don't race."""
    db = store.db
    if not migrations.pending(db):
        return
    with store.write():
        migrations.apply(db)
