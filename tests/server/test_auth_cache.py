"""The server reuses an API token's authentication until the token or its workspace changes, and no longer.

A real `workbench serve` process; the revocations come from another process (this one, with its
own connection to the same SQLite file) and from the server's own API. Either way the very next
request, a read or a write, is refused: any commit moves the store's data_version, and then the
server reads ``auth_changes`` again, which every write to ``api_tokens`` and ``workspaces`` moves.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from storage import accounts as accounts_repo
from tests.server.conftest import serve
from workbench.domain.tokens import TokenCreate, hash_secret
from workbench.services import accounts
from workbench.services.bootstrap import bootstrap, owner_principal
from workbench.services.context import Workbench

pytestmark = pytest.mark.e2e


def _token_id(wb: Workbench, token: str) -> str:
    found = accounts_repo.token_by_hash(wb.store.db, hash_secret(token))
    assert found is not None
    return found[0].id


def test_a_revoked_token_is_refused_on_the_very_next_list_request(tmp_path: Path):
    data = tmp_path / "served"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    ws, owner = creds["workspace_id"], owner_principal(creds["workspace_id"], creds["owner_user_id"])
    _, second = accounts.mint_token(wb, owner, ws, TokenCreate(name="second", role="MEMBER"))
    srv = serve(data)
    try:
        path = f"/api/v1/sites/{creds['site_id']}/annotations"
        with httpx.Client(base_url=srv.url, timeout=10) as c:
            member = {"Authorization": f"Bearer {creds['member_token']}"}
            write = "/api/v1/annotations/no-such-annotation"
            for _ in range(3):  # warm: the token's result is cached from here on
                assert c.get(path, headers=member).status_code == 200
                assert c.patch(write, headers=member, json={"status": "resolved"}).status_code == 404

            # Revoked by another process: the server's only news of it is the store's data_version.
            accounts.revoke_token(wb, owner, ws, _token_id(wb, creds["member_token"]))
            refused = c.get(path, headers=member)
            assert refused.status_code == 401 and "revoked" in refused.text
            refused = c.patch(write, headers=member, json={"status": "resolved"})
            assert refused.status_code == 401 and "revoked" in refused.text

            # Revoked through the server's own API, by the owner's session.
            other = {"Authorization": f"Bearer {second}"}
            for _ in range(3):
                assert c.get(path, headers=other).status_code == 200
            session = {"Authorization": f"Bearer {creds['owner_session']}", "X-GF-Workspace": ws}
            assert c.delete(f"/api/workspaces/{ws}/api-tokens/{_token_id(wb, second)}", headers=session).status_code == 204
            assert c.get(path, headers=other).status_code == 401

            # A write that has nothing to do with tokens leaves the other callers working.
            guest = {"Authorization": f"Bearer {creds['guest_token']}"}
            assert c.get(path, headers=guest).status_code == 200
            accounts.mint_token(wb, owner, ws, TokenCreate(name="third", role="MEMBER"))
            assert c.get(path, headers=guest).status_code == 200

            # Its workspace deleted by another process: refused on the next request too.
            with wb.store.write() as db:
                db.execute("UPDATE workspaces SET deleted_at = ? WHERE id = ?", [wb.clock(), ws])
            refused = c.get(path, headers=guest)
            assert refused.status_code == 401 and "Workspace deleted" in refused.text
    finally:
        srv.stop()
        wb.store.close()
