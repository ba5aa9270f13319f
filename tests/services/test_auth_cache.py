"""An API token's principal is kept until what its authentication reads changes, and no longer.

On SQLite a write elsewhere in the store (an annotation, a site) keeps it: the cache is checked
against ``auth_changes``, which only writes to ``api_tokens`` and ``workspaces`` move. On
PostgreSQL the store's one version counter decides, so any commit costs the next call a lookup.
Every change that matters (a revocation, a role, an expiry, a token deleted, its workspace
deleted) is seen by the very next call, on both engines. Calls pass the store's version as the
list's hot path does: on PostgreSQL a caller without it (every other route) is not cached at all,
since reading the version would cost what the lookup does.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from storage import accounts as accounts_repo
from workbench.domain.errors import Unauthenticated
from workbench.domain.roles import Role
from workbench.domain.tokens import hash_secret
from workbench.services import auth
from workbench.services.context import Workbench


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The digests the store was asked for, one per lookup the cache did not spare."""
    seen: list[str] = []
    real = accounts_repo.token_by_hash

    def counted(db, token_hash):
        seen.append(token_hash)
        return real(db, token_hash)

    monkeypatch.setattr(auth.accounts_repo, "token_by_hash", counted)
    return seen


def _bearer(token: str) -> str:
    return f"Bearer {token}"


def _authenticate(wb: Workbench, authorization: str):
    return auth.authenticate(wb, authorization, None, version=wb.store.version())


def test_a_write_elsewhere_keeps_the_principal_on_sqlite_only(wb: Workbench, creds: dict, lookups: list[str], engine: str):
    member = _bearer(creds["member_token"])
    assert _authenticate(wb, member).role is Role.MEMBER
    assert _authenticate(wb, member).role is Role.MEMBER
    assert len(lookups) == 1  # the second call was kept

    with wb.store.write() as db:
        db.execute("UPDATE sites SET name = name || ' renamed' WHERE id = ?", [creds["site_id"]])
    assert _authenticate(wb, member).role is Role.MEMBER
    assert len(lookups) == (1 if engine == "sqlite" else 2)


def test_a_caller_without_the_version_is_kept_on_sqlite_and_looked_up_each_time_on_postgresql(
    wb: Workbench, creds: dict, lookups: list[str], engine: str
):
    member = _bearer(creds["member_token"])
    for _ in range(3):
        assert auth.authenticate(wb, member, None).role is Role.MEMBER
    assert len(lookups) == (1 if engine == "sqlite" else 3)


def _revoke(db, token_id: str) -> None:
    db.execute("UPDATE api_tokens SET revoked_at = 1 WHERE id = ?", [token_id])


def _expire(db, token_id: str) -> None:
    db.execute("UPDATE api_tokens SET expires_at = 1 WHERE id = ?", [token_id])


def _delete(db, token_id: str) -> None:
    db.execute("DELETE FROM api_tokens WHERE id = ?", [token_id])


def _delete_workspace(db, token_id: str) -> None:
    db.execute("UPDATE workspaces SET deleted_at = 1 WHERE id = (SELECT workspace_id FROM api_tokens WHERE id = ?)", [token_id])


@pytest.mark.parametrize(
    ("change", "refusal"),
    [(_revoke, "revoked"), (_expire, "expired"), (_delete, "Unknown API token"), (_delete_workspace, "Workspace deleted")],
)
def test_a_change_to_the_token_or_its_workspace_is_refused_on_the_next_call(
    wb: Workbench, creds: dict, change: Callable, refusal: str
):
    member = _bearer(creds["member_token"])
    found = accounts_repo.token_by_hash(wb.store.db, hash_secret(creds["member_token"]))
    assert found is not None
    _authenticate(wb, member)  # kept from here on
    with wb.store.write() as db:
        change(db, found[0].id)
    with pytest.raises(Unauthenticated, match=refusal):
        _authenticate(wb, member)


def test_a_new_role_is_seen_on_the_next_call(wb: Workbench, creds: dict):
    member = _bearer(creds["member_token"])
    found = accounts_repo.token_by_hash(wb.store.db, hash_secret(creds["member_token"]))
    assert found is not None
    assert _authenticate(wb, member).role is Role.MEMBER
    with wb.store.write() as db:
        db.execute("UPDATE api_tokens SET role = 'GUEST' WHERE id = ?", [found[0].id])
    assert _authenticate(wb, member).role is Role.GUEST
