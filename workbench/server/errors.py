"""Map domain refusals and validation failures to the document's HTTP codes and bodies.

400 for bad query values, unknown statuses and tampered cursors; 422 when a request body
does not match its schema; 401 always carries the ``WWW-Authenticate`` challenge.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from workbench.server.responses import JSON
from starlette.exceptions import HTTPException as StarletteHTTPException

from workbench.domain.errors import DomainError

STATUS_OF = {
    "invalid": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "too_large": 413,
    "precondition_failed": 412,
}


def challenge(description: str) -> dict[str, str]:
    safe = description.replace("\\", "").replace('"', "'")
    return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{safe}"'}


def domain_error_response(exc: DomainError) -> JSON:
    status = STATUS_OF.get(exc.kind, 400)
    headers = challenge(exc.message) if status == 401 else None
    return JSON({"detail": exc.message}, status_code=status, headers=headers)


def _validation_response(exc: RequestValidationError) -> JSON:
    errors = exc.errors()
    body_errors = [e for e in errors if e.get("loc", ("",))[0] == "body"]
    if not body_errors:
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return JSON({"detail": f"Invalid {where}: {first.get('msg', 'bad value')}"}, status_code=400)
    status_errors = [e for e in body_errors if tuple(e.get("loc", ()))[-1:] == ("status",) and e.get("type") == "literal_error"]
    if status_errors and len(status_errors) == len(body_errors):
        # "Unknown status values 400 at request validation."
        return JSON({"detail": f"Unknown status {status_errors[0].get('input')!r}"}, status_code=400)
    clean = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
    return JSON({"detail": clean}, status_code=422)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSON:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSON:
        return _validation_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSON:
        return JSON({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
