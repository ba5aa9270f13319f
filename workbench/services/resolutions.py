"""Use cases of resolutions: presigned evidence uploads, reading an uploaded picture back, attaching a
resolution, notifying the submitter.

Upload URLs are signed with HMAC over method, key, content type and expiry, so the PUT needs
no credential and a URL cannot be stretched to another object, type or time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import urlencode

from storage import annotations as repo
from storage import sync_state
from storage.blobs import write_blob
from sync import ops
from workbench.domain.annotations import ResolutionCreate, UploadUrlRequest, check_resolution
from workbench.domain.clock import new_id
from workbench.domain.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from workbench.domain.images import EXTENSION, IMAGE_FORMATS_TEXT, MAX_UPLOAD_BYTES, check_image, sniff_image_type
from workbench.domain.media_types import media_type
from workbench.domain.paging import DEFAULT_LIMIT
from workbench.domain.records import Reply, Resolution
from workbench.domain.roles import Principal, Role, require_role
from workbench.services import paging
from workbench.services.annotations import load
from workbench.services.context import Workbench
from workbench.services.paging import Page

UPLOAD_TTL_SECONDS = 900
_EXPIRES = re.compile(r"[0-9]{1,12}")


def _signature(wb: Workbench, key: str, content_type: str, expires: int) -> str:
    msg = f"PUT\n{key}\n{content_type}\n{expires}".encode()
    return hmac.new(wb.secret, msg, hashlib.sha256).hexdigest()


def upload_url(wb: Workbench, principal: Principal, annotation_id: str, req: UploadUrlRequest, base_url: str) -> dict[str, Any]:
    """Presign a before/after upload: {url, method, headers, key, expires_in_seconds}."""
    require_role(principal, Role.MEMBER)
    ann = load(wb.store.db, principal, annotation_id)
    key = f"resolutions/{ann.id}/{req.kind}-{new_id(wb.clock())}.{EXTENSION[req.content_type]}"
    expires = wb.clock() // 1000 + UPLOAD_TTL_SECONDS
    query = urlencode({"expires": expires, "signature": _signature(wb, key, req.content_type, expires)})
    return {
        "url": f"{base_url.rstrip('/')}/uploads/{key}?{query}",
        "method": "PUT",
        "headers": {"Content-Type": req.content_type},
        "key": key,
        "expires_in_seconds": UPLOAD_TTL_SECONDS,
    }


def _annotation_of_key(key: str) -> str:
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "resolutions" or ".." in key:
        raise NotFound("Unknown upload key")
    return parts[1]


USED = "This upload URL was already used; request a new one with upload-url"


def receive_upload(wb: Workbench, key: str, expires: str | None, signature: str | None, content_type: str | None, data: bytes) -> dict[str, Any]:
    """The PUT of a presigned URL: verify, then store the bytes in the data directory."""
    # ASCII digits only ("²".isdigit() is True) and bounded, so int() and the clock compare never fail.
    if not expires or not signature or not _EXPIRES.fullmatch(expires):
        raise Forbidden("Missing or malformed upload signature")
    ct = media_type(content_type)
    # As bytes: compare_digest raises on a str with non-ASCII characters.
    if not hmac.compare_digest(_signature(wb, key, ct, int(expires)).encode(), signature.encode("utf-8", "surrogatepass")):
        raise Forbidden("Invalid upload signature (wrong key, content type or tampered URL)")
    if int(expires) < wb.clock() // 1000:
        raise Forbidden("Upload URL expired")
    # A used URL is used whatever it carries: judged before the bytes, or an empty or odd replay
    # would read "send an image" and the client would try again, never told to ask for a new URL.
    # (Judged again below, in the write, for two PUTs racing.)
    if repo.get_upload(wb.store.db, key) is not None:
        raise Conflict(USED)
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"Upload exceeds {MAX_UPLOAD_BYTES} bytes")
    # The signature fixed the type; the bytes must be it (a text file sent as image/png is no
    # evidence). Refused before anything is recorded, so the same URL can be used again.
    check_image(ct, data, "The upload")
    annotation_id = _annotation_of_key(key)
    ann_row = wb.store.db.execute("SELECT workspace_id FROM annotations WHERE id = ?", [annotation_id]).fetchone()
    if ann_row is None:
        raise NotFound("Annotation not found")
    # Single use: the check and the record share one write transaction (writers are
    # serialised), so of two racing PUTs exactly one stores its bytes; a replayed URL can
    # never replace evidence a resolution already points at.
    with wb.store.write() as db:
        if repo.get_upload(db, key) is not None:
            raise Conflict(USED)
        digest = write_blob(wb.store, key, data)
        repo.add_upload(
            db, key=key, workspace_id=ann_row[0], annotation_id=annotation_id, kind=key.split("/")[2].split("-")[0],
            content_type=ct, size=len(data), sha256=digest, at=wb.clock(),
        )
    return {"key": key, "size": len(data), "sha256": digest}


def read_upload(wb: Workbench, principal: Principal, key: str) -> tuple[str, bytes, str]:
    """An annotation's screenshot or a resolution's evidence: (content type, bytes, sha256).

    Served only when the key is the picture of an annotation the caller may see (its workspace;
    for an MCP caller, its site): a key is never read by its path alone. Anything else, and
    bytes the store no longer holds, is NotFound, the same for all so nothing is learnt.
    """
    with wb.store.read() as db:
        upload = repo.get_upload(db, key)
        if upload is None:
            raise NotFound("Upload not found")
        try:
            ann = load(db, principal, upload["annotation_id"])
        except NotFound:
            raise NotFound("Upload not found") from None
        # An uploaded but never attached key is no one's evidence yet: only what a record names is served.
        named = ann.screenshot_key == key or any(key in (r.before_key, r.after_key) for r in repo.list_resolutions(db, ann.id))
    if not named:
        raise NotFound("Upload not found")
    data = wb.store.get_blob(key)
    if data is None:
        raise NotFound("Upload not found")
    return upload["content_type"], data, upload["sha256"]


def attach_local_file(wb: Workbench, principal: Principal, annotation_id: str, kind: str, source: Path) -> str:
    """Offline evidence: copy an image file into the store and return its key (the TUI's path)."""
    require_role(principal, Role.MEMBER)
    if kind not in ("before", "after"):
        raise Invalid("kind must be 'before' or 'after'")
    ann = load(wb.store.db, principal, annotation_id)
    data = _read_evidence(source)
    # The bytes decide, not the name: a text file called after.png is not evidence.
    ct = sniff_image_type(data)
    if ct is None:
        raise Invalid(f"{source.name} is not a {IMAGE_FORMATS_TEXT} image")
    # Judged as the server judges an upload, so what is attached offline is never refused when
    # sync sends it (a 400 there leaves the change stuck among the refused ones).
    check_image(ct, data, source.name)
    key = f"resolutions/{ann.id}/{kind}-{new_id(wb.clock())}.{EXTENSION[ct]}"
    digest = write_blob(wb.store, key, data)
    with wb.store.write() as db:
        repo.add_upload(
            db, key=key, workspace_id=ann.workspace_id, annotation_id=ann.id, kind=kind, content_type=ct,
            size=len(data), sha256=digest, at=wb.clock(),
        )
    return key


def _read_evidence(source: Path) -> bytes:
    """The file's bytes, or a refusal that says why it cannot be read (never an OSError's traceback)."""
    try:
        st = source.stat()
        if stat.S_ISDIR(st.st_mode):
            raise Invalid(f"{source} is a directory, not an image file")
        if not stat.S_ISREG(st.st_mode):
            raise Invalid(f"{source} is not a regular file (a device, pipe or socket), not an image file")
        if st.st_size > MAX_UPLOAD_BYTES:
            raise Invalid(f"File exceeds {MAX_UPLOAD_BYTES} bytes")
        return source.read_bytes()
    except FileNotFoundError:
        raise Invalid(f"No such file: {source}") from None
    except OSError as exc:  # permission denied, a name too long, a path through a file…
        raise Invalid(f"{source} cannot be read: {exc.strerror or exc}") from None


def create(wb: Workbench, principal: Principal, annotation_id: str, req: ResolutionCreate) -> Resolution:
    """Append a resolution (MEMBER+); its notification is delivered afterwards by ``deliver``."""
    require_role(principal, Role.MEMBER)
    check_resolution(req)
    now = wb.clock()
    with wb.store.write() as db:
        ann = load(db, principal, annotation_id)
        for kind, key in (("before", req.before_key), ("after", req.after_key)):
            if key is None:
                continue
            upload = repo.get_upload(db, key)
            if upload is None or upload["annotation_id"] != ann.id:
                raise Invalid(f"{kind}_key does not name an uploaded object of this annotation")
            # The kind was fixed when the URL was presigned: an after image is not before evidence.
            if upload["kind"] != kind:
                article = "an" if kind == "after" else "a"
                raise Invalid(f"{kind}_key does not name {article} {kind} upload (it was uploaded as {upload['kind']})")
        res = Resolution(
            id=new_id(now), annotation_id=ann.id, workspace_id=ann.workspace_id, before_key=req.before_key,
            after_key=req.after_key, diff_url=req.diff_url, explanation=req.explanation,
            created_by=principal.actor_id, created_at=now, notification_status="pending",
        )
        repo.add_resolution(db, res)
        ops.ANNOTATION_RESOLUTION.enqueue(db, res, now)
        repo.update_annotation(db, ann.id, {"updated_at": max(now, ann.updated_at + 1)})
        wb.audit(db, principal, "resolution.create", "annotation", ann.id, {"resolution_id": res.id}, at=now)
    return res


def list_for(wb: Workbench, principal: Principal, annotation_id: str) -> list[Resolution]:
    """Oldest first, so an agent can see what was already tried."""
    db = wb.store.db
    ann = load(db, principal, annotation_id)
    return repo.list_resolutions(db, ann.id)


def resolutions_page(
    wb: Workbench, principal: Principal, annotation_id: str, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Resolution]:
    """GET …/resolutions and the MCP tool: one page of ``list_for``."""
    db = wb.store.db
    ann = load(db, principal, annotation_id)
    return paging.page(
        wb, f"resolutions|{ann.workspace_id}|{ann.id}", (int, str),
        lambda after, n: repo.list_resolutions(db, ann.id, after, n),
        lambda r: (r.created_at, r.id), cursor=cursor, limit=limit,
    )


def deliver(wb: Workbench, resolution_id: str) -> str:
    """Notify the submitter: email when an address is on file and a mailer is set, else a reply.

    Idempotent: only a ``pending`` resolution is delivered, so a sweep after a crash never
    notifies twice for the same resolution.
    """
    db = wb.store.db
    res = repo.get_resolution(db, resolution_id)
    if res is None or res.notification_status != "pending":
        return res.notification_status if res else "missing"
    if sync_state.is_replica(db, res.workspace_id):
        return "pending"  # a replica's resolution is notified by its server once synced
    ann = repo.get_annotation(db, res.workspace_id, res.annotation_id)
    if ann is None:
        return "missing"
    text = _notification_text(ann.body, res)
    if ann.submitter_email and wb.mailer is not None:
        try:
            wb.mailer.send(ann.submitter_email, "Your feedback was addressed", text)
        except Exception as exc:  # noqa: BLE001 - any mail failure falls back to the thread
            return _reply_notification(wb, res, text, f"email failed ({type(exc).__name__}); posted on the thread")
        now = wb.clock()
        with wb.store.write() as db:
            repo.set_notification(db, res.id, "emailed", now)
        return "emailed"
    return _reply_notification(wb, res, text, None)


def _reply_notification(wb: Workbench, res: Resolution, text: str, note: str | None) -> str:
    now = wb.clock()
    with wb.store.write() as db:
        current = repo.get_resolution(db, res.id)
        if current is None or current.notification_status != "pending":
            return current.notification_status if current else "missing"
        repo.add_reply(
            db,
            Reply(
                id=new_id(now), annotation_id=res.annotation_id, workspace_id=res.workspace_id, author_kind="system",
                author_id=None, author_name="Review Workbench", body=text + (f"\n\n_{note}_" if note else ""),
                persona_id=None, created_at=now,
            ),
        )
        repo.set_notification(db, res.id, "replied", now)
    return "replied"


def _notification_text(body: str, res: Resolution) -> str:
    first = body.strip().splitlines()[0] if body.strip() else ""
    parts = [f'Your feedback "{first[:120]}" was addressed.']
    if res.explanation:
        parts.append(res.explanation)
    if res.diff_url:
        parts.append(f"Change: {res.diff_url}")
    return "\n\n".join(parts)


def deliver_pending(wb: Workbench) -> int:
    """Deliver every notification still pending (e.g. after a restart)."""
    ids = repo.pending_notifications(wb.store.db)
    for rid in ids:
        deliver(wb, rid)
    return len(ids)


class Evidence(NamedTuple):
    """One picture of an annotation: its label, where its file is (or would be), and why this store has no
    file for it: ``"removed"`` (the store took the upload, its file is gone), ``"not_fetched"`` (a replica
    that synced the record but not the picture yet), or None: the file is here."""

    label: str
    path: Path
    missing: Literal["removed", "not_fetched"] | None


def evidence_files(wb: Workbench, principal: Principal, annotation_id: str) -> list[Evidence]:
    """The annotation's pictures in reading order: the screenshot first, then each resolution's before
    and after, those whose file this store lacks included (a screen says so in their place)."""
    with wb.store.read() as db:
        ann = load(db, principal, annotation_id)
        resolutions = repo.list_resolutions(db, ann.id)
        wanted: list[tuple[str, str | None]] = [("Screenshot", ann.screenshot_key)]
        for i, res in enumerate(resolutions, 1):
            number = f" #{i}" if len(resolutions) > 1 else ""
            wanted += [(f"Before{number}", res.before_key), (f"After{number}", res.after_key)]
        uploaded = {key for _, key in wanted if key and repo.get_upload(db, key) is not None}
    found: list[Evidence] = []
    for label, key in wanted:
        if not key:
            continue
        try:
            path = wb.store.upload_path(key)
        except ValueError:  # a key that would leave the uploads directory is never opened
            continue
        found.append(Evidence(label, path, None if path.is_file() else "removed" if key in uploaded else "not_fetched"))
    return found


def picture_facts(wb: Workbench, principal: Principal, annotation_id: str) -> dict[str, tuple[str, int]]:
    """What the store knows of each picture of an annotation, by key: (content type, size in bytes).

    A key with no upload row here (a replica whose sync has not fetched the picture yet) is absent.
    Screens show these facts, not the key: a storage key means nothing to a reader.
    """
    with wb.store.read() as db:
        ann = load(db, principal, annotation_id)
        keys = [ann.screenshot_key] + [k for r in repo.list_resolutions(db, ann.id) for k in (r.before_key, r.after_key)]
        facts: dict[str, tuple[str, int]] = {}
        for key in keys:
            upload = repo.get_upload(db, key) if key else None
            if key and upload is not None:
                facts[key] = (upload["content_type"], int(upload["size"]))
    return facts
