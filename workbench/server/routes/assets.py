"""Routes: the widget's loader, its app and the screenshot library, shipped inside the package.

The loader (``/widget.js``) is the one tag a site carries, and the host page's load event waits for
it, so it is small and short-lived in caches (a release reaches pages within minutes). It names the
app by a hash of its content (``/widget/app.<hash>.js``), so the app, the bulk of the code, is cached
for good and fetched once per browser, after the page has loaded. Each file is read once, at import,
with its gzip form and a content ETag: a request costs a dictionary lookup, a returning visitor a 304.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

router = APIRouter(tags=["extensions"])

# Short enough that a new release reaches pages within minutes; the ETag makes revalidation a 304.
SHORT_CACHE = "public, max-age=300, stale-while-revalidate=86400"
# A hashed name never changes content: browsers keep it without asking again.
IMMUTABLE = "public, max-age=31536000, immutable"
# Where the loader writes the app's file name (static/widget.js).
APP_PLACEHOLDER = b"__GF_APP__"


@dataclass(frozen=True, slots=True)
class Asset:
    raw: bytes
    gzipped: bytes
    etag: str
    cache_control: str


def _read(name: str) -> bytes:
    return resources.files("workbench.server").joinpath("static", name).read_bytes()


def _asset(raw: bytes, cache_control: str) -> Asset:
    digest = hashlib.sha256(raw).hexdigest()[:32]
    return Asset(raw, gzip.compress(raw, compresslevel=9, mtime=0), f'"{digest}"', cache_control)


APP = _asset(_read("widget-app.js"), IMMUTABLE)
APP_VERSION = APP.etag.strip('"')[:16]
APP_NAME = f"app.{APP_VERSION}.js"
LOADER = _asset(_read("widget.js").replace(APP_PLACEHOLDER, APP_NAME.encode()), SHORT_CACHE)
SCREENSHOT_LIB = _asset(_read("html-to-image.js"), SHORT_CACHE)


def _serve(request: Request, asset: Asset) -> Response:
    # Timing-Allow-Origin: a site owner's performance tools may see what the widget costs their page.
    headers = {"ETag": asset.etag, "Cache-Control": asset.cache_control, "Vary": "Accept-Encoding", "Timing-Allow-Origin": "*"}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type="text/javascript; charset=utf-8", headers=headers)
    return Response(asset.raw, media_type="text/javascript; charset=utf-8", headers=headers)


@router.get("/widget.js", include_in_schema=False, response_class=Response,
            summary="Extension: the site widget's loader (one script tag, see README)")
async def widget_js(request: Request) -> Response:
    return _serve(request, LOADER)


@router.get("/widget/app.{version}.js", include_in_schema=False, response_class=Response,
            summary="Extension: the site widget itself, which its loader adds after the page's load")
async def widget_app_js(request: Request, version: str) -> Response:
    if version != APP_VERSION:
        # A loader cached before an upgrade names the previous app: send it to this one (relative, so
        # a path prefix in front of the server is kept), and let nothing keep the detour.
        return RedirectResponse(APP_NAME, status_code=302, headers={"Cache-Control": "no-store"})
    return _serve(request, APP)


@router.get("/widget/html-to-image.js", include_in_schema=False, response_class=Response,
            summary="Extension: the screenshot library the widget loads when it captures")
async def html_to_image_js(request: Request) -> Response:
    return _serve(request, SCREENSHOT_LIB)
