"""Extension: the bootstrap workspace's stores (one AI-built, one not), a study, and their credentials.

Store API keys are stored hashed, so every run mints a fresh key per store (older keys keep
working); the stores and the study themselves are created once and remembered in ``meta``.
"""

from __future__ import annotations

from typing import Any

from storage import accounts as accounts_repo
from storage import feedback_sessions as stores_repo
from storage import test_sessions as studies_repo
from workbench.domain.roles import Principal
from workbench.services import stores, test_sessions
from workbench.services.context import Workbench

AI_STORE_NAME = "Acme storefront (AI-built)"
PLAIN_STORE_NAME = "Acme classic store"
STUDY_NAME = "Checkout usability study"


def _ensure_store(wb: Workbench, principal: Principal, meta_key: str, name: str, ai_built: bool) -> tuple[str, str | None]:
    """The remembered store's id, and its first key's plaintext when it was created just now."""
    store_id = accounts_repo.meta_get(wb.store.db, meta_key)
    if store_id is not None and stores_repo.get_store(wb.store.db, store_id) is not None:
        return store_id, None
    store, key = stores.create_store(wb, principal, name, ai_built=ai_built)
    with wb.store.write() as db:
        accounts_repo.meta_set(db, meta_key, store.id)
    return store.id, key


def _ensure_study(wb: Workbench, principal: Principal) -> str:
    job_id = accounts_repo.meta_get(wb.store.db, "bootstrap_study")
    if job_id is None or studies_repo.get_study(wb.store.db, principal.workspace_id, job_id) is None:
        job_id = test_sessions.create_study(wb, principal, STUDY_NAME).id
        with wb.store.write() as db:
            accounts_repo.meta_set(db, "bootstrap_study", job_id)
    return job_id


def ensure_fixtures(wb: Workbench, principal: Principal) -> tuple[str, str, str]:
    """(AI-built store id, plain store id, study id) of the bootstrap workspace, created when absent."""
    ai_id, _ = _ensure_store(wb, principal, "bootstrap_store_ai", AI_STORE_NAME, True)
    plain_id, _ = _ensure_store(wb, principal, "bootstrap_store_plain", PLAIN_STORE_NAME, False)
    return ai_id, plain_id, _ensure_study(wb, principal)


def bootstrap_sessions(wb: Workbench, principal: Principal) -> dict[str, Any]:
    """Credentials for the feedback-sessions and test-sessions APIs (fresh keys on every run)."""
    store_id, store_key = _ensure_store(wb, principal, "bootstrap_store_ai", AI_STORE_NAME, True)
    plain_id, plain_key = _ensure_store(wb, principal, "bootstrap_store_plain", PLAIN_STORE_NAME, False)
    assert principal.user_id is not None
    return {
        "store_id": store_id,
        "store_api_key": store_key or stores.mint_key(wb, principal, store_id),
        "plain_store_id": plain_id,
        "plain_store_api_key": plain_key or stores.mint_key(wb, principal, plain_id),
        "jwt": test_sessions.issue_token(wb, principal.user_id, principal.workspace_id),
        "job_id": _ensure_study(wb, principal),
    }
