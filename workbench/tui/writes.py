"""Writes off the UI thread: every use case a key starts that changes the store runs in a thread worker.

A write can wait on SQLite's lock (another process committing, a sync pushing) for up to the
busy timeout; run on the event loop it would freeze every key and redraw meanwhile. Here it
runs in a Textual thread worker (group ``write``) while the UI goes on. Writes run one at a
time in the order the keys asked for them, so "ack, then triaged" on one row ends triaged.
When one ends, its ``done`` (with the use case's result) or ``refused`` (with the reason the
user reads) runs back on the UI thread; by default a refusal is posted to the screen that
asked as ``ActionRefused``, which shows it and refreshes.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.tui.messages import ActionRefused, ActionSucceeded

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.message_pump import MessagePump

    from storage.db import Store

log = logging.getLogger(__name__)

WRITE_GROUP = "write"


@dataclass(slots=True)
class Write:
    """One queued use case and what to do with its outcome."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    target: MessagePump  # where the default outcome messages go
    done: Callable[[Any], None] | None = None
    refused: Callable[[str], None] | None = None
    succeeded_text: str = ""  # posted as ActionSucceeded when there is no ``done``
    name: str = field(default="")


class Writes:
    """The app's queue of writes: one thread worker at a time, in the order asked."""

    def __init__(self, app: App[Any], store: Store) -> None:
        self.app = app
        self.store = store
        self.queue: deque[Write] = deque()
        self.running: Write | None = None
        self.then: Callable[[], None] | None = None  # once the queue empties (a quit waiting on it)

    @property
    def idle(self) -> bool:
        """Nothing running or waiting (what a test waits for after a key)."""
        return self.running is None and not self.queue

    def submit(
        self,
        target: MessagePump,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], None] | None = None,
        refused: Callable[[str], None] | None = None,
        succeeded: str = "",
        **kwargs: Any,
    ) -> None:
        """Run ``fn(*args, **kwargs)`` off the UI thread after the writes already asked for."""
        self.queue.append(Write(fn, args, kwargs, target, done, refused, succeeded, getattr(fn, "__name__", "write")))
        self._next()

    def when_idle(self, then: Callable[[], None]) -> None:
        """Call ``then`` once every write asked for so far has landed; at once if none is waiting."""
        self.then = then
        if self.idle:
            self._call_then()

    def _call_then(self) -> None:
        then, self.then = self.then, None
        if then is not None:
            then()

    def _next(self) -> None:
        if self.running is None and not self.queue:
            self._call_then()
            return
        if self.running is not None:
            return
        job = self.running = self.queue.popleft()
        self.app.run_worker(lambda: self._run(job), thread=True, group=WRITE_GROUP, name=job.name, exit_on_error=False)

    def _run(self, job: Write) -> None:
        """In the worker thread: the use case, then its outcome handed back to the UI thread."""
        from workbench.tui.app import refusal_text

        # A write the disk refuses says whether this use case had saved anything before it.
        self.store.begin_unit_of_work()
        try:
            result = job.fn(*job.args, **job.kwargs)
        except Exception as exc:  # a refusal (or a full disk) is shown, never a crash
            reason = refusal_text(exc)
            if reason.startswith("Unexpected error"):
                log.exception("write %s failed", job.name)
            self._hand_back(job, False, reason)
            return
        self._hand_back(job, True, result)

    def _hand_back(self, job: Write, ok: bool, value: Any) -> None:
        try:
            self.app.call_from_thread(self._finish, job, ok, value)
        except RuntimeError:  # the app closed while the write ran: it landed, nobody is left to tell
            log.info("write %s finished after the app closed", job.name)

    def _finish(self, job: Write, ok: bool, value: Any) -> None:
        """On the UI thread: the outcome's callback (or message), then the next write."""
        self.running = None
        if not ok:
            # A refused write is not saved: whoever waits for the queue (a quit) must not hide
            # the reason by going ahead; the user reads it and decides again.
            self.then = None
        try:
            if ok and job.done is not None:
                job.done(value)
            elif ok:
                job.target.post_message(ActionSucceeded(job.succeeded_text, payload=value))
            elif job.refused is not None:
                job.refused(value)
            elif not job.target.post_message(ActionRefused(value)):  # the screen that asked has closed
                self.app.notify(value, title="Refused", severity="error", timeout=8, markup=False)
        finally:
            self._next()


def submit_write(node: DOMNode, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None] | None = None,
                 refused: Callable[[str], None] | None = None, succeeded: str = "", **kwargs: Any) -> None:
    """Queue a write on ``node``'s app (a dialog or a screen asking; its messages go to ``node``)."""
    from workbench.tui.screens.base import workbench_app

    workbench_app(node).writes.submit(node, fn, *args, done=done, refused=refused, succeeded=succeeded, **kwargs)
