"""Rate limits: 600/60 s per token and 30/60 s per IP by default, both must allow; 429 with reason and Retry-After."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ServerProcess, bearer
from tests.server.conftest import ROOT
from tests.stores import bootstrapped
from workbench.server.app import create_app
from workbench.server.ratelimit import Buckets, RateLimiter, RateLimitMiddleware
from workbench.server.settings import ServerSettings


def _client(wb, **kw) -> TestClient:
    return TestClient(create_app(wb, ServerSettings(**kw)), client=("203.0.113.9", 5000))


def test_per_token_bucket(wb, creds):
    with _client(wb, token_limit=3, ip_limit=1000) as c:
        codes = [c.get("/api/v1/sites", headers=bearer(creds["member_token"])).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/api/v1/sites", headers=bearer(creds["member_token"]))
        assert "per-token" in r.json()["detail"] and 1 <= int(r.headers["retry-after"]) <= 60
        # Another token has its own bucket.
        assert c.get("/api/v1/sites", headers=bearer(creds["guest_token"])).status_code == 200


def test_per_ip_bucket_applies_across_tokens(wb, creds):
    with _client(wb, token_limit=1000, ip_limit=2) as c:
        assert c.get("/api/v1/sites", headers=bearer(creds["member_token"])).status_code == 200
        assert c.get("/api/v1/sites", headers=bearer(creds["guest_token"])).status_code == 200
        r = c.get("/api/v1/sites", headers=bearer(creds["guest_token"]))
        assert r.status_code == 429 and "per-IP" in r.json()["detail"] and r.headers["retry-after"]


def test_loopback_skips_ip_bucket_unless_asked(wb, creds):
    with TestClient(create_app(wb, ServerSettings(token_limit=1000, ip_limit=1)), client=("127.0.0.1", 5000)) as c:
        assert all(c.get("/api/v1/sites", headers=bearer(creds["member_token"])).status_code == 200 for _ in range(5))
    with TestClient(create_app(wb, ServerSettings(token_limit=1000, ip_limit=1, limit_loopback_ip=True)), client=("127.0.0.1", 5000)) as c:
        assert [c.get("/api/v1/sites", headers=bearer(creds["member_token"])).status_code for _ in range(2)] == [200, 429]


def test_window_rolls_over():
    now = [0.0]
    b = Buckets(limit=2, window=60, clock=lambda: now[0])
    assert b.hit("k") is None and b.hit("k") is None
    assert b.hit("k") == 60
    now[0] = 59.5
    wait = b.hit("k")
    assert wait is not None and 0 < wait <= 1
    now[0] = 60.0
    assert b.hit("k") is None


def test_docs_are_not_rate_limited(wb):
    with _client(wb, ip_limit=1) as c:
        assert all(c.get("/openapi.json").status_code == 200 for _ in range(3))


def test_token_bucket_follows_the_credential_not_its_spelling(wb, creds):
    token = creds["member_token"]
    spellings = [f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer   {token}  "]
    with _client(wb, token_limit=3, ip_limit=1000) as c:
        codes = [c.get("/api/v1/sites", headers={"Authorization": s}).status_code for s in spellings]
        assert codes == [200, 200, 200, 429]


def test_each_credential_kind_has_one_bucket(wb, creds):
    # Store keys, tests JWTs, sessions (per workspace) and MCP tokens: two spellings, one bucket.
    cases = [
        ("/api/v1/feedback-sessions", {"Authorization": f"Bearer {creds['store_api_key']}"},
         {"Authorization": f"bearer  {creds['store_api_key']}"}),
        (f"/api/sessions?jobId={creds['job_id']}", {"Authorization": f"Bearer {creds['jwt']}"}, {"Authorization": f"BEARER {creds['jwt']}"}),
        ("/api/v1/sites", bearer(creds["owner_session"], creds["workspace_id"]),
         {"Authorization": f"bearer {creds['owner_session']}", "X-GF-Workspace": creds["workspace_id"]}),
    ]
    for path, first, second in cases:
        with _client(wb, token_limit=1, ip_limit=1000) as c:
            assert c.get(path, headers=first).status_code == 200, path
            r = c.get(path, headers=second)
            assert r.status_code == 429 and "per-token" in r.text, path


def test_a_refused_credential_meets_only_the_per_ip_bucket(wb, creds):
    """README: "a refused credential only meets the per-IP bucket (and its route's 401)": a client
    retrying with a dead token is told 401, "stop retrying with this credential", not to wait."""
    unknown = {"Authorization": "Bearer gfat_" + "A" * 43}
    with _client(wb, token_limit=1, ip_limit=1000) as c:
        assert [c.get("/api/v1/sites", headers=unknown).status_code for _ in range(3)] == [401, 401, 401]
    with _client(wb, token_limit=1000, ip_limit=2) as c:
        codes = [c.get("/api/v1/sites", headers=unknown).status_code for _ in range(3)]
        assert codes == [401, 401, 429]


WINDOW = 3  # seconds: short, so that the wait these tests check is the whole test


def _limited_server(tmp_path: Path) -> tuple[ServerProcess, dict]:
    """`workbench serve` over TCP with every bucket but the per-IP one at 2 per WINDOW seconds."""
    data = tmp_path / "served"
    creds = bootstrapped(data)
    limits = ("--token-limit", "2", "--ip-limit", "1000000", "--widget-ip-limit", "2", "--widget-site-limit", "1000", "--window", str(WINDOW))
    return ServerProcess(data, *limits, env={"PYTHONPATH": str(ROOT)}, cwd=ROOT), creds


def _rest(url: str, creds: dict) -> httpx.Response:
    return httpx.get(url + "/api/v1/sites", headers=bearer(creds["member_token"]), timeout=10)


def _mcp(url: str, creds: dict) -> httpx.Response:
    listed = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    return httpx.post(f"{url}/mcp/{creds['mcp_token']}", json=listed, headers={"Accept": "application/json, text/event-stream"}, timeout=10)


def _widget(url: str, creds: dict) -> httpx.Response:
    body = {"page_url": "https://shop.acme.example/", "body": "The banner hides the basket."}
    return httpx.post(f"{url}/api/widget/sites/{creds['site_id']}/annotations", json=body,
                      headers={"X-GF-Widget-Token": creds["widget_token"]}, timeout=10)


@pytest.mark.parametrize("send", [_rest, _mcp, _widget], ids=["rest", "mcp", "widget-submission"])
def test_retry_after_is_the_time_left_and_a_request_after_it_is_admitted(tmp_path, send: Callable[[str, dict], httpx.Response]):
    """``Retry-After`` is the whole seconds until the bucket admits again (rounded up, at least 1),
    not the window: a client that waits it out is served, on every limit that answers 429. The
    refused requests below count nothing (a full bucket refuses without counting on either engine,
    and the widget's counts on PostgreSQL do not move its window), so polling them only watches
    the header come down; the one wait is the server's own Retry-After."""
    srv, creds = _limited_server(tmp_path)
    try:
        admitted = send(srv.url, creds).status_code
        assert admitted in (200, 201) and send(srv.url, creds).status_code == admitted
        refused = send(srv.url, creds)
        assert refused.status_code == 429, refused.text
        first = int(refused.headers["retry-after"])
        assert 1 <= first <= WINDOW
        deadline = time.monotonic() + WINDOW + 5
        while (retry := int(refused.headers["retry-after"])) >= WINDOW:
            # Until the header is below the window: a server that always sends the window never gets there.
            assert time.monotonic() < deadline, f"Retry-After stayed {retry}, the window, for longer than the window"
            time.sleep(0.05)
            refused = send(srv.url, creds)
            assert refused.status_code == 429, refused.text
        assert 1 <= retry < WINDOW
        time.sleep(retry)
        again = send(srv.url, creds)
        assert again.status_code == admitted, (retry, again.status_code, again.text)
    finally:
        srv.stop()


@pytest.mark.sqlite_only("the clock is the in-memory buckets' (Buckets.clock); PostgreSQL's windows run on the database's")
def test_when_both_buckets_are_full_retry_after_waits_for_the_later(wb, creds):
    """The per-IP bucket's refusal told only its own wait: a client whose token's bucket was full
    too came back when the IP's window rolled over and was refused again, by its token's."""
    now = [0.0]
    app = create_app(wb, ServerSettings(token_limit=2, ip_limit=2, window_seconds=60))
    limiter = next(m.kwargs["limiter"] for m in app.user_middleware if m.cls is RateLimitMiddleware)
    assert isinstance(limiter, RateLimiter)
    for buckets in (limiter.tokens, limiter.ips):
        assert isinstance(buckets, Buckets)  # in memory on SQLite
        buckets.clock = lambda: now[0]
    member, guest = bearer(creds["member_token"]), bearer(creds["guest_token"])
    with TestClient(app, client=("203.0.113.9", 5000)) as first, TestClient(app, client=("203.0.113.10", 5000)) as second:
        assert second.get("/api/v1/sites", headers=guest).status_code == 200  # the second IP's window: 0 to 60
        now[0] = 30.0
        assert [first.get("/api/v1/sites", headers=member).status_code for _ in range(2)] == [200, 200]  # the member's: 30 to 90
        assert second.get("/api/v1/sites", headers=guest).status_code == 200  # the second IP is full now
        now[0] = 40.0
        refused = second.get("/api/v1/sites", headers=member)  # both full: the IP's until 60, the member's until 90
        assert refused.status_code == 429 and "per-IP" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "50"
        now[0] = 90.0
        assert second.get("/api/v1/sites", headers=member).status_code == 200


@pytest.mark.sqlite_only("the clock is the in-memory buckets' (Buckets.clock); PostgreSQL's widget counts run on the database's")
def test_when_both_widget_buckets_are_full_retry_after_waits_for_the_later(wb, creds):
    """The widget's submissions alike: per IP and per site, a refusal waits for both."""
    from workbench.server.routes.widget import SubmitLimits
    from workbench.services import sites as sites_svc
    from workbench.services.bootstrap import owner_principal

    other = sites_svc.create_site(wb, owner_principal(creds["workspace_id"], creds["owner_user_id"]), "Other", "https://other.example")
    now = [0.0]
    settings = ServerSettings(widget_ip_limit=2, widget_site_limit=2, window_seconds=60)
    app = create_app(wb, settings)
    app.state.widget_limits = limits = SubmitLimits(settings, wb)
    for buckets in (limits.ips, limits.sites):
        assert isinstance(buckets, Buckets)  # in memory on SQLite
        buckets.clock = lambda: now[0]

    def submit(client: TestClient, site_id: str, token: str) -> Any:
        body = {"page_url": "https://shop.acme.example/", "body": "The banner hides the basket."}
        return client.post(f"/api/widget/sites/{site_id}/annotations", json=body, headers={"X-GF-Widget-Token": token})

    mine, theirs = (creds["site_id"], creds["widget_token"]), (other.id, other.widget_token)
    with TestClient(app, client=("203.0.113.9", 5000)) as first, TestClient(app, client=("203.0.113.10", 5000)) as second:
        assert submit(second, *mine).status_code == 201  # the second IP's window: 0 to 60
        now[0] = 30.0
        assert [submit(first, *theirs).status_code for _ in range(2)] == [201, 201]  # the other site's: 30 to 90
        assert submit(second, *mine).status_code == 201  # the second IP is full now
        now[0] = 40.0
        refused = submit(second, *theirs)  # both full: the IP's until 60, the site's until 90
        assert refused.status_code == 429 and "per-IP" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "50"


def test_a_flood_refused_by_its_ip_looks_no_credential_up(wb, creds, monkeypatch):
    """Reading the other bucket's wait (both full) takes only a credential resolved already: a flood
    of unknown bearers from a full IP stays refused by the IP with no lookup in the store each."""
    from workbench.server import credentials

    looked_up: list[object] = []
    plain = credentials.resolve
    monkeypatch.setattr(credentials, "resolve", lambda wb, scope: looked_up.append(scope) or plain(wb, scope))
    unknown = {"Authorization": "Bearer gfat_" + "B" * 43}
    with _client(wb, token_limit=1000, ip_limit=2) as c:
        assert [c.get("/api/v1/sites", headers=unknown).status_code for _ in range(2)] == [401, 401]
        before = len(looked_up)
        assert [c.get("/api/v1/sites", headers=unknown).status_code for _ in range(5)] == [429] * 5
        assert len(looked_up) == before
