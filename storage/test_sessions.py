"""Repository of studies, test sessions, their notes and the testers' feedback.

A test session belongs to a workspace through its study; lookups that serve a caller join
the study and filter by workspace, so another workspace's session reads as absent.
"""

from __future__ import annotations

import dataclasses
import hashlib
from sqlite3 import Connection
from typing import Any

from storage.rows import columns, fetch_all, fetch_one, insert, json_dump, json_load
from workbench.domain.session_records import Study, TesterFeedback, TestNote, TestSession

_STUDY = columns(Study)
_SESSION = columns(TestSession)
_SESSION_S = columns(TestSession, "s.")
_NOTE = columns(TestNote)
_FEEDBACK = columns(TesterFeedback)
_FIELDS = [f.name for f in dataclasses.fields(TestSession)]
_ANALYSIS_AT = _FIELDS.index("analysis")
_PAYOUT_AT = _FIELDS.index("payout_queued")
_TECH_AT = [f.name for f in dataclasses.fields(TesterFeedback)].index("technical_issues")


def _session(*row: Any) -> TestSession:  # sqlite3 rows are untyped; the field order is the schema
    values = list(row)
    values[_ANALYSIS_AT] = json_load(values[_ANALYSIS_AT])
    values[_PAYOUT_AT] = bool(values[_PAYOUT_AT])
    return TestSession(*values)


def _feedback(*row: Any) -> TesterFeedback:
    values = list(row)
    values[_TECH_AT] = bool(values[_TECH_AT])
    return TesterFeedback(*values)


# -- studies -------------------------------------------------------------------------------
def add_study(db: Connection, study: Study) -> None:
    insert(db, "studies", study)


def get_study(db: Connection, workspace_id: str, study_id: str) -> Study | None:
    return fetch_one(db, Study, f"SELECT {_STUDY} FROM studies WHERE id = ? AND workspace_id = ?", [study_id, workspace_id])


def study_workspace(db: Connection, study_id: str) -> str | None:
    """The workspace of a study (background jobs know only the session)."""
    row = db.execute("SELECT workspace_id FROM studies WHERE id = ?", [study_id]).fetchone()
    return None if row is None else row[0]


def list_studies(db: Connection, workspace_id: str) -> list[Study]:
    return fetch_all(db, Study, f"SELECT {_STUDY} FROM studies WHERE workspace_id = ? ORDER BY created_at, id", [workspace_id])


# -- sessions ------------------------------------------------------------------------------
def add_session(db: Connection, session: TestSession) -> None:
    insert(db, "test_sessions", session, encode={"analysis": json_dump, "payout_queued": int})


def get_session(db: Connection, workspace_id: str, session_id: str) -> TestSession | None:
    return fetch_one(
        db,
        _session,
        f"SELECT {_SESSION_S} FROM test_sessions s JOIN studies j ON j.id = s.job_id WHERE s.id = ? AND j.workspace_id = ?",
        [session_id, workspace_id],
    )


def get_session_any(db: Connection, session_id: str) -> TestSession | None:
    """Unscoped: for background jobs only."""
    return fetch_one(db, _session, f"SELECT {_SESSION} FROM test_sessions WHERE id = ?", [session_id])


def variant_counts(db: Connection, job_id: str) -> dict[str, int]:
    return dict(db.execute("SELECT variant, count(*) FROM test_sessions WHERE job_id = ? GROUP BY variant", [job_id]).fetchall())


def _filters(job_id: str, status: str | None, variant: str | None, tester_id: str | None) -> tuple[str, list[object]]:
    where = ["job_id = ?"]
    params: list[object] = [job_id]
    for column, value in (("status", status), ("variant", variant), ("tester_id", tester_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(where), params


def list_sessions_sql(
    job_id: str, *, status: str | None = None, variant: str | None = None, tester_id: str | None = None,
    limit: int = 50, offset: int = 0,
) -> tuple[str, list[object]]:
    """The SELECT ``list_sessions`` runs (tests read its plan).

    It walks (job[, status], created_at) backwards: an index entry ends with the rowid, so
    the order is the index's and no filter combination sorts.
    """
    where, params = _filters(job_id, status, variant, tester_id)
    sql = f"SELECT {_SESSION} FROM test_sessions WHERE {where} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
    return sql, [*params, limit, offset]


def list_sessions(
    db: Connection, job_id: str, *, status: str | None = None, variant: str | None = None, tester_id: str | None = None,
    limit: int = 50, offset: int = 0,
) -> list[TestSession]:
    sql, params = list_sessions_sql(job_id, status=status, variant=variant, tester_id=tester_id, limit=limit, offset=offset)
    return fetch_all(db, _session, sql, params)


def count_sessions(
    db: Connection, job_id: str, *, status: str | None = None, variant: str | None = None, tester_id: str | None = None
) -> int:
    where, params = _filters(job_id, status, variant, tester_id)
    return db.execute(f"SELECT count(*) FROM test_sessions WHERE {where}", params).fetchone()[0]


def session_ids_in_status(db: Connection, status: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM test_sessions WHERE status = ? ORDER BY created_at, id", [status])]


def update_session(db: Connection, session_id: str, values: dict[str, Any]) -> None:
    """Set ``values`` (analysis as JSON, payout as 0/1) and bump the version."""
    if not values:
        return
    encoded = dict(values)
    if "analysis" in encoded:
        encoded["analysis"] = json_dump(encoded["analysis"])
    if "payout_queued" in encoded:
        encoded["payout_queued"] = int(bool(encoded["payout_queued"]))
    sets = ", ".join(f"{name} = ?" for name in encoded)
    db.execute(f"UPDATE test_sessions SET {sets}, version = version + 1 WHERE id = ?", [*encoded.values(), session_id])


# -- notes ---------------------------------------------------------------------------------
def add_note(db: Connection, note: TestNote) -> None:
    insert(db, "test_notes", note)


def list_notes(db: Connection, session_id: str) -> list[TestNote]:
    # rowid is insertion order: notes created by one PATCH share a timestamp and keep request order.
    return fetch_all(db, TestNote, f"SELECT {_NOTE} FROM test_notes WHERE session_id = ? ORDER BY timestamp, rowid", [session_id])


def get_note(db: Connection, note_id: str) -> TestNote | None:
    return fetch_one(db, TestNote, f"SELECT {_NOTE} FROM test_notes WHERE id = ?", [note_id])


def note_ids(db: Connection, session_id: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT id FROM test_notes WHERE session_id = ?", [session_id])}


def update_note(db: Connection, session_id: str, note_id: str, content: str, at: int) -> None:
    db.execute(
        "UPDATE test_notes SET content = ?, updated_at = ? WHERE id = ? AND session_id = ?", [content, at, note_id, session_id]
    )


# -- tester feedback -----------------------------------------------------------------------
def add_feedback(db: Connection, feedback: TesterFeedback) -> None:
    insert(db, "tester_feedback", feedback, encode={"technical_issues": int})


def get_feedback(db: Connection, session_id: str) -> TesterFeedback | None:
    return fetch_one(db, _feedback, f"SELECT {_FEEDBACK} FROM tester_feedback WHERE session_id = ?", [session_id])


def tree_digest(db: Connection, workspace_id: str) -> str:
    """A digest of the workspace's studies, their sessions, notes and tester feedback: it
    changes exactly when any of them does (the bundled server's studies-list ETag)."""
    scope = "JOIN studies st ON st.id = s.job_id WHERE st.workspace_id = ?"
    parts = (
        db.execute(f"SELECT {_STUDY} FROM studies WHERE workspace_id = ? ORDER BY id", [workspace_id]).fetchall(),
        db.execute(f"SELECT {_SESSION_S} FROM test_sessions s {scope} ORDER BY s.id", [workspace_id]).fetchall(),
        db.execute(f"SELECT {columns(TestNote, 'n.')} FROM test_notes n JOIN test_sessions s ON s.id = n.session_id {scope} ORDER BY n.id",
                   [workspace_id]).fetchall(),
        db.execute(f"SELECT {columns(TesterFeedback, 'f.')} FROM tester_feedback f JOIN test_sessions s ON s.id = f.session_id {scope} "
                   "ORDER BY f.id", [workspace_id]).fetchall(),
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
