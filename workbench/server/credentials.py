"""The credential behind a request, resolved before any route runs: what rate limits and idempotency key on.

Each path family is authenticated by the same service function its routes use, so
``bearer``, ``BEARER`` or extra spaces around one token all resolve to the same credential:

- ``/mcp/<token>``: the site of the MCP token (``mcp:<site_id>``);
- ``/api/v1/feedback-sessions``: the store of the store API key (``store:<store_id>``);
- ``/api/sessions``: the user and workspace of the tests JWT (``jwt:<user>@<workspace>``);
- ``/api/widget/...`` without a bearer: the widget, stakeholder or review token headers,
  hashed (``anon:<digest>``); these callers are anonymous page visitors;
- any other ``/api/`` path: the API token (``token:<id>``) or the session user and
  ``X-GF-Workspace`` (``session:<user>@<workspace>``).

A refused credential raises the service's DomainError; a path without credentials gives None.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import Scope

from workbench.domain.errors import DomainError
from workbench.domain.roles import PrincipalKind
from workbench.services import auth, stores
from workbench.services import test_sessions as tests_auth
from workbench.services.context import Workbench

_ANON_HEADERS = (b"x-gf-widget-token", b"x-gf-stakeholder-token", b"x-review-token")
_CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class Credential:
    identity: str
    workspace_id: str | None
    anonymous: bool = False


def _family(path: str) -> str | None:
    if path.startswith("/mcp/"):
        return "mcp"
    if path == "/api/v1/feedback-sessions" or path.startswith("/api/v1/feedback-sessions/"):
        return "store"
    if path == "/api/sessions" or path.startswith("/api/sessions/"):
        return "jwt"
    if path.startswith("/api/widget/"):
        return "widget"
    if path.startswith("/api/"):
        return "api"
    return None


def mcp_token(path: str) -> str:
    return path.split("/")[2] if path.startswith("/mcp/") else ""


def resolve(wb: Workbench, scope: Scope) -> Credential | None:
    """The caller's credential, freshly authenticated (revocation and deleted workspaces count)."""
    family = _family(scope["path"])
    if family is None:
        return None
    headers = Headers(scope=scope)
    authorization = headers.get("authorization")
    if family == "mcp":
        p = auth.authenticate_mcp(wb, mcp_token(scope["path"]))
        return Credential(f"mcp:{p.site_id}", p.workspace_id)
    if family == "store":
        store = stores.authenticate_store(wb, authorization)
        return Credential(f"store:{store.id}", store.workspace_id)
    if family == "jwt":
        p = tests_auth.authenticate(wb, authorization)
        return Credential(f"jwt:{p.user_id}@{p.workspace_id}", p.workspace_id)
    if family == "widget" and authorization is None:
        material = b"|".join(v for k, v in scope["headers"] if k in _ANON_HEADERS)
        return Credential("anon:" + hashlib.sha256(material).hexdigest()[:32], None, anonymous=True) if material else None
    p = auth.authenticate(wb, authorization, headers.get("x-gf-workspace"))
    if p.kind is PrincipalKind.TOKEN:
        return Credential(f"token:{p.token_id}", p.workspace_id)
    return Credential(f"session:{p.user_id}@{p.workspace_id}", p.workspace_id)


class _Unknown:
    """``Resolver.known``'s answer for a credential it has not resolved yet."""


UNKNOWN = _Unknown()


class Resolver:
    """``resolve`` with a memory of what each credential string resolved to, for the rate limiter.

    The identity behind a given credential string never changes (a token string names one
    token), so the limiter may reuse it; whether the credential is still *valid* is the
    route's check, made fresh on every request. Keys are digests: no secret stays in memory.
    Refused credentials are not remembered (the limiter then applies only the per-IP bucket).
    """

    def __init__(self, wb: Workbench) -> None:
        self.wb = wb
        self._known: dict[str, Credential | None] = {}

    def _key(self, scope: Scope) -> str | None:
        family = _family(scope["path"])
        if family is None:
            return None
        digest = hashlib.sha256(family.encode())
        digest.update(mcp_token(scope["path"]).encode())
        for name, value in scope["headers"]:
            if name in (b"authorization", b"x-gf-workspace", *_ANON_HEADERS):
                digest.update(b"\0" + name + b"\0" + value)
        return digest.hexdigest()

    def known(self, scope: Scope) -> Credential | _Unknown | None:
        """What ``self(scope)`` answers when that needs no lookup in the store, else ``UNKNOWN``."""
        key = self._key(scope)
        if key is None:
            return None
        return self._known.get(key, UNKNOWN)

    def __call__(self, scope: Scope) -> Credential | None:
        key = self._key(scope)
        if key is None:
            return None
        if key in self._known:
            return self._known[key]
        try:
            found = resolve(self.wb, scope)
        except DomainError:  # refused: no per-credential bucket; the route answers the refusal
            return None
        if len(self._known) >= _CACHE_MAX:
            self._known.clear()
        self._known[key] = found
        return found
