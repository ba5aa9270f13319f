"""Use cases of workspaces, members and API tokens (minting, listing, revocation)."""

from __future__ import annotations

from datetime import UTC, datetime

from storage import accounts as repo
from workbench.domain.account_records import ApiToken, User, Workspace
from workbench.domain.clock import new_id, to_ms
from workbench.domain.errors import Forbidden, Invalid, NotFound
from workbench.domain.paging import DEFAULT_LIMIT
from workbench.domain.roles import Principal, Role, require_session
from workbench.domain.tokens import (
    API_TOKEN_PREFIX,
    TokenCreate,
    check_expiry,
    clamp_token_role,
    hash_secret,
    mint_secret,
)
from workbench.services import paging
from workbench.services.context import Workbench
from workbench.services.paging import Page
from workbench.services.personas import seed_defaults


def create_workspace(wb: Workbench, name: str, owner_email: str, owner_name: str) -> tuple[Workspace, User]:
    """A new workspace with its OWNER (created if new) and the 60 default personas."""
    name = name.strip()
    if not name:
        raise Invalid("Workspace name is required")
    now = wb.clock()
    with wb.store.write() as db:
        user = repo.get_user_by_email(db, owner_email)
        if user is None:
            user = User(id=new_id(now), email=owner_email, name=owner_name, created_at=now)
            repo.add_user(db, user)
        ws = Workspace(id=new_id(now), name=name, created_at=now)
        repo.add_workspace(db, ws)
        repo.set_membership(db, ws.id, user.id, Role.OWNER.value, now)
        seed_defaults(db, ws.id, now)
        wb.audit(db, _system(ws.id, user.id), "workspace.create", "workspace", ws.id, {"name": name}, at=now)
    return ws, user


def add_member(wb: Workbench, workspace_id: str, email: str, name: str, role: Role) -> User:
    now = wb.clock()
    with wb.store.write() as db:
        if repo.get_workspace(db, workspace_id) is None:
            raise NotFound("Workspace not found")
        user = repo.get_user_by_email(db, email)
        if user is None:
            user = User(id=new_id(now), email=email, name=name, created_at=now)
            repo.add_user(db, user)
        repo.set_membership(db, workspace_id, user.id, role.value, now)
    return user


def check_minter(principal: Principal, workspace_id: str) -> None:
    """Who may mint a token in ``workspace_id``: its OWNER, signed in (no token mints a token)."""
    _check_workspace(principal, workspace_id)
    require_session(principal, Role.OWNER)


def mint_token(wb: Workbench, principal: Principal, workspace_id: str, req: TokenCreate) -> tuple[ApiToken, str]:
    """Mint an API token (OWNER session only); returns the row and the plaintext, shown once."""
    check_minter(principal, workspace_id)
    now = wb.clock()
    check_expiry(req.expires_at, datetime.fromtimestamp(now / 1000, tz=UTC))
    role = clamp_token_role(Role(req.role) if req.role else None)
    plaintext = mint_secret(API_TOKEN_PREFIX)
    token = ApiToken(
        id=new_id(now),
        workspace_id=workspace_id,
        name=req.name,
        role=role.value,
        token_hash=hash_secret(plaintext),
        last4=plaintext[-4:],
        created_by=principal.user_id or "",
        created_at=now,
        expires_at=to_ms(req.expires_at) if req.expires_at else None,
        revoked_at=None,
    )
    with wb.store.write() as db:
        repo.add_token(db, token)
        wb.audit(db, principal, "api_token.create", "api_token", token.id, {"name": token.name, "role": role.value}, at=now)
    return token, plaintext


def tokens_page(
    wb: Workbench, principal: Principal, workspace_id: str, *, cursor: str | None = None, limit: int = DEFAULT_LIMIT
) -> Page[ApiToken]:
    """One page in creation order: the OWNER sees all; everyone else sees only the tokens they minted."""
    _check_workspace(principal, workspace_id)
    require_session(principal)
    created_by = None if principal.role is Role.OWNER else principal.user_id
    db = wb.store.db
    return paging.page(
        wb, f"api-tokens|{workspace_id}|{created_by or '*'}", (int, str),
        lambda after, n: repo.list_tokens(db, workspace_id, created_by, after=after, limit=n),
        lambda t: (t.created_at, t.id), cursor=cursor, limit=limit,
    )


def revoke_token(wb: Workbench, principal: Principal, workspace_id: str, token_id: str) -> ApiToken:
    """OWNER revokes any; others their own. Revocation is immediate: the next request is 401."""
    _check_workspace(principal, workspace_id)
    require_session(principal)
    now = wb.clock()
    with wb.store.write() as db:
        token = repo.get_token(db, workspace_id, token_id)
        if token is None:
            raise NotFound("API token not found")
        if principal.role is not Role.OWNER and token.created_by != principal.user_id:
            # Someone else's token is not theirs to see either.
            raise NotFound("API token not found")
        if token.revoked_at is None:
            repo.revoke_token(db, token_id, now)
            token.revoked_at = now
            wb.audit(db, principal, "api_token.revoke", "api_token", token_id, None, at=now)
    return token


def own_workspace(wb: Workbench, principal: Principal) -> Workspace:
    """The caller's own workspace (id and name): how a replica learns the name to show it by."""
    ws = repo.get_workspace(wb.store.db, principal.workspace_id)
    if ws is None:
        raise NotFound("Workspace not found")
    return ws


def delete_workspace(wb: Workbench, principal: Principal, workspace_id: str) -> Workspace:
    """Soft-delete (30-day grace): tokens then get 401, sessions 403, until restored."""
    _check_workspace(principal, workspace_id)
    require_session(principal, Role.OWNER)
    now = wb.clock()
    with wb.store.write() as db:
        ws = repo.get_workspace(db, workspace_id)
        assert ws is not None
        if ws.deleted_at is None:
            repo.set_workspace_deleted(db, workspace_id, now)
            ws.deleted_at = now
            wb.audit(db, principal, "workspace.delete", "workspace", workspace_id, None, at=now)
    return ws


def restore_workspace(wb: Workbench, principal: Principal, workspace_id: str) -> Workspace:
    _check_workspace(principal, workspace_id)
    require_session(principal, Role.OWNER)
    with wb.store.write() as db:
        ws = repo.get_workspace(db, workspace_id)
        assert ws is not None
        if ws.deleted_at is not None:
            repo.set_workspace_deleted(db, workspace_id, None)
            ws.deleted_at = None
            wb.audit(db, principal, "workspace.restore", "workspace", workspace_id, None)
    return ws


def _check_workspace(principal: Principal, workspace_id: str) -> None:
    if principal.workspace_id != workspace_id:
        # The path names a workspace the credential is not bound to.
        raise NotFound("Workspace not found")
    if not principal.is_session and principal.kind.value != "token":
        raise Forbidden("This endpoint requires a session")


def _system(workspace_id: str, user_id: str) -> Principal:
    from workbench.domain.roles import PrincipalKind

    return Principal(kind=PrincipalKind.SESSION, workspace_id=workspace_id, role=Role.OWNER, user_id=user_id)
