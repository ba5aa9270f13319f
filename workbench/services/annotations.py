"""Use cases of annotations: list and read, triage (PATCH), replies, markdown, widget submissions, personas."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from sqlite3 import Connection
from typing import Any

from storage import accounts as accounts_repo
from storage import annotations as repo
from storage import audit as audit_repo
from storage import personas as personas_repo
from storage import sites as sites_repo
from storage import sync_state
from storage.blobs import write_blob
from sync import ops
from workbench.domain import markdown
from workbench.domain.annotations import (
    DEFAULT_PERSONA_RUN,
    AnnotationPatch,
    AutoFixDefault,
    ReplyCreate,
    RunPersonasRequest,
    Status,
    WidgetAnnotationCreate,
    effective_auto_fix,
    parse_status,
    reopen_clears_summary,
)
from workbench.domain.clock import new_id
from workbench.domain.errors import Invalid, NotForThisCaller, NotFound, PreconditionFailed
from workbench.domain.images import EXTENSION, IMAGE_TYPES, check_image
from workbench.domain.paging import DEFAULT_LIMIT
from workbench.domain.query import parse_words
from workbench.domain.records import Annotation, Persona, Reply
from workbench.domain.roles import Principal, PrincipalKind, Role, require_role
from workbench.domain.widget import submitter_key_hash
from workbench.engine.base import AnnotationBrief, PersonaBrief
from workbench.engine.offline import relevance
from workbench.services import widget as widget_svc
from workbench.services.annotation_rows import list_annotation_rows
from workbench.services.context import Workbench


@dataclass(slots=True)
class Page:
    items: list[Annotation]
    next_cursor: str | None


def load(db: Connection, principal: Principal, annotation_id: str) -> Annotation:
    """An annotation the caller may see; anything else (other workspace, other site for MCP) is 404."""
    ann = repo.get_annotation(db, principal.workspace_id, annotation_id)
    if ann is None or (principal.site_id is not None and ann.site_id != principal.site_id):
        raise NotFound("Annotation not found")
    return ann


def list_annotations(
    wb: Workbench,
    principal: Principal,
    site_id: str,
    *,
    status: str | None = None,
    kind: str | None = None,
    since_ms: int | None = None,
    auto_fix: bool | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """One page, newest first; ``next_cursor`` is None on the last page."""
    page = list_annotation_rows(
        wb, principal, site_id, status=status, kind=kind, since_ms=since_ms, auto_fix=auto_fix, cursor=cursor, limit=limit
    )
    return Page([repo.annotation_from_row(row) for row in page.rows], page.next_cursor)


def detail(wb: Workbench, principal: Principal, annotation_id: str) -> dict[str, Any]:
    """The annotation with its replies and resolutions (the document's detail shape)."""
    with wb.store.read() as db:
        ann = load(db, principal, annotation_id)
        replies = repo.list_replies(db, ann.id)
        resolutions = repo.list_resolutions(db, ann.id)
    out = ann.to_public()
    out["replies"] = [r.to_public() for r in replies]
    out["resolutions"] = [r.to_public() for r in resolutions]
    return out


def get(wb: Workbench, principal: Principal, annotation_id: str) -> Annotation:
    return load(wb.store.db, principal, annotation_id)


@dataclass(slots=True)
class Patched:
    """A triage change's outcome: the annotation now, and each field it changed ({} when it was a no-op)."""

    annotation: Annotation
    changes: dict[str, list[Any]]  # field -> [before, after]


def patch(
    wb: Workbench, principal: Principal, annotation_id: str, req: AnnotationPatch, *, if_version: int | None = None
) -> Annotation:
    """Triage: status, summary, assignee. ``if_version`` makes it a compare-and-set (If-Match)."""
    return apply_patch(wb, principal, annotation_id, req, if_version=if_version).annotation


def apply_patch(
    wb: Workbench, principal: Principal, annotation_id: str, req: AnnotationPatch, *, if_version: int | None = None,
    audit_note: dict[str, Any] | None = None,
) -> Patched:
    """``patch``, telling what changed. Values already set change nothing: no version bump, no
    audit row, no outbox entry, and ``changes`` is empty so every front end can say so.
    ``audit_note``: more for the audit row (an undo names itself and its undo action, so the
    history tells it from a change by hand)."""
    require_role(principal, Role.GUEST)
    fields = req.model_dump(exclude_unset=True)
    if "status" in fields and fields["status"] is not None:
        fields["status"] = parse_status(fields["status"]).value
    elif "status" in fields:
        raise Invalid("status cannot be null")
    now = wb.clock()
    with wb.store.write() as db:
        ann = load(db, principal, annotation_id)
        if if_version is not None and ann.version != if_version:
            raise PreconditionFailed(f"Annotation changed (version {ann.version}, expected {if_version})")
        assignee = fields.get("assignee_id")
        if assignee is not None and sync_state.is_replica(db, principal.workspace_id):
            # A replica's members are the server's to judge, but the local user exists on this
            # machine only: the server would refuse it at the next sync (the TUI never offers it).
            if assignee == principal.user_id and principal.kind == PrincipalKind.LOCAL:
                raise Invalid("On a replica the local user cannot be assigned (the server does not know it): assign one of the server's members")
        elif assignee is not None and accounts_repo.membership_role(db, principal.workspace_id, assignee) is None:
            raise Invalid("assignee_id is not a member of this workspace")
        fields = reopen_clears_summary(ann.status, fields)
        changes = {k: [getattr(ann, k), v] for k, v in fields.items() if getattr(ann, k) != v}
        if changes:
            values = {k: v[1] for k, v in changes.items()}
            values.update(updated_at=max(now, ann.updated_at + 1), version=ann.version + 1)
            repo.update_annotation(db, ann.id, values)
            wb.audit(db, principal, "annotation.update", "annotation", ann.id, {"changes": changes, **(audit_note or {})}, at=now)
            ops.ANNOTATION_PATCH.enqueue(db, ann, changes, now)  # outbox, same transaction (replicas only)
            for k, v in values.items():
                setattr(ann, k, v)
    return Patched(ann, changes)


def reply(wb: Workbench, principal: Principal, annotation_id: str, req: ReplyCreate, *,
          audit_note: dict[str, Any] | None = None) -> Reply:
    """A reply on the thread; token and MCP callers write as the agent, named by ``author_name``.
    ``audit_note``: as ``apply_patch``'s.

    A person (a sign-in session, the local user) always writes under their own name: letting
    them pick another would let a member post as the OWNER.
    """
    now = wb.clock()
    if principal.is_agent:
        kind, name = "agent", req.author_name or principal.display_name or "agent"
    elif req.author_name is not None:
        raise NotForThisCaller("author_name names an agent and is only for API-token and MCP callers; "
                               "a signed-in user's replies carry their own name")
    else:
        kind, name = "user", principal.display_name or "user"
    with wb.store.write() as db:
        ann = load(db, principal, annotation_id)
        r = Reply(
            id=new_id(now),
            annotation_id=ann.id,
            workspace_id=ann.workspace_id,
            author_kind=kind,
            author_id=principal.actor_id,
            author_name=name,
            body=req.body,
            persona_id=None,
            created_at=now,
        )
        repo.add_reply(db, r)
        ops.ANNOTATION_REPLY.enqueue(db, r, now)
        _touch(db, ann, now)
        wb.audit(db, principal, "annotation.reply", "annotation", ann.id, {"reply_id": r.id, **(audit_note or {})}, at=now)
    return r


def _touch(db: Connection, ann: Annotation, now: int) -> None:
    # A thread change is a change of the annotation for incremental pulls (`since`).
    repo.update_annotation(db, ann.id, {"updated_at": max(now, ann.updated_at + 1)})


def render_markdown(wb: Workbench, principal: Principal, annotation_id: str) -> str:
    with wb.store.read() as db:
        ann = load(db, principal, annotation_id)
        site = sites_repo.get_site(db, principal.workspace_id, ann.site_id)
        replies = repo.list_replies(db, ann.id)
        resolutions = repo.list_resolutions(db, ann.id)
    names = None
    if ann.assignee_id:
        from workbench.services.inbox import member_names

        names = member_names(wb, principal)
    return markdown.render(ann, replies, resolutions, site.name if site else None, names)


def history(wb: Workbench, principal: Principal, annotation_id: str) -> list[dict[str, Any]]:
    """Every recorded change of one annotation, oldest first, wherever it was made.

    The audit log holds what was done in this store and, on a replica, what a sync brought
    (``annotation.pulled``, at the server's time, actor ``sync:<remote>``). What a replica only
    holds as rows (an annotation submitted on the server, replies and resolutions by others)
    is added from those rows, with their author and time (``actor_name``), so nothing that
    happened is missing from the list.
    """
    with wb.store.read() as db:
        ann = load(db, principal, annotation_id)
        entries = audit_repo.history(db, "annotation", annotation_id)
        replies = repo.list_replies(db, ann.id)
        resolutions = repo.list_resolutions(db, ann.id)
        mapped = dict(db.execute(
            "SELECT local_id, remote_id FROM sync_id_map WHERE entity_type IN ('reply', 'resolution')"
        ).fetchall()) if entries else {}
    actions = {e["action"] for e in entries}
    known = set()
    for e in entries:
        for key in ("reply_id", "resolution_id"):
            local = (e.get("detail") or {}).get(key)
            if local:
                known.update((local, mapped.get(local)))
    if "annotation.create" not in actions:
        entries.append({"id": None, "at": ann.created_at, "actor_id": "", "action": "annotation.create", "detail": None,
                        "actor_name": ann.submitter_name or "anonymous"})
    for r in replies:
        if r.id not in known:
            entries.append({"id": None, "at": r.created_at, "actor_id": r.author_id or "", "action": "annotation.reply",
                            "detail": {"reply_id": r.id, "author_kind": r.author_kind}, "actor_name": r.author_name})
    for res in resolutions:
        if res.id not in known:
            entries.append({"id": None, "at": res.created_at, "actor_id": res.created_by or "", "action": "resolution.create",
                            "detail": {"resolution_id": res.id}})
    entries.sort(key=lambda e: (e["at"], e["id"] is not None, e["id"] or 0))
    return entries


def search(wb: Workbench, principal: Principal, query: str, limit: int = 500) -> list[str]:
    """Annotation ids whose body and summary, or one reply, match ``query``: the query language's
    words, phrases, ``word*``, ``-word`` and ``OR`` (workbench/domain/query.py), no qualifiers."""
    parsed = parse_words(query, "Annotations")
    if parsed.excluded and not parsed.groups and not parsed.matches_nothing:
        raise Invalid("Say what to look for: -word only leaves out what the other words find")
    index_text_pending(wb, -1)  # what was written since the upkeep last ran, so a search finds what is stored
    return repo.search_ids(wb.store.db, principal.workspace_id, parsed, limit)


def index_text_pending(wb: Workbench, limit: int = repo.TEXT_INDEX_BATCH) -> bool:
    """Index up to ``limit`` rows (-1: all) of each table waiting for the search's indexes, in one
    write, when any wait (SQLite's stores only: PostgreSQL's are generated columns): whether more
    may wait."""
    if wb.store.dialect != "sqlite" or not repo.text_pending(wb.store.db):
        return False
    with wb.store.write() as db:
        return repo.index_text_pending(db, limit) == limit


# -- the widget (extension) ----------------------------------------------------------------
_DATA_URL = re.compile(rf"^data:({'|'.join(map(re.escape, IMAGE_TYPES))});base64,(.+)$", re.DOTALL)
_DATA_URL_SHAPE = f"data:image/({'|'.join(t.split('/')[1] for t in IMAGE_TYPES)});base64,… URL"


def submit_from_widget(
    wb: Workbench, site_id: str, widget_token: str | None, stakeholder_token: str | None, req: WidgetAnnotationCreate
) -> Annotation:
    """A page visitor's annotation, anonymous or as a stakeholder. Anonymous auto_fix is forced false."""
    site, stakeholder = widget_svc.authenticate(wb.store.db, site_id, widget_token, stakeholder_token)
    now = wb.clock()
    ann_id = new_id(now)
    screenshot_key = None
    shot: tuple[str, bytes] | None = None
    if req.screenshot:
        shot = _decode_screenshot(req.screenshot)
        screenshot_key = f"screenshots/{ann_id}.{EXTENSION[shot[0]]}"
    default = AutoFixDefault(stakeholder.auto_fix_default) if stakeholder else None
    ann = Annotation(
        id=ann_id,
        workspace_id=site.workspace_id,
        site_id=site.id,
        page_url=req.page_url,
        selector=req.selector or (req.capture.anchor.css if req.capture and req.capture.anchor else None),
        kind=req.kind,
        body=req.body,
        status=Status.NEW.value,
        summary=None,
        assignee_id=None,
        auto_fix=effective_auto_fix(req.auto_fix, default),
        submitter_name=(stakeholder.name if stakeholder else None) or req.submitter_name,
        submitter_email=(stakeholder.email if stakeholder else None) or req.submitter_email,
        stakeholder_token=stakeholder.token if stakeholder else None,
        screenshot_key=screenshot_key,
        computed_styles=req.computed_styles,
        created_at=now,
        updated_at=now,
        version=1,
        capture=req.capture.to_stored() if req.capture is not None else None,
        submitter_key_hash=submitter_key_hash(req.submitter_key) if req.submitter_key else None,
    )
    digest = ""
    if shot is not None and screenshot_key is not None:
        digest = write_blob(wb.store, screenshot_key, shot[1])
    with wb.store.write() as db:
        repo.add_annotation(db, ann)
        if shot is not None and screenshot_key is not None:
            repo.add_upload(
                db, key=screenshot_key, workspace_id=ann.workspace_id, annotation_id=ann.id, kind="screenshot",
                content_type=shot[0], size=len(shot[1]), sha256=digest, at=now,
            )
        actor = f"stakeholder:{stakeholder.token[-6:]}" if stakeholder else f"widget:{site.id}"
        audit_repo.record(
            db, workspace_id=ann.workspace_id, at=now, actor_id=actor, action="annotation.create",
            entity_type="annotation", entity_id=ann.id, detail={"auto_fix": ann.auto_fix, "kind": ann.kind},
        )
    return ann


def _decode_screenshot(data_url: str) -> tuple[str, bytes]:
    m = _DATA_URL.match(data_url)
    if not m:
        raise Invalid(f"screenshot must be a {_DATA_URL_SHAPE}")
    try:
        data = base64.b64decode(m.group(2), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("screenshot is not valid base64") from None
    check_image(m.group(1), data, "screenshot")
    return m.group(1), data


# -- personas ------------------------------------------------------------------------------
def run_personas(wb: Workbench, principal: Principal, annotation_id: str, req: RunPersonasRequest) -> list[Reply]:
    """One review reply per persona, from the reviewer engine (MEMBER and up)."""
    require_role(principal, Role.MEMBER)
    db = wb.store.db
    ann = load(db, principal, annotation_id)
    ids = list(dict.fromkeys(req.persona_ids or []))
    brief = AnnotationBrief(
        id=ann.id, kind=ann.kind, status=ann.status, body=ann.body, page_url=ann.page_url,
        selector=ann.selector, summary=ann.summary, computed_styles=ann.computed_styles,
    )
    if ids:
        personas = []
        for pid in ids:
            p = personas_repo.get_persona(db, principal.workspace_id, pid)
            if p is None:
                raise NotFound(f"Persona {pid} not found")
            personas.append(p)
    else:
        personas = _most_relevant(personas_repo.list_personas(db, principal.workspace_id), brief)
    # The engine may be slow (an HTTP model): run it before taking the write lock.
    reviews = [(p, wb.engine.persona_review(_brief(p), brief)) for p in personas]
    now = wb.clock()
    out: list[Reply] = []
    with wb.store.write() as db:
        ann = load(db, principal, annotation_id)
        for i, (p, result) in enumerate(reviews):
            r = Reply(
                id=new_id(now), annotation_id=ann.id, workspace_id=ann.workspace_id, author_kind="persona",
                author_id=p.id, author_name=p.name, body=result.text, persona_id=p.id, created_at=now + i,
            )
            repo.add_reply(db, r)
            out.append(r)
        ops.ANNOTATION_RUN_PERSONAS.enqueue(db, ann, [p.id for p in personas], [r.id for r in out], now)
        _touch(db, ann, now + len(reviews))
        wb.audit(
            db, principal, "annotation.run_personas", "annotation", ann.id,
            {
                "persona_ids": [p.id for p in personas],
                "engine": reviews[0][1].engine if reviews else None,
                "fallback_reasons": sorted({r.fallback_reason for _, r in reviews if r.fallback_reason}),
            },
            at=now,
        )
    return out


def default_personas(wb: Workbench, principal: Principal, annotation_id: str) -> tuple[list[Persona], list[Persona]]:
    """(every persona of the workspace, most relevant first; the ones a run without a choice takes)."""
    db = wb.store.db
    ann = load(db, principal, annotation_id)
    brief = AnnotationBrief(
        id=ann.id, kind=ann.kind, status=ann.status, body=ann.body, page_url=ann.page_url,
        selector=ann.selector, summary=ann.summary, computed_styles=ann.computed_styles,
    )
    ranked = sorted(personas_repo.list_personas(db, principal.workspace_id), key=lambda p: -relevance(_brief(p), brief)[0])
    return ranked, ranked[:DEFAULT_PERSONA_RUN]


def _brief(p: Persona) -> PersonaBrief:
    return PersonaBrief(
        slug=p.slug, name=p.name, category=p.category, description=p.description, focus=tuple(p.focus), voice=p.voice
    )


def _most_relevant(personas: list[Persona], brief: AnnotationBrief) -> list[Persona]:
    """The personas whose focus the annotation is most squarely in (ties: documented order)."""
    scored = sorted(personas, key=lambda p: -relevance(_brief(p), brief)[0])
    return scored[:DEFAULT_PERSONA_RUN]
