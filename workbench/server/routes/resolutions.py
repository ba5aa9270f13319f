"""Routes: resolution evidence (presigned upload URL and its PUT), reading a picture back, create and list resolutions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from workbench.domain.annotations import ResolutionCreate, UploadUrlRequest
from workbench.domain.errors import UPLOAD_NOT_FOUND, NotFound, TooLarge
from workbench.domain.images import MAX_UPLOAD_BYTES
from workbench.domain.paging import PageQuery
from workbench.server import jobs
from workbench.server.conditional import etag_matches
from workbench.server.deps import WB, Caller, Member, OneValueEach
from workbench.server.errors import COMMON_ERRORS, CodedErrorDetail, error_responses
from workbench.server.responses import JSON, page
from workbench.server.schemas import ResolutionList, ResolutionPublic, UploadReceipt, UploadUrl
from workbench.services import resolutions as svc

router = APIRouter(tags=["resolutions"], responses=error_responses(*COMMON_ERRORS))


@router.post(
    "/api/v1/annotations/{annotation_id}/resolutions/upload-url",
    response_model=UploadUrl,
    summary="Presign a before/after screenshot upload (MEMBER+)",
)
def upload_url(annotation_id: str, body: UploadUrlRequest, request: Request, wb: WB, caller: Member) -> JSON:
    base = request.app.state.settings.public_url or str(request.base_url)
    return JSON(svc.upload_url(wb, caller, annotation_id, body, base))


@router.put(
    "/uploads/{key:path}",
    response_model=UploadReceipt,
    summary="Extension: the target of a presigned upload URL (no bearer; the signature authorises); single use",
    tags=["extensions"],
    responses=error_responses(403, 409, 413, why={
        403: "Missing, malformed, tampered or expired signature",
        409: "This upload URL was already used: a key is written once",
    }),
)
async def put_upload(
    key: str,
    request: Request,
    wb: WB,
    expires: Annotated[str | None, Query()] = None,
    signature: Annotated[str | None, Query()] = None,
    content_type: Annotated[str | None, Header()] = None,
) -> JSON:
    if key.endswith("/"):
        # A key names a file, so the path convertor's trailing slash is no key: the 404 of every
        # path with one (errors.not_found_detail), not a 403 for a key that was never signed.
        raise HTTPException(404)
    length = request.headers.get("content-length")
    if length is not None and length.isascii() and length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"Upload exceeds {MAX_UPLOAD_BYTES} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_UPLOAD_BYTES:
            raise TooLarge(f"Upload exceeds {MAX_UPLOAD_BYTES} bytes")
    receipt = await run_in_threadpool(svc.receive_upload, wb, key, expires, signature, content_type, bytes(data))
    return JSON(receipt)


# A key is written once (its URL is single use), so its bytes never change: cached for a year,
# by the caller only (a picture of a workspace is no shared cache's). The bytes are the
# uploader's: never sniffed into HTML, nor let to load or run anything if a browser opens them.
_PICTURE_HEADERS = {
    "Cache-Control": "private, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}


@router.get(
    "/uploads/{key:path}",
    summary="Extension: an annotation's screenshot or a resolution's before/after picture, as stored (any role)",
    tags=["extensions"],
    response_class=Response,
    responses={
        200: {"description": "The picture's bytes, in its stored content type", "content": {"image/*": {}}},
        304: {"description": "The If-None-Match names this picture's ETag"},
        **error_responses(404, model=CodedErrorDetail, why={
            404: f"No picture of an annotation of the caller's workspace under this key (`code`: `{UPLOAD_NOT_FOUND}`)",
        }),
    },
)
def get_upload(key: str, request: Request, wb: WB, caller: Caller) -> Response:
    if key.endswith("/"):
        raise HTTPException(404)  # as the PUT's: a trailing slash is the 404 of every path with one
    try:
        content_type, data, digest = svc.read_upload(wb, caller, key)
    except NotFound as exc:
        # Marked as this route's: a server without the route answers 404 too, and a sync must tell
        # "no such picture" (skip it) from "no pictures here" (stop asking) without reading words.
        return JSON({"detail": exc.message, "code": UPLOAD_NOT_FOUND}, status_code=404)
    headers = {**_PICTURE_HEADERS, "ETag": f'"{digest}"'}
    inm = request.headers.get("if-none-match")
    if inm and len(inm) <= 1000 and etag_matches(inm, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=content_type, headers=headers)


@router.post(
    "/api/v1/annotations/{annotation_id}/resolutions",
    status_code=201,
    response_model=ResolutionPublic,
    summary="Attach a resolution (MEMBER+); notifies the submitter asynchronously",
)
def create_resolution(
    annotation_id: str, body: ResolutionCreate, request: Request, background: BackgroundTasks, wb: WB, caller: Member
) -> JSON:
    with jobs.together(request.app, wb, background) as later:
        res = svc.create(wb, caller, annotation_id, body)
        later(jobs.NOTIFY, res.id)
    return JSON(res.to_public(), status_code=201)


@router.get("/api/v1/annotations/{annotation_id}/resolutions", response_model=ResolutionList, summary="Resolutions, oldest first")
def list_resolutions(annotation_id: str, query: Annotated[PageQuery, Query()], wb: WB, caller: Caller, _once: OneValueEach) -> JSON:
    return page(svc.resolutions_page(wb, caller, annotation_id, cursor=query.cursor, limit=query.limit))
