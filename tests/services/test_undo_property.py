"""Property: any sequence of triage actions, then undo of each, restores every user-visible field of every annotation.

Locally (a workspace that does not sync), everything comes back, replies included, and so do the
statuses of test sessions paused or resumed and of rounds submitted or returned to review among them. Against a real
`workbench serve`, with some actions synced and the others not: the triage fields come back on the
server too (the undo of a synced change goes up as a change back, an unsynced one never goes up);
the replies that were sent stay, and each was announced as not undoable before it was sent and
reported as such by the undo.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from storage import sync_state
from sync import ops
from tests.conftest import ENGINES, on_engine
from tests.found import found
from tests.served_remote import Served, served
from workbench.domain.annotations import AnnotationPatch, ReplyCreate
from workbench.domain.errors import DomainError
from workbench.domain.roles import Principal
from workbench.services import annotations as annotations_service
from workbench.services import bulk, inbox, undo
from workbench.services import sync as sync_svc
from workbench.services.context import Workbench
from workbench.services.demo import load_demo
from workbench.services.local import local_user

STATUSES = ["new", "ack", "triaged", "in_progress", "resolved", "won_t_fix", "duplicate"]
N = 6  # annotations the actions pick from

index = st.integers(0, N - 1)
action = st.one_of(
    st.tuples(st.just("status"), index, st.sampled_from(STATUSES)),
    st.tuples(st.just("assign"), index, st.integers(-1, 2)),  # -1: unassign
    st.tuples(st.just("summary"), index, st.sampled_from(["Fixed in v2", "Works as intended", "Later"])),
    st.tuples(st.just("duplicate"), index, index),
    st.tuples(st.just("reply"), index, st.sampled_from(["On it", "Thanks!", "Which browser?"])),
    st.tuples(st.just("bulk_status"), st.lists(index, min_size=1, max_size=4, unique=True), st.sampled_from(STATUSES[:4])),
    st.tuples(st.just("bulk_assign"), st.lists(index, min_size=1, max_size=4, unique=True), st.integers(-1, 2)),
)
# The session actions with a way back (locally): a test session paused or resumed, a round
# submitted from review or returned to review. The index picks a session (modulo how many).
session_action = st.one_of(
    st.tuples(st.just("test"), index, st.sampled_from(["pause", "resume"])),
    st.tuples(st.just("round"), index, st.sampled_from(["submit_round", "return_to_review"])),
)
actions = st.lists(action, min_size=1, max_size=8)


def run(wb: Workbench, p: Principal, ids: list[str], members: list[str], act: tuple[Any, ...]) -> None:
    """One user action through the recorded use cases; a refusal (a rule said no) records nothing."""
    kind, target, value = act

    def member(i: int) -> str | None:
        return None if i < 0 else members[i % len(members)]

    try:
        if kind == "status":
            summary = {"resolved": "Fixed", "won_t_fix": "No", "duplicate": f"duplicate of {ids[(target + 1) % N]}"}.get(value)
            undo.apply_patch(wb, p, ids[target], AnnotationPatch(status=value, **({"summary": summary} if summary else {})))
        elif kind == "assign":
            undo.apply_patch(wb, p, ids[target], AnnotationPatch(assignee_id=member(value)))
        elif kind == "summary":
            undo.apply_patch(wb, p, ids[target], AnnotationPatch(summary=value))
        elif kind == "duplicate":
            if target != value:
                undo.apply_patch(wb, p, ids[target], AnnotationPatch(status="duplicate", summary=f"duplicate of {ids[value]}"))
        elif kind == "reply":
            undo.reply(wb, p, ids[target], ReplyCreate(body=value))
        else:
            rows = [r for r in inbox.window(wb, p, inbox.InboxFilter(sources=("annotation",), status=inbox.ALL), 0, 500)
                    if r.id in {ids[i] for i in target}]
            if kind == "bulk_status":
                undo.bulk_apply(wb, p, bulk.BulkAction("set_status", status=value), rows)
            else:
                undo.bulk_apply(wb, p, bulk.BulkAction("assign", assignee_id=member(value)), rows)
    except DomainError:
        pass


def visible(wb: Workbench, p: Principal, ids: list[str]) -> dict[str, Any]:
    """What a user sees of each annotation: its triage fields and its thread."""
    out = {}
    for i in ids:
        d = annotations_service.detail(wb, p, i)
        out[i] = (d["status"], d["summary"], d["assignee_id"], [(r["author"]["name"], r["body"]) for r in d["replies"]])
    return out


def undo_all(wb: Workbench, p: Principal) -> list[undo.Outcome]:
    recorded = sum(1 for a in undo.history(wb, p, 100) if a["state"] == "done")
    outcomes = []
    while (o := undo.undo(wb, p)) is not None:
        outcomes.append(o)
    assert len(outcomes) == recorded
    event(f"{recorded} actions undone")
    return outcomes


# -- locally ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Per module, not per test: the module's store outlives one test (tests/conftest.py, on_engine)."""
    yield from on_engine(request)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[tuple[Workbench, Principal, list[str], list[str]]]:
    wb = Workbench.open(str(tmp_path_factory.mktemp("undo") / "data"), mailer=None)
    load_demo(wb, annotations=N)
    p = local_user(wb)
    ids = [r.id for r in inbox.window(wb, p, inbox.InboxFilter(sources=("annotation",), status=inbox.ALL), 0, N)]
    members = [uid for uid, _ in inbox.facets(wb, p).members]
    yield wb, p, ids, members
    wb.store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions)
def test_undoing_every_action_restores_every_annotation(local, steps):
    wb, p, ids, members = local
    before = visible(wb, p, ids)
    for act in steps:
        run(wb, p, ids, members, act)
    outcomes = undo_all(wb, p)
    assert all(o.final is None and not o.skipped for o in outcomes)
    assert visible(wb, p, ids) == before


@pytest.fixture(scope="module")
def sessions(local) -> tuple[list[str], list[tuple[str, str]]]:
    """The demo's test sessions that can pause or resume, and its rounds (store, session) in review or task review."""
    from storage import feedback_sessions as fs_repo
    from workbench.services import stores
    from workbench.services import test_sessions as ts_service

    wb, p, _, _ = local
    tests = [s.id for study in ts_service.list_studies(wb, p) for s in ts_service.list_for_study(wb, p, study.id, limit=100)[0]
             if s.status in ("active", "paused")]
    rounds = [(store.id, r.id) for store in stores.list_stores(wb, p)
              for r in fs_repo.list_sessions(wb.store.db, store.id, status=None, limit=100, offset=0)
              if r.status in ("in_review", "task_review")]
    assert len(tests) >= 2 and len(rounds) >= 2
    return tests, rounds


def statuses(wb: Workbench, p: Principal, tests: list[str], rounds: list[tuple[str, str]]) -> list[str]:
    from storage import feedback_sessions as fs_repo
    from workbench.services import test_sessions as ts_service

    return [ts_service.get(wb, p, t).status for t in tests] + [found(fs_repo.get_session_any(wb.store.db, r)).status for _, r in rounds]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(action, session_action), min_size=1, max_size=10))
def test_undoing_session_actions_among_triage_restores_every_status(local, sessions, steps):
    wb, p, ids, members = local
    tests, rounds = sessions
    before = (visible(wb, p, ids), statuses(wb, p, tests, rounds))
    for act in steps:
        kind, target, value = act
        try:
            if kind == "test":
                undo.test_action(wb, p, tests[target % len(tests)], value)
            elif kind == "round":
                store_id, round_id = rounds[target % len(rounds)]
                undo.feedback_action(wb, p, store_id, round_id, value)
            else:
                run(wb, p, ids, members, act)
        except DomainError:  # the table refused it (pause a paused session): nothing recorded
            pass
    outcomes = undo_all(wb, p)
    assert all(o.final is None and not o.skipped for o in outcomes)
    assert (visible(wb, p, ids), statuses(wb, p, tests, rounds)) == before


# -- after a sync with a real server ---------------------------------------------------------


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[tuple[Served, Workbench, Principal, list[str], list[str]]]:
    tmp = tmp_path_factory.mktemp("undo-remote")
    with served(tmp, annotations=N) as s:
        wb = s.replica(tmp / "local")
        p = local_user(wb)
        ids = [r.id for r in inbox.window(wb, p, inbox.InboxFilter(sources=("annotation",), status=inbox.ALL), 0, N)]
        members = sorted({a["assignee_id"] for a in map(s.annotation, ids) if a["assignee_id"]} | {s.creds["owner_user_id"]})
        yield s, wb, p, ids, members
        wb.store.close()


def on_server(s: Served, ids: list[str]) -> dict[str, Any]:
    out = {}
    for i in ids:
        d = s.annotation(i)
        out[i] = (d["status"], d["summary"], d["assignee_id"], [r["body"] for r in d["replies"]])
    return out


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions, st.integers(0, 8))
def test_after_a_sync_undo_restores_the_server_as_far_as_the_api_allows(remote, steps, split):
    """The actions before ``split`` are synced, the others not, when everything is undone."""
    s, wb, p, ids, members = remote
    before = on_server(s, ids)
    warned = undo.warning_before(wb, p, "reply")  # what the reply dialog shows before sending
    for act in steps[:split]:
        run(wb, p, ids, members, act)
    s.sync(wb)
    for act in steps[split:]:
        run(wb, p, ids, members, act)
    sent_replies = {i: [b for k, t, b in steps[:split] if k == "reply" and ids[t] == i] for i in ids}
    outcomes = undo_all(wb, p)
    # Nothing needless goes up: what waits is only the change back of annotations synced changed.
    synced = {ids[i] for k, t, _ in steps[:split] for i in (t if isinstance(t, list) else [t])}
    replica = sync_svc.status(wb).workspace_id
    assert replica is not None
    assert {e.entity_id for e in sync_state.entries(wb.store.db, replica)} <= synced
    s.sync(wb)
    assert sync_svc.status(wb).pending == 0 and sync_svc.status(wb).conflicts == 0
    after = on_server(s, ids)
    for i in ids:
        assert after[i][:3] == before[i][:3]  # status, summary, assignee: back
        assert after[i][3] == before[i][3] + sent_replies[i]  # replies sent: kept, and only those
    finals = [o for o in outcomes if o.final]
    assert len(finals) == sum(map(len, sent_replies.values()))
    assert "a sent reply cannot be taken back" in warned  # what the reply dialog said before it ran
    assert all(o.kind == "reply" and o.final == ops.ANNOTATION_REPLY.once_sent for o in finals)
