"""Two `workbench serve --workers 2` processes on one PostgreSQL behave as one server (issue 14).

A load generator (httpx in threads) spreads requests over both processes: the per-token limit
is one limit, an Idempotency-Key is one write, each background job runs once, a process killed
mid-write loses and doubles nothing, and replicas syncing against either process converge.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import keyring

from tests.multi.conftest import TOKEN_LIMIT, Serve, Team, bearer, wait_for
from tests.session_helpers import new_store
from tests.sync.keyring_backend import MemoryKeyring
from workbench.server import faults
from workbench.services import feedback_sessions as fsvc
from workbench.services import remotes
from workbench.services import sync as sync_svc
from workbench.services.context import Workbench


def _annotation(team: Team, creds: dict[str, Any]) -> str:
    r = httpx.post(f"{team.a.url}/api/widget/sites/{creds['site_id']}/annotations",
                   json={"page_url": "https://shop.acme.example/cart", "body": "Checkout button overlaps"},
                   headers={"X-GF-Widget-Token": creds["widget_token"]})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_the_per_token_limit_is_one_limit_across_processes(team: Team):
    creds = team.creds()
    urls = itertools.cycle([team.a.url, team.b.url])
    targets = [next(urls) for _ in range(TOKEN_LIMIT + 60)]
    with httpx.Client(headers=bearer(creds["member_token"]), timeout=30) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda url: client.get(f"{url}/api/v1/sites"), targets))
    codes = [r.status_code for r in answers]
    assert codes.count(200) == TOKEN_LIMIT and codes.count(429) == 60, {c: codes.count(c) for c in set(codes)}
    served = {url for url, r in zip(targets, answers, strict=True) if r.status_code == 200}
    assert served == {team.a.url, team.b.url}
    refused = next(r for r in answers if r.status_code == 429)
    assert "per-token" in refused.json()["detail"] and 1 <= int(refused.headers["retry-after"]) <= 60


def test_one_idempotency_key_sent_to_both_at_once_writes_once(team: Team):
    creds = team.creds()
    annotation_id = _annotation(team, creds)
    bodies = [f"same-key reply {uuid.uuid4().hex}" for _ in range(10)]
    with httpx.Client(headers=bearer(creds["member_token"]), timeout=30) as client:
        for body in bodies:
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            start = threading.Barrier(2)

            def send(url: str, body: str = body, headers: dict[str, str] = headers, start: threading.Barrier = start) -> httpx.Response:
                start.wait()
                return client.post(f"{url}/api/v1/annotations/{annotation_id}/replies", json={"body": body}, headers=headers)

            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(send, [team.a.url, team.b.url]))
            # One applies it; the other replays it, or is told it is still in flight.
            assert sorted(r.status_code for r in answers) in ([201, 201], [201, 409]), [r.text for r in answers]
            assert len({r.json()["id"] for r in answers if r.status_code == 201}) == 1
    for body in bodies:
        assert team.sql("SELECT count(*) FROM replies WHERE body = %s", body) == [(1,)], body


def test_each_background_job_runs_once(team: Team, tmp_path: Path):
    creds = team.creds()
    wb = Workbench.open(str(team.data), database=team.url, mailer=None)
    try:
        keys = [new_store(wb, creds, f"Store {i}")[1] for i in range(6)]
    finally:
        wb.store.close()
    urls = itertools.cycle([team.a.url, team.b.url])

    def start(key: str) -> str:
        r = httpx.post(f"{next(urls)}/api/v1/feedback-sessions", headers=bearer(key), timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    team.runs.with_suffix(".gate").unlink(missing_ok=True)  # deployments wait until the late process is up
    with ThreadPoolExecutor(6) as pool:
        sessions = list(pool.map(start, keys))
    wait_for(lambda: set(team.runs.read_text().split()) >= set(sessions), "every deployment started")
    # A process that starts while those deploy sweeps the sessions still `created` into jobs:
    # the jobs already running make that a no-op, not a second deployment.
    late = Serve(team.url, tmp_path / "late", team.runs, workers=1).wait_ready()
    try:
        assert httpx.get(f"{late.url}/api/v1/sites", headers=bearer(creds["member_token"])).status_code == 200
        team.runs.with_suffix(".gate").touch()  # the deployments finish
        def deployed() -> bool:
            rows = team.sql("SELECT count(*) FROM feedback_sessions WHERE id = ANY(%s) AND status <> 'created'", sessions)
            return rows[0][0] == len(sessions)

        wait_for(deployed, "every preview deployed")
    finally:
        late.stop()
    runs = [line for line in team.runs.read_text().split() if line in sessions]
    assert sorted(runs) == sorted(sessions), runs
    jobs = team.sql("SELECT payload, state, attempts FROM jobs WHERE kind = 'feedback_session.deploy' AND payload = ANY(%s)", sessions)
    assert sorted(jobs) == sorted((s, "done", 1) for s in sessions)
    statuses = team.sql("SELECT status FROM feedback_sessions WHERE id = ANY(%s)", sessions)
    assert {s for (s,) in statuses} == {"in_review"}


def test_a_job_whose_claimer_died_is_claimed_again_after_its_lease(team: Team):
    creds = team.creds()
    team.runs.with_suffix(".gate").touch()  # deployments run straight through
    wb = Workbench.open(str(team.data), database=team.url, mailer=None)
    try:
        store, _ = new_store(wb, creds, "Orphaned store")
        session = fsvc.start(wb, store)  # `created`, with no job yet
    finally:
        wb.store.close()
    # The job as a worker that died holding it leaves it: running, claimed, lease renewed no more.
    team.sql(
        "INSERT INTO jobs (kind, payload, state, attempts, run_after, claimed_by, claimed_at, created_at) "
        "VALUES ('feedback_session.deploy', %s, 'running', 1, 0, 'gone:1:dead', "
        "(extract(epoch FROM clock_timestamp()) * 1000)::bigint, 0) RETURNING id",
        session.id,
    )
    done = wait_for(lambda: team.sql("SELECT state, attempts, claimed_by FROM jobs WHERE payload = %s AND state = 'done'", session.id),
                    "the orphaned job run by a live worker")
    assert done[0][:2] == ("done", 2) and done[0][2] != "gone:1:dead"
    assert team.runs.read_text().split().count(session.id) == 1
    assert team.sql("SELECT status FROM feedback_sessions WHERE id = %s", session.id) == [("in_review",)]


def test_kill_9_mid_write_loses_and_doubles_nothing(team: Team, tmp_path: Path):
    creds = team.creds()
    annotation_id, crash_id = _annotation(team, creds), _annotation(team, creds)
    # A reply on ``crash_id`` kills the victim's worker once applied, before it answers: the write
    # the client never heard of. Then the whole victim is killed while other writes are in flight.
    crash = {faults.ENV: f"POST /api/v1/annotations/{crash_id}/replies"}
    victim = Serve(team.url, tmp_path / "victim", team.runs, env=crash).wait_ready()
    tag = uuid.uuid4().hex
    writes = [(uuid.uuid4().hex, f"{tag} reply {i}") for i in range(60)]
    killed = threading.Event()
    answered_by_victim = threading.Semaphore(0)
    retried: list[str] = []
    headers = bearer(creds["member_token"])

    def post(url: str, on: str, key: str, body: str) -> httpx.Response:
        return httpx.post(f"{url}/api/v1/annotations/{on}/replies", json={"body": body}, headers={**headers, "Idempotency-Key": key}, timeout=30)

    def write(item: tuple[str, str], on: str = annotation_id) -> httpx.Response:
        key, body = item
        if not killed.is_set():
            try:
                r = post(victim.url, on, key, body)
                assert r.status_code == 201, r.text
                answered_by_victim.release()
                return r
            except httpx.TransportError:
                retried.append(body)
        # Unanswered: the same key to the survivor, which either writes it (the victim's write
        # rolled back with it) or says it was applied (committed, never answered): never twice.
        r = post(team.a.url, on, key, body)
        assert r.status_code == 201 or (r.status_code == 409 and r.json()["applied"]), r.text
        return r

    with ThreadPoolExecutor(4) as pool:
        results = [pool.submit(write, item) for item in writes]
        for _ in range(10):  # mid-stream: some writes answered, others in flight
            assert answered_by_victim.acquire(timeout=30)
        crashed = write((uuid.uuid4().hex, f"{tag} crash"), on=crash_id)
        killed.set()
        victim.kill()
        assert all(f.result().status_code in (201, 409) for f in results)
    assert crashed.status_code == 409 and crashed.json()["applied"]["action"] == "annotation.reply", crashed.text
    assert f"{tag} crash" in retried
    counts = dict(team.sql("SELECT body, count(*) FROM replies WHERE body LIKE %s GROUP BY body", f"{tag}%"))
    assert counts == {body: 1 for _, body in [*writes, ("", f"{tag} crash")]}
    # The survivors serve on.
    for url in (team.a.url, team.b.url):
        assert httpx.get(f"{url}/api/v1/sites", headers=headers).status_code == 200


def test_sync_against_either_process_converges(team: Team, tmp_path: Path):
    creds = team.creds()
    _annotation(team, creds)
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # never the user's keyring
    replicas: list[Workbench] = []
    try:
        for name, url in (("one", team.a.url), ("two", team.b.url)):
            wb = Workbench.open(str(tmp_path / name), mailer=None)
            replicas.append(wb)
            remotes.add(wb, "origin", url)
        for wb in replicas:
            report = sync_svc.run_sync(wb, "origin", credentials={"token": creds["member_token"]})
            assert report.stopped is None, report.stopped

        def ids(wb: Workbench) -> set[str]:
            return {r[0] for r in wb.store.db.execute("SELECT id FROM annotations")}

        server = {r[0] for r in team.sql("SELECT id FROM annotations")}
        assert server and ids(replicas[0]) == ids(replicas[1]) == server
    finally:
        for wb in replicas:
            wb.store.close()
        keyring.set_keyring(previous)


def test_a_retry_racing_the_first_request_is_told_it_is_still_running_never_that_its_response_is_lost(team: Team):
    """Between the first request's commit (its record ``applied``) and its response being stored, a
    retry must not be told "its first response was never stored (the server stopped or failed)":
    the server did neither, and the client, told the write's response is gone for good, stops
    retrying. It gets the 409 "still being processed" and, asked again, the replay."""
    creds = team.creds()
    annotation_id = _annotation(team, creds)
    targets = [team.a.url, team.b.url, team.a.url, team.b.url]  # within one process and across the two
    lost: list[str] = []
    with httpx.Client(headers=bearer(creds["member_token"]), timeout=30) as client:
        for _ in range(30):
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            body = {"body": f"raced {headers['Idempotency-Key']}"}
            start = threading.Barrier(len(targets))

            def send(url: str, headers: dict[str, str] = headers, body: dict[str, str] = body, start: threading.Barrier = start) -> httpx.Response:
                start.wait()
                return client.post(f"{url}/api/v1/annotations/{annotation_id}/replies", json=body, headers=headers)

            with ThreadPoolExecutor(len(targets)) as pool:
                answers = list(pool.map(send, targets))
            assert {r.status_code for r in answers} <= {201, 409}, [r.text for r in answers]
            lost += [r.text for r in answers if r.status_code == 409 and "still being processed" not in r.text]
            replay = client.post(f"{team.a.url}/api/v1/annotations/{annotation_id}/replies", json=body, headers=headers)
            assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true", replay.text
            assert len({r.json()["id"] for r in [*answers, replay] if r.status_code == 201}) == 1
    assert lost == [], lost[:3]
