"""Routes: the widget's script and its lazily loaded screenshot library, shipped inside the package.

Both are read once, at import, with their gzip form and a content ETag, so a page load costs a
dictionary lookup and, for a returning visitor, a 304.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["extensions"])

# Short enough that a new release reaches pages within minutes; the ETag makes revalidation a 304.
CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"


@dataclass(frozen=True, slots=True)
class Asset:
    raw: bytes
    gzipped: bytes
    etag: str


def _load(name: str) -> Asset:
    raw = resources.files("workbench.server").joinpath("static", name).read_bytes()
    return Asset(raw, gzip.compress(raw, compresslevel=9, mtime=0), '"' + hashlib.sha256(raw).hexdigest()[:32] + '"')


ASSETS = {name: _load(name) for name in ("widget.js", "html-to-image.js")}


def _serve(request: Request, asset: Asset) -> Response:
    headers = {"ETag": asset.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type="text/javascript; charset=utf-8", headers=headers)
    return Response(asset.raw, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/widget.js", include_in_schema=False, summary="Extension: the site widget (one script tag, see README)", response_class=Response)
def widget_js(request: Request) -> Response:
    return _serve(request, ASSETS["widget.js"])


@router.get("/widget/html-to-image.js", include_in_schema=False, response_class=Response,
            summary="Extension: the screenshot library the widget loads when it captures")
def html_to_image_js(request: Request) -> Response:
    return _serve(request, ASSETS["html-to-image.js"])
