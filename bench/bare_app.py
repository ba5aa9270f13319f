"""The baseline: a bare Starlette endpoint returning a precomputed body (read from a file at start)."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = open(os.environ["BENCH_BODY_FILE"], "rb").read()  # noqa: SIM115 - read once at import


async def page(_request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/page", page)])
