"""A user's display preferences (the TUI's settings), kept in the store beside the saved views.

Only named, bounded choices: each preference has its allowed values here, so nothing else
can be written through this door. Stored per user in the store's ``meta`` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage import accounts as accounts_repo
from workbench.domain.errors import Invalid

if TYPE_CHECKING:
    from workbench.domain.roles import Principal
    from workbench.services.context import Workbench

# preference -> the values it may take
CHOICES: dict[str, tuple[str, ...]] = {
    # Where the inbox shows the highlighted row: beside the list or below it (unset: by width).
    "inbox.preview": ("side", "below"),
}


def _key(principal: Principal, name: str) -> str:
    return f"pref:{principal.user_id}:{name}"


def load(wb: Workbench, principal: Principal, name: str) -> str | None:
    """The stored choice, or None when the user never chose (or a value this version does not know)."""
    value = accounts_repo.meta_get(wb.store.db, _key(principal, name))
    return value if value in CHOICES.get(name, ()) else None


def save(wb: Workbench, principal: Principal, name: str, value: str) -> None:
    allowed = CHOICES.get(name)
    if allowed is None:
        raise Invalid(f"Unknown preference '{name}'")
    if value not in allowed:
        raise Invalid(f"{name} is one of: {', '.join(allowed)}")
    with wb.store.write() as db:
        accounts_repo.meta_set(db, _key(principal, name), value)
