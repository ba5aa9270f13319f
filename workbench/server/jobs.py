"""Background jobs of the server: preview deployments, test-session analyses and submitter notifications.

A request that starts a job answers at once (201 ``created``, or ``analyzing``); the job records
its outcome through the same service function the offline front ends call. Every job acts on
one id and is safe to run late or twice (the service checks the state first).

Where jobs live follows the store:
- SQLite (one process): a small thread pool owned by the app (``Jobs``). On startup, the work a
  stopped server left unfinished (sessions still ``created`` or ``analyzing``, notifications
  still pending) runs again.
- PostgreSQL (N workers, several hosts): rows of the ``jobs`` table (storage/jobs.py), enqueued
  in the transaction of the state change that requires them and claimed by any worker's
  ``PgJobs`` with SKIP LOCKED, so each runs once; a job whose claimer died is claimed again
  when its lease runs out. Each worker's startup sweep enqueues the unfinished work, which a
  job already waiting makes a no-op.

Routes start jobs through ``together``, which hides the difference.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from fastapi import FastAPI
from starlette.background import BackgroundTasks

from storage import upload_sweep
from storage.failures import StoreWriteFailed
from workbench.server.settings import ServerSettings
from workbench.services import feedback_sessions as feedback_sessions_svc
from workbench.services import resolutions as resolutions_svc
from workbench.services import test_sessions as tests_svc
from workbench.services.context import Workbench

if TYPE_CHECKING:
    import psycopg

    from storage.jobs import Claimed

log = logging.getLogger("workbench.jobs")

MAX_WORKERS = 4

# The kinds of job, and what runs one: a service function of (wb, id).
DEPLOY = "feedback_session.deploy"
ANALYZE = "test_session.analyze"
NOTIFY = "resolution.notify"
RUNNERS: dict[str, Callable[[Workbench, str], Any]] = {
    DEPLOY: feedback_sessions_svc.deploy,
    ANALYZE: tests_svc.run_analysis,
    NOTIFY: resolutions_svc.deliver,
}

# A claim lasts this long without a heartbeat; a running job's claimer renews it every third of it.
LEASE_ENV = "WORKBENCH_JOB_LEASE_SECONDS"
DEFAULT_LEASE_SECONDS = 60.0
# A claimer that was not woken looks for due work (retries, expired leases) this often.
POLL_SECONDS = 1.0
# The claimer's connection goes by this name in pg_stat_activity.
CLAIMER_NAME = "workbench job claimer"
# The startup sweep, refused by a database out of reach, tries again this often until it gets through.
SWEEP_RETRY_SECONDS = 1.0
MAX_ATTEMPTS = 5
# A job its enqueuer runs after the response (``together(..., background)``) is left to it this long.
HERE_FIRST_MS = 10_000
# Finished jobs are kept a week for inspection (SELECT … FROM jobs), then deleted at a startup.
KEEP_DONE_MS = 7 * 24 * 3600 * 1000

Enqueue = Callable[[str, str], None]


def deploy_base(settings: ServerSettings) -> str | None:
    """Where browsers reach this server, for what a deploy command is given: a job has no request
    to take a base from, so ``--public-url``, else ``WORKBENCH_PUBLIC_URL``, else the address
    ``serve`` listens on (None: the service's own default)."""
    return settings.public_url or os.environ.get("WORKBENCH_PUBLIC_URL") or settings.listen_url


def _runners(settings: ServerSettings) -> dict[str, Callable[[Workbench, str], Any]]:
    return {**RUNNERS, DEPLOY: functools.partial(feedback_sessions_svc.deploy, base_url=deploy_base(settings))}


class Jobs:
    """SQLite's jobs: a thread pool that logs failures instead of losing them in an unobserved Future."""

    def __init__(self, wb: Workbench, settings: ServerSettings, max_workers: int = MAX_WORKERS) -> None:
        self.wb = wb
        self.runners = _runners(settings)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="workbench-job")
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any] | None:
        if self._closed:
            return None
        try:
            future = self._pool.submit(fn, *args)
        except RuntimeError:  # shut down between the check and the submit
            return None
        future.add_done_callback(_log_failure)
        return future

    @contextlib.contextmanager
    def together(self, background: BackgroundTasks | None) -> Iterator[Enqueue]:
        queued: list[tuple[str, str]] = []
        yield lambda kind, subject: queued.append((kind, subject))
        for kind, subject in queued:
            if background is not None:
                background.add_task(self.runners[kind], self.wb, subject)
            else:
                self.submit(self.runners[kind], self.wb, subject)

    def before_serving(self) -> None:
        """Notifications a stopped server owed are delivered before this one serves."""
        delivered = resolutions_svc.deliver_pending(self.wb)
        if delivered:
            log.info("delivered %d pending submitter notifications", delivered)

    def resume(self) -> None:
        deployments = feedback_sessions_svc.pending_deployments(self.wb)
        analyses = tests_svc.pending_analyses(self.wb)
        for session_id in deployments:
            self.submit(self.runners[DEPLOY], self.wb, session_id)
        for session_id in analyses:
            self.submit(tests_svc.run_analysis, self.wb, session_id)
        if deployments or analyses:
            log.info("resumed %d preview deployments and %d analyses", len(deployments), len(analyses))
        sweep_uploads(self.wb)

    def shutdown(self) -> None:
        # Running jobs finish (a deploy command is bounded by its timeout); queued ones are
        # dropped and picked up again by the next startup's sweep.
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


def _log_failure(future: Future[Any]) -> None:
    exc = None if future.cancelled() else future.exception()
    if isinstance(exc, StoreWriteFailed):
        # A full disk words itself, and every job would print the same stack: one line each. The
        # job is not lost: what it was to do is still pending, and the next start resumes it.
        log.error("background job failed: %s; it runs again when the server next starts", exc)
    elif exc is not None:
        log.error("background job failed", exc_info=exc)


def _raw(db: Any) -> psycopg.Connection[Any]:
    """The psycopg connection under a PostgreSQL store's connection (storage/pg_conn.py PgConnection)."""
    return cast("psycopg.Connection[Any]", db.raw)


class PgJobs:
    """PostgreSQL's jobs: this worker's claimer thread and the pool that runs what it claimed."""

    def __init__(self, wb: Workbench, settings: ServerSettings, max_workers: int = MAX_WORKERS) -> None:
        self.wb = wb
        self.runners = _runners(settings)
        self.url: str = cast(Any, wb.store).url
        self.me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = float(os.environ.get(LEASE_ENV) or DEFAULT_LEASE_SECONDS)
        self.max_workers = max_workers
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="workbench-job")
        # The ids of the jobs this worker runs now: its heartbeat renews their leases and no other.
        # A run whose outcome could not be recorded (the database went away) leaves its row
        # claimed by this worker; renewing every row claimed by it would hold that one for good.
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.stopped = self._stop  # set once the server stops: what a wait to try again ends on
        # This claimer's own channel: a NOTIFY on it ends the claimer's wait for work at once
        # when the server stops, where the next poll would come up to POLL_SECONDS later.
        self._wake = f"workbench_jobs_stop_{uuid.uuid4().hex[:12]}"
        self._thread = threading.Thread(target=self._claim_loop, name="workbench-jobs-claimer", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def together(self, background: BackgroundTasks | None) -> Iterator[Enqueue]:
        from storage import jobs as repo

        # The row commits with the change, so the job survives this process. Without ``background``
        # any worker may run it at once; with it, this process runs it right after the response
        # (as SQLite's do), and other workers only if it has not within HERE_FIRST_MS.
        queued: list[tuple[str, str]] = []
        with self.wb.store.write() as db:

            def later(kind: str, subject: str) -> None:
                repo.enqueue(_raw(db), kind, subject, delay_ms=HERE_FIRST_MS if background is not None else 0)
                queued.append((kind, subject))

            yield later
        if background is not None:
            for kind, subject in queued:
                background.add_task(self.run_here, kind, subject)

    def run_here(self, kind: str, subject: str) -> None:
        """Run the queued job of ``kind`` on ``subject`` in this thread, unless another worker has it."""
        import psycopg

        from storage import jobs as repo
        from storage.pg_conn import cause, unreachable

        try:
            job = repo.claim_one(_raw(self.wb.store.db), self.me, kind, subject)
        except psycopg.OperationalError as exc:
            if not unreachable(exc):
                raise
            # The response is out and the job's row committed with the change: raised from here it
            # was uvicorn's traceback after the fact. Any claimer takes the row once it is due (or,
            # had the claim gone through unanswered, once its lease lapses).
            log.error("background job %s %s is left to the job claimers: this request could not claim it (%s)",
                      kind, subject, cause(exc, self.url))
            return
        if job is not None:
            with self._lock:
                self._held.add(job.id)
            self._run(job)

    def before_serving(self) -> None:
        """Nothing: owed notifications are jobs like the rest (``resume``), run once by any worker."""

    def resume(self) -> None:
        from storage import annotations as annotations_repo
        from storage import jobs as repo

        pending = [
            *((DEPLOY, s) for s in feedback_sessions_svc.pending_deployments(self.wb)),
            *((ANALYZE, s) for s in tests_svc.pending_analyses(self.wb)),
            *((NOTIFY, r) for r in annotations_repo.pending_notifications(self.wb.store.db)),
        ]
        with self.wb.store.write() as db:
            added = sum(repo.enqueue(_raw(db), kind, subject) for kind, subject in pending)
            repo.forget_done(_raw(db), KEEP_DONE_MS)
        if added:
            log.info("queued %d unfinished jobs", added)
        sweep_uploads(self.wb)

    # --- the claimer -------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        import psycopg

        from storage.pg_conn import cause, unreachable

        # Whether the claimer said it lost the database and has not said it is back: a restart
        # or an outage is two lines per worker, not one a second while it lasts.
        away = False
        while not self._stop.is_set():
            try:
                conn = self._listen()
                if away:
                    log.warning("job claimer reconnected to its database; claiming jobs again")
                    away = False
                self._claim_on(conn)
            except psycopg.errors.InvalidCatalogName:
                log.error("job claimer stops: its database was dropped")
                return
            except (psycopg.errors.DiskFull, psycopg.errors.IoError) as exc:
                # Not a lost connection, and no traceback: the cause is known and the same each time.
                log.error(
                    "job claimer cannot claim jobs: the database server's disk refused the write (SQLSTATE %s: %s); "
                    "free space on it; trying again in %s s", exc.sqlstate, exc.diag.message_primary, POLL_SECONDS,
                )
                self._stop.wait(POLL_SECONDS)
            except Exception as exc:  # any failure of the claimer (the database went away): log, wait a moment, reconnect
                if self._stop.is_set():
                    return
                if unreachable(exc):
                    # A stopped or restarting server: its cause says it all, once.
                    if not away:
                        log.error("job claimer lost its database connection (%s); reconnecting every %s s, and saying so once it has",
                                  cause(exc, self.url), POLL_SECONDS)
                    away = True
                else:
                    log.exception("job claimer lost its database connection; reconnecting")
                self._stop.wait(POLL_SECONDS)

    def _listen(self) -> psycopg.Connection[Any]:
        import psycopg

        from storage import jobs as repo
        from storage.pg_conn import sql_text

        conn = psycopg.connect(self.url, autocommit=True, application_name=CLAIMER_NAME)
        conn.execute(sql_text(f"LISTEN {repo.CHANNEL}"))
        conn.execute(sql_text(f"LISTEN {self._wake}"))
        return conn

    def _claim_on(self, conn: psycopg.Connection[Any]) -> None:
        from storage import jobs as repo

        lease_ms = int(self.lease_seconds * 1000)
        with conn:
            beat_at = 0.0
            while not self._stop.is_set():
                # Renewed before claiming: a claimer back from an outage longer than a lease would
                # otherwise find its own running jobs' leases lapsed and claim them again, and its
                # worker would run each a second time beside the first.
                now = time.monotonic()
                if now - beat_at >= self.lease_seconds / 3:
                    with self._lock:
                        held = sorted(self._held)
                    if held:
                        repo.heartbeat(conn, self.me, held)
                    beat_at = now
                with self._lock:
                    free = self.max_workers - len(self._held)
                if free > 0:
                    for job in repo.claim(conn, self.me, lease_ms, free):
                        with self._lock:
                            self._held.add(job.id)
                        self._pool.submit(self._run, job).add_done_callback(_log_failure)
                # Woken by a commit that enqueued (any worker's), else a poll for retries and lapsed leases.
                for _ in conn.notifies(timeout=min(POLL_SECONDS, self.lease_seconds / 3), stop_after=1):
                    pass

    def _run(self, job: Claimed) -> None:
        import psycopg

        from storage import jobs as repo
        from storage.pg_conn import cause, unreachable

        try:
            try:
                self.runners[job.kind](self.wb, job.payload)
            except Exception as exc:  # any failure of a job is recorded on its row and retried later
                if isinstance(exc, StoreWriteFailed):
                    # A full disk words itself, and every attempt would print the same stack.
                    log.error("background job %s %s failed (attempt %d): %s", job.kind, job.payload, job.attempts, exc)
                elif unreachable(exc):
                    # A database stopping under a running job: its cause is the whole story, and the
                    # claimer says the database is gone in a line of its own.
                    log.error("background job %s %s stopped (attempt %d): %s", job.kind, job.payload, job.attempts,
                              cause(exc, self.url))
                else:
                    log.exception("background job %s %s failed (attempt %d)", job.kind, job.payload, job.attempts)
                repo.retry(self._conn(), job.id, self.me, f"{type(exc).__name__}: {exc}", 1000 * 2**job.attempts,
                           give_up=job.attempts >= MAX_ATTEMPTS)
            else:
                repo.finish(self._conn(), job.id, self.me)
        except (psycopg.errors.DiskFull, psycopg.errors.IoError) as exc:
            # The job's row cannot be told either: it stays claimed until its lease lapses, and is
            # claimed again once there is room, as the job of a worker that died is.
            log.error("background job %s %s: its outcome could not be recorded, the database server's disk refused the "
                      "write (SQLSTATE %s); it runs again once its lease lapses", job.kind, job.payload, exc.sqlstate)
        except psycopg.OperationalError as exc:
            if not unreachable(exc):
                raise
            # The same: the row keeps its claim, and its lease lapsing hands it to a live claimer.
            log.error("background job %s %s: its outcome could not be recorded (%s); it runs again once its lease "
                      "lapses", job.kind, job.payload, cause(exc, self.url))
        finally:
            with self._lock:
                self._held.discard(job.id)
            # A slot is free: this worker's claimer (and any other) looks for waiting work now. With
            # the database gone there is no one to tell, and every claimer polls once it is back.
            with contextlib.suppress(psycopg.OperationalError):
                repo.wake(self._conn())

    def _conn(self) -> psycopg.Connection[Any]:
        # Taken when the outcome is recorded, not before the run: a database restarted while the
        # job ran closed the connection the thread had then, and the store has opened another.
        return _raw(self.wb.store.db)

    def shutdown(self) -> None:
        # Running jobs finish and are marked done; a job claimed but not finished (killed) is
        # claimed again by another worker once its lease runs out.
        import psycopg

        from storage.pg_conn import sql_text

        # Set before the NOTIFY: a claimer that LISTENs after it still sees the stop at its next check.
        self._stop.set()
        with contextlib.suppress(psycopg.Error), psycopg.connect(self.url, autocommit=True, connect_timeout=2) as conn:
            conn.execute(sql_text(f"NOTIFY {self._wake}"))
        self._thread.join(timeout=POLL_SECONDS * 3)
        self._pool.shutdown(wait=True)


_lock = threading.Lock()


def jobs_of(app: FastAPI) -> Jobs | PgJobs:
    """The app's jobs (created on first use, so an app run without lifespan still works)."""
    with _lock:
        jobs = getattr(app.state, "jobs", None)
        if jobs is None:
            wb: Workbench = app.state.wb
            settings: ServerSettings = getattr(app.state, "settings", None) or ServerSettings()
            jobs = app.state.jobs = PgJobs(wb, settings) if wb.store.dialect == "postgresql" else Jobs(wb, settings)
        return jobs


def together(app: FastAPI, wb: Workbench, background: BackgroundTasks | None = None) -> contextlib.AbstractContextManager[Enqueue]:
    """Make a state change and enqueue the jobs it requires: ``with together(app, wb) as later:
    change(); later(DEPLOY, id)``. On PostgreSQL one write transaction holds both, so the job
    exists exactly when the change committed; in memory the jobs start once the block succeeded
    (after the response, in ``background``, when given)."""
    jobs = jobs_of(app)
    assert jobs.wb is wb, "one app, one store"
    return jobs.together(background)


def sweep_uploads(wb: Workbench) -> None:
    """What a killed upload or evidence copy left behind (storage/upload_sweep.py), part of each startup sweep."""
    swept = upload_sweep.sweep(wb.store)
    if swept.removed:
        log.info("removed %d uploads left by a stopped writer (%d bytes)", len(swept.removed), swept.freed_bytes)


def resume(app: FastAPI, wb: Workbench) -> Future[Any] | None:
    """Queue the deployments, analyses and notifications a previous server left unfinished.

    The sweep's Future is kept on ``app.state.sweep`` so a caller that drives sessions
    directly (the tests) can wait for it rather than race it.
    """
    jobs = jobs_of(app)
    assert jobs.wb is wb, "one app, one store"
    app.state.sweep = _sweeper.submit(jobs.resume if isinstance(jobs, Jobs) else functools.partial(_sweep_until_reached, jobs))
    app.state.sweep.add_done_callback(_log_failure)
    return app.state.sweep


def _sweep_until_reached(jobs: PgJobs) -> None:
    """``jobs.resume``, tried again every SWEEP_RETRY_SECONDS while the database cannot be reached
    (a worker started, or restarted by uvicorn, as PostgreSQL went down), until the server stops:
    one line when it cannot, one when it could. The sweep may run twice: a job already waiting
    makes its second enqueue a no-op."""
    from storage.pg_conn import cause, when_reachable

    label = jobs.wb.store.label
    when_reachable(
        jobs.resume, jobs.stopped, SWEEP_RETRY_SECONDS,
        lost=lambda exc: log.error("cannot queue the jobs a stopped server left unfinished: cannot reach the database %s (%s); "
                                   "trying again every %s s", label, cause(exc, jobs.url), SWEEP_RETRY_SECONDS),
        back=lambda: log.warning("the database %s is reachable again: the startup sweep went through", label),
    )


# The startup sweep runs beside the server's first requests, not in the job pool it fills.
_sweeper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="workbench-sweep")


def stop(app: FastAPI) -> None:
    jobs = getattr(app.state, "jobs", None)
    if jobs is not None:
        jobs.shutdown()
        app.state.jobs = None
