"""Persona rules: the seeded defaults, the request models at the API edge, slugs and ordering.

Personas are reviewer profiles a workspace runs over annotations. Each workspace starts with
the 60 defaults (``is_default=true``) and may add customs; both can be edited or deleted, and
reset-defaults restores a default from this catalog by its slug.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from workbench.domain.errors import NotFound
from workbench.domain.fields import CleanStr, NoNul, Said
from workbench.domain.persona_catalog import CATEGORIES, DEFAULT_PERSONAS, PersonaSeed

__all__ = [
    "CATEGORIES",
    "CATEGORY_PATTERN",
    "DEFAULT_BY_SLUG",
    "DEFAULT_PERSONAS",
    "SLUG_MAX",
    "SLUG_PATTERN",
    "PersonaCreate",
    "PersonaSeed",
    "PersonaUpdate",
    "ResetDefaultsRequest",
    "default_for_slug",
    "persona_sort_key",
    "slugify",
]

CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,49}$"
SLUG_MAX = 64
SLUG_PATTERN = rf"^[a-z0-9][a-z0-9-]{{0,{SLUG_MAX - 1}}}$"

DEFAULT_BY_SLUG: dict[str, PersonaSeed] = {p.slug: p for p in DEFAULT_PERSONAS}

Category = Annotated[str, StringConstraints(pattern=CATEGORY_PATTERN), NoNul]
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN), NoNul]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoNul, Said]
Description = Annotated[str, StringConstraints(max_length=1000), NoNul]
Voice = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), NoNul]
# Keywords are lowercased so the engine can match them against lowercased annotation words.
Keyword = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40), NoNul
]
Focus = Annotated[list[Keyword], Field(max_length=16)]


def slugify(name: str) -> str:
    """Kebab-case ASCII slug of ``name``; never empty, at most ``SLUG_MAX`` characters.

    Accents are folded ("Zoë" -> "zoe") so slugs stay typeable. Letters, digits and symbols
    that have no ASCII form ("Анна", "田中", "😀", "ø") cannot be folded: dropping them alone
    would give every such name one slug ("persona"), so the slug then ends in a short hash of
    the name ("persona-3f9a1c0e"), and distinct names get distinct slugs. A name that folds
    whole (every default persona's) keeps its plain slug.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    folded = decomposed.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    # Combining marks (the accents NFKD split off), punctuation and spaces carry no identity.
    lost = any(not c.isascii() and unicodedata.category(c)[0] not in "MPZ" for c in decomposed)
    if not lost:
        return slug[:SLUG_MAX].rstrip("-") or "persona"
    tag = hashlib.sha256(unicodedata.normalize("NFC", name).encode()).hexdigest()[:8]
    base = slug[: SLUG_MAX - len(tag) - 1].rstrip("-") or "persona"
    return f"{base}-{tag}"


def persona_sort_key(category: str, is_default: bool, name: str) -> tuple[str, int, str, str]:
    """Documented order: category asc, defaults before customs in a category, name asc.

    The name compares case-insensitively so "ada" and "Ben" sort as a reader expects; the
    exact name breaks ties so the order is total and stable across stores.
    """
    return (category, 0 if is_default else 1, name.casefold(), name)


def default_for_slug(slug: str) -> PersonaSeed:
    """The shipped default with this slug; NotFound when no default carries it."""
    try:
        return DEFAULT_BY_SLUG[slug]
    except KeyError:
        raise NotFound(f"no default persona with slug {slug!r}") from None


def _dedupe(keywords: list[str]) -> list[str]:
    # Repeated keywords would double-count in the engine's relevance score.
    return list(dict.fromkeys(keywords))


class PersonaCreate(BaseModel):
    """Body of POST /api/personas: a custom persona; the slug is derived from the name if absent."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    category: Category
    description: Description = ""
    focus: Focus = Field(default_factory=list)
    voice: Voice = ""
    slug: Slug | None = None

    @field_validator("focus")
    @classmethod
    def _unique_focus(cls, value: list[str]) -> list[str]:
        return _dedupe(value)

    @model_validator(mode="after")
    def _default_slug(self) -> PersonaCreate:
        if self.slug is None:
            self.slug = slugify(self.name)
        return self


class PersonaUpdate(BaseModel):
    """Body of PATCH /api/personas/{id}: any subset of the editable fields, at least one.

    The slug is not editable: it is how reset-defaults finds a default persona again.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    category: Category | None = None
    description: Description | None = None
    focus: Focus | None = None
    voice: Voice | None = None

    @field_validator("focus")
    @classmethod
    def _unique_focus(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _dedupe(value)

    @model_validator(mode="after")
    def _something_to_change(self) -> PersonaUpdate:
        # ValueError, so pydantic reports them: a body that does not fit the schema is a 422, as an empty annotation PATCH is.
        if not self.model_fields_set:
            raise ValueError("persona update needs at least one field")
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            # Every field has a value on a stored persona; null would erase it.
            raise ValueError(f"persona fields cannot be null: {', '.join(nulls)}")
        return self

    def changes(self) -> dict[str, Any]:
        """Only the fields the caller sent, ready to apply to a stored persona."""
        return {f: getattr(self, f) for f in sorted(self.model_fields_set)}


class ResetDefaultsRequest(BaseModel):
    """Body of POST /api/personas/reset-defaults: no slug resets every default, a slug just one."""

    model_config = ConfigDict(extra="forbid")

    slug: CleanStr | None = None
