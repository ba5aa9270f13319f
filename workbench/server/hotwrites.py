"""Triage writes (PATCH an annotation, POST a reply) answered ahead of the middleware stack.

Under mixed load (issue 16: 90 % list reads, 10 % writes) these two writes cost the event loop
about three times their use case: route matching, dependency solving and FastAPI's body
handling took more CPU than the SQLite transaction. Then, in front of the router only, the
stack's ten layers above it still cost a PATCH 53-71 us of ~230 in process (FastAPI's error, telemetry
and body-limit layers, then the app's own), while of those layers only two act on these writes:
the rate limits and the body bounds. So this layer sits ahead of the stack, as the list's hot
path does (hotpath.py), and does what those two do itself: it counts the request in the same
``RateLimiter`` and reads the body with the same bounds (``limits.bounded_body``: 413, 408).
The others act on other paths (the sessions envelope, widget CORS, the docs policy), on keyed
requests (idempotency: a POST with an Idempotency-Key goes to the stack unread), or on a store
refusal (answered here as the stack's outermost layer does, ``write_failed``).

It answers a request it is sure of (authenticated, a JSON body the route's model accepts, a
well-formed If-Match) with the very functions the declared route calls, and a refusal from the
use case exactly as the app's handler renders it. Anything else goes to the stack before
anything is counted or read (a query string, another framing than one Content-Length within
the cap), or, once counted, with its body and marked counted (``ratelimit.COUNTED``: a bad body,
a refused caller, an odd content type), so every validation answer is the route's own.
"""

from __future__ import annotations

import re

import orjson
from pydantic import BaseModel, ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from storage.failures import StoreWriteFailed
from workbench.domain.annotations import AnnotationPatch, ReplyCreate
from workbench.domain.errors import DomainError
from workbench.domain.media_types import media_type
from workbench.server import write_failed
from workbench.server.deps import authenticated
from workbench.server.errors import domain_error_response
from workbench.server.limits import bounded_body, declared_length, replay_body
from workbench.server.ratelimit import COUNTED, RateLimiter
from workbench.server.routes.annotations import if_match_header, parse_if_match, patched, replied
from workbench.server.settings import ServerSettings
from workbench.services.context import Workbench

PATCH_PATH = re.compile(r"^/api/v1/annotations/([^/]+)$")
REPLY_PATH = re.compile(r"^/api/v1/annotations/([^/]+)/replies$")


def _json_content(headers: Headers) -> bool:
    """The content types FastAPI reads a body as JSON for: none, ``application/json`` and ``application/*+json``."""
    value = headers.get("content-type")
    if value is None:
        return True
    kind = media_type(value)
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class HotWritesMiddleware:
    def __init__(self, app: ASGIApp, wb: Workbench, limiter: RateLimiter, settings: ServerSettings) -> None:
        self.app = app
        self.wb = wb
        self.limiter = limiter
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _route(scope)
        length = declared_length(scope) if route is not None else None
        if route is None or length is None or length > self.settings.max_body_bytes or _keyed(scope):
            await self.app(scope, receive, send)  # the stack's layers judge it, from the first
            return
        refused, _ = await self.limiter.counted(scope, send)
        if refused:
            return
        annotation_id, model = route
        raw = await bounded_body(receive, send, self.settings.max_body_bytes, self.settings.body_timeout_seconds)
        if raw is None:
            return  # refused (413, 408) or the client left
        headers = Headers(scope=scope)
        body = _body(raw, headers, model)
        try:
            caller = await authenticated(self.wb, headers.get("authorization"), headers.get("x-gf-workspace")) if body is not None else None
            if_version = parse_if_match(if_match_header(headers))
        except DomainError:
            caller = if_version = None  # the route refuses it, in the order its dependencies run
        if body is None or caller is None:
            scope[COUNTED] = True
            await self.app(scope, replay_body(raw, receive), send)
            return
        try:
            if isinstance(body, AnnotationPatch):
                response = await patched(self.wb, caller, annotation_id, body, if_version)
            else:
                assert isinstance(body, ReplyCreate)
                response = await replied(self.wb, caller, annotation_id, body)
        except DomainError as exc:
            response = domain_error_response(exc)
        except StoreWriteFailed as exc:  # the disk refused it: the route's own answer (write_failed.py)
            response = write_failed.answer(exc, scope)
        await response(scope, receive, send)


def _keyed(scope: Scope) -> bool:
    """A POST with an Idempotency-Key: idempotency's (in the stack) to record and answer."""
    return scope["method"] == "POST" and any(name == b"idempotency-key" for name, _ in scope["headers"])


def _route(scope: Scope) -> tuple[str, type[BaseModel]] | None:
    """The annotation id and the body's model of a write this layer answers, else None."""
    if scope["type"] != "http" or scope["query_string"]:  # a query is the router's to refuse or ignore
        return None
    if scope["method"] == "PATCH":
        match, model = PATCH_PATH.match(scope["path"]), AnnotationPatch
    elif scope["method"] == "POST":
        match, model = REPLY_PATH.match(scope["path"]), ReplyCreate
    else:
        return None
    if match is None or "\x00" in match.group(1):
        return None
    return match.group(1), model


def _body(raw: bytes, headers: Headers, model: type[BaseModel]) -> BaseModel | None:
    """The body as the route's model, or None where the route should judge it."""
    if not raw or not _json_content(headers):
        return None
    try:
        # orjson accepts a subset of what json.loads (FastAPI's parser) does, and reads it the same.
        return model.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError):
        return None
