"""Extension: demo feedback sessions (comments in several states) and studies (sessions in every status).

Deterministic like the rest of the demo (seeded RNG, times relative to ``now``). Every status
is reached by walking the domain's transition tables, so the demo can never show a state the
rules would not allow. Rows go in through the repositories in one transaction.
"""

from __future__ import annotations

import random
from typing import Any

from storage import accounts as accounts_repo
from storage import feedback_sessions as fs_repo
from storage import test_sessions as ts_repo
from workbench.domain import feedback_sessions as fs
from workbench.domain import test_sessions as ts
from workbench.domain.clock import new_id
from workbench.domain.feedback_sessions import FeedbackAction as FA
from workbench.domain.roles import Principal
from workbench.domain.session_records import (
    FeedbackComment,
    FeedbackSession,
    TesterFeedback,
    TestNote,
    TestSession,
    preview_path,
    review_path,
)
from workbench.domain.test_sessions import TestSessionAction as TA
from workbench.engine.base import SessionFeedbackBrief, TestSessionBrief
from workbench.services import stores, test_sessions
from workbench.services.context import Workbench
from workbench.services.session_bootstrap import ensure_fixtures

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

COMMENTS = [
    ("/", "Make the hero heading larger and bold."),
    ("/", "The announcement bar covers the logo on mobile."),
    ("/products", "Filters should stay open after choosing a size."),
    ("/products/trail-runner-2", "Show the price next to the Add to cart button."),
    ("/cart", "The remove link is too easy to hit by accident."),
    ("/checkout", "Rename 'Proceed' to 'Continue to payment'."),
    ("/checkout", "The promo code field needs more contrast."),
    ("/account", "Order history should show tracking links."),
]
REVIEWERS = ["Dana", "Eli", "Priya", None]

# (store name or None for the bootstrap AI store, actions walked from created, resolved count).
# The bootstrap store only gets finished rounds, so bootstrap's store_api_key can still start one.
ROUNDS: list[tuple[str | None, list[FA], int]] = [
    (None, [FA.DEPLOY_SUCCEEDED, FA.FINALIZE], 3),
    (None, [FA.CANCEL], 0),
    (None, [FA.DEPLOY_FAILED], 0),
    ("Acme outlet (AI-built)", [FA.DEPLOY_SUCCEEDED, FA.FINALIZE], 6),
    ("Acme outlet (AI-built)", [FA.DEPLOY_SUCCEEDED], 2),
    ("Acme kids (AI-built)", [FA.DEPLOY_SUCCEEDED, FA.START_WORK], 1),
    ("Acme gear (AI-built)", [FA.DEPLOY_SUCCEEDED, FA.SUBMIT_ROUND], 4),
    ("Acme home (AI-built)", [FA.DEPLOY_SUCCEEDED, FA.SUBMIT_ROUND, FA.APPROVE_TASKS], 2),
]

STUDIES = [None, "Onboarding A/B study", "Search results study"]
# Walks from active that reach every status of the lifecycle.
TEST_PATHS: list[list[TA]] = [
    [],
    [TA.PAUSE],
    [TA.COMPLETE],
    [TA.PAUSE, TA.RESUME, TA.COMPLETE],
    [TA.COMPLETE, TA.ANALYZE],
    [TA.COMPLETE, TA.ANALYZE, TA.ANALYSIS_FINISHED],
    [TA.COMPLETE, TA.ANALYZE, TA.ANALYSIS_FINISHED, TA.CONFIRM],
]
NOTES = [
    "Tester struggled with the checkout flow.",
    "Found the size guide quickly and liked it.",
    "Hesitated for a while on the shipping options.",
    "Completed the purchase without help.",
    "Got confused by the two search boxes.",
    "The coupon error message was unclear.",
]


def load_demo_sessions(wb: Workbench, principal: Principal, *, seed: int = 11) -> dict[str, Any]:
    """Fill the workspace with demo stores' feedback rounds and studies' test sessions, once."""
    if accounts_repo.meta_get(wb.store.db, "demo_sessions_loaded") is not None:
        return {}
    rng = random.Random(seed)
    ai_store_id, _, job_id = ensure_fixtures(wb, principal)
    store_ids: dict[str | None, str] = {None: ai_store_id}
    for name, _, _ in ROUNDS:
        if name is not None and name not in store_ids:
            store_ids[name] = stores.create_store(wb, principal, name, ai_built=True)[0].id
    study_ids = [job_id] + [test_sessions.create_study(wb, principal, name).id for name in STUDIES[1:] if name]
    now = wb.clock()
    sessions, comments = _feedback_rounds(wb, rng, store_ids, now)
    tests, notes, feedback = _test_sessions(wb, rng, study_ids, principal.user_id or "local", now)
    with wb.store.write() as db:
        for s in sessions:
            fs_repo.add_session(db, s)
        for c in comments:
            fs_repo.add_comment(db, c)
        for t in tests:
            ts_repo.add_session(db, t)
        for n in notes:
            ts_repo.add_note(db, n)
        for f in feedback:
            ts_repo.add_feedback(db, f)
        accounts_repo.meta_set(db, "demo_sessions_loaded", str(now))
        wb.audit(db, principal, "demo.load_sessions", "workspace", principal.workspace_id,
                 {"feedback_sessions": len(sessions), "test_sessions": len(tests)}, at=now)
    return {"feedback_sessions": len(sessions), "feedback_comments": len(comments), "test_sessions": len(tests),
            "test_notes": len(notes), "studies": len(study_ids)}


def _feedback_rounds(wb: Workbench, rng: random.Random, store_ids: dict[str | None, str], now: int) -> tuple[list[FeedbackSession], list[FeedbackComment]]:
    sessions: list[FeedbackSession] = []
    comments: list[FeedbackComment] = []
    for i, (name, actions, resolved) in enumerate(ROUNDS):
        created = now - (len(ROUNDS) - i) * 2 * DAY
        status = fs.FeedbackStatus.CREATED
        for action in actions:
            status = fs.apply(status, action)
        sid = new_id(created)
        token = f"wbrv_demo{sid.replace('-', '')}"
        deployed = FA.DEPLOY_SUCCEEDED in actions
        sessions.append(FeedbackSession(
            id=sid, store_id=store_ids[name], status=status.value, feedback_url=review_path(sid, token),
            review_token=token, deployment_url=preview_path(sid) if deployed else None,
            error_message="Build failed: npm ERR! missing script: build" if FA.DEPLOY_FAILED in actions else None,
            created_at=created, updated_at=created + 3 * HOUR, version=1 + len(actions),
        ))
        if not deployed:
            continue
        for j in range(rng.randint(max(resolved, 3), len(COMMENTS))):
            page, content = COMMENTS[(i + j) % len(COMMENTS)]
            at = created + (j + 1) * 7 * MINUTE
            done = j < resolved
            comments.append(FeedbackComment(
                id=new_id(at), session_id=sid, content=content, page_path=page, selector="main h1" if page == "/" else None,
                offset_x=round(rng.uniform(0, 300), 1), offset_y=round(rng.uniform(0, 200), 1),
                pin_x=round(rng.uniform(5, 95), 1), pin_y=round(rng.uniform(5, 95), 1), reviewer_name=rng.choice(REVIEWERS),
                status="resolved" if done else "open", task_instruction=wb.engine.task_instruction(content, page).text, created_at=at,
                resolved_at=at + rng.randint(10, 50) * MINUTE if done else None, updated_at=at,
            ))
    return sessions, comments


def _test_sessions(
    wb: Workbench, rng: random.Random, study_ids: list[str], author: str, now: int
) -> tuple[list[TestSession], list[TestNote], list[TesterFeedback]]:
    sessions: list[TestSession] = []
    notes: list[TestNote] = []
    feedback: list[TesterFeedback] = []
    for k, job_id in enumerate(study_ids):
        counts = {"A": 0, "B": 0}
        for i, path in enumerate(TEST_PATHS):
            created = now - (k * 10 + len(TEST_PATHS) - i) * 3 * HOUR
            created -= created % 1000
            tester = f"user_demo{k}{i:02d}"
            variant = ts.choose_variant(counts["A"], counts["B"], tester).value
            counts[variant] += 1
            status = ts.TestSessionStatus.ACTIVE
            for action in path:
                status = ts.apply(status, action)
            sid = f"sess_{new_id(created).replace('-', '')}"
            completed = TA.COMPLETE in path
            duration = rng.randint(8, 45) * 60 if completed else None
            session_notes = [NOTES[(k + i + n) % len(NOTES)] for n in range(rng.randint(1, 3))]
            for n, text in enumerate(session_notes):
                notes.append(TestNote(id=f"note_{new_id(created + n).replace('-', '')}", session_id=sid, content=text,
                                      author_id=author, timestamp=created + (n + 1) * 5 * MINUTE, updated_at=created + (n + 1) * 5 * MINUTE))
            fb = None
            if completed:
                fb = TesterFeedback(id=f"fb_{new_id(created).replace('-', '')}", session_id=sid, clarity=rng.randint(2, 5),
                                    difficulty=rng.randint(1, 5), technical_issues=rng.random() < 0.3,
                                    comment=rng.choice([None, "Instructions were clear.", "The prototype had a broken back button."]),
                                    submitted_at=created + (duration or 0) * 1000 + 2 * MINUTE)
                feedback.append(fb)
            confirmed = TA.CONFIRM in path
            end = created + (duration or 0) * 1000
            analysis = None
            if TA.ANALYSIS_FINISHED in path:
                result = wb.engine.analyze_test_session(TestSessionBrief(
                    session_id=sid, variant=variant, duration_seconds=duration, notes=session_notes,
                    feedback=SessionFeedbackBrief(clarity=fb.clarity, difficulty=fb.difficulty, technical_issues=fb.technical_issues,
                                                  comment=fb.comment) if fb else None,
                ))
                analysis = test_sessions.analysis_record(result, end + 10 * MINUTE)
            sessions.append(TestSession(
                id=sid, job_id=job_id, tester_id=tester, variant=variant, status=status.value, created_at=created, started_at=created,
                completed_at=end if completed else None, duration_seconds=duration, analysis=analysis,
                analysis_started_at=end + 5 * MINUTE if TA.ANALYZE in path else None, analysis_error=None,
                rating=rng.randint(3, 5) if confirmed else None, confirm_comment="Thorough and articulate tester." if confirmed else None,
                confirmed_at=end + HOUR if confirmed else None, payout_queued=confirmed, updated_at=end + HOUR, version=1 + len(path),
            ))
    return sessions, notes, feedback
