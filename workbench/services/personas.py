"""Use cases of personas: seeding the 60 defaults, listing in the documented order, CRUD, reset."""

from __future__ import annotations

from sqlite3 import Connection

from storage import personas as repo
from workbench.domain.clock import new_id
from workbench.domain.errors import Conflict, NotFound
from workbench.domain.paging import DEFAULT_LIMIT
from workbench.domain.personas import DEFAULT_BY_SLUG, DEFAULT_PERSONAS, PersonaCreate, PersonaSeed, PersonaUpdate, slugify
from workbench.domain.records import Persona
from workbench.domain.roles import Principal, Role, require_role
from workbench.services import paging
from workbench.services.context import Workbench
from workbench.services.paging import Page


def _from_seed(seed: PersonaSeed, workspace_id: str, now: int) -> Persona:
    return Persona(
        id=new_id(now),
        workspace_id=workspace_id,
        slug=seed.slug,
        name=seed.name,
        category=seed.category,
        description=seed.description,
        focus=list(seed.focus),
        voice=seed.voice,
        is_default=True,
        created_at=now,
        updated_at=now,
    )


def seed_defaults(db: Connection, workspace_id: str, now: int) -> None:
    """Called inside the workspace-creation transaction."""
    repo.add_personas(db, [_from_seed(s, workspace_id, now) for s in DEFAULT_PERSONAS])


def list_mine(wb: Workbench, principal: Principal) -> list[Persona]:
    return repo.list_personas(wb.store.db, principal.workspace_id)


def ids_of(wb: Workbench, principal: Principal, refs: list[str]) -> list[str]:
    """The persona ids ``refs`` name, each an id or a slug (``ada-screen-reader-user``).

    The CLI's ``--persona`` and MCP's ``run_personas`` take either: a slug is what ``personas
    list`` shows a person, and an agent has no tool that lists ids. REST's ``persona_ids`` stays
    ids, as documented. A ref that is neither is kept as given, for ``annotations.run_personas``
    to refuse by name."""
    by_slug = {p.slug: p.id for p in repo.list_personas(wb.store.db, principal.workspace_id)}
    return [by_slug.get(ref, ref) for ref in refs]


def list_category(wb: Workbench, principal: Principal, category: str) -> list[Persona]:
    return repo.list_personas(wb.store.db, principal.workspace_id, category)


def personas_page(
    wb: Workbench, principal: Principal, category: str | None = None, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[Persona]:
    """GET /api/personas/mine (``category`` None) or /category/{category}: one page in the documented order."""
    db, ws = wb.store.db, principal.workspace_id
    listing = "mine" if category is None else f"category|{category}"
    return paging.page(
        wb, f"personas|{ws}|{listing}", (str, bool, str, str),
        lambda after, n: repo.list_personas_page(db, ws, category, after, n),
        repo.persona_key, cursor=cursor, limit=limit,
    )


def get(wb: Workbench, principal: Principal, persona_id: str) -> Persona:
    persona = repo.get_persona(wb.store.db, principal.workspace_id, persona_id)
    if persona is None:
        raise NotFound("Persona not found")
    return persona


def create(wb: Workbench, principal: Principal, req: PersonaCreate) -> Persona:
    require_role(principal, Role.MEMBER)
    now = wb.clock()
    slug = req.slug or slugify(req.name)
    persona = Persona(
        id=new_id(now),
        workspace_id=principal.workspace_id,
        slug=slug,
        name=req.name,
        category=req.category,
        description=req.description or "",
        focus=list(req.focus or []),
        voice=req.voice or "",
        is_default=False,
        created_at=now,
        updated_at=now,
    )
    with wb.store.write() as db:
        if repo.get_by_slug(db, principal.workspace_id, slug) is not None:
            raise Conflict(f"A persona with slug '{slug}' already exists in this workspace")
        repo.add_personas(db, [persona])
        wb.audit(db, principal, "persona.create", "persona", persona.id, {"slug": slug}, at=now)
    return persona


def update(wb: Workbench, principal: Principal, persona_id: str, req: PersonaUpdate) -> Persona:
    require_role(principal, Role.MEMBER)
    now = wb.clock()
    changes = req.changes()
    with wb.store.write() as db:
        persona = repo.get_persona(db, principal.workspace_id, persona_id)
        if persona is None:
            raise NotFound("Persona not found")
        repo.update_persona(db, persona_id, {**changes, "updated_at": now})
        wb.audit(db, principal, "persona.update", "persona", persona_id, {"fields": sorted(changes)}, at=now)
        updated = repo.get_persona(db, principal.workspace_id, persona_id)
    assert updated is not None
    return updated


def delete(wb: Workbench, principal: Principal, persona_id: str) -> None:
    require_role(principal, Role.MEMBER)
    with wb.store.write() as db:
        persona = repo.get_persona(db, principal.workspace_id, persona_id)
        if persona is None:
            raise NotFound("Persona not found")
        repo.delete_persona(db, persona_id)
        wb.audit(db, principal, "persona.delete", "persona", persona_id, {"slug": persona.slug})


def reset_defaults(wb: Workbench, principal: Principal, slug: str | None) -> int:
    """slug=None resets every default (re-creating deleted ones); customs are untouched."""
    require_role(principal, Role.MEMBER)
    if slug is not None and slug not in DEFAULT_BY_SLUG:
        raise NotFound(f"No default persona with slug '{slug}'")
    seeds = [DEFAULT_BY_SLUG[slug]] if slug is not None else list(DEFAULT_PERSONAS)
    now = wb.clock()
    count = 0
    with wb.store.write() as db:
        for seed in seeds:
            existing = repo.get_by_slug(db, principal.workspace_id, seed.slug)
            if existing is None:
                repo.add_personas(db, [_from_seed(seed, principal.workspace_id, now)])
            else:
                fresh = _from_seed(seed, principal.workspace_id, now)
                repo.update_persona(
                    db,
                    existing.id,
                    {
                        "name": fresh.name,
                        "category": fresh.category,
                        "description": fresh.description,
                        "focus": fresh.focus,
                        "voice": fresh.voice,
                        "is_default": True,
                        "updated_at": now,
                    },
                )
            count += 1
        wb.audit(db, principal, "persona.reset_defaults", "workspace", principal.workspace_id, {"slug": slug, "reset_count": count}, at=now)
    return count
