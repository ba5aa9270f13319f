"""Use cases of feedback sessions: start, preview deployment (a background job), reads, actions, comments.

Every rule (who may start, which transition is allowed, how progress is computed) comes from
``workbench.domain.feedback_sessions``; this module only loads rows, asks the domain, and
writes the outcome with its audit entry in one transaction. ``deploy`` is a plain function, so
the server runs it in a worker thread and the offline front ends call it directly.

Preview deployment is chosen by environment variables, read at each deployment:

- ``WORKBENCH_DEPLOY_COMMAND``: a shell command template (``{session_id}``, ``{store_id}``,
  ``{feedback_url}`` are substituted, shell-quoted). Its stdout's last non-empty line is the
  deploymentUrl; a non-zero exit interrupts the session with the tail of stderr as the
  errorMessage. ``WORKBENCH_DEPLOY_TIMEOUT`` (seconds, default 600) bounds it.
- ``WORKBENCH_DEPLOY_URL_TEMPLATE``: a URL template with the same fields, e.g.
  ``https://{store_id}-{session_id}-preview.example``.
- neither: ``/preview/<session_id>``, which ``workbench serve`` answers itself, so the default
  works offline.

The review page and the default preview are on this server, so they are stored as paths and
shown on each caller's own base (``session_records.on_base``). A deploy command's fields are
absolute: it runs with no request, so they use the base it is given (``workbench serve``:
``--public-url``, else ``WORKBENCH_PUBLIC_URL``, else the address it listens on), else
``local_base``.
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import sqlite3
import subprocess
from collections.abc import Mapping
from sqlite3 import Connection
from typing import Any

from storage import accounts as accounts_repo
from storage import feedback_sessions as repo
from sync import ops
from workbench.domain import feedback_sessions as fs
from workbench.domain.clock import from_ms, new_id
from workbench.domain.errors import WORKSPACE_DELETED, Conflict, Invalid, NotFound, Unauthenticated
from workbench.domain.session_records import FeedbackComment, FeedbackSession, Storefront, on_base, preview_path, review_path
from workbench.domain.tokens import mint_secret, same_secret
from workbench.domain.widget import DEFAULT_BASE
from workbench.services.context import Workbench
from workbench.services.stores import audit_as, store_actor

log = logging.getLogger("workbench.feedback_sessions")

REVIEW_TOKEN_PREFIX = "wbrv_"
DEPLOY_ACTOR = "system:deploy"
DEFAULT_DEPLOY_TIMEOUT = 600.0
ERROR_TAIL = 500
_ACTIVE = sorted(s.value for s in fs.ACTIVE_STATUSES)

# Actions a store caller may take through the API; the deploy outcomes belong to ``deploy``.
CALLER_ACTIONS = frozenset(set(fs.FeedbackAction) - {fs.FeedbackAction.DEPLOY_SUCCEEDED, fs.FeedbackAction.DEPLOY_FAILED})


class DeployFailed(Exception):
    """The preview could not be deployed; the message becomes the session's errorMessage."""


class ReviewClosed(Unauthenticated):
    """A right review token of a session whose workspace is soft-deleted (a 401 like the store's keys get)."""


# --- start and deploy -------------------------------------------------------------------------


# Served by ``workbench serve`` (workbench/server/static/review/agent.js); the same path is
# mounted there, and a deploy command receives the full URL as {agent_url}.
REVIEW_AGENT_PATH = "/static/review/agent.js"
# The site widget, which answers the review page too (its review mode); a deploy command gets {widget_url}.
WIDGET_PATH = "/widget.js"


def local_base(env: Mapping[str, str] | None = None) -> str:
    """The base of a front end with no request to take one from (the TUI, a deployment run offline):
    ``WORKBENCH_PUBLIC_URL``, else the default address of ``workbench serve``."""
    return ((os.environ if env is None else env).get("WORKBENCH_PUBLIC_URL") or DEFAULT_BASE).rstrip("/")


def start(wb: Workbench, store: Storefront, *, actor: str | None = None) -> FeedbackSession:
    """A new session in ``created``; the caller runs ``deploy`` next (the server in the background)."""
    if not store.ai_built:
        raise Invalid("Store is not AI-built: feedback sessions are only available for AI-built stores")
    now = wb.clock()
    session_id = new_id(now)
    token = mint_secret(REVIEW_TOKEN_PREFIX)
    session = FeedbackSession(
        id=session_id, store_id=store.id, status=fs.FeedbackStatus.CREATED.value, feedback_url=review_path(session_id, token),
        review_token=token, deployment_url=None, error_message=None, created_at=now, updated_at=now,
    )
    with wb.store.write() as db:
        if repo.active_session(db, store.id, _ACTIVE) is not None:
            raise Conflict("A feedback session is already in progress")
        try:
            repo.add_session(db, session)
        except sqlite3.IntegrityError:
            # The partial unique index caught a writer this transaction could not see.
            raise Conflict("A feedback session is already in progress") from None
        audit_as(wb, db, workspace_id=store.workspace_id, actor=actor or store_actor(store), action="feedback_session.start",
                 entity_type="feedback_session", entity_id=session_id, at=now)
    return session


def deploy(
    wb: Workbench, session_id: str, env: Mapping[str, str] | None = None, *, base_url: str | None = None
) -> FeedbackSession | None:
    """Deploy the preview of a ``created`` session and record the outcome (in_review or interrupted).

    ``base_url`` is where browsers reach this server, for the deploy command's absolute fields
    (default ``local_base``). Safe to run twice or late: a session that left ``created``
    meanwhile (canceled while the command ran, or deployed by another process) is left as it is.
    """
    db = wb.store.db
    session = repo.get_session_any(db, session_id)
    if session is None or session.status != fs.FeedbackStatus.CREATED.value:
        return session
    store = repo.get_store(db, session.store_id)
    assert store is not None
    values: dict[str, Any]
    env = os.environ if env is None else env
    try:
        url = deploy_preview(session, store, env, (base_url or local_base(env)).rstrip("/"))
        action, values = fs.FeedbackAction.DEPLOY_SUCCEEDED, {"deployment_url": url, "error_message": None}
    except DeployFailed as exc:
        action, values = fs.FeedbackAction.DEPLOY_FAILED, {"error_message": str(exc)}
    except Exception as exc:  # a crashing deployer must not leave the round preparing forever
        log.exception("preview deployment of %s crashed", session_id)
        action, values = fs.FeedbackAction.DEPLOY_FAILED, {"error_message": f"Deployment crashed: {type(exc).__name__}"}
    now = wb.clock()
    with wb.store.write() as db:
        current = repo.get_session_any(db, session_id)
        if current is None or current.status != fs.FeedbackStatus.CREATED.value:
            return current
        target = fs.apply(current.status, action)
        repo.update_session(db, session_id, {"status": target.value, **values, "updated_at": now})
        audit_as(wb, db, workspace_id=store.workspace_id, actor=DEPLOY_ACTOR, action=f"feedback_session.{action.value}",
                 entity_type="feedback_session", entity_id=session_id, detail=values, at=now)
        return repo.get_session_any(db, session_id)


def deploy_preview(session: FeedbackSession, store: Storefront, env: Mapping[str, str], base: str) -> str:
    """The deploymentUrl of a fresh preview, by the configured method; DeployFailed otherwise.

    A command or template gets absolute URLs on ``base`` (a preview on another origin needs
    them); the default preview is this server's, so it is returned as a path.
    """
    fields = {"session_id": session.id, "store_id": store.id, "feedback_url": on_base(session.feedback_url, base) or "",
              # The review agent a preview on another origin loads so the review page can pin on it.
              "agent_url": f"{base}{REVIEW_AGENT_PATH}",
              "widget_url": f"{base}{WIDGET_PATH}"}
    command = (env.get("WORKBENCH_DEPLOY_COMMAND") or "").strip()
    if command:
        return _run_command(command, fields, env)
    template = (env.get("WORKBENCH_DEPLOY_URL_TEMPLATE") or "").strip()
    if template:
        try:
            return template.format(**fields)
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise DeployFailed(f"WORKBENCH_DEPLOY_URL_TEMPLATE is invalid: {exc!r}") from None
    return preview_path(session.id)


# The team server's database credentials, which a script building previews has no use for, and
# whose stderr tail becomes the session's errorMessage, which API clients read: the URL (on its
# own, and inside each worker's settings, workbench/server/worker.py) and libpq's password.
UNINHERITED = ("WORKBENCH_DATABASE_URL", "WORKBENCH_WORKER_CONFIG", "PGPASSWORD")


def _deploy_timeout(value: str | None) -> float:
    """``WORKBENCH_DEPLOY_TIMEOUT`` in seconds (unset or empty: the default). A value that is no positive
    number interrupts the round in words, as a bad command does: "abc" was 600 s without a word, and
    "-5" a round interrupted at once as "timed out after -5 seconds"."""
    if not (value or "").strip():
        return DEFAULT_DEPLOY_TIMEOUT
    try:
        seconds = float(value or "")
    except ValueError:
        seconds = math.nan
    if not (0 < seconds < math.inf):
        raise DeployFailed(f"WORKBENCH_DEPLOY_TIMEOUT is invalid: {value!r} is not a positive number of seconds")
    return seconds


def _run_command(template: str, fields: dict[str, str], env: Mapping[str, str]) -> str:
    try:
        command = template.format(**{k: shlex.quote(v) for k, v in fields.items()})
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise DeployFailed(f"WORKBENCH_DEPLOY_COMMAND is invalid: {exc!r}") from None
    timeout = _deploy_timeout(env.get("WORKBENCH_DEPLOY_TIMEOUT"))
    child_env = {**os.environ, **env, "WORKBENCH_SESSION_ID": fields["session_id"], "WORKBENCH_STORE_ID": fields["store_id"]}
    for name in UNINHERITED:
        child_env.pop(name, None)
    try:
        done = subprocess.run(  # the operator's own configured command
            command, shell=True, capture_output=True, text=True, timeout=timeout, env=child_env, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise DeployFailed(f"Deploy command timed out after {timeout:g} seconds") from None
    except OSError as exc:
        raise DeployFailed(f"Deploy command could not start: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or "").strip()[-ERROR_TAIL:]
        raise DeployFailed(tail or f"Deploy command exited with status {done.returncode}")
    lines = [line.strip() for line in (done.stdout or "").splitlines() if line.strip()]
    url = lines[-1] if lines else ""
    if not url.startswith(("http://", "https://")) or " " in url:
        raise DeployFailed("Deploy command did not print a deployment URL (http or https) on its last line")
    return url


def pending_deployments(wb: Workbench) -> list[str]:
    """Sessions still in ``created`` (a server stopped mid-deployment): deploy each again."""
    return repo.session_ids_in_status(wb.store.db, fs.FeedbackStatus.CREATED.value)


def resume_local_deployments(wb: Workbench) -> int:
    """Deploy every round left ``created`` in this store's own workspaces; how many were deployed.

    What the server's startup sweep does for its database, for a local store (the TUI at start):
    a round started by a process that stopped before its preview was deployed read "preparing"
    forever, and no other round could start on its store. A replica's rounds are left alone:
    their deployment is the server's.
    """
    from storage import sync_state

    done = 0
    for session_id in pending_deployments(wb):
        with wb.store.read() as db:
            session = repo.get_session_any(db, session_id)
            store = repo.get_store(db, session.store_id) if session is not None else None
            if store is None or sync_state.is_replica(db, store.workspace_id):
                continue
        got = deploy(wb, session_id)
        done += got is not None and got.status != fs.FeedbackStatus.CREATED.value
    return done


# --- reads ------------------------------------------------------------------------------------


def _load(db: Connection, store: Storefront, session_id: str) -> FeedbackSession:
    session = repo.get_session(db, store.id, session_id)
    if session is None:
        raise NotFound("Feedback session not found")
    return session


def list_sessions(
    wb: Workbench, store: Storefront, *, limit: str | None = None, offset: str | None = None, status: str | None = None
) -> tuple[list[FeedbackSession], dict[str, int]]:
    """A page, newest first, and the document's meta; ``count`` is the total matching the filter."""
    query = fs.parse_list_query(limit, offset, status)
    wanted = query.status.value if query.status else None
    with wb.store.read() as db:
        rows = repo.list_sessions(db, store.id, status=wanted, limit=query.limit, offset=query.offset)
        total = repo.count_sessions(db, store.id, status=wanted)
    return rows, {"count": total, "offset": query.offset, "limit": query.limit}


def tree_digest(wb: Workbench, store: Storefront) -> str:
    """Changes whenever any of the store's sessions or their comments does (for the list's ETag)."""
    with wb.store.read() as db:
        return repo.tree_digest(db, store.id)


def progress_of(db: Connection, session: FeedbackSession, now_ms: int) -> fs.Progress:
    facts = [
        fs.CommentFact(status=fs.CommentStatus(c.status), created_at=from_ms(c.created_at), resolved_at=from_ms(c.resolved_at) if c.resolved_at else None)
        for c in repo.list_comments(db, session.id)
    ]
    return fs.compute_progress(status=session.status, comments=facts, now=from_ms(now_ms), session_created_at=from_ms(session.created_at))


def get(wb: Workbench, store: Storefront, session_id: str, *, base: str | None = None) -> dict[str, Any]:
    """The session object with its ``progress``, its URLs on ``base`` (default ``local_base``)."""
    with wb.store.read() as db:
        session = _load(db, store, session_id)
        progress = progress_of(db, session, wb.clock())
    return {**session.to_public(base or local_base()), "progress": progress.to_public()}


def preview_exists(wb: Workbench, session_id: str) -> bool:
    """Whether the default (offline) preview URL of ``session_id`` names a session."""
    return repo.get_session_any(wb.store.db, session_id) is not None


def names_reviewers(wb: Workbench, store: Storefront) -> bool:
    """Whether ``store``'s comments carry their reviewers' names here: a replica's came through the
    documented API, whose comments have no reviewer name, so a missing one there is unknown, not
    an anonymous reviewer."""
    from storage import sync_state

    return not sync_state.is_replica(wb.store.db, store.workspace_id)


def list_comments(wb: Workbench, store: Storefront, session_id: str) -> list[FeedbackComment]:
    with wb.store.read() as db:
        _load(db, store, session_id)
        return repo.list_comments(db, session_id)


# --- lifecycle actions ------------------------------------------------------------------------


def act(
    wb: Workbench, store: Storefront, session_id: str, action: fs.FeedbackAction | str, *,
    error_message: str | None = None, actor: str | None = None,
) -> FeedbackSession:
    """Apply one transition of the domain's table (cancel, finalize and the extension actions)."""
    action = fs.FeedbackAction(action)
    if action not in CALLER_ACTIONS:
        raise Invalid(f"{action.value} is recorded by the deployment job, not requested")
    now = wb.clock()
    with wb.store.write() as db:
        session = _load(db, store, session_id)
        target = fs.apply(session.status, action)
        values: dict[str, Any] = {"status": target.value, "updated_at": now}
        if action is fs.FeedbackAction.BUILDER_FAILED:
            values["error_message"] = (error_message or "").strip()[:ERROR_TAIL] or "The builder failed to apply the tasks"
        repo.update_session(db, session_id, values)
        ops.FEEDBACK_ACTION.enqueue(  # outbox, same transaction (replica stores only)
            db, store, session_id, action.value, session.status, target.value, now, values.get("error_message"))
        audit_as(wb, db, workspace_id=store.workspace_id, actor=actor or store_actor(store),
                 action=f"feedback_session.{action.value}", entity_type="feedback_session", entity_id=session_id,
                 detail={"from": session.status, "to": target.value}, at=now)
        updated = repo.get_session(db, store.id, session_id)
    assert updated is not None
    return updated


def cancel(wb: Workbench, store: Storefront, session_id: str) -> FeedbackSession:
    return act(wb, store, session_id, fs.FeedbackAction.CANCEL)


def finalize(wb: Workbench, store: Storefront, session_id: str) -> FeedbackSession:
    return act(wb, store, session_id, fs.FeedbackAction.FINALIZE)


# --- comments ---------------------------------------------------------------------------------


def _reviewer_session(db: Connection, session_id: str, review_token: str | None) -> FeedbackSession:
    if not review_token:
        raise Unauthenticated("Missing review token: send the token of the session's feedbackUrl in X-Review-Token")
    session = repo.get_session_any(db, session_id)
    if session is None:
        raise NotFound("Feedback session not found")
    if not same_secret(session.review_token, review_token):
        raise Unauthenticated("Review token does not match this session")
    # Checked after the token, so only a holder of the link learns the workspace's state.
    store = repo.get_store(db, session.store_id)
    ws = accounts_repo.get_workspace(db, store.workspace_id) if store is not None else None
    if ws is None or ws.deleted_at is not None:
        raise ReviewClosed(WORKSPACE_DELETED)
    return session


def add_comment(wb: Workbench, session_id: str, review_token: str | None, req: fs.CommentCreate) -> FeedbackComment:
    """Extension (the reviewers' widget): pin a comment; the engine writes its task instruction."""
    session = _reviewer_session(wb.store.db, session_id, review_token)
    fs.ensure_can_comment(session.status)
    # Outside the transaction: an engine may be slow (HTTP), and the write lock is shared.
    try:
        instruction: str | None = wb.engine.task_instruction(req.content, req.pagePath).text or None
    except Exception:  # the comment matters more than its generated instruction
        log.exception("task instruction failed for a comment on %s", session_id)
        instruction = None
    now = wb.clock()
    comment = FeedbackComment(
        id=new_id(now), session_id=session_id, content=req.content, page_path=req.pagePath, selector=req.selector,
        offset_x=req.offsetX, offset_y=req.offsetY, pin_x=req.pinX, pin_y=req.pinY, reviewer_name=req.reviewerName,
        status=fs.CommentStatus.OPEN.value, task_instruction=instruction, created_at=now, resolved_at=None, updated_at=now,
    )
    with wb.store.write() as db:
        current = _reviewer_session(db, session_id, review_token)
        fs.ensure_can_comment(current.status)
        store = repo.get_store(db, current.store_id)
        assert store is not None
        repo.add_comment(db, comment)
        audit_as(wb, db, workspace_id=store.workspace_id, actor=f"reviewer:{req.reviewerName or 'anonymous'}",
                 action="feedback_comment.create", entity_type="feedback_comment", entity_id=comment.id,
                 detail={"session_id": session_id, "page_path": req.pagePath}, at=now)
    return comment


def reviewer_comments(wb: Workbench, session_id: str, review_token: str | None) -> tuple[FeedbackSession, list[FeedbackComment]]:
    """Extension (the reviewers' widget): the session and its comments with their pins."""
    with wb.store.read() as db:
        session = _reviewer_session(db, session_id, review_token)
        return session, repo.list_comments(db, session_id)


def set_comment_resolved(
    wb: Workbench, store: Storefront, session_id: str, comment_id: str, resolved: bool, *, actor: str | None = None
) -> FeedbackComment:
    """Extension: resolve or reopen a comment (this is what drives progress). Idempotent."""
    now = wb.clock()
    with wb.store.write() as db:
        session = _load(db, store, session_id)
        comment = repo.get_comment(db, session_id, comment_id)
        if comment is None:
            raise NotFound("Comment not found")
        fs.ensure_can_triage(session.status)
        target = fs.CommentStatus.RESOLVED if resolved else fs.CommentStatus.OPEN
        if comment.status != target.value:
            repo.update_comment(db, comment_id, {"status": target.value, "resolved_at": now if resolved else None, "updated_at": now})
            ops.FEEDBACK_COMMENT.enqueue(db, store, session_id, comment_id, resolved, now)  # outbox (replicas only)
            audit_as(wb, db, workspace_id=store.workspace_id, actor=actor or store_actor(store),
                     action="feedback_comment.resolve" if resolved else "feedback_comment.reopen",
                     entity_type="feedback_comment", entity_id=comment_id, detail={"session_id": session_id}, at=now)
        updated = repo.get_comment(db, session_id, comment_id)
    assert updated is not None
    return updated
