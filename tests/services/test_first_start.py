"""The bootstrap workspace is made once, however many front ends start on one empty store at once."""

from __future__ import annotations

import threading
from pathlib import Path

from workbench.services import bootstrap as bootstrap_svc
from workbench.services.context import Workbench


def test_two_first_starts_at_once_make_one_workspace(tmp_path: Path, monkeypatch) -> None:
    """Both found no workspace before taking the write lock; the second then made its own, and the
    store held two "Acme Commerce" workspaces, each front end in another."""
    first, second = (Workbench.open(str(tmp_path), mailer=None) for _ in range(2))
    looked = threading.Event()
    real = bootstrap_svc._bootstrap_workspace

    def looking(wb: Workbench) -> tuple[str, str] | None:
        found = real(wb)
        if wb is second:
            looked.set()
        return found

    monkeypatch.setattr(bootstrap_svc, "_bootstrap_workspace", looking)
    made: list[str] = []
    try:
        with first.store.write():  # the first start holds the store while the second looks
            racer = threading.Thread(target=lambda: made.append(bootstrap_svc.ensure_workspace(second)[0]))
            racer.start()
            assert looked.wait(10)  # the second found none, and now waits for the lock
            made.append(bootstrap_svc.ensure_workspace(first)[0])
        racer.join(10)
        assert not racer.is_alive()
        assert made[0] == made[1]
        assert [r[0] for r in first.store.db.execute("SELECT id FROM workspaces")] == [made[0]]
    finally:
        first.store.close()
        second.store.close()
