"""The sessions' migration (m002): stores and their API keys, feedback sessions and comments, studies, test sessions, notes and tester feedback.

``storage/schema.py`` registers it in its one ordered list, as it does the search index's and the
change counters'; its SQL is the largest single step, so it lives here.
"""

from __future__ import annotations

from sqlite_utils import Database


def m002_sessions(db: Database) -> None:
    # Stores may hold several live API keys (bootstrap mints a fresh one per run and old
    # scripts keep working), so keys live in their own table rather than on the store row.
    # The partial unique index backs "one active feedback session per store" in the engine
    # itself; its status list is frozen here as the domain's ACTIVE_STATUSES were at m002.
    # Lists order by (created_at, rowid): rowid is insertion order, so two sessions started
    # in the same millisecond still list newest first (the ids' random tails would not).
    db.executescript(
        """
        CREATE TABLE stores (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            name TEXT NOT NULL,
            ai_built INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX stores_ws ON stores(workspace_id, created_at);

        CREATE TABLE store_api_keys (
            id TEXT PRIMARY KEY,
            store_id TEXT NOT NULL REFERENCES stores(id),
            key_hash TEXT NOT NULL UNIQUE,
            last4 TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        );
        CREATE INDEX store_api_keys_store ON store_api_keys(store_id, created_at);

        CREATE TABLE feedback_sessions (
            id TEXT PRIMARY KEY,
            store_id TEXT NOT NULL REFERENCES stores(id),
            status TEXT NOT NULL,
            feedback_url TEXT NOT NULL,
            review_token TEXT NOT NULL UNIQUE,
            deployment_url TEXT,
            error_message TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX feedback_sessions_store ON feedback_sessions(store_id, created_at);
        CREATE INDEX feedback_sessions_store_status ON feedback_sessions(store_id, status, created_at);
        CREATE INDEX feedback_sessions_preparing ON feedback_sessions(created_at) WHERE status = 'created';
        CREATE UNIQUE INDEX feedback_sessions_one_active ON feedback_sessions(store_id)
            WHERE status IN ('created', 'in_progress', 'task_review', 'processing', 'in_review');

        CREATE TABLE feedback_comments (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES feedback_sessions(id),
            content TEXT NOT NULL,
            page_path TEXT NOT NULL,
            selector TEXT,
            offset_x REAL,
            offset_y REAL,
            pin_x REAL,
            pin_y REAL,
            reviewer_name TEXT,
            status TEXT NOT NULL,
            task_instruction TEXT,
            created_at INTEGER NOT NULL,
            resolved_at INTEGER,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX feedback_comments_session ON feedback_comments(session_id, created_at, id);

        CREATE TABLE studies (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces(id),
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX studies_ws ON studies(workspace_id, created_at);

        CREATE TABLE test_sessions (
            id TEXT PRIMARY KEY,
            job_id TEXT NOT NULL REFERENCES studies(id),
            tester_id TEXT NOT NULL,
            variant TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            completed_at INTEGER,
            duration_seconds INTEGER,
            analysis TEXT,
            analysis_started_at INTEGER,
            analysis_error TEXT,
            rating INTEGER,
            confirm_comment TEXT,
            confirmed_at INTEGER,
            payout_queued INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER NOT NULL,
            version INTEGER NOT NULL DEFAULT 1
        );
        CREATE INDEX test_sessions_job ON test_sessions(job_id, created_at);
        CREATE INDEX test_sessions_job_status ON test_sessions(job_id, status, created_at);
        CREATE INDEX test_sessions_job_variant ON test_sessions(job_id, variant);
        CREATE INDEX test_sessions_analyzing ON test_sessions(analysis_started_at) WHERE status = 'analyzing';

        CREATE TABLE test_notes (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES test_sessions(id),
            content TEXT NOT NULL,
            author_id TEXT NOT NULL,
            timestamp INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX test_notes_session ON test_notes(session_id, timestamp, id);

        CREATE TABLE tester_feedback (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL UNIQUE REFERENCES test_sessions(id),
            clarity INTEGER NOT NULL,
            difficulty INTEGER NOT NULL,
            technical_issues INTEGER NOT NULL,
            comment TEXT,
            submitted_at INTEGER NOT NULL
        );
        """
    )
