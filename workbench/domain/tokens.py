"""Credential rules: API token format, hashing, role clamping and expiry; site secrets' shapes.

Only the SHA-256 hash and the last four characters of an API token are ever stored; the
plaintext exists once, in the response that minted it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workbench.domain.errors import Invalid, Unauthenticated
from workbench.domain.fields import TIMESTAMP_FORM, NoNul, Said, Timestamp
from workbench.domain.roles import Role

API_TOKEN_PREFIX = "gfat_"
MCP_TOKEN_PREFIX = "gfmcp_"
WIDGET_TOKEN_PREFIX = "gfw_"
STAKEHOLDER_TOKEN_PREFIX = "gfsh_"

_API_TOKEN_RE = re.compile(r"^gfat_[A-Za-z0-9_-]{32,64}$")


def mint_secret(prefix: str) -> str:
    """A fresh random credential: prefix + 256 bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def hash_secret(plaintext: str) -> str:
    """SHA-256 hex digest, the only form in which tokens are looked up."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets or digests."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def bearer_credential(authorization: str | None, what: str = "token") -> str:
    """The credential of an ``Authorization: Bearer <credential>`` header, or Unauthenticated.

    ``what`` names the expected credential in the message (a JWT, a store API key…).
    """
    if not authorization or not authorization.strip():
        raise Unauthenticated(f"Missing bearer token: send 'Authorization: Bearer <{what}>'")
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or " " in value:
        raise Unauthenticated(f"Malformed Authorization header; expected 'Bearer <{what}>'")
    return value


def is_well_formed_api_token(value: str) -> bool:
    return bool(_API_TOKEN_RE.match(value))


def clamp_token_role(requested: Role | None) -> Role:
    """Tokens are clamped to MEMBER or GUEST at issuance; OWNER and ADMIN become MEMBER."""
    if requested is None or requested in (Role.OWNER, Role.ADMIN):
        return Role.MEMBER
    return requested


class TokenCreate(BaseModel):
    """POST /api/workspaces/{ws}/api-tokens: {name, role?, expires_at?}."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul, Said]
    role: Literal["GUEST", "MEMBER", "ADMIN", "OWNER"] | None = None
    expires_at: Timestamp | None = Field(default=None, description=f"When the token stops working: {TIMESTAMP_FORM}; absent, never")


# The latest instant the API writes back as ISO-8601: an offset west of UTC can put a year-9999
# time (9999-12-31T23:59:59-01:00) into year 10000, which the token list would show as
# "10000-01-01T…Z", a timestamp no client parses.
LATEST_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


def check_expiry(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and expires_at <= now:
        raise Invalid("expires_at must be in the future")
    if expires_at is not None and expires_at > LATEST_EXPIRY:
        raise Invalid("expires_at must be at most 9999-12-31T23:59:59.999Z")
