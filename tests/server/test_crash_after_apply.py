"""Issue 13 item 5: a plain HTTP client's keyed retry after the server died between the write and its response.

A real ``workbench serve`` is made to SIGKILL itself once a reply is applied (faults.py),
then restarted on the same store; the client retries with the same Idempotency-Key.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerProcess
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.server import faults
from workbench.services import annotations, sites
from workbench.services.bootstrap import bootstrap, owner_principal
from workbench.services.context import Workbench

pytestmark = pytest.mark.e2e


def test_retry_after_crash_does_not_apply_twice(tmp_path):
    data = tmp_path / "served"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    site = sites.get_site(wb, owner_principal(creds["workspace_id"], creds["owner_user_id"]), creds["site_id"])
    ann = annotations.submit_from_widget(
        wb, site.id, site.widget_token, None, WidgetAnnotationCreate(page_url="https://shop.acme.example/", body="broken")
    )
    wb.store.close()
    url = f"/api/v1/annotations/{ann.id}/replies"
    headers = {"Authorization": f"Bearer {creds['member_token']}", "Idempotency-Key": "crash-1"}
    crashing = ServerProcess(data, env={faults.ENV: "POST /replies$"})
    try:
        with pytest.raises(httpx.TransportError):
            httpx.post(crashing.url + url, json={"body": "exactly once"}, headers=headers, timeout=10)
        crashing.proc.wait(10)  # died by its own SIGKILL after committing the reply
    finally:
        crashing.stop()
    restarted = ServerProcess(data, port=crashing.port)
    try:
        retry = httpx.post(restarted.url + url, json={"body": "exactly once"}, headers=headers, timeout=10)
        detail = httpx.get(restarted.url + f"/api/v1/annotations/{ann.id}", headers={"Authorization": headers["Authorization"]})
    finally:
        restarted.stop()
    replies = [r for r in detail.json()["replies"] if r["body"] == "exactly once"]
    assert len(replies) == 1
    assert retry.status_code == 409, retry.text
    assert retry.json()["applied"]["reply_id"] == replies[0]["id"]
