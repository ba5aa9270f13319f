"""The Workbench: what every use case needs (store, clock, reviewer engine, mailer, secret)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from storage import Store
from storage import accounts as accounts_repo
from storage import audit as audit_repo
from workbench.domain.clock import now_ms

if TYPE_CHECKING:
    from sqlite3 import Connection

    from workbench.domain.roles import Principal
    from workbench.engine.base import ReviewerEngine
    from workbench.services.mailer import Mailer


class _FromEnv:
    """The default of ``mailer``: read WORKBENCH_SMTP_URL (``None`` means "send no mail")."""


FROM_ENV = _FromEnv()


class Workbench:
    """One data directory's use cases, shared by every front end in a process."""

    def __init__(
        self,
        store: Store,
        *,
        engine: ReviewerEngine | None = None,
        mailer: Mailer | _FromEnv | None = FROM_ENV,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self._engine = engine
        self._mailer = mailer
        self.clock = clock

    @classmethod
    def open(cls, data_dir: str, *, database: str | None = None, **kwargs: Any) -> Workbench:
        """The store of ``data_dir``, or the PostgreSQL database at ``database`` (a team server's)."""
        if database:
            from storage.pg import PgStore  # only a server on PostgreSQL pays for psycopg

            return cls(PgStore(database, data_dir), **kwargs)
        return cls(Store(data_dir), **kwargs)

    @property
    def engine(self) -> ReviewerEngine:
        """The reviewer engine: offline unless WORKBENCH_ENGINE_URL/_MODEL name an OpenAI-compatible
        endpoint. Built on first use, so opening a store (the TUI's first paint) skips its imports."""
        if self._engine is None:
            from workbench.engine.factory import engine_from_env

            self._engine = engine_from_env()
        return self._engine

    @engine.setter
    def engine(self, engine: ReviewerEngine) -> None:
        self._engine = engine

    @property
    def mailer(self) -> Mailer | None:
        """Where submitter notifications go: WORKBENCH_SMTP_URL's server unless given, read on
        first use (a store opened for the TUI's first paint sends no mail)."""
        if isinstance(self._mailer, _FromEnv):
            from workbench.services.mailer import mailer_from_env

            self._mailer = mailer_from_env()
        return self._mailer

    @mailer.setter
    def mailer(self, mailer: Mailer | None) -> None:
        self._mailer = mailer

    @cached_property
    def secret(self) -> bytes:
        """This store's signing secret (cursors, upload URLs, session JWTs).

        Read without the write lock once it exists: a listing signs its cursor with it, and a
        read must not wait behind another process's long write (a sync), nor fail when it
        outlasts the busy timeout."""
        with self.store.read() as db:
            kept = accounts_repo.meta_get(db, "server_secret")
        if kept is not None:
            return bytes.fromhex(kept)
        with self.store.write() as db:
            return accounts_repo.server_secret(db)

    def audit(
        self,
        db: Connection,
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
