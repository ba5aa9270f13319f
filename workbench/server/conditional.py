"""Conditional GET (weak ``ETag`` / ``If-None-Match`` -> 304) for the bundled server's sites and session lists.

The documents give feedback sessions and test sessions no ``since``, so a replica would
re-read every list, and the children under it, on each sync; annotations have ``since``, but
one request per site. Here the list's ETag is a digest of the whole tree under it (sites and
the workspace's annotation change counter; sessions and their comments; studies, their
sessions, notes and feedback) plus the query string, and the ``Workbench-ETag-Covers`` header
names the children it covers, so a 304 tells a replica that nothing below the list moved
either. A client that does not know the header just gets a plain conditional GET.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

COVERS_HEADER = "Workbench-ETag-Covers"


def etag_matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored; "*" matches any current representation.
    wanted = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def conditional(request: Request, digest: str, covers: str, build: Callable[[], Response]) -> Response:
    """A 304 when the caller's ``If-None-Match`` names the current ETag, else ``build()`` with the ETag set."""
    etag = 'W/"' + hashlib.blake2b(f"{digest}?{request.url.query}".encode(), digest_size=16).hexdigest() + '"'
    headers = {"ETag": etag, COVERS_HEADER: covers}
    inm = request.headers.get("if-none-match")
    if inm and len(inm) <= 1000 and etag_matches(inm, etag):
        return Response(status_code=304, headers=headers)
    resp = build()  # read after the digest: a write in between only makes the next request a 200
    resp.headers.update(headers)
    return resp
