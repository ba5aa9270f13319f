"""Feedback-session domain: transition table, comment input, progress formula, list query, timestamps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from workbench.domain import feedback_sessions as fs
from workbench.domain.errors import Conflict, Invalid
from workbench.domain.feedback_sessions import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    TRANSITIONS,
    CommentCreate,
    CommentFact,
    CommentStatus,
    FeedbackCommentPublic,
    FeedbackListQuery,
    FeedbackSessionPublic,
    apply,
    can,
    compute_progress,
    iso_ms,
    parse_list_query,
)
from workbench.domain.feedback_sessions import (
    FeedbackAction as A,
)
from workbench.domain.feedback_sessions import (
    FeedbackStatus as S,
)

UTC = UTC
T0 = datetime(2024, 6, 15, 10, 30, tzinfo=UTC)

EXPECTED_TABLE = {
    (S.CREATED, A.DEPLOY_SUCCEEDED): S.IN_REVIEW,
    (S.CREATED, A.DEPLOY_FAILED): S.INTERRUPTED,
    (S.CREATED, A.CANCEL): S.CANCELED,
    (S.IN_REVIEW, A.START_WORK): S.IN_PROGRESS,
    (S.IN_REVIEW, A.SUBMIT_ROUND): S.TASK_REVIEW,
    (S.IN_PROGRESS, A.SUBMIT_ROUND): S.TASK_REVIEW,
    (S.TASK_REVIEW, A.RETURN_TO_REVIEW): S.IN_REVIEW,
    (S.TASK_REVIEW, A.APPROVE_TASKS): S.PROCESSING,
    (S.PROCESSING, A.BUILDER_FINISHED): S.IN_REVIEW,
    (S.PROCESSING, A.BUILDER_FAILED): S.INTERRUPTED,
    (S.IN_REVIEW, A.FINALIZE): S.DONE,
    (S.IN_PROGRESS, A.FINALIZE): S.DONE,
    (S.TASK_REVIEW, A.FINALIZE): S.DONE,
}


# --- lifecycle ----------------------------------------------------------------------------


def test_status_values_are_the_documented_ones() -> None:
    assert [s.value for s in S] == [
        "created", "in_progress", "task_review", "processing", "in_review", "done", "canceled", "interrupted",
    ]


def test_active_and_finished_partition_the_statuses() -> None:
    assert {S.DONE, S.CANCELED, S.INTERRUPTED} == FINISHED_STATUSES
    assert {S.CREATED, S.IN_PROGRESS, S.TASK_REVIEW, S.PROCESSING, S.IN_REVIEW} == ACTIVE_STATUSES


def test_table_is_exactly_the_designed_lifecycle() -> None:
    assert TRANSITIONS == EXPECTED_TABLE


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S, A)))
def test_every_pair_is_either_the_tables_target_or_a_conflict(status: S, action: A) -> None:
    if (status, action) in EXPECTED_TABLE:
        assert apply(status, action) is EXPECTED_TABLE[(status, action)]
        assert can(status, action)
        assert apply(status.value, action.value) is EXPECTED_TABLE[(status, action)]
    else:
        assert not can(status, action)
        with pytest.raises(Conflict) as err:
            apply(status, action)
        assert err.value.message


def test_every_status_is_reachable_from_created() -> None:
    seen, frontier = {S.CREATED}, [S.CREATED]
    while frontier:
        current = frontier.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src is current and dst not in seen:
                seen.add(dst)
                frontier.append(dst)
    assert seen == set(S)


def test_finished_statuses_have_no_way_out() -> None:
    assert not [key for key in TRANSITIONS if key[0] in FINISHED_STATUSES]


@pytest.mark.parametrize("status", sorted(ACTIVE_STATUSES - {S.CREATED}))
def test_cancel_past_preparing_says_finalize_instead(status: S) -> None:
    with pytest.raises(Conflict, match=r"^Session is past the preparing phase \(finalize instead\)$"):
        apply(status, A.CANCEL)


@pytest.mark.parametrize("status", sorted(FINISHED_STATUSES))
@pytest.mark.parametrize("action", [A.CANCEL, A.FINALIZE, A.DEPLOY_SUCCEEDED])
def test_finished_session_says_already(status: S, action: A) -> None:
    with pytest.raises(Conflict) as err:
        apply(status, action)
    assert err.value.message == f"Session is already {status.value}"


def test_finalize_refusals_explain_themselves() -> None:
    with pytest.raises(Conflict, match="still preparing"):
        apply(S.CREATED, A.FINALIZE)
    with pytest.raises(Conflict, match="builder is applying tasks"):
        apply(S.PROCESSING, A.FINALIZE)


def test_other_refusals_name_status_and_allowed_sources() -> None:
    with pytest.raises(Conflict) as err:
        apply(S.IN_REVIEW, A.APPROVE_TASKS)
    assert "in_review" in err.value.message and "task_review" in err.value.message


# --- comments -----------------------------------------------------------------------------


def test_comment_create_accepts_camel_case_wire_names() -> None:
    c = CommentCreate.model_validate(
        {
            "content": "  Make the hero heading larger.  ",
            "pagePath": "/products/shoe",
            "selector": "main > h1",
            "offsetX": 12.5,
            "offsetY": -3,
            "pinX": 0,
            "pinY": 100,
            "reviewerName": " Ada ",
        }
    )
    assert c.content == "Make the hero heading larger."
    assert (c.pagePath, c.selector, c.offsetX, c.offsetY, c.pinX, c.pinY) == (
        "/products/shoe", "main > h1", 12.5, -3.0, 0.0, 100.0,
    )
    assert c.reviewerName == "Ada"


def test_comment_create_minimal_and_blank_reviewer_is_anonymous() -> None:
    c = CommentCreate.model_validate({"content": "x", "pagePath": "/", "reviewerName": "   "})
    assert c.reviewerName is None and c.selector is None and c.pinX is None


@pytest.mark.parametrize(
    "patch",
    [
        {"content": ""},
        {"content": "   "},
        {"content": "x" * 5001},
        {"pagePath": "products"},
        {"pagePath": "https://shop.example/"},
        {"pagePath": "/" + "a" * 2000},
        {"selector": "a" * 2001},
        {"pinX": -0.1, "pinY": 5},
        {"pinX": 5, "pinY": 100.1},
        {"offsetX": float("nan"), "offsetY": 0},
        # Numbers are JSON numbers, as rating and clarity are; a point comes whole.
        {"pinX": "50", "pinY": 10},
        {"pinX": True, "pinY": 1},
        {"offsetX": "3", "offsetY": 1},
        {"pinX": 50},
        {"pinY": 50},
        {"offsetY": 1.5},
        {"reviewerName": "a" * 101},
        {"page_path": "/"},
        {"unknown": 1},
    ],
)
def test_comment_create_refuses(patch: dict[str, object]) -> None:
    body: dict[str, object] = {"content": "ok", "pagePath": "/"}
    body.update(patch)
    with pytest.raises(ValidationError):
        CommentCreate.model_validate(body)


def test_comment_create_limits_are_inclusive() -> None:
    c = CommentCreate.model_validate({"content": "x" * 5000, "pagePath": "/" + "a" * 1999})
    assert len(c.content) == 5000 and len(c.pagePath) == 2000


def test_comment_create_requires_content_and_page_path() -> None:
    with pytest.raises(ValidationError):
        CommentCreate.model_validate({"content": "x"})
    with pytest.raises(ValidationError):
        CommentCreate.model_validate({"pagePath": "/"})


# --- progress -----------------------------------------------------------------------------


def _comment(created_min: int, resolved_min: int | None = None) -> CommentFact:
    return CommentFact(
        status=CommentStatus.RESOLVED if resolved_min is not None else CommentStatus.OPEN,
        created_at=T0 + timedelta(minutes=created_min),
        resolved_at=None if resolved_min is None else T0 + timedelta(minutes=resolved_min),
    )


def test_documented_example_4_comments_1_resolved() -> None:
    # One comment took 5 minutes; three remain; the doc shows updatedAt 11:05 and eta 11:20.
    comments = [_comment(15, 20), _comment(16), _comment(17), _comment(18)]
    now = datetime(2024, 6, 15, 11, 5, tzinfo=UTC)
    p = compute_progress(status=S.IN_REVIEW, comments=comments, now=now, session_created_at=T0)
    assert (p.total, p.done, p.fillPct, p.label) == (4, 1, 22.5, "1/4 resolved")
    assert p.eta == datetime(2024, 6, 15, 11, 20, tzinfo=UTC)
    assert p.to_public() == {
        "total": 4, "done": 1, "fillPct": 22.5, "label": "1/4 resolved", "eta": "2024-06-15T11:20:00.000Z",
    }


def test_no_comments() -> None:
    p = compute_progress(status=S.IN_REVIEW, comments=[], now=T0, session_created_at=T0)
    assert (p.total, p.done, p.fillPct, p.label, p.eta) == (0, 0, 0.0, "No comments yet", None)
    assert p.to_public()["eta"] is None


def test_no_comments_once_finished_drops_yet() -> None:
    p = compute_progress(status=S.CANCELED, comments=[], now=T0, session_created_at=T0)
    assert p.label == "No comments" and p.fillPct == 0.0


def test_all_resolved_fills_90_and_has_no_eta() -> None:
    comments = [_comment(0, 10), _comment(1, 4)]
    p = compute_progress(status=S.IN_REVIEW, comments=comments, now=T0 + timedelta(hours=1), session_created_at=T0)
    assert (p.done, p.total, p.fillPct, p.label, p.eta) == (2, 2, 90.0, "2/2 resolved", None)


@pytest.mark.parametrize("comments", [[], [_comment(0)], [_comment(0, 5), _comment(1)]])
def test_done_is_always_full(comments: list[CommentFact]) -> None:
    p = compute_progress(status=S.DONE, comments=comments, now=T0, session_created_at=T0)
    assert p.fillPct == 100.0 and p.eta is None


def test_nothing_resolved_has_no_eta() -> None:
    p = compute_progress(status=S.IN_REVIEW, comments=[_comment(0), _comment(1)], now=T0, session_created_at=T0)
    assert (p.fillPct, p.label, p.eta) == (0.0, "0/2 resolved", None)


@pytest.mark.parametrize("status", [S.CANCELED, S.INTERRUPTED])
def test_finished_sessions_have_no_eta_but_keep_their_fill(status: S) -> None:
    comments = [_comment(0, 5), _comment(1)]
    p = compute_progress(status=status, comments=comments, now=T0, session_created_at=T0)
    assert p.eta is None and p.fillPct == 45.0


def test_eta_uses_mean_time_to_resolve_times_remaining() -> None:
    # resolved in 4 and 8 minutes -> mean 6; 3 open -> 18 minutes from now
    comments = [_comment(0, 4), _comment(0, 8), _comment(1), _comment(2), _comment(3)]
    now = T0 + timedelta(hours=2)
    p = compute_progress(status=S.IN_PROGRESS, comments=comments, now=now, session_created_at=T0)
    assert p.eta == now + timedelta(minutes=18)
    assert p.fillPct == 36.0 and p.label == "2/5 resolved"


def test_eta_clamps_comment_start_to_session_start_and_naive_is_utc() -> None:
    # a comment "created" before its session counts from the session's start
    early = CommentFact(
        status=CommentStatus.RESOLVED,
        created_at=datetime(2024, 6, 15, 9, 0),
        resolved_at=datetime(2024, 6, 15, 10, 40),
    )
    now = datetime(2024, 6, 15, 11, 0)
    p = compute_progress(status=S.IN_REVIEW, comments=[early, _comment(1)], now=now, session_created_at=T0)
    assert p.eta == datetime(2024, 6, 15, 11, 10, tzinfo=UTC)


def test_fill_rounds_half_up_to_one_decimal() -> None:
    comments = [_comment(0, 1)] + [_comment(0) for _ in range(7)]  # 1/8 * 90 = 11.25
    assert compute_progress(status=S.IN_REVIEW, comments=comments, now=T0, session_created_at=T0).fillPct == 11.3
    comments = [_comment(0, 1)] + [_comment(0) for _ in range(2)]  # 1/3 * 90 = 30.0
    assert compute_progress(status=S.IN_REVIEW, comments=comments, now=T0, session_created_at=T0).fillPct == 30.0
    comments = [_comment(0, 1)] + [_comment(0) for _ in range(6)]  # 1/7 * 90 = 12.857...
    assert compute_progress(status=S.IN_REVIEW, comments=comments, now=T0, session_created_at=T0).fillPct == 12.9


def test_resolved_without_timestamp_counts_but_gives_no_eta() -> None:
    c = CommentFact(status=CommentStatus.RESOLVED, created_at=T0)
    p = compute_progress(status=S.IN_REVIEW, comments=[c, _comment(1)], now=T0, session_created_at=T0)
    assert p.done == 1 and p.eta is None


# --- timestamps ---------------------------------------------------------------------------


def test_iso_ms_formats_like_the_document() -> None:
    assert iso_ms(datetime(2024, 6, 15, 10, 30, tzinfo=UTC)) == "2024-06-15T10:30:00.000Z"
    assert iso_ms(datetime(2024, 6, 15, 10, 30, 0, 123999, tzinfo=UTC)) == "2024-06-15T10:30:00.123Z"
    assert iso_ms(datetime(2024, 6, 15, 10, 30)) == "2024-06-15T10:30:00.000Z"
    plus2 = timezone(timedelta(hours=2))
    assert iso_ms(datetime(2024, 6, 15, 12, 30, tzinfo=plus2)) == "2024-06-15T10:30:00.000Z"


# --- listing ------------------------------------------------------------------------------


def test_list_query_defaults() -> None:
    q = parse_list_query(None, None, None)
    assert (q.limit, q.offset, q.status) == (50, 0, None)
    assert q == FeedbackListQuery()


def test_list_query_parses_values() -> None:
    q = parse_list_query("100", "40", "in_review")
    assert (q.limit, q.offset, q.status) == (100, 40, S.IN_REVIEW)
    assert parse_list_query("1", "0", "done").limit == 1


@pytest.mark.parametrize(
    ("limit", "offset", "status", "message"),
    [
        ("0", None, None, "limit must be between 1 and 100"),
        ("101", None, None, "limit must be between 1 and 100"),
        ("-5", None, None, "limit must be between 1 and 100"),
        ("ten", None, None, "limit must be an integer between 1 and 100"),
        ("", None, None, "limit must be an integer between 1 and 100"),
        ("1_0", None, None, "limit must be an integer between 1 and 100"),
        ("2.5", None, None, "limit must be an integer between 1 and 100"),
        (None, "-1", None, "offset must be 0 or greater"),
        (None, "x", None, "offset must be a non-negative integer"),
        (None, None, "finished", "status must be one of: created, in_progress"),
    ],
)
def test_list_query_refusals_are_invalid_with_clear_messages(
    limit: str | None, offset: str | None, status: str | None, message: str
) -> None:
    with pytest.raises(Invalid) as err:
        parse_list_query(limit, offset, status)
    assert err.value.message.startswith(message)


def test_list_query_model_bounds() -> None:
    with pytest.raises(ValidationError):
        FeedbackListQuery(limit=0)
    with pytest.raises(ValidationError):
        FeedbackListQuery(offset=-1)


# --- public shapes ------------------------------------------------------------------------


def test_public_models_use_documented_field_names() -> None:
    assert list(FeedbackSessionPublic.model_fields) == [
        "id", "status", "feedbackUrl", "deploymentUrl", "errorMessage", "createdAt", "updatedAt",
    ]
    assert list(fs.FeedbackSessionDetailPublic.model_fields) == [*FeedbackSessionPublic.model_fields, "progress"]
    assert list(FeedbackCommentPublic.model_fields) == [
        "id", "content", "pagePath", "status", "taskInstruction", "createdAt",
    ]
    assert list(fs.ProgressPublic.model_fields) == ["total", "done", "fillPct", "label", "eta"]


def test_domain_module_imports_only_the_domain_errors_and_statuses() -> None:
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(fs))
    ours = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(("workbench", "storage", "sync"))
    }
    assert ours == {"workbench.domain.errors", "workbench.domain.fields", "workbench.domain.statuses"}


def test_eta_is_steady_when_an_old_comment_is_finally_resolved() -> None:
    """Issue 12 bug 12: three comments resolved in ~10 minutes each, then one 8 days old."""
    quick = [_comment(0, 10), _comment(10, 20), _comment(20, 31)]
    open_ = [_comment(30) for _ in range(5)]
    now = T0 + timedelta(minutes=40)
    before = compute_progress(status=S.IN_REVIEW, comments=quick + open_, now=now, session_created_at=T0).eta
    assert before == now + 5 * timedelta(minutes=10)
    # The oldest open comment is resolved after 8 days: 4 remain.
    late = CommentFact(status=CommentStatus.RESOLVED, created_at=T0, resolved_at=T0 + timedelta(days=8))
    now = T0 + timedelta(days=8, minutes=1)
    after = compute_progress(status=S.IN_REVIEW, comments=[*quick, late, *open_[1:]], now=now, session_created_at=T0).eta
    assert after is not None and after - now <= timedelta(hours=1)  # a mean would have said 4 × 2 days
    # The pace follows the last ETA_WINDOW resolutions: older ones stop counting.
    slow = [_comment(0, 60 * (i + 1)) for i in range(fs.ETA_WINDOW)]
    p = compute_progress(status=S.IN_REVIEW, comments=quick + slow + [_comment(0)], now=now, session_created_at=T0)
    assert p.eta == now + timedelta(minutes=60 * 3)  # median of 60..300 minutes
