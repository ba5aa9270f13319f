"""Feedback and test sessions used offline, through the services alone: keys, background jobs, progress, audit."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

import pytest

from storage import audit as audit_repo
from storage import feedback_sessions as fs_repo
from tests.conftest import free_port
from tests.session_helpers import new_store, other_workspace, owner, store_of
from workbench.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from workbench.domain.feedback_sessions import CommentCreate, FeedbackAction
from workbench.domain.roles import Principal, PrincipalKind, Role
from workbench.domain.session_records import FeedbackSession, TestSession
from workbench.domain.test_sessions import (
    AnalysisPublic,
    CompleteRequest,
    ConfirmRequest,
    FeedbackCreate,
    NotesPatch,
    TestSessionCreate,
    TestSessionPublic,
)
from workbench.engine.http import OpenAICompatibleEngine
from workbench.engine.offline import OfflineEngine
from workbench.services import feedback_sessions as fsvc
from workbench.services import stores
from workbench.services import test_sessions as tsvc
from workbench.services.auth import issue_session
from workbench.services.bootstrap import bootstrap
from workbench.services.demo import load_demo


class Clock:
    """A settable clock (epoch ms) standing in for wb.clock."""

    def __init__(self, start: int = 1_718_447_400_000) -> None:  # 2024-06-15T10:30:00Z
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += int(minutes * 60_000)


class BrokenEngine(OfflineEngine):
    def task_instruction(self, content, page_path):  # ANN201
        raise RuntimeError("engine down")

    def analyze_test_session(self, brief):  # ANN201
        raise RuntimeError("engine down")


def _comment(content: str = "Make the hero heading larger and bold.", **fields) -> CommentCreate:
    return CommentCreate(content=content, pagePath="/", **fields)


def _token(session) -> str:
    return session.feedback_url.split("token=", 1)[1]


def _in_review(wb, store):  # ANN202
    session = fsvc.start(wb, store)
    deployed = fsvc.deploy(wb, session.id, env={})
    assert deployed is not None and deployed.status == "in_review"
    return deployed


def _deploy(wb, session_id: str, env: dict[str, str]) -> FeedbackSession:
    """deploy() of a session that exists (it answers None only for an unknown id)."""
    done = fsvc.deploy(wb, session_id, env=env)
    assert done is not None
    return done


def _run_analysis(wb, session_id: str) -> TestSession:
    """run_analysis() of a session that exists (it answers None only for an unknown id)."""
    done = tsvc.run_analysis(wb, session_id)
    assert done is not None
    return done


# --- store API keys ---------------------------------------------------------------------------


def test_store_key_is_shown_once_and_stored_hashed(wb, creds):
    store, key = new_store(wb, creds)
    assert key.startswith("wbsk_")
    rows = wb.store.db.execute("SELECT key_hash, last4 FROM store_api_keys WHERE store_id = ?", [store.id]).fetchall()
    assert len(rows) == 1 and rows[0][0] != key and key not in rows[0][0] and rows[0][1] == key[-4:]
    assert stores.authenticate_store(wb, f"Bearer {key}").id == store.id
    assert stores.authenticate_store(wb, f"bearer   {key}  ").id == store.id


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Missing bearer token"),
        ("", "Missing bearer token"),
        ("Basic abc", "Malformed Authorization header"),
        ("Bearer", "Malformed Authorization header"),
        ("Bearer gfat_" + "a" * 40, "Not a store API key"),
        ("Bearer wbsk_" + "a" * 43, "Unknown store API key"),
    ],
)
def test_store_key_refusals_say_why(wb, creds, header, message):
    with pytest.raises(Unauthenticated, match=message):
        stores.authenticate_store(wb, header)


def test_revoked_store_key_is_refused(wb, creds):
    key = creds["store_api_key"]
    row = fs_repo.key_by_hash(wb.store.db, stores.hash_secret(key))
    assert row is not None
    with wb.store.write() as db:
        fs_repo.revoke_key(db, row.id, wb.clock())
    with pytest.raises(Unauthenticated, match="revoked"):
        stores.authenticate_store(wb, f"Bearer {key}")


def test_bootstrap_twice_prints_working_credentials_and_keeps_old_ones(wb, creds):
    again = bootstrap(wb)
    assert (again["store_id"], again["plain_store_id"], again["job_id"]) == (creds["store_id"], creds["plain_store_id"], creds["job_id"])
    assert again["store_api_key"] != creds["store_api_key"]
    for c in (creds, again):
        assert stores.authenticate_store(wb, f"Bearer {c['store_api_key']}").ai_built is True
        assert stores.authenticate_store(wb, f"Bearer {c['plain_store_api_key']}").ai_built is False
        assert tsvc.authenticate(wb, f"Bearer {c['jwt']}").workspace_id == creds["workspace_id"]


def test_mint_key_for_a_store_of_another_workspace_is_not_found(wb, creds):
    rival = other_workspace(wb)
    with pytest.raises(NotFound):
        stores.mint_key(wb, owner(creds), rival["store"].id)


# --- start and the deployment job -------------------------------------------------------------


def test_start_refuses_a_store_that_is_not_ai_built(wb, creds):
    with pytest.raises(Invalid, match="not AI-built"):
        fsvc.start(wb, store_of(wb, creds["plain_store_id"]))


def test_only_one_active_session_per_store(wb, creds):
    store = store_of(wb, creds["store_id"])
    first = fsvc.start(wb, store)
    with pytest.raises(Conflict, match="already in progress"):
        fsvc.start(wb, store)
    other, _ = new_store(wb, creds)
    fsvc.start(wb, other)  # another store is unaffected
    fsvc.cancel(wb, store, first.id)
    assert fsvc.start(wb, store).status == "created"


def test_the_database_itself_refuses_a_second_active_session(wb, creds):
    store = store_of(wb, creds["store_id"])
    first = fsvc.start(wb, store)
    with pytest.raises(Exception, match="UNIQUE"), wb.store.write() as db:
        db.execute("UPDATE feedback_sessions SET id = 'x' WHERE id = ?", [first.id])
        db.execute(
            "INSERT INTO feedback_sessions (id, store_id, status, feedback_url, review_token, created_at, updated_at) "
            "VALUES ('y', ?, 'in_review', 'u', 't2', 0, 0)", [store.id]
        )


def test_default_deployment_works_offline(wb, creds, monkeypatch):
    store = store_of(wb, creds["store_id"])
    session = fsvc.start(wb, store)
    # This server's URLs are kept as paths; each reader puts its own base in front.
    assert session.feedback_url.startswith(f"/review/{session.id}?token=wbrv_")
    done = _deploy(wb, session.id, env={})
    assert done.status == "in_review"
    assert done.deployment_url == f"/preview/{session.id}"
    assert done.error_message is None and done.version == 2
    shown = fsvc.get(wb, store, session.id, base="http://127.0.0.1:9999/")
    assert shown["feedbackUrl"] == f"http://127.0.0.1:9999{session.feedback_url}"
    assert shown["deploymentUrl"] == f"http://127.0.0.1:9999/preview/{session.id}"
    monkeypatch.setenv("WORKBENCH_PUBLIC_URL", "https://review.example/")
    assert fsvc.get(wb, store, session.id)["deploymentUrl"] == f"https://review.example/preview/{session.id}"


def test_url_template_deployment(wb, creds):
    store = store_of(wb, creds["store_id"])
    session = fsvc.start(wb, store)
    done = _deploy(wb, session.id, env={"WORKBENCH_DEPLOY_URL_TEMPLATE": "https://{store_id}-{session_id}-preview.example"})
    assert done.deployment_url == f"https://{store.id}-{session.id}-preview.example"


def test_bad_url_template_interrupts(wb, creds):
    session = fsvc.start(wb, store_of(wb, creds["store_id"]))
    done = _deploy(wb, session.id, env={"WORKBENCH_DEPLOY_URL_TEMPLATE": "https://{nope}.example"})
    assert done.status == "interrupted" and "WORKBENCH_DEPLOY_URL_TEMPLATE" in (done.error_message or "")


def _py(code: str) -> str:
    return f"{sys.executable} -c \"{code}\""


def test_command_deployment_uses_the_last_stdout_line(wb, creds):
    session = fsvc.start(wb, store_of(wb, creds["store_id"]))
    cmd = _py("import os; print('building...'); print('https://' + os.environ['WORKBENCH_SESSION_ID'] + '.example')") + " {session_id}"
    done = _deploy(wb, session.id, env={"WORKBENCH_DEPLOY_COMMAND": cmd})
    assert done.status == "in_review", done.error_message
    assert done.deployment_url == f"https://{session.id}.example"


def test_the_deploy_command_is_not_given_the_database_password(wb, creds, monkeypatch):
    """The command inherited the server's environment whole: a team server's database URL (in
    WORKBENCH_DATABASE_URL, and in each worker's WORKBENCH_WORKER_CONFIG) and PGPASSWORD went to
    a script that builds storefront previews, whose stderr tail becomes an API-visible errorMessage."""
    secrets = {"WORKBENCH_DATABASE_URL": "postgresql://wb:pw@db/wb", "WORKBENCH_WORKER_CONFIG": '{"database": "postgresql://wb:pw@db/wb"}',
               "PGPASSWORD": "pw"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    session = fsvc.start(wb, store_of(wb, creds["store_id"]))
    names = list(secrets)
    cmd = _py(f"import os; print('https://preview.example/' + str(sorted(n for n in {names!r} if n in os.environ)).replace(' ', ''))")
    done = _deploy(wb, session.id, env={**os.environ, "WORKBENCH_DEPLOY_COMMAND": cmd})
    assert done.status == "in_review", done.error_message
    assert done.deployment_url == "https://preview.example/[]"


def test_failing_command_interrupts_with_the_stderr_tail(wb, creds):
    session = fsvc.start(wb, store_of(wb, creds["store_id"]))
    cmd = _py("import sys; sys.stderr.write('x' * 900 + 'Build failed: missing script'); sys.exit(1)")
    done = _deploy(wb, session.id, env={"WORKBENCH_DEPLOY_COMMAND": cmd})
    assert done.status == "interrupted"
    assert done.error_message is not None
    assert done.error_message.endswith("Build failed: missing script") and len(done.error_message) == fsvc.ERROR_TAIL
    assert done.deployment_url is None


# Only the timeout case has a short timeout: on a loaded machine a Python that starts and exits
# can take longer than half a second, and would then be reported as timed out.
@pytest.mark.parametrize(
    ("cmd", "timeout", "message"),
    [
        (_py("import sys; sys.exit(3)"), "60", "exited with status 3"),
        (_py("print('done, no url')"), "60", "did not print a deployment URL"),
        (_py("import time; time.sleep(5)"), "0.5", "timed out"),
    ],
)
def test_other_command_failures_interrupt(wb, creds, cmd, timeout, message):
    session = fsvc.start(wb, store_of(wb, creds["store_id"]))
    done = _deploy(wb, session.id, env={"WORKBENCH_DEPLOY_COMMAND": cmd, "WORKBENCH_DEPLOY_TIMEOUT": timeout})
    assert done.status == "interrupted" and message in (done.error_message or "")


@pytest.mark.parametrize("timeout", ["abc", "-5", "0", "nan", "inf"])
def test_a_deploy_timeout_that_is_no_positive_number_interrupts_in_words(wb, creds, timeout):
    """README's walk: "abc" deployed with the default 600 s without a word, and "-5" interrupted the round at once
    as "timed out after -5 seconds"."""
    session = fsvc.start(wb, store_of(wb, creds["store_id"]))
    done = _deploy(wb, session.id, env={"WORKBENCH_DEPLOY_COMMAND": _py("print('http://127.0.0.1:9/x')"),
                                        "WORKBENCH_DEPLOY_TIMEOUT": timeout})
    assert done.status == "interrupted"
    assert done.error_message == f"WORKBENCH_DEPLOY_TIMEOUT is invalid: {timeout!r} is not a positive number of seconds"


def test_a_crashing_deployer_interrupts_instead_of_hanging(wb, creds, monkeypatch):
    session = fsvc.start(wb, store_of(wb, creds["store_id"]))
    monkeypatch.setattr(fsvc, "deploy_preview", lambda *a: 1 / 0)
    done = _deploy(wb, session.id, env={})
    assert done.status == "interrupted" and "ZeroDivisionError" in (done.error_message or "")


def test_deploy_leaves_a_session_canceled_meanwhile_alone(wb, creds):
    store = store_of(wb, creds["store_id"])
    session = fsvc.start(wb, store)
    fsvc.cancel(wb, store, session.id)
    assert _deploy(wb, session.id, env={}).status == "canceled"
    assert fsvc.deploy(wb, "no-such-session", env={}) is None


def test_pending_deployments_are_the_created_sessions(wb, creds):
    store = store_of(wb, creds["store_id"])
    s1 = fsvc.start(wb, store)
    other, _ = new_store(wb, creds)
    s2 = fsvc.start(wb, other)
    fsvc.deploy(wb, s2.id, env={})
    assert fsvc.pending_deployments(wb) == [s1.id]


# --- comments, progress and lifecycle ---------------------------------------------------------


def test_progress_follows_resolutions_with_the_documented_formula(wb, creds):
    clock = Clock()
    wb.clock = clock
    store = store_of(wb, creds["store_id"])
    session = _in_review(wb, store)
    ids = []
    for text in ("Make the hero heading larger and bold.", "Fix the footer", "Bigger logo", "Typo in checkout"):
        ids.append(fsvc.add_comment(wb, session.id, _token(session), _comment(text)).id)
    clock.advance(10)
    assert fsvc.get(wb, store, session.id)["progress"] == {"total": 4, "done": 0, "fillPct": 0.0, "label": "0/4 resolved", "eta": None}
    fsvc.set_comment_resolved(wb, store, session.id, ids[0], True)  # resolved 10 minutes after it was made
    p = fsvc.get(wb, store, session.id)["progress"]
    assert (p["total"], p["done"], p["fillPct"], p["label"]) == (4, 1, 22.5, "1/4 resolved")
    assert p["eta"] == "2024-06-15T11:10:00.000Z"  # now (10:40) + 3 open × 10 minutes
    fsvc.set_comment_resolved(wb, store, session.id, ids[0], True)  # idempotent
    assert fsvc.get(wb, store, session.id)["progress"]["done"] == 1
    for cid in ids[1:]:
        fsvc.set_comment_resolved(wb, store, session.id, cid, True)
    p = fsvc.get(wb, store, session.id)["progress"]
    assert (p["fillPct"], p["label"], p["eta"]) == (90.0, "4/4 resolved", None)
    fsvc.set_comment_resolved(wb, store, session.id, ids[3], False)
    reopened = fs_repo.get_comment(wb.store.db, session.id, ids[3])
    assert reopened is not None and reopened.status == "open" and reopened.resolved_at is None
    assert fsvc.get(wb, store, session.id)["progress"]["fillPct"] == 67.5
    fsvc.finalize(wb, store, session.id)
    assert fsvc.get(wb, store, session.id)["progress"]["fillPct"] == 100.0


def test_comments_need_the_review_token_and_an_open_round(wb, creds):
    store = store_of(wb, creds["store_id"])
    session = fsvc.start(wb, store)
    with pytest.raises(Conflict, match="still preparing"):
        fsvc.add_comment(wb, session.id, _token(session), _comment())
    fsvc.deploy(wb, session.id, env={})
    with pytest.raises(Unauthenticated, match="Missing review token"):
        fsvc.add_comment(wb, session.id, None, _comment())
    with pytest.raises(Unauthenticated, match="does not match"):
        fsvc.add_comment(wb, session.id, "wbrv_wrong", _comment())
    with pytest.raises(NotFound):
        fsvc.add_comment(wb, "missing", _token(session), _comment())
    fsvc.act(wb, store, session.id, FeedbackAction.START_WORK)
    assert fsvc.add_comment(wb, session.id, _token(session), _comment()).status == "open"  # in_progress takes comments
    fsvc.act(wb, store, session.id, FeedbackAction.SUBMIT_ROUND)
    with pytest.raises(Conflict, match="comments are closed"):
        fsvc.add_comment(wb, session.id, _token(session), _comment())
    fsvc.finalize(wb, store, session.id)
    with pytest.raises(Conflict, match="already done"):
        fsvc.add_comment(wb, session.id, _token(session), _comment())


def test_comment_keeps_positioning_and_gets_a_task_instruction(wb, creds):
    store = store_of(wb, creds["store_id"])
    session = _in_review(wb, store)
    c = fsvc.add_comment(wb, session.id, _token(session), _comment(selector="main h1", offsetX=3.5, offsetY=-2, pinX=40, pinY=12.5, reviewerName="Dana"))
    assert (c.selector, c.offset_x, c.offset_y, c.pin_x, c.pin_y, c.reviewer_name) == ("main h1", 3.5, -2, 40, 12.5, "Dana")
    assert c.task_instruction == "Increase the hero heading font size and set font-weight to bold."
    assert set(c.to_public()) == {"id", "content", "pagePath", "status", "taskInstruction", "createdAt"}


def test_a_failing_engine_does_not_lose_the_comment(wb, creds):
    wb.engine = BrokenEngine()
    store = store_of(wb, creds["store_id"])
    session = _in_review(wb, store)
    c = fsvc.add_comment(wb, session.id, _token(session), _comment())
    assert c.task_instruction is None and fsvc.list_comments(wb, store, session.id)[0].id == c.id


def test_resolving_is_refused_while_preparing_and_once_finished(wb, creds):
    store = store_of(wb, creds["store_id"])
    session = _in_review(wb, store)
    c = fsvc.add_comment(wb, session.id, _token(session), _comment())
    with pytest.raises(NotFound):
        fsvc.set_comment_resolved(wb, store, session.id, "nope", True)
    fsvc.finalize(wb, store, session.id)
    with pytest.raises(Conflict, match="already done"):
        fsvc.set_comment_resolved(wb, store, session.id, c.id, True)


def test_sessions_of_another_store_read_as_absent(wb, creds):
    store = store_of(wb, creds["store_id"])
    session = fsvc.start(wb, store)
    other, _ = new_store(wb, creds)
    for call in (lambda: fsvc.get(wb, other, session.id), lambda: fsvc.cancel(wb, other, session.id),
                 lambda: fsvc.list_comments(wb, other, session.id), lambda: fsvc.finalize(wb, other, session.id)):
        with pytest.raises(NotFound):
            call()
    assert fsvc.list_sessions(wb, other)[0] == []


def test_deploy_outcomes_cannot_be_requested_by_a_caller(wb, creds):
    store = store_of(wb, creds["store_id"])
    session = fsvc.start(wb, store)
    with pytest.raises(Invalid):
        fsvc.act(wb, store, session.id, FeedbackAction.DEPLOY_SUCCEEDED)


def test_every_feedback_use_case_is_audited(wb, creds):
    store = store_of(wb, creds["store_id"])
    session = _in_review(wb, store)
    c = fsvc.add_comment(wb, session.id, _token(session), _comment(reviewerName="Dana"))
    fsvc.set_comment_resolved(wb, store, session.id, c.id, True)
    fsvc.finalize(wb, store, session.id)
    actions = [e["action"] for e in audit_repo.history(wb.store.db, "feedback_session", session.id)]
    assert actions == ["feedback_session.start", "feedback_session.deploy_succeeded", "feedback_session.finalize"]
    entries = audit_repo.history(wb.store.db, "feedback_comment", c.id)
    assert [(e["action"], e["actor_id"]) for e in entries] == [
        ("feedback_comment.create", "reviewer:Dana"), ("feedback_comment.resolve", f"store:{store.id}")
    ]


# --- test sessions ----------------------------------------------------------------------------


def _create(wb, creds, tester="user_1", variant=None, job=None):  # ANN202
    return tsvc.create(wb, owner(creds), TestSessionCreate(jobId=job or creds["job_id"], testerId=tester, variant=variant))


def test_variants_stay_balanced_within_each_study(wb, creds):
    p = owner(creds)
    second = tsvc.create_study(wb, p, "Second study")
    for i in range(3):
        _create(wb, creds, f"pre{i}", variant="A", job=second.id)  # only the other study leans to A
    got = [_create(wb, creds, f"tester{i}").variant for i in range(10)]
    assert got.count("A") == got.count("B") == 5
    for i in range(0, 10, 2):
        assert sorted(got[i:i + 2]) == ["A", "B"]  # never more than one apart
    assert [_create(wb, creds, f"more{i}", job=second.id).variant for i in range(3)] == ["B", "B", "B"]


def test_analysis_job_finishes_offline(wb, creds):
    p = owner(creds)
    s = _create(wb, creds)
    tsvc.patch_notes(wb, p, s.id, NotesPatch.model_validate({"notes": [{"content": "Tester struggled with the checkout flow."}]}))
    tsvc.complete(wb, p, s.id, CompleteRequest())
    tsvc.submit_feedback(wb, p, s.id, FeedbackCreate(clarity=2, difficulty=4, technicalIssues=True))
    analyzing, estimate = tsvc.analyze(wb, p, s.id)
    assert analyzing.status == "analyzing" and estimate == 13
    assert tsvc.pending_analyses(wb) == [s.id]
    done = _run_analysis(wb, s.id)
    assert done.status == "analyzed" and done.analysis_error is None and done.analysis is not None
    assert "checkout" in done.analysis["summary"] and done.analysis["sentiment"] == "negative"
    assert "Tester reported technical issues during the session." in done.analysis["findings"]
    assert done.analysis["engine"] == "offline" and done.analysis["fallbackReason"] is None
    assert _run_analysis(wb, s.id).status == "analyzed"  # a late second run changes nothing
    assert tsvc.pending_analyses(wb) == []


def test_an_analysis_the_offline_engine_wrote_for_a_failed_engine_says_why_and_matches_the_schema(wb, creds):
    """The configured engine refused the connection (nothing listens on its port): the offline engine
    answers, and the stored analysis says so, as persona runs do, where it was kept only as "offline",
    the same as a store that never configured one. Every field it holds is one /openapi.json names, with
    its type, and the session's other fields too (the schema once listed 3 of the analysis' 9)."""
    p = owner(creds)
    s = _create(wb, creds)
    tsvc.complete(wb, p, s.id, CompleteRequest())
    tsvc.analyze(wb, p, s.id)
    wb.engine = OpenAICompatibleEngine(f"http://127.0.0.1:{free_port()}/v1", "tiny-model", timeout=5)
    try:
        done = _run_analysis(wb, s.id)
    finally:
        wb.engine.close()
    assert done.status == "analyzed" and done.analysis is not None
    assert done.analysis["engine"] == "offline"
    assert "openai-compatible:tiny-model" in done.analysis["fallbackReason"]
    assert "ConnectError" in done.analysis["fallbackReason"]
    assert set(done.analysis) == set(AnalysisPublic.model_fields)
    assert set(done.to_public()) == set(TestSessionPublic.model_fields)
    # strict, as JSON: a number is no string, nor a string a number (an enum is read from its value)
    TestSessionPublic.model_validate_json(json.dumps(done.to_public()), strict=True)


def test_failed_analysis_returns_to_completed_and_can_be_retried(wb, creds):
    p = owner(creds)
    s = _create(wb, creds)
    tsvc.complete(wb, p, s.id, CompleteRequest())
    tsvc.analyze(wb, p, s.id)
    wb.engine = BrokenEngine()
    failed = _run_analysis(wb, s.id)
    assert failed.status == "completed" and failed.analysis is None and "engine down" in (failed.analysis_error or "")
    wb.engine = OfflineEngine()
    tsvc.analyze(wb, p, s.id)
    assert tsvc.get(wb, p, s.id).analysis_error is None
    assert _run_analysis(wb, s.id).status == "analyzed"


def test_started_at_is_a_whole_second_so_a_copied_start_completes(wb, creds):
    wb.clock = Clock(1_718_447_400_999)
    s = _create(wb, creds)
    assert s.started_at == 1_718_447_400_000 and s.created_at == 1_718_447_400_999
    done = tsvc.complete(wb, owner(creds), s.id, CompleteRequest.model_validate({"completedAt": "2024-06-15T10:30:00Z"}))
    assert done.duration_seconds == 0


def test_jwt_checks(wb, creds):
    good = tsvc.authenticate(wb, f"Bearer {creds['jwt']}")
    assert (good.workspace_id, good.user_id, good.role) == (creds["workspace_id"], creds["owner_user_id"], Role.OWNER)
    with pytest.raises(Unauthenticated, match="not valid for the test-sessions API"):
        tsvc.authenticate(wb, f"Bearer {issue_session(wb, creds['owner_user_id'])}")
    expired = tsvc.issue_token(wb, creds["owner_user_id"], creds["workspace_id"], ttl=timedelta(seconds=-1))
    with pytest.raises(Unauthenticated, match="expired"):
        tsvc.authenticate(wb, f"Bearer {expired}")
    stranger = tsvc.issue_token(wb, creds["owner_user_id"], other_workspace(wb)["workspace_id"])
    with pytest.raises(Unauthenticated, match="not a member"):
        tsvc.authenticate(wb, f"Bearer {stranger}")
    with pytest.raises(Unauthenticated, match="Invalid token"):
        tsvc.authenticate(wb, "Bearer " + creds["jwt"][:-3] + "abc")


def test_guests_read_but_do_not_write(wb, creds):
    s = _create(wb, creds)
    guest_id = wb.store.db.execute("SELECT id FROM users WHERE email = 'guest@example.com'").fetchone()[0]
    guest = Principal(kind=PrincipalKind.SESSION, workspace_id=creds["workspace_id"], role=Role.GUEST, user_id=guest_id)
    assert tsvc.get(wb, guest, s.id).id == s.id
    with pytest.raises(Forbidden):
        tsvc.complete(wb, guest, s.id, CompleteRequest())


def test_every_test_session_use_case_is_audited(wb, creds):
    p = owner(creds)
    s = _create(wb, creds)
    tsvc.pause(wb, p, s.id)
    tsvc.resume(wb, p, s.id)
    tsvc.patch_notes(wb, p, s.id, NotesPatch.model_validate({"notes": [{"content": "n"}]}))
    tsvc.complete(wb, p, s.id, CompleteRequest())
    tsvc.submit_feedback(wb, p, s.id, FeedbackCreate(clarity=4, difficulty=3, technicalIssues=False))
    tsvc.analyze(wb, p, s.id)
    _run_analysis(wb, s.id)
    tsvc.confirm(wb, p, s.id, ConfirmRequest(rating=5))
    actions = [e["action"] for e in audit_repo.history(wb.store.db, "test_session", s.id)]
    assert actions == [
        "test_session.create", "test_session.pause", "test_session.resume", "test_session.notes", "test_session.complete",
        "test_session.feedback", "test_session.analyze", "test_session.analysis_finished", "test_session.confirm",
    ]


# --- demo -------------------------------------------------------------------------------------


def test_demo_fills_every_status_and_keeps_bootstrap_usable(wb):
    result = load_demo(wb, annotations=10)
    assert result["feedback_sessions"] >= 8 and result["test_sessions"] >= 7
    db = wb.store.db
    fs_statuses = {r[0] for r in db.execute("SELECT status FROM feedback_sessions")}
    assert fs_statuses >= {"in_progress", "task_review", "processing", "in_review", "done", "canceled", "interrupted"}
    assert {r[0] for r in db.execute("SELECT status FROM feedback_comments")} == {"open", "resolved"}
    ts_statuses = {r[0] for r in db.execute("SELECT status FROM test_sessions")}
    assert ts_statuses == {"active", "paused", "completed", "analyzing", "analyzed", "confirmed"}
    assert db.execute("SELECT count(*) FROM test_notes").fetchone()[0] > 0
    assert db.execute("SELECT count(*) FROM tester_feedback").fetchone()[0] > 0
    creds = bootstrap(wb)
    # The bootstrap AI store holds only finished demo rounds, so a new one can start.
    assert fsvc.start(wb, store_of(wb, creds["store_id"])).status == "created"
    assert load_demo(wb)["loaded"] is False
