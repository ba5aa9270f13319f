"""Test-session domain: transition table, variant balancing, request models, rules, envelope."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from workbench.domain import test_sessions as ts
from workbench.domain.errors import Conflict, Invalid, NotFound
from workbench.domain.test_sessions import (
    CLOCK_SKEW,
    TRANSITIONS,
    CompleteRequest,
    ConfirmRequest,
    Envelope,
    FeedbackCreate,
    NotesPatch,
    NoteUpsert,
    TestSessionCreate,
    TestSessionPublic,
    Variant,
    apply,
    can,
    can_submit_feedback,
    choose_variant,
    duration_seconds,
    ensure_notes_editable,
    estimate_analysis_seconds,
    fail,
    iso_seconds,
    ok,
    plan_notes_patch,
    resolve_completed_at,
)
from workbench.domain.test_sessions import (
    TestSessionAction as A,
)
from workbench.domain.test_sessions import (
    TestSessionStatus as S,
)

UTC = UTC
START = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)

EXPECTED_TABLE = {
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.PAUSED, A.RESUME): S.ACTIVE,
    (S.ACTIVE, A.COMPLETE): S.COMPLETED,
    (S.PAUSED, A.COMPLETE): S.COMPLETED,
    (S.COMPLETED, A.ANALYZE): S.ANALYZING,
    (S.ANALYZING, A.ANALYSIS_FINISHED): S.ANALYZED,
    (S.ANALYZING, A.ANALYSIS_FAILED): S.COMPLETED,
    (S.ANALYZED, A.CONFIRM): S.CONFIRMED,
}


# --- lifecycle ----------------------------------------------------------------------------


def test_table_is_exactly_the_designed_lifecycle() -> None:
    assert TRANSITIONS == EXPECTED_TABLE
    assert [s.value for s in S] == ["active", "paused", "completed", "analyzing", "analyzed", "confirmed"]


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S, A)))
def test_every_pair_is_either_the_tables_target_or_a_conflict(status: S, action: A) -> None:
    if (status, action) in EXPECTED_TABLE:
        assert apply(status, action) is EXPECTED_TABLE[(status, action)]
        assert apply(status.value, action.value) is EXPECTED_TABLE[(status, action)]
        assert can(status, action)
    else:
        assert not can(status, action)
        with pytest.raises(Conflict) as err:
            apply(status, action)
        assert f"; it is {status.value}" in err.value.message


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (S.ACTIVE, A.ANALYZE, "Session must be in completed status to analyze; it is active"),
        (S.ANALYZING, A.ANALYZE, "Session must be in completed status to analyze; it is analyzing"),
        (S.COMPLETED, A.CONFIRM, "Session must be in analyzed status to confirm; it is completed"),
        (S.CONFIRMED, A.CONFIRM, "Session must be in analyzed status to confirm; it is confirmed"),
        (S.COMPLETED, A.COMPLETE, "Session must be in active or paused status to complete; it is completed"),
        (S.PAUSED, A.PAUSE, "Session must be in active status to pause; it is paused"),
        (S.ACTIVE, A.RESUME, "Session must be in paused status to resume; it is active"),
        (S.COMPLETED, A.ANALYSIS_FINISHED, "Session must be in analyzing status to finish analysis; it is completed"),
    ],
)
def test_conflict_messages_name_required_and_current_status(status: S, action: A, message: str) -> None:
    with pytest.raises(Conflict) as err:
        apply(status, action)
    assert err.value.message == message


def test_failed_analysis_can_be_retried() -> None:
    status = apply(S.COMPLETED, A.ANALYZE)
    status = apply(status, A.ANALYSIS_FAILED)
    assert status is S.COMPLETED
    assert apply(status, A.ANALYZE) is S.ANALYZING


def test_confirmed_is_terminal() -> None:
    assert not [key for key in TRANSITIONS if key[0] is S.CONFIRMED]


# --- variants -----------------------------------------------------------------------------


def test_fewer_sessions_wins() -> None:
    assert choose_variant(3, 5, "anyone") is Variant.A
    assert choose_variant(5, 3, "anyone") is Variant.B


def test_simulated_assignment_stays_balanced() -> None:
    counts = {Variant.A: 0, Variant.B: 0}
    for i in range(100):
        counts[choose_variant(counts[Variant.A], counts[Variant.B], f"tester_{i}")] += 1
        assert abs(counts[Variant.A] - counts[Variant.B]) <= 1
    assert counts == {Variant.A: 50, Variant.B: 50}


def test_ties_are_deterministic_and_use_both_sides() -> None:
    picks = {choose_variant(2, 2, f"user_{i}") for i in range(50)}
    assert picks == {Variant.A, Variant.B}
    for i in range(50):
        assert choose_variant(0, 0, f"user_{i}") is choose_variant(7, 7, f"user_{i}")
    # sha256("user_xyz789") begins with an even byte or not; pin it so a hash change is noticed
    import hashlib

    expected = Variant.A if hashlib.sha256(b"user_xyz789").digest()[0] % 2 == 0 else Variant.B
    assert choose_variant(0, 0, "user_xyz789") is expected


# --- requests -----------------------------------------------------------------------------


def test_create_accepts_documented_body() -> None:
    body = TestSessionCreate.model_validate({"jobId": "job_abc123", "testerId": "user_xyz789", "variant": "A"})
    assert (body.jobId, body.testerId, body.variant) == ("job_abc123", "user_xyz789", Variant.A)
    assert TestSessionCreate.model_validate({"jobId": "j", "testerId": "t"}).variant is None


@pytest.mark.parametrize(
    "body",
    [
        {"jobId": "", "testerId": "t"},
        {"jobId": "   ", "testerId": "t"},
        {"jobId": "j" * 201, "testerId": "t"},
        {"jobId": "j"},
        {"jobId": "j", "testerId": "t", "variant": "C"},
        {"jobId": "j", "testerId": "t", "variant": "a"},
        {"jobId": 5, "testerId": "t"},
        {"jobId": "j", "testerId": "t", "extra": True},
        {"job_id": "j", "testerId": "t"},
    ],
)
def test_create_refuses(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TestSessionCreate.model_validate(body)


def test_complete_request() -> None:
    assert CompleteRequest.model_validate({}).completedAt is None
    body = CompleteRequest.model_validate({"completedAt": "2026-03-16T10:32:00Z"})
    assert body.completedAt == datetime(2026, 3, 16, 10, 32, tzinfo=UTC)
    with pytest.raises(ValidationError):
        CompleteRequest.model_validate({"completedAt": "yesterday"})
    with pytest.raises(ValidationError):
        CompleteRequest.model_validate({"completed_at": "2026-03-16T10:32:00Z"})
    # A date and a time, as the documents write it: not a number (epoch seconds) nor a bare date (midnight).
    for bad in (123, 1.5, True, "2026-03-16", ["2026-03-16T10:32:00Z"]):
        with pytest.raises(ValidationError, match="must be an ISO 8601 date and time with its timezone"):
            CompleteRequest.model_validate({"completedAt": bad})
    # A date and time says its zone: without one it is refused, not read as UTC (fields.Timestamp).
    for naive in ("2026-03-16T10:32:00", "2026-03-16 10:32", datetime(2026, 3, 16, 10, 32)):
        with pytest.raises(ValidationError, match="has no timezone: add Z for UTC or an offset such as"):
            CompleteRequest.model_validate({"completedAt": naive})
    east = CompleteRequest.model_validate({"completedAt": "2026-03-16T12:32:00+02:00"}).completedAt
    assert east == datetime(2026, 3, 16, 10, 32, tzinfo=UTC)


def test_resolve_completed_at_defaults_to_now() -> None:
    now = START + timedelta(minutes=32)
    assert resolve_completed_at(START, None, now) == now


def test_resolve_completed_at_keeps_given_value_and_reads_naive_as_utc() -> None:
    given = datetime(2026, 3, 16, 10, 32)
    got = resolve_completed_at(START, given, START + timedelta(hours=5))
    assert got == datetime(2026, 3, 16, 10, 32, tzinfo=UTC) and got.tzinfo is not None
    plus1 = timezone(timedelta(hours=1))
    assert resolve_completed_at(START, datetime(2026, 3, 16, 11, 32, tzinfo=plus1), START + timedelta(hours=5)) == got
    assert resolve_completed_at(START, START, START) == START


def test_completed_at_after_now_is_refused_beyond_the_clock_skew() -> None:
    now = START + timedelta(minutes=30)
    # A client clock a little fast: recorded as now, so no stored time is ever in the future.
    assert resolve_completed_at(START, now + CLOCK_SKEW, now) == now
    with pytest.raises(Invalid, match=r"^completedAt is in the future \(more than 5 minutes after the server's clock\)$"):
        resolve_completed_at(START, now + CLOCK_SKEW + timedelta(seconds=1), now)
    with pytest.raises(Invalid, match="in the future"):
        resolve_completed_at(START, datetime(2099, 1, 1, tzinfo=UTC), now)


def test_completed_at_before_start_is_refused() -> None:
    with pytest.raises(Invalid, match=r"^completedAt is before the session started$"):
        resolve_completed_at(START, START - timedelta(seconds=1), START + timedelta(hours=1))
    # a naive value is read as UTC, so 09:59:59 is one second before the 10:00 UTC start
    with pytest.raises(Invalid):
        resolve_completed_at(START, datetime(2026, 3, 16, 9, 59, 59), START)
    with pytest.raises(Invalid):
        resolve_completed_at(START, None, START - timedelta(minutes=1))


def test_duration_seconds() -> None:
    assert duration_seconds(START, datetime(2026, 3, 16, 10, 32, tzinfo=UTC)) == 1920
    assert duration_seconds(START, START + timedelta(seconds=59, microseconds=999_999)) == 59
    assert duration_seconds(datetime(2026, 3, 16, 10, 0), START + timedelta(minutes=1)) == 60
    with pytest.raises(Invalid):
        duration_seconds(START, START - timedelta(seconds=1))


def test_confirm_request() -> None:
    body = ConfirmRequest.model_validate({"rating": 5, "comment": "Thorough and articulate tester."})
    assert (body.rating, body.comment) == (5, "Thorough and articulate tester.")
    assert ConfirmRequest.model_validate({"rating": 1}).comment is None
    for bad in [{}, {"rating": 0}, {"rating": 6}, {"rating": "5"}, {"rating": 4.5}, {"rating": True},
                {"rating": 3, "comment": "x" * 2001}, {"rating": 3, "tip": 1}]:
        with pytest.raises(ValidationError):
            ConfirmRequest.model_validate(bad)


def test_feedback_create_accepts_documented_body() -> None:
    body = FeedbackCreate.model_validate(
        {"clarity": 4, "difficulty": 3, "technicalIssues": False, "comment": "Broken back button."}
    )
    assert (body.clarity, body.difficulty, body.technicalIssues) == (4, 3, False)
    assert FeedbackCreate.model_validate({"clarity": 1, "difficulty": 5, "technicalIssues": True}).comment is None


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, None, "false"])
def test_technical_issues_must_be_a_real_boolean(value: object) -> None:
    with pytest.raises(ValidationError):
        FeedbackCreate.model_validate({"clarity": 4, "difficulty": 3, "technicalIssues": value})


@pytest.mark.parametrize(
    "patch",
    [
        {"clarity": 0},
        {"clarity": 6},
        {"difficulty": "3"},
        {"comment": "x" * 5001},
        {"rating": 5},
    ],
)
def test_feedback_create_refuses(patch: dict[str, object]) -> None:
    body: dict[str, object] = {"clarity": 4, "difficulty": 3, "technicalIssues": False}
    body.update(patch)
    with pytest.raises(ValidationError):
        FeedbackCreate.model_validate(body)


def test_feedback_requires_technical_issues() -> None:
    with pytest.raises(ValidationError):
        FeedbackCreate.model_validate({"clarity": 4, "difficulty": 3})


def test_notes_patch_bounds() -> None:
    NotesPatch.model_validate({"notes": [{"content": "x"}] * 100})
    for bad in [
        {"notes": []},
        {"notes": [{"content": "x"}] * 101},
        {"notes": [{"content": ""}]},
        {"notes": [{"content": "   "}]},
        {"notes": [{"content": "x" * 10001}]},
        {"notes": [{"noteId": "n1"}]},
        {"notes": [{"content": "x", "author": "me"}]},
        {"notes": [], "extra": 1},
        {},
    ]:
        with pytest.raises(ValidationError):
            NotesPatch.model_validate(bad)


# --- rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.COMPLETED, S.ANALYZING, S.ANALYZED, S.CONFIRMED])
def test_feedback_allowed_from_completed_on(status: S) -> None:
    assert can_submit_feedback(status, already_submitted=False) is None


@pytest.mark.parametrize("status", [S.ACTIVE, S.PAUSED])
def test_feedback_refused_before_completion(status: S) -> None:
    with pytest.raises(Conflict, match=r"^Feedback can only be submitted after the session is completed$"):
        can_submit_feedback(status, already_submitted=False)


def test_feedback_refused_twice() -> None:
    with pytest.raises(Conflict, match=r"^Feedback was already submitted for this session$"):
        can_submit_feedback(S.ANALYZED, already_submitted=True)


def test_notes_editable_except_confirmed() -> None:
    for status in S:
        if status is S.CONFIRMED:
            with pytest.raises(Conflict, match="confirmed"):
                ensure_notes_editable(status)
        else:
            assert ensure_notes_editable(status) is None


def test_plan_notes_patch_splits_in_order() -> None:
    patch = NotesPatch.model_validate(
        {
            "notes": [
                {"noteId": "note_001", "content": "Updated: tester recovered after second attempt."},
                {"content": "New note added post-session review."},
                {"noteId": "note_002", "content": "second"},
                {"content": "another"},
            ]
        }
    )
    to_update, to_create = plan_notes_patch({"note_001", "note_002", "note_003"}, patch)
    assert [n.noteId for n in to_update] == ["note_001", "note_002"]
    assert [n.content for n in to_create] == ["New note added post-session review.", "another"]
    assert all(isinstance(n, NoteUpsert) for n in to_update + to_create)


def test_plan_notes_patch_refuses_foreign_note_id() -> None:
    patch = NotesPatch.model_validate({"notes": [{"content": "new"}, {"noteId": "note_other", "content": "x"}]})
    with pytest.raises(NotFound) as err:
        plan_notes_patch({"note_001"}, patch)
    assert "note_other" in err.value.message


def test_plan_notes_patch_refuses_duplicate_note_id() -> None:
    patch = NotesPatch.model_validate(
        {"notes": [{"noteId": "note_001", "content": "a"}, {"noteId": "note_001", "content": "b"}]}
    )
    with pytest.raises(Invalid, match="note_001"):
        plan_notes_patch({"note_001"}, patch)


def test_estimate_analysis_seconds() -> None:
    assert estimate_analysis_seconds(1, 1920) == 45  # the documented example
    assert estimate_analysis_seconds(0, None) == 10
    assert estimate_analysis_seconds(0, 0) == 10
    assert estimate_analysis_seconds(100, 36000) == 120
    assert estimate_analysis_seconds(-3, -60) >= 5
    assert estimate_analysis_seconds(4, 600) == estimate_analysis_seconds(4, 600)
    assert estimate_analysis_seconds(5, 600) > estimate_analysis_seconds(4, 600)


# --- envelope and shapes ------------------------------------------------------------------


def test_envelope_helpers() -> None:
    assert ok({"sessionId": "s"}) == {"success": True, "data": {"sessionId": "s"}, "error": None, "metadata": None}
    assert ok([], {"count": 0})["metadata"] == {"count": 0}
    assert fail("not_found", "Session not found") == {
        "success": False,
        "data": None,
        "error": {"code": "not_found", "message": "Session not found"},
        "metadata": None,
    }
    parsed = Envelope[TestSessionPublic].model_validate(fail("conflict", "x"))
    assert parsed.success is False and parsed.error is not None and parsed.error.code == "conflict"


def test_envelope_validates_documented_get_response() -> None:
    doc = {
        "success": True,
        "data": {
            "sessionId": "sess_001",
            "jobId": "job_abc123",
            "testerId": "user_xyz789",
            "variant": "A",
            "status": "completed",
            "startedAt": "2026-03-16T10:00:00Z",
            "completedAt": "2026-03-16T10:32:00Z",
            "durationSeconds": 1920,
        },
        "error": None,
        "metadata": None,
    }
    env = Envelope[TestSessionPublic].model_validate(doc)
    assert env.data is not None and env.data.status is S.COMPLETED and env.data.durationSeconds == 1920


def test_iso_seconds() -> None:
    assert iso_seconds(START) == "2026-03-16T10:00:00Z"
    assert iso_seconds(datetime(2026, 3, 16, 10, 0, 0, 999_000)) == "2026-03-16T10:00:00Z"


def test_domain_module_imports_only_the_domain_errors_and_statuses() -> None:
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(ts))
    ours = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(("workbench", "storage", "sync"))
    }
    assert ours == {"workbench.domain.errors", "workbench.domain.fields", "workbench.domain.statuses"}
