"""Authentication: turn a bearer credential (+ X-GF-Workspace) into a Principal, or refuse.

API tokens (``gfat_…``) carry their workspace; session bearers are JWTs signed with the
store's secret (standing in for the hosted service's Cognito ID tokens) and name the
workspace in ``X-GF-Workspace``. Tokens are looked up by SHA-256 digest only and the digest
is compared in constant time.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import accounts as accounts_repo
from storage import sites as sites_repo
from workbench.domain.errors import WORKSPACE_DELETED, Forbidden, Invalid, NotFound, Unauthenticated
from workbench.domain.roles import Principal, PrincipalKind, Role
from workbench.domain.tokens import (
    API_TOKEN_PREFIX,
    MCP_TOKEN_PREFIX,
    STAKEHOLDER_TOKEN_PREFIX,
    WIDGET_TOKEN_PREFIX,
    bearer_credential,
    hash_secret,
    is_well_formed_api_token,
    same_secret,
)
from workbench.services.context import Workbench

SESSION_TTL = timedelta(days=30)
_JWT_ALG = "HS256"


def issue_session(wb: Workbench, user_id: str, ttl: timedelta = SESSION_TTL) -> str:
    """A session bearer for a user (what the dashboard's sign-in would hand out)."""
    import jwt  # lazily: ~40 ms of imports the TUI's first paint need not pay
    now = datetime.fromtimestamp(wb.clock() / 1000, tz=UTC)
    claims = {"sub": user_id, "typ": "session", "iat": now, "exp": now + ttl}
    return jwt.encode(claims, wb.secret, algorithm=_JWT_ALG)


def authenticate(
    wb: Workbench,
    authorization: str | None,
    workspace_header: str | None,
    *,
    allow_deleted: bool = False,
    version: tuple[int, int] | None = None,
) -> Principal:
    """The caller of a /api request; raises Unauthenticated/Forbidden/NotFound/Invalid.

    An API token's result is kept until what its authentication reads changes (``_TokenCache``).
    ``version``: the store's data version when the caller already read it for this request."""
    credential = _api_token(authorization)
    # On PostgreSQL reading the version is a round trip of its own, as the lookup is: only a
    # caller that already read it (the list's hot path) gains from the cache there.
    if credential is not None and (version is not None or wb.store.dialect == "sqlite"):
        return _kept_or_looked_up(wb, credential, version)
    credential = bearer_credential(authorization)
    if credential.startswith(API_TOKEN_PREFIX):
        return _token_principal(wb, credential)  # malformed: refused with its reason
    return _session_principal(wb, credential, workspace_header, allow_deleted=allow_deleted)


class _TokenCache:
    """API-token principals of one store, kept while its tokens and workspaces are unchanged.

    Every write to ``api_tokens`` or ``workspaces`` (a revocation, a role change, a workspace
    deleted, from this process or another) moves the store's ``auth_version``; it is read again
    whenever the data version moves, and a new value empties the cache, so a revoked token is
    refused on the very next request. Other writes (an annotation's) leave the principals kept:
    before, every write cost the next request of each caller a lookup, the writes themselves one
    each. Expiry depends on the clock, not the data: it is checked on every hit. Keys are the
    tokens' SHA-256 digests, never the tokens.
    """

    SIZE = 4096

    def __init__(self) -> None:
        self.version: tuple[int, int] | None = None  # the data version the entries were checked at
        self.auth_version: object = None
        self.entries: dict[str, tuple[Principal, int | None]] = {}
        self.lock = threading.Lock()

    def check(self, wb: Workbench, version: tuple[int, int]) -> None:
        """Bring the cache to ``version``: its entries stay only if ``auth_version`` did not move."""
        with self.lock:
            if self.version != version:
                auth_version = wb.store.auth_version(version)
                if auth_version != self.auth_version:
                    self.entries.clear()
                    self.auth_version = auth_version
                self.version = version


_TOKEN_CACHES: dict[Path, _TokenCache] = {}


def cached_principal(wb: Workbench, authorization: str | None, version: tuple[int, int]) -> Principal | None:
    """What ``authenticate`` answers when it needs no lookup in the store (an API token kept since
    its tokens and workspaces last changed), else None: on PostgreSQL the lookup is a round trip
    the caller makes off the event loop."""
    credential = _api_token(authorization)
    cache = _TOKEN_CACHES.get(wb.store.path)
    if credential is None or cache is None:
        return None
    cache.check(wb, version)
    return _kept(wb, cache, hash_secret(credential), version)


def _kept_or_looked_up(wb: Workbench, credential: str, version: tuple[int, int] | None) -> Principal:
    cache = _TOKEN_CACHES.get(wb.store.path)
    if cache is None:
        cache = _TOKEN_CACHES.setdefault(wb.store.path, _TokenCache())
    if version is None:
        version = wb.store.version()  # read first: a commit after it moves it for the next call
    cache.check(wb, version)
    digest = hash_secret(credential)
    hit = _kept(wb, cache, digest, version)
    if hit is not None:
        return hit
    principal, expires_at = _token_lookup(wb, credential)
    with cache.lock:
        if cache.version == version:
            if len(cache.entries) >= _TokenCache.SIZE:
                cache.entries.clear()
            cache.entries[digest] = (principal, expires_at)
    return principal


def _api_token(authorization: str | None) -> str | None:
    """The bearer credential if it is a well-formed API token (the only kind the cache keeps)."""
    credential = bearer_credential(authorization)
    return credential if credential.startswith(API_TOKEN_PREFIX) and is_well_formed_api_token(credential) else None


def _kept(wb: Workbench, cache: _TokenCache, digest: str, version: tuple[int, int]) -> Principal | None:
    """The principal kept for ``digest`` at ``version``, unless it expired since."""
    with cache.lock:
        hit = cache.entries.get(digest) if cache.version == version else None
    if hit is not None and (hit[1] is None or hit[1] > wb.clock()):
        return hit[0]
    return None


def _token_principal(wb: Workbench, credential: str) -> Principal:
    return _token_lookup(wb, credential)[0]


def _token_lookup(wb: Workbench, credential: str) -> tuple[Principal, int | None]:
    """The token's principal and its expiry (epoch ms, or None)."""
    if not is_well_formed_api_token(credential):
        raise Unauthenticated("Malformed API token")
    digest = hash_secret(credential)
    db = wb.store.db
    found = accounts_repo.token_by_hash(db, digest)
    if found is None or not same_secret(found[0].token_hash, digest):
        raise Unauthenticated("Unknown API token")
    token, workspace_deleted_at = found
    now = wb.clock()
    if token.revoked_at is not None:
        raise Unauthenticated("API token revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthenticated("API token expired")
    if workspace_deleted_at is not None:
        # 401 so a CI loop stops retrying with this credential.
        raise Unauthenticated(WORKSPACE_DELETED)
    return Principal(
        kind=PrincipalKind.TOKEN,
        workspace_id=token.workspace_id,
        role=Role(token.role),
        token_id=token.id,
        user_id=token.created_by,
        display_name=token.name,
    ), token.expires_at


def _session_principal(wb: Workbench, credential: str, workspace_header: str | None, *, allow_deleted: bool) -> Principal:
    import jwt  # lazily: ~40 ms of imports the TUI's first paint need not pay
    try:
        claims = jwt.decode(credential, wb.secret, algorithms=[_JWT_ALG], options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("Session expired") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated(_misplaced(credential) or "Malformed or unknown bearer token") from None
    if claims.get("typ") != "session":
        raise Unauthenticated("Bearer token is not a session token")
    db = wb.store.db
    user = accounts_repo.get_user(db, str(claims["sub"]))
    if user is None:
        raise Unauthenticated("Unknown session user")
    if not workspace_header:
        raise Invalid("X-GF-Workspace header is required for session callers")
    role = accounts_repo.membership_role(db, workspace_header, user.id)
    ws = accounts_repo.get_workspace(db, workspace_header)
    if role is None or ws is None:
        raise NotFound("Workspace not found")
    if ws.deleted_at is not None and not allow_deleted:
        # 403 so the dashboard can show its "restore" banner.
        raise Forbidden(WORKSPACE_DELETED)
    return Principal(
        kind=PrincipalKind.SESSION, workspace_id=ws.id, role=Role(role), user_id=user.id, display_name=user.name
    )


def _misplaced(credential: str) -> str | None:
    """What a secret of another kind is, and where it goes: bootstrap prints seven, and a script
    that sent its store API key or MCP token here was told "Malformed or unknown bearer token"."""
    # Lazily, as jwt is: only a refusal reads them.
    from workbench.services.feedback_sessions import REVIEW_TOKEN_PREFIX
    from workbench.services.stores import STORE_KEY_PREFIX

    where = {
        MCP_TOKEN_PREFIX: "an MCP token, which authenticates in the MCP endpoint's URL (/mcp/<token>), not as a bearer",
        WIDGET_TOKEN_PREFIX: "a site's widget token, which goes in X-GF-Widget-Token on the widget's routes",
        STAKEHOLDER_TOKEN_PREFIX: "a stakeholder token, which goes in X-GF-Stakeholder-Token on the widget's routes",
        STORE_KEY_PREFIX: "a store API key, which works only under /api/v1/feedback-sessions",
        REVIEW_TOKEN_PREFIX: "a review token, which goes in X-Review-Token on the review page's routes",
    }
    kind = next((said for prefix, said in where.items() if credential.startswith(prefix)), None)
    return f"This bearer is {kind}" if kind else None


def authenticate_mcp(wb: Workbench, mcp_token: str) -> Principal:
    """A site's MCP integration: scoped to that site with MEMBER rights."""
    digest = hash_secret(mcp_token)
    site = sites_repo.site_by_mcp_hash(wb.store.db, digest)
    if site is None or not same_secret(site.mcp_token_hash, digest):
        raise Unauthenticated("Unknown MCP token")
    ws = accounts_repo.get_workspace(wb.store.db, site.workspace_id)
    if ws is None or ws.deleted_at is not None:
        raise Unauthenticated(WORKSPACE_DELETED)
    return Principal(
        kind=PrincipalKind.MCP,
        workspace_id=site.workspace_id,
        role=Role.MEMBER,
        site_id=site.id,
        display_name=f"MCP integration ({site.name})",
    )
