"""The bootstrap workspace is made once, however many front ends start on one empty store at once."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from storage import sites as sites_repo
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


def test_bootstrap_names_the_site_it_made_whatever_lists_first(wb: Workbench) -> None:
    """Sites made in one millisecond (the demo's three) list in the order of their ids' random
    bits: ``bootstrap --json`` printed whichever came first, most often a demo site without the
    auto-fix annotations the document's agent flow asks for, and a token of that site."""
    made = bootstrap_svc.bootstrap(wb)
    storefront = sites_repo.get_site(wb.store.db, made["workspace_id"], made["site_id"])
    assert storefront is not None and storefront.name == "Acme storefront"
    # Another site of the same millisecond whose id sorts first, as a random one may.
    earlier = replace(storefront, id="00000000-0000-7000-8000-000000000000", name="Acme docs",
                      widget_token="gfw_other", mcp_token="gfmcp_other", mcp_token_hash="other", loader_secret_id="ls_other")
    with wb.store.write() as db:
        sites_repo.add_site(db, earlier)
    assert sites_repo.list_sites(wb.store.db, made["workspace_id"])[0].id == earlier.id
    again = bootstrap_svc.bootstrap(wb)
    assert (again["site_id"], again["widget_token"], again["mcp_token"]) == (storefront.id, storefront.widget_token, storefront.mcp_token)


def test_the_demos_sites_list_after_the_storefront_even_when_made_in_its_millisecond(wb: Workbench, monkeypatch) -> None:
    """The demo made its two other sites in the storefront's millisecond, so the three listed in the
    order of their ids' random bits, and "the first site" (the CLI's and stdio MCP's default) was any
    of them: most often one without an auto-fix annotation, so README's `annotations list --auto-fix`
    listed nothing. Here the clock stands still and the demo's sites get ids sorting before the
    storefront's, as random ones may."""
    from workbench.services import sites as sites_svc
    from workbench.services.demo import load_demo

    wb.clock = lambda: 1_764_000_000_000
    made = bootstrap_svc.bootstrap(wb)
    early = iter(f"00000000-0000-7000-8000-00000000000{n}" for n in range(1, 10))
    monkeypatch.setattr(sites_svc, "new_id", lambda _now: next(early))
    load_demo(wb, annotations=40)
    listed = sites_repo.list_sites(wb.store.db, made["workspace_id"])
    assert [s.name for s in listed] == ["Acme storefront", "Acme docs", "Acme marketing"]
    assert listed[0].id == made["site_id"]
    # Moved a millisecond on, a site was still "updated" in the one before it was made (the API's
    # sites listed updated_at before created_at).
    assert all(s.updated_at >= s.created_at for s in listed), [(s.name, s.created_at, s.updated_at) for s in listed]
