"""Who may do what: workspace roles, the principals that act, and the role checks.

Roles rank GUEST < MEMBER < ADMIN < OWNER. A site's MCP integration acts with MEMBER rights
on that one site only. Audit entries name the actor as the document does: a user id, a token
id (``token:<id>``) or ``mcp:<site_id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workbench.domain.errors import Forbidden


class Role(StrEnum):
    GUEST = "GUEST"
    MEMBER = "MEMBER"
    ADMIN = "ADMIN"
    OWNER = "OWNER"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.GUEST: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class PrincipalKind(StrEnum):
    SESSION = "session"  # a signed-in user (the dashboard's Cognito session)
    TOKEN = "token"  # a gfat_ API token
    MCP = "mcp"  # a site's MCP integration
    LOCAL = "local"  # the local user of an offline store (TUI, CLI, stdio MCP)


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The authenticated caller, already bound to one workspace.

    A plain dataclass, not a pydantic model: it is built by our own code from stored rows,
    never from caller input, and every front end (the TUI's first paint included) needs it.
    """

    kind: PrincipalKind
    workspace_id: str
    role: Role
    user_id: str | None = None
    token_id: str | None = None
    site_id: str | None = None  # set for MCP: the only site it may touch
    display_name: str = ""

    def __post_init__(self) -> None:
        # Rows carry plain strings; the role checks rely on the enums' behaviour.
        object.__setattr__(self, "kind", PrincipalKind(self.kind))
        object.__setattr__(self, "role", Role(self.role))

    @property
    def actor_id(self) -> str:
        if self.kind is PrincipalKind.MCP:
            return f"mcp:{self.site_id}"
        if self.kind is PrincipalKind.TOKEN:
            return f"token:{self.token_id}"
        return self.user_id or "local"

    @property
    def is_session(self) -> bool:
        return self.kind in (PrincipalKind.SESSION, PrincipalKind.LOCAL)

    @property
    def is_agent(self) -> bool:
        """Token and MCP callers write as "the agent" (replies' author)."""
        return self.kind in (PrincipalKind.TOKEN, PrincipalKind.MCP)


def require_role(principal: Principal, minimum: Role) -> None:
    """Refuse with the document's wording when the caller's role ranks below ``minimum``."""
    if principal.role.rank < minimum.rank:
        raise Forbidden("Insufficient role")


def require_session(principal: Principal, minimum: Role = Role.GUEST) -> None:
    """Management endpoints are session-only: a token can neither mint nor revoke tokens."""
    if not principal.is_session:
        raise Forbidden("This endpoint requires a session; API tokens cannot use it")
    require_role(principal, minimum)
