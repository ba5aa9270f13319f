"""Issue 13 items 6, 7 and 14 against a real ``workbench serve`` over real sockets.

Body caps per route (413 before the body is read), header and body read deadlines, the
header size cap, the connection limit, and X-Forwarded-For trusted only from named proxies.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ENGINES, ServerProcess, bearer, on_engine
from workbench.domain.images import MAX_UPLOAD_BYTES
from workbench.server.settings import MIB, WIDGET_BODY_BYTES
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench

pytestmark = pytest.mark.e2e
DEADLINE_S = 10.0  # generous bound for conditions that should happen within ~1 s


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """Per module, not per test: the module's store outlives one test (tests/conftest.py, on_engine)."""
    yield from on_engine(request)


@pytest.fixture(scope="module")
def bounded(tmp_path_factory, engine: str) -> Iterator[tuple[ServerProcess, dict]]:
    data = tmp_path_factory.mktemp("bounds") / "served"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    wb.store.close()
    proc = ServerProcess(data, "--header-timeout", "1", "--body-timeout", "1", "--max-header-bytes", "8192")
    yield proc, creds
    proc.stop()


def _connect(proc: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proc.port), timeout=DEADLINE_S)


def _read_response(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the deadline)."""
    out = b""
    end = time.monotonic() + DEADLINE_S
    while time.monotonic() < end:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
        if b"\r\n\r\n" in out and b"content-length: 0" in out.lower():
            break
    return out


def test_oversized_body_is_refused_before_it_is_read(bounded):
    proc, creds = bounded
    with _connect(proc) as s:
        # Announces 100 MB and sends none of it: the answer must not wait for the body.
        s.sendall(
            b"POST /api/v1/annotations/x/replies HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + creds["member_token"].encode() + b"\r\nContent-Length: 100000000\r\n\r\n"
        )
        answer = _read_response(s)  # the server closes once it has answered
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"at most 1048576 bytes" in answer


def test_caps_per_route(bounded):
    proc, creds = bounded
    h = bearer(creds["member_token"])
    big_json = b'{"body": "' + b"x" * (MIB + 10) + b'"}'
    r = httpx.post(f"{proc.url}/api/v1/annotations/x/replies", content=big_json, headers=h | {"Content-Type": "application/json"})
    assert r.status_code == 413 and "1048576" in r.json()["detail"]
    # Streamed without a length: counted as it arrives.
    chunks = (b"x" * 65536 for _ in range(20))
    r = httpx.post(f"{proc.url}/api/v1/annotations/x/replies", content=chunks, headers=h)
    assert r.status_code == 413
    # The widget carries a screenshot: 2 MB reaches the route (which judges it), its cap does not.
    widget = f"{proc.url}/api/widget/sites/{creds['site_id']}/annotations"
    two_mb = b'{"page_url": "https://shop.acme.example/", "body": "' + b"x" * (2 * MIB) + b'"}'
    r = httpx.post(widget, content=two_mb, headers={"X-GF-Widget-Token": creds["widget_token"], "Content-Type": "application/json"})
    assert r.status_code == 422
    r = httpx.post(widget, content=b"x" * (WIDGET_BODY_BYTES + 1), headers={"X-GF-Widget-Token": creds["widget_token"]})
    assert r.status_code == 413
    r = httpx.put(f"{proc.url}/uploads/resolutions/a/b.png?expires=1&signature=0", content=b"x" * (MAX_UPLOAD_BYTES + 1))
    assert r.status_code == 413


def test_trickled_headers_are_cut_off(bounded):
    proc, _ = bounded
    with _connect(proc) as s:
        s.sendall(b"GET /api/v1/sites HTTP/1.1\r\nHost: t\r\n")
        start = time.monotonic()
        closed = False
        while time.monotonic() - start < DEADLINE_S:
            try:
                s.sendall(b"X-Slow: 1\r\n")  # one header line every 0.2 s, never the blank line
            except OSError:
                closed = True
                break
            s.settimeout(0.2)
            try:
                data = s.recv(65536)
            except TimeoutError:
                continue
            closed = True
            assert data == b"" or data.startswith(b"HTTP/1.1 408")
            break
    assert closed and time.monotonic() - start < 5


def test_idle_connection_without_a_request_is_closed(bounded):
    proc, _ = bounded
    with _connect(proc) as s:
        start = time.monotonic()
        answer = _read_response(s)
    assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - start < 5


def test_trickled_body_gets_408(bounded):
    proc, _ = bounded
    with _connect(proc) as s:
        s.sendall(b"POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        start = time.monotonic()
        answer = _read_response(s)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive within 1 s" in answer and time.monotonic() - start < 5


def test_oversized_headers_get_431(bounded):
    proc, _ = bounded
    with _connect(proc) as s:
        s.sendall(b"GET /api/v1/sites HTTP/1.1\r\nHost: t\r\n" + b"X-Big: " + b"a" * 10_000 + b"\r\n")
        answer = _read_response(s)
    assert answer.startswith(b"HTTP/1.1 431")


def test_connections_beyond_the_limit_get_503(tmp_path):
    data = tmp_path / "served"
    Workbench.open(str(data), mailer=None).store.close()
    # Its own server: a long header deadline keeps the idle connections open while we look.
    proc = ServerProcess(data, "--limit-concurrency", "6", "--header-timeout", "60")
    try:
        idle = [_connect(proc) for _ in range(6)]
        try:
            end = time.monotonic() + DEADLINE_S
            status = None
            while time.monotonic() < end and status != 503:
                status = httpx.get(f"{proc.url}/openapi.json").status_code  # until the server has accepted all six
            assert status == 503
        finally:
            for s in idle:
                s.close()
        end = time.monotonic() + DEADLINE_S
        while time.monotonic() < end and status != 200:
            status = httpx.get(f"{proc.url}/openapi.json").status_code
        assert status == 200
    finally:
        proc.stop()


@pytest.mark.parametrize(("trusted", "expected"), [(False, [200, 200, 429]), (True, [200, 200, 200])])
def test_forwarded_for_only_from_named_proxies(tmp_path, trusted, expected):
    data = tmp_path / "served"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    wb.store.close()
    extra = ["--ip-limit", "2", "--limit-loopback", *(["--forwarded-allow-ips", "127.0.0.1"] if trusted else [])]
    proc = ServerProcess(data, *extra)
    try:
        codes = [
            httpx.get(f"{proc.url}/api/v1/sites", headers=bearer(creds["member_token"]) | {"X-Forwarded-For": f"198.51.100.{i}"}).status_code
            for i in range(3)
        ]
    finally:
        proc.stop()
    assert codes == expected
