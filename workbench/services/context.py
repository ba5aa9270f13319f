"""The Workbench: what every use case needs (store, clock, reviewer engine, mailer, secret)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlite_utils import Database

from storage import Store
from storage import accounts as accounts_repo
from storage import audit as audit_repo
from workbench.domain.clock import now_ms
from workbench.domain.roles import Principal
from workbench.engine.base import ReviewerEngine
from workbench.engine.factory import engine_from_env
from workbench.services.mailer import Mailer, mailer_from_env


@dataclass
class Workbench:
    """One data directory's use cases, shared by every front end in a process."""

    store: Store
    # Offline unless WORKBENCH_ENGINE_URL/_MODEL name an OpenAI-compatible endpoint.
    engine: ReviewerEngine = field(default_factory=engine_from_env)
    mailer: Mailer | None = field(default_factory=mailer_from_env)
    clock: Callable[[], int] = now_ms

    @classmethod
    def open(cls, data_dir: str, **kwargs: Any) -> Workbench:
        return cls(Store(data_dir), **kwargs)

    @cached_property
    def secret(self) -> bytes:
        """This store's signing secret (cursors, upload URLs, session JWTs)."""
        with self.store.write() as db:
            return accounts_repo.server_secret(db)

    def audit(
        self,
        db: Database,
        principal: Principal,
        action: str,
        entity_type: str,
        entity_id: str,
        detail: dict[str, Any] | None = None,
        *,
        at: int | None = None,
    ) -> None:
        audit_repo.record(
            db,
            workspace_id=principal.workspace_id,
            at=self.clock() if at is None else at,
            actor_id=principal.actor_id,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            detail=detail,
        )
