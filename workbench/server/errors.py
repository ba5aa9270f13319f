"""Map domain refusals and validation failures to the document's HTTP codes and bodies.

400 for bad query values, unknown statuses, tampered cursors and a list parameter given twice;
422 when a request body does not match its schema; 401 always carries the ``WWW-Authenticate``
challenge; every 405 names in ``Allow`` all the methods of its path; a path with a trailing
slash is the 404 of a path no route serves, naming its one spelling (the app never redirects
it). ``error_responses`` declares the refusals in OpenAPI, with their body schema, for the routers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from contextlib import AsyncExitStack
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.utils import solve_dependencies
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from workbench.domain.errors import DomainError, Invalid
from workbench.domain.media_types import media_type
from workbench.domain.safe_text import refuse_nul_parameters
from workbench.server.responses import JSON


class ErrorDetail(BaseModel):
    """Every refusal's body: a message, or for a 422 the list of fields that failed."""

    detail: str | list[dict[str, Any]] = Field(examples=["Insufficient role"])


class CodedErrorDetail(ErrorDetail):
    """A refusal a client tells apart by ``code`` (one value per route, named in its description), not by its words."""

    # Absent from the route's other refusals of the same status (a trailing slash's 404 is every path's).
    code: str | None = Field(default=None, examples=["upload_not_found"])


_WHY: dict[int, str] = {
    400: "A query value, header or rule of the documents is broken (the message says which)",
    401: "Missing, malformed, unknown, revoked or expired credential (with WWW-Authenticate)",
    403: "The credential is known but its role does not allow this",
    404: "Absent, or in a workspace or site the credential cannot see",
    409: "The current state refuses the action",
    412: "If-Match no longer matches the current version",
    413: "The body or file is over its size cap",
    422: "The body does not match its schema",
    429: "Rate limit reached (the body names the bucket); retry once Retry-After has passed",
}

# The headers a refusal carries, declared with it: a client generated from the schema reads them.
_HEADERS: dict[int, dict[str, Any]] = {
    429: {"Retry-After": {
        "description": "Whole seconds until the full bucket admits a request again (rounded up, at least 1): "
                       "what is left of its window, not the window",
        "schema": {"type": "integer", "minimum": 1},
    }},
}

# What any authenticated operation can answer; a router declares these once.
COMMON_ERRORS = (400, 401, 403, 404, 422, 429)


def error_responses(*codes: int, model: Any = ErrorDetail, why: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for refusals: each code with its body schema and why it happens."""
    return {
        code: {"model": model, "description": (why or {}).get(code, _WHY[code]), **({"headers": _HEADERS[code]} if code in _HEADERS else {})}
        for code in codes
    }


STATUS_OF = {
    "invalid": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "not_for_this_caller": 422,
    "precondition_failed": 412,
}


def challenge(description: str) -> dict[str, str]:
    safe = description.replace("\\", "").replace('"', "'")
    return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{safe}"'}


def domain_error_response(exc: DomainError) -> JSON:
    status = STATUS_OF.get(exc.kind, 400)
    headers = challenge(exc.message) if status == 401 else None
    return JSON({"detail": exc.message}, status_code=status, headers=headers)


def read_errors(exc: RequestValidationError, content_type: str | None) -> list[dict[str, Any]]:
    """``exc``'s errors, a body sent as something other than JSON named as such.

    FastAPI reads a body as JSON only under a JSON content type; any other (curl's ``-d`` sends
    ``application/x-www-form-urlencoded`` unless told) reaches the model as raw bytes, and the
    client was told "Input should be a valid dictionary or object", which says nothing of why.
    """
    errors = list(exc.errors())
    if not any(tuple(e.get("loc", ())) == ("body",) and isinstance(e.get("input"), bytes) for e in errors):
        return errors
    sent = media_type(content_type) or "no Content-Type"
    return [
        {"type": "json_expected", "loc": ("body",), "msg": f"Expected a JSON body, sent with Content-Type: application/json (got {sent})"}
        if tuple(e.get("loc", ())) == ("body",) and isinstance(e.get("input"), bytes) else e
        for e in errors
    ]


def _validation_response(exc: RequestValidationError, content_type: str | None) -> JSON:
    errors = read_errors(exc, content_type)
    body_errors = [e for e in errors if e.get("loc", ("",))[0] == "body"]
    if not body_errors:
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return JSON({"detail": f"Invalid {where}: {first.get('msg', 'bad value')}"}, status_code=400)
    status_errors = [e for e in body_errors if tuple(e.get("loc", ()))[-1:] == ("status",)
                     and e.get("type") == "literal_error" and isinstance(e.get("input"), str)]
    if status_errors and len(status_errors) == len(body_errors):
        # "Unknown status values 400 at request validation." Only a string is a status value at
        # all: a list, a number or a boolean is a body that does not match its schema (422).
        return JSON({"detail": f"Unknown status {status_errors[0].get('input')!r}"}, status_code=400)
    clean = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
    return JSON({"detail": clean}, status_code=422)


def undecodable_error(cause: UnicodeDecodeError) -> dict[str, Any]:
    """A JSON body that is not UTF-8: FastAPI's parser calls it a 400 "error parsing the body"; it
    is malformed JSON like any other (RFC 8259 requires UTF-8), so it is answered as FastAPI answers those."""
    return {"loc": ["body", cause.start], "msg": "JSON decode error: the body is not valid UTF-8", "type": "json_invalid"}


def _undecodable_body(cause: UnicodeDecodeError) -> JSON:
    return JSON({"detail": [undecodable_error(cause)]}, status_code=422)


def unparsed_body(exc: RequestValidationError) -> bool:
    return any(e.get("type") == "json_invalid" for e in exc.errors())


async def caller_refusal(request: Request) -> DomainError | None:
    """What the matched route's dependencies (its caller's authentication) refuse, if anything.

    FastAPI parses a JSON body before it solves any dependency, so a body that is not JSON
    was a 422 even to a caller with no credential, or a revoked or expired one: the 401 that
    tells a client to stop retrying with that credential came only once the body was fixed.
    A body that matches its schema or not is already judged after the caller; this puts the
    caller first for a body that does not parse either. The route's body is not read again:
    its fields are only reported missing, and dropped with the rest of the solved values.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    try:
        async with AsyncExitStack() as stack:
            await solve_dependencies(
                request=request, dependant=route.dependant, dependency_overrides_provider=route.dependency_overrides_provider,
                async_exit_stack=stack, embed_body_fields=False,
            )
    except DomainError as refusal:
        return refusal
    return None


def refuse_repeated_parameters(params: Iterable[tuple[str, str]], names: Collection[str]) -> None:
    """A list parameter given twice (``status=new&status=ack``, ``limit=5&limit=9``) is a 400 naming
    it: read last-wins it would silently drop rows a client meant to ask for (OR), or page with a
    cursor or limit the client never meant (a typo, a query string built by appending)."""
    seen: set[str] = set()
    for name, _ in params:
        if name in names:
            if name in seen:
                raise Invalid(f"Invalid {name}: given more than once; each query parameter takes one value")
            seen.add(name)


async def refuse_repeated_query(request: Request) -> None:
    """Every list's dependency (``deps.OneValueEach``): the route's declared query parameters, each at
    most once. The names are read from the route itself, so a parameter added to a list is covered
    with no second list of names to keep. A coroutine, so FastAPI runs it on the loop (no threadpool hop)."""
    refuse_repeated_parameters(request.query_params.multi_items(), declared_query_names(request.scope.get("route")))


# Per route object (routes compare by value, so are no dict keys): id -> (the route, its names).
_DECLARED: dict[int, tuple[object, frozenset[str]]] = {}


def declared_query_names(route: object) -> frozenset[str]:
    """The query parameters ``route`` declares, its dependencies' included; a query model
    (``Annotated[PageQuery, Query()]``) stands for its fields, as FastAPI reads it."""
    if not isinstance(route, APIRoute):
        return frozenset()
    known = _DECLARED.get(id(route))
    if known is not None and known[0] is route:
        return known[1]
    names = _read_query_names(route)
    _DECLARED[id(route)] = (route, names)  # keeps the route alive, so its id is never another's
    return names


def _read_query_names(route: APIRoute) -> frozenset[str]:
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        for field in dependant.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                names.update(info.alias or name for name, info in model.model_fields.items())
            else:
                names.add(field.alias)
        pending.extend(dependant.dependencies)
    return frozenset(names)


def not_found_detail(path: str) -> str:
    """A 404's message: a path with a trailing slash is told its one spelling (no route takes the
    slash, and none is redirected: a client following a redirect re-sends its body blind, and may
    drop its Authorization header)."""
    if path.endswith("/") and path != "/":
        return f"Not Found: {path} (paths here take no trailing slash: {path.rstrip('/') or '/'})"
    return "Not Found"


async def refuse_nul_in_parameters(request: Request) -> None:
    """Every route's path and query parameters, NUL-free like the request bodies' strings: a NUL is
    never text a person meant, and PostgreSQL cannot even be asked about one (400 on both engines)."""
    refuse_nul_parameters((*request.path_params.items(), *request.query_params.multi_items()))


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSON:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSON:
        if unparsed_body(exc) and (refusal := await caller_refusal(request)) is not None:
            return domain_error_response(refusal)
        return _validation_response(exc, request.headers.get("content-type"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSON:
        if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
            refusal = await caller_refusal(request)
            return domain_error_response(refusal) if refusal is not None else _undecodable_body(exc.__cause__)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":  # no route (or file) at this path
            detail = not_found_detail(request.scope["path"])
        return JSON({"detail": detail}, status_code=exc.status_code, headers=headers or None)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path, for the 405's ``Allow`` (RFC 9110 §15.5.6).

    Starlette's router stops at the first route whose path matches, so its own ``Allow``
    named only that route's methods (GET for an annotation, whose PATCH is another route).
    """
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):  # included routers flattened
        if route.path and route.methods and _path_regex(route.path).match(request.scope["path"]):
            methods |= route.methods
    return ", ".join(sorted(methods))


@lru_cache(maxsize=512)
def _path_regex(path: str) -> re.Pattern[str]:
    return compile_path(path)[0]
