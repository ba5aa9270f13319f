"""Helpers of the feedback-session and test-session tests: polling, principals, extra stores and workspaces."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from storage import feedback_sessions as stores_repo
from workbench.domain.roles import Principal, PrincipalKind, Role
from workbench.domain.session_records import Storefront
from workbench.services import accounts, stores
from workbench.services import test_sessions as ts_svc
from workbench.services.context import Workbench

T = TypeVar("T")


def wait_until(fetch: Callable[[], T], done: Callable[[T], bool], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``fetch`` until ``done`` holds; fail after ``timeout`` seconds (background jobs finish in ms)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        time.sleep(0.01)


async def wait_until_async(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """``wait_until`` on an event loop: polls ``condition`` each millisecond, letting the loop run between."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.001)


def owner(creds: dict) -> Principal:
    return Principal(kind=PrincipalKind.LOCAL, workspace_id=creds["workspace_id"], role=Role.OWNER, user_id=creds["owner_user_id"])


def store_of(wb: Workbench, store_id: str) -> Storefront:
    store = stores_repo.get_store(wb.store.db, store_id)
    assert store is not None
    return store


def new_store(wb: Workbench, creds: dict, name: str = "Second store", ai_built: bool = True) -> tuple[Storefront, str]:
    """Another store of the bootstrap workspace, with its API key."""
    return stores.create_store(wb, owner(creds), name, ai_built=ai_built)


def other_workspace(wb: Workbench, tag: str = "rival") -> dict[str, Any]:
    """A second workspace with an owner, a study and a JWT of its own."""
    ws, user = accounts.create_workspace(wb, f"{tag} inc", f"owner@{tag}.example", f"{tag} owner")
    principal = Principal(kind=PrincipalKind.LOCAL, workspace_id=ws.id, role=Role.OWNER, user_id=user.id)
    study = ts_svc.create_study(wb, principal, f"{tag} study")
    store, key = stores.create_store(wb, principal, f"{tag} store", ai_built=True)
    return {
        "workspace_id": ws.id,
        "principal": principal,
        "job_id": study.id,
        "jwt": ts_svc.issue_token(wb, user.id, ws.id),
        "store": store,
        "store_api_key": key,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
