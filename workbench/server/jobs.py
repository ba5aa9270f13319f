"""Background jobs of the server: preview deployments and test-session analyses, in worker threads.

A request that starts a job answers at once (201 ``created``, or ``analyzing``); the job runs
in a small thread pool owned by the app and records its outcome through the same service
function the offline front ends call. On startup, jobs a stopped server left unfinished
(sessions still ``created`` or ``analyzing``) are queued again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from fastapi import FastAPI

from workbench.services import feedback_sessions as feedback_sessions_svc
from workbench.services import test_sessions as tests_svc
from workbench.services.context import Workbench

log = logging.getLogger("workbench.jobs")

MAX_WORKERS = 4


class Jobs:
    """A thread pool that logs failures instead of losing them in an unobserved Future."""

    def __init__(self, max_workers: int = MAX_WORKERS) -> None:
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

    def shutdown(self) -> None:
        # Running jobs finish (a deploy command is bounded by its timeout); queued ones are
        # dropped and picked up again by the next startup's sweep.
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


def _log_failure(future: Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("background job failed", exc_info=future.exception())


_lock = threading.Lock()


def jobs_of(app: FastAPI) -> Jobs:
    """The app's job pool (created on first use, so an app run without lifespan still works)."""
    with _lock:
        jobs = getattr(app.state, "jobs", None)
        if jobs is None:
            jobs = app.state.jobs = Jobs()
        return jobs


def resume(app: FastAPI, wb: Workbench) -> Future[Any] | None:
    """Queue the deployments and analyses a previous server left unfinished.

    The sweep's Future is kept on ``app.state.sweep`` so a caller that drives sessions
    directly (the tests) can wait for it rather than race it.
    """
    app.state.sweep = jobs_of(app).submit(_resume, jobs_of(app), wb)
    return app.state.sweep


def _resume(jobs: Jobs, wb: Workbench) -> None:
    deployments = feedback_sessions_svc.pending_deployments(wb)
    analyses = tests_svc.pending_analyses(wb)
    for session_id in deployments:
        jobs.submit(feedback_sessions_svc.deploy, wb, session_id)
    for session_id in analyses:
        jobs.submit(tests_svc.run_analysis, wb, session_id)
    if deployments or analyses:
        log.info("resumed %d preview deployments and %d analyses", len(deployments), len(analyses))


def stop(app: FastAPI) -> None:
    jobs = getattr(app.state, "jobs", None)
    if jobs is not None:
        jobs.shutdown()
        app.state.jobs = None
