"""Use cases of stores: creation, their API keys (shown once, stored hashed) and key authentication.

A store API key (``wbsk_…``) is the bearer of the feedback-sessions API. Only its SHA-256
digest and last four characters are stored; lookups go by digest and the digest is compared
in constant time. A store may hold several live keys, so minting a new one never breaks a
script still using an older one.
"""

from __future__ import annotations

import re
from sqlite3 import Connection
from typing import Any

from storage import accounts as accounts_repo
from storage import audit as audit_repo
from storage import feedback_sessions as repo
from workbench.domain.clock import new_id
from workbench.domain.errors import WORKSPACE_DELETED, Invalid, NotFound, Unauthenticated
from workbench.domain.roles import Principal, Role, require_role
from workbench.domain.session_records import StoreApiKey, Storefront
from workbench.domain.tokens import bearer_credential, hash_secret, mint_secret, same_secret
from workbench.services.context import Workbench

STORE_KEY_PREFIX = "wbsk_"
_KEY_RE = re.compile(r"^wbsk_[A-Za-z0-9_-]{32,64}$")


def store_actor(store: Storefront) -> str:
    """How audit entries name a caller holding one of the store's API keys."""
    return f"store:{store.id}"


def audit_as(
    wb: Workbench, db: Connection, *, workspace_id: str, actor: str, action: str, entity_type: str, entity_id: str,
    detail: dict[str, Any] | None = None, at: int | None = None,
) -> None:
    """An audit entry for actors that are not workspace principals (store keys, reviewers, jobs)."""
    audit_repo.record(
        db, workspace_id=workspace_id, at=wb.clock() if at is None else at, actor_id=actor, action=action,
        entity_type=entity_type, entity_id=entity_id, detail=detail,
    )


def create_store(wb: Workbench, principal: Principal, name: str, *, ai_built: bool) -> tuple[Storefront, str]:
    """Extension (the hosted dashboard's job): a store and its first API key, returned once."""
    require_role(principal, Role.ADMIN)
    name = name.strip()
    if not name:
        raise Invalid("Store name is required")
    now = wb.clock()
    store = Storefront(id=new_id(now), workspace_id=principal.workspace_id, name=name, ai_built=ai_built, created_at=now)
    with wb.store.write() as db:
        repo.add_store(db, store)
        plaintext = _add_key(db, store.id, now)
        wb.audit(db, principal, "store.create", "store", store.id, {"name": name, "ai_built": ai_built}, at=now)
    return store, plaintext


def mint_key(wb: Workbench, principal: Principal, store_id: str) -> str:
    """A further API key for a store of the caller's workspace (the plaintext is shown once)."""
    require_role(principal, Role.ADMIN)
    now = wb.clock()
    with wb.store.write() as db:
        store = repo.get_store(db, store_id)
        if store is None or store.workspace_id != principal.workspace_id:
            raise NotFound("Store not found")
        plaintext = _add_key(db, store.id, now)
        wb.audit(db, principal, "store.api_key.create", "store", store.id, {"last4": plaintext[-4:]}, at=now)
    return plaintext


def _add_key(db: Connection, store_id: str, now: int) -> str:
    plaintext = mint_secret(STORE_KEY_PREFIX)
    repo.add_key(db, StoreApiKey(id=new_id(now), store_id=store_id, key_hash=hash_secret(plaintext), last4=plaintext[-4:], created_at=now))
    return plaintext


def list_stores(wb: Workbench, principal: Principal) -> list[Storefront]:
    return repo.list_stores(wb.store.db, principal.workspace_id)


def get_store(wb: Workbench, principal: Principal, store_id: str) -> Storefront:
    """A store of the caller's workspace (the local TUI acts on stores this way)."""
    store = repo.get_store(wb.store.db, store_id)
    if store is None or store.workspace_id != principal.workspace_id:
        raise NotFound("Store not found")
    return store


def authenticate_store(wb: Workbench, authorization: str | None) -> Storefront:
    """The store whose API key is the bearer of ``authorization``; Unauthenticated otherwise."""
    value = bearer_credential(authorization, "store API key")
    if not value.startswith(STORE_KEY_PREFIX):
        raise Unauthenticated(f"Not a store API key (store API keys start with '{STORE_KEY_PREFIX}')")
    if not _KEY_RE.match(value):
        raise Unauthenticated("Malformed store API key: not a key this server issued (was it copied whole?)")
    digest = hash_secret(value)
    db = wb.store.db
    key = repo.key_by_hash(db, digest)
    if key is None or not same_secret(key.key_hash, digest):
        raise Unauthenticated("Unknown store API key")
    if key.revoked_at is not None:
        raise Unauthenticated("Store API key revoked")
    store = repo.get_store(db, key.store_id)
    ws = accounts_repo.get_workspace(db, store.workspace_id) if store is not None else None
    if store is None or ws is None:
        raise Unauthenticated("The store of this API key no longer exists")
    if ws.deleted_at is not None:
        # 401 as for every other token: the store is intact and the key works again after a restore.
        raise Unauthenticated(WORKSPACE_DELETED)
    return store
