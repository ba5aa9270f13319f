"""The sync HTTP client's fault rules, against httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest

from sync.client import RATE_WINDOW_ENV, Ambiguous, AuthFailed, NotTheApi, Refused, RemoteClient, Unavailable, rate_window_from_env
from tests.conftest import free_port
from workbench.domain.errors import Invalid


def client(handler, **kw) -> tuple[RemoteClient, list[float]]:
    slept: list[float] = []
    c = RemoteClient("http://remote", token="gfat_x", transport=httpx.MockTransport(handler), sleep=slept.append, **kw)
    return c, slept


def test_429_waits_for_retry_after_then_succeeds():
    calls = []

    def handler(req):
        calls.append(req)
        if len(calls) < 3:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "Rate limit exceeded"})
        return httpx.Response(200, json={"items": []})

    waits: list[tuple[str, int, int | None]] = []
    c, slept = client(handler, on_wait=lambda *w: waits.append(w))
    assert c.get("/api/v1/sites").data == {"items": []}
    assert sum(slept) == 14.0 and len(calls) == 3
    assert waits[-1] == ("rate limited (Rate limit exceeded): waiting 7 s as the server asked (Retry-After)", 7, 7)


def test_the_rate_window_comes_from_the_environment_or_the_document(monkeypatch):
    monkeypatch.delenv(RATE_WINDOW_ENV, raising=False)
    assert rate_window_from_env() == 60.0
    monkeypatch.setenv(RATE_WINDOW_ENV, "2.5")
    assert rate_window_from_env() == 2.5
    for bad in ("soon", "0", "-1", "nan", "99999"):
        monkeypatch.setenv(RATE_WINDOW_ENV, bad)
        with pytest.raises(Invalid, match=RATE_WINDOW_ENV):
            rate_window_from_env()


def test_an_unreachable_server_is_named_with_the_system_s_reason():
    """A real refused connection: the sync line said "ConnectError", which names no cause."""
    port = free_port()  # nothing listens on it
    c = RemoteClient(f"http://127.0.0.1:{port}", token="gfat_x", sleep=lambda _s: None)
    with pytest.raises(Unavailable) as caught:
        c.get("/api/v1/sites")
    assert f"cannot reach http://127.0.0.1:{port}: connection refused (ConnectError)" in str(caught.value)


def test_5xx_and_network_errors_retry_reads_with_backoff():
    calls = []

    def handler(req):
        calls.append(req)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=req)
        if len(calls) == 2:
            return httpx.Response(503, json={"detail": "busy"})
        if len(calls) == 3:
            raise httpx.ReadError("reset", request=req)
        return httpx.Response(200, json={"ok": True})

    c, slept = client(handler)
    assert c.get("/x").data == {"ok": True}
    assert len(slept) == 3 and slept[0] < slept[1] < slept[2] + 1  # growing delays (with jitter)


def test_retries_are_bounded():
    c, slept = client(lambda req: httpx.Response(502, json={"detail": "bad gateway"}))
    with pytest.raises(Unavailable):
        c.get("/x")
    assert len(slept) == c.max_attempts - 1


def test_write_without_an_answer_is_ambiguous_not_resent():
    calls = []

    def handler(req):
        calls.append(req)
        raise httpx.ReadError("connection reset after send", request=req)

    c, _ = client(handler)
    with pytest.raises(Ambiguous):
        c.request("POST", "/api/v1/annotations/a/replies", json={"body": "x"}, safe_to_resend=False)
    assert len(calls) == 1
    calls.clear()
    c2, _ = client(lambda req: calls.append(req) or httpx.Response(500, json={"detail": "boom"}))
    with pytest.raises(Ambiguous):
        c2.request("POST", "/api/v1/annotations/a/replies", json={"body": "x"}, safe_to_resend=False)
    assert len(calls) == 1


def test_write_that_never_left_is_resent():
    calls = []

    def handler(req):
        calls.append(req)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=req)
        return httpx.Response(201, json={"id": "r1"})

    c, _ = client(handler)
    assert c.request("POST", "/p", json={}, safe_to_resend=False).status == 201
    assert len(calls) == 2


def test_401_stops_with_the_servers_reason():
    def handler(req):
        return httpx.Response(
            401, headers={"WWW-Authenticate": 'Bearer error="invalid_token", error_description="API token revoked"'},
            json={"detail": "API token revoked"},
        )

    c, slept = client(handler)
    with pytest.raises(AuthFailed) as exc:
        c.get("/api/v1/sites")
    assert exc.value.reason == "API token revoked" and exc.value.credential == "token" and slept == []


def test_4xx_is_a_refusal_with_the_reason():
    c, _ = client(lambda req: httpx.Response(409, json={"detail": "A feedback session is already in progress"}))
    with pytest.raises(Refused) as exc:
        c.request("POST", "/api/v1/feedback-sessions", credential="token", safe_to_resend=False)
    assert exc.value.status == 409 and "already in progress" in exc.value.reason


def test_idempotency_in_flight_409_is_waited_out():
    calls = []

    def handler(req):
        calls.append(req)
        if len(calls) == 1:
            return httpx.Response(409, json={"detail": "A request with this Idempotency-Key is still being processed"})
        return httpx.Response(201, json={"id": "r"})

    c, slept = client(handler)
    assert c.request("POST", "/p", json={}, headers={"Idempotency-Key": "k"}, safe_to_resend=False).status == 201
    assert len(slept) == 1


def test_missing_credential_is_an_auth_failure():
    c = RemoteClient("http://remote", transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with pytest.raises(AuthFailed):
        c.get("/api/v1/sites")


def test_a_server_that_keeps_saying_retry_after_0_is_not_hammered_forever():
    calls = []

    def handler(req):
        calls.append(req)
        return httpx.Response(429, headers={"Retry-After": "0"}, text="slow down")

    c, slept = client(handler, rate_window=2.0)
    with pytest.raises(Unavailable, match="still rate limited"):
        c.get("/api/v1/sites")
    assert sum(slept) == 20.0 and len(calls) == 21  # 1 s per wait, up to MAX_THROTTLED_WINDOWS windows


def test_a_capped_read_stops_at_the_cap_and_keeps_an_answer_within_it_whole():
    sent: list[int] = []

    class Endless(httpx.SyncByteStream):
        def __iter__(self):
            for _ in range(1000):  # 64 MB if read to the end
                sent.append(1)
                yield b"x" * 65536

    c, _ = client(lambda req: httpx.Response(200, stream=Endless(), headers={"Content-Type": "image/png"}))
    big = c.get("/uploads/screenshots/a.png", max_bytes=200_000)
    assert big.over_limit and len(big.content) == 200_001 and len(sent) <= 5
    c, _ = client(lambda req: httpx.Response(200, content=b"PNGDATA", headers={"Content-Type": "image/png"}))
    small = c.get("/uploads/screenshots/a.png", max_bytes=200_000)
    assert (small.status, small.content, small.over_limit, small.headers["content-type"]) == (200, b"PNGDATA", False, "image/png")
    c, _ = client(lambda req: httpx.Response(404, json={"detail": "Upload not found"}))
    assert c.get("/uploads/x.png", max_bytes=10, ok=(404,)).data == {"detail": "Upload not found"}


@pytest.mark.parametrize(
    ("sent", "named"),
    [
        pytest.param("TEXT/HTML; charset=utf-8", "text/html", id="upper-case-with-charset"),
        pytest.param("", "no content type", id="empty-header"),
        pytest.param(None, "no content type", id="no-header"),
    ],
)
def test_an_answer_that_is_not_json_names_its_media_type(sent, named):
    """The media type as the domain's ``media_type`` reads it: an empty header was named as nothing
    ("answered 200 with , not the API's JSON"), and the sender's case was echoed."""
    headers = {} if sent is None else {"Content-Type": sent}
    c, _ = client(lambda req: httpx.Response(200, content=b"<html>a page</html>", headers=headers))
    with pytest.raises(NotTheApi, match=f"answered 200 with {named}, not the API's JSON"):
        _ = c.get("/api/v1/sites").data
