"""The jobs table of a PostgreSQL store: background work every worker of every host may claim, once.

A job is a row (kind, payload: the id of what it acts on). It is enqueued in the transaction
of the state change that requires it, so both commit or neither does, and at most one job of a
kind and payload is waiting or running at a time (the partial unique index ``jobs_once``), so
enqueuing again while it waits (a startup sweep of every worker) changes nothing. Enqueued again
while it runs, it is marked ``again`` and queued once more when that run ends: the state change
that asked for it (a retried analysis) may have come after the run read its state, and a job is
safe to run twice, never twice at once. A worker claims ready rows
with ``FOR UPDATE SKIP LOCKED``: two claimers never get the same row. A claim is a lease the
claimer renews while it runs the job (``heartbeat``); a job whose claimer died is claimable
again once its lease has run out. Times are the database's clock, the one every host shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from storage.pg_conn import sql_text

# Woken listeners (every worker's claimer) try to claim at once instead of at their next poll.
CHANNEL = "workbench_jobs"
_NOW = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

ENQUEUE = sql_text(
    f"INSERT INTO jobs (kind, payload, run_after, created_at) VALUES (%s, %s, {_NOW} + %s, {_NOW}) "
    "ON CONFLICT (kind, payload) WHERE state IN ('queued', 'running') DO UPDATE SET again = true WHERE jobs.state = 'running'"
)
CLAIM_ONE = sql_text(
    f"UPDATE jobs SET state = 'running', claimed_by = %(me)s, claimed_at = {_NOW}, attempts = attempts + 1 "
    "WHERE id = (SELECT id FROM jobs WHERE kind = %(kind)s AND payload = %(payload)s AND state = 'queued' "
    "FOR UPDATE SKIP LOCKED) "
    "RETURNING id, kind, payload, attempts"
)
CLAIM = sql_text(
    f"UPDATE jobs SET state = 'running', claimed_by = %(me)s, claimed_at = {_NOW}, attempts = attempts + 1 "
    "WHERE id IN (SELECT id FROM jobs WHERE "
    f"(state = 'queued' AND run_after <= {_NOW}) OR (state = 'running' AND claimed_at < {_NOW} - %(lease)s) "
    "ORDER BY id LIMIT %(n)s FOR UPDATE SKIP LOCKED) "
    "RETURNING id, kind, payload, attempts"
)
HEARTBEAT = sql_text(f"UPDATE jobs SET claimed_at = {_NOW} WHERE claimed_by = %s AND state = 'running' AND id = ANY(%s)")
# A run that ends with ``again`` set is queued at once, its attempts counted afresh: it is new work.
FINISH = sql_text(
    f"UPDATE jobs SET state = CASE WHEN again THEN 'queued' ELSE 'done' END, last_error = NULL, run_after = {_NOW}, "
    "attempts = CASE WHEN again THEN 0 ELSE attempts END, claimed_by = CASE WHEN again THEN NULL ELSE claimed_by END, "
    f"again = false WHERE id = %s AND claimed_by = %s AND state = 'running' RETURNING state = 'queued' AND run_after <= {_NOW}"
)
RETRY = sql_text(
    "UPDATE jobs SET state = CASE WHEN again THEN 'queued' ELSE %(state)s END, "
    f"run_after = {_NOW} + CASE WHEN again THEN 0 ELSE %(delay)s END, attempts = CASE WHEN again THEN 0 ELSE attempts END, "
    "last_error = %(error)s, claimed_by = NULL, again = false "
    f"WHERE id = %(id)s AND claimed_by = %(me)s AND state = 'running' RETURNING state = 'queued' AND run_after <= {_NOW}"
)
FORGET = sql_text(f"DELETE FROM jobs WHERE state = 'done' AND created_at < {_NOW} - %s")


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: str
    attempts: int


def enqueue(conn: psycopg.Connection[Any], kind: str, payload: str, *, delay_ms: int = 0) -> bool:
    """Queue a job in ``conn``'s transaction; False when the same job was already waiting (True, and it is
    marked to run again, when it was running).

    Without a delay, every claimer is woken when the transaction commits. With one, the job is
    the enqueuer's to run first (``claim_one``); any worker claims it once the delay has passed.
    """
    added = conn.execute(ENQUEUE, [kind, payload, delay_ms]).rowcount == 1
    if added and delay_ms == 0:
        conn.execute(sql_text(f"NOTIFY {CHANNEL}"))
    return added


def claim_one(conn: psycopg.Connection[Any], me: str, kind: str, payload: str) -> Claimed | None:
    """The queued job of ``kind`` and ``payload``, now ``me``'s (due or not); None when another has it."""
    row = conn.execute(CLAIM_ONE, {"me": me, "kind": kind, "payload": payload}).fetchone()
    return None if row is None else Claimed(int(row[0]), str(row[1]), str(row[2]), int(row[3]))


def claim(conn: psycopg.Connection[Any], me: str, lease_ms: int, n: int) -> list[Claimed]:
    """Up to ``n`` ready jobs (queued and due, or running on a lease that ran out), now ``me``'s."""
    rows = conn.execute(CLAIM, {"me": me, "lease": lease_ms, "n": n}).fetchall()
    return [Claimed(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]


def heartbeat(conn: psycopg.Connection[Any], me: str, job_ids: list[int]) -> None:
    """Renew ``me``'s lease on the jobs ``job_ids`` (those it is running now)."""
    conn.execute(HEARTBEAT, [me, job_ids])


def finish(conn: psycopg.Connection[Any], job_id: int, me: str) -> None:
    """A run that ended: ``done``, or queued at once (every claimer woken) when it was enqueued again meanwhile."""
    _ended(conn, conn.execute(FINISH, [job_id, me]).fetchone())


def retry(conn: psycopg.Connection[Any], job_id: int, me: str, error: str, delay_ms: int, *, give_up: bool) -> None:
    """A failed run: queued again after ``delay_ms``, or ``failed`` for good when ``give_up``; queued at once when
    it was enqueued again meanwhile."""
    row = conn.execute(RETRY, {"state": "failed" if give_up else "queued", "delay": delay_ms, "error": error[:500],
                               "id": job_id, "me": me}).fetchone()
    _ended(conn, row)


def _ended(conn: psycopg.Connection[Any], row: Any) -> None:
    # Queued again and due (``row``: whether it is): the claimers learn it now, not at their next poll (the enqueue
    # woke them while it still ran). A retry due later is found by their poll.
    if row is not None and row[0]:
        wake(conn)


def wake(conn: psycopg.Connection[Any]) -> None:
    """Wake every claimer (a slot came free, so waiting work may be claimed now)."""
    conn.execute(sql_text(f"NOTIFY {CHANNEL}"))


def forget_done(conn: psycopg.Connection[Any], older_than_ms: int) -> None:
    conn.execute(FORGET, [older_than_ms])
