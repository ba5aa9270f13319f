"""End to end over TCP: real `workbench serve` processes, replicas driven by the CLI, SIGKILL at chosen points."""

from __future__ import annotations

import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, free_port
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.demo import load_demo

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def Server(data_dir: Path, port: int | None = None, env: dict[str, str] | None = None) -> ServerProcess:  # reads as the class it builds
    """`workbench serve` from this checkout, on a given port (so a restart keeps the remote's URL), with extra env."""
    return ServerProcess(data_dir, port=port, env={"PYTHONPATH": str(ROOT), **(env or {})}, cwd=ROOT)


class Cli:
    """`workbench …` subprocesses for one data directory, with a file keyring of its own."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.data_dir = tmp / name
        self.env = {
            **os.environ, "PYTHONPATH": str(ROOT), "WORKBENCH_DATA_DIR": str(self.data_dir),
            "PYTHON_KEYRING_BACKEND": "tests.sync.keyring_backend.FileKeyring",
            "WORKBENCH_TEST_KEYRING_FILE": str(tmp / f"{name}-keyring.json"),
        }
        for var in ("WORKBENCH_TOKEN", "WORKBENCH_STORE_KEY", "WORKBENCH_JWT"):
            self.env.pop(var, None)

    def run(self, *args: str, check: bool = True, env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess:
        r = subprocess.run(
            [sys.executable, "-m", "workbench", *args], capture_output=True, text=True, env={**self.env, **(env or {})}, cwd=ROOT,
            input=input, timeout=120,
        )
        if check and r.returncode != 0:
            raise AssertionError(f"workbench {' '.join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "--json").stdout)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "workbench.db")


def _served(tmp: Path, annotations: int = 40) -> tuple[Path, dict]:
    """The server's store: bootstrapped, then demo data (what `workbench admin bootstrap` and `workbench demo`
    run), written in this process before a server opens it; two CLI processes per test were only setup."""
    data = tmp / "served"
    wb = Workbench.open(str(data), mailer=None)
    try:
        creds = bootstrap(wb)
        load_demo(wb, annotations=annotations)
    finally:
        wb.store.close()
    return data, creds


def _state(db: sqlite3.Connection, ws: str) -> dict:
    """What must be equal everywhere: annotations' triage fields, thread rows, resolutions."""
    return {
        "annotations": db.execute(
            "SELECT id, status, summary, assignee_id, version, updated_at FROM annotations WHERE workspace_id = ? ORDER BY id", [ws],
        ).fetchall(),
        "replies": db.execute(
            "SELECT id, annotation_id, author_kind, author_name, body, persona_id, created_at FROM replies WHERE workspace_id = ? ORDER BY id", [ws],
        ).fetchall(),
        "resolutions": db.execute(
            "SELECT id, annotation_id, before_key, after_key, diff_url, explanation, created_by, notification_status "
            "FROM resolutions WHERE workspace_id = ? ORDER BY id", [ws],
        ).fetchall(),
    }


def _integrity(path: Path) -> str:
    with sqlite3.connect(path / "workbench.db") as c:
        return c.execute("PRAGMA integrity_check").fetchone()[0]


@contextmanager
def serving(server: http.server.ThreadingHTTPServer) -> Iterator[http.server.ThreadingHTTPServer]:
    """``server`` answering on a thread of its own for the block; then shut down and its socket closed
    (``shutdown`` alone left the listening socket to the collector: a ResourceWarning)."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def answering(answer: Callable[[str], tuple[int, str, bytes]], port: int = 0) -> AbstractContextManager[http.server.ThreadingHTTPServer]:
    """A server on loopback that is not the API, as the wrong one at a remote's address is: every GET,
    POST and PATCH answered with ``answer(path)``, (status, content type, body), while the block runs."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def reply(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, kind, body = answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = reply

        def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
            pass

    return serving(http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler))


def _sync_stops_as_not_the_api(a: Cli) -> tuple[str, subprocess.CompletedProcess]:
    """`workbench sync` against a server that is not the API: exit 1, no traceback, one `error:` line (returned,
    whole, not wrapped at 80 columns), and with `--json` the error object's code `not_the_api` (that run returned)."""
    r = a.run("sync", check=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    line = next(x for x in r.stderr.splitlines() if x.startswith("error: "))
    as_json = a.run("sync", "--json", check=False)
    assert as_json.returncode == 1 and "Traceback" not in as_json.stderr, as_json.stderr
    assert json.loads(as_json.stderr)["error"]["code"] == "not_the_api"
    return line, as_json


def _add_remote(cli: Cli, url: str, token: str) -> None:
    r = cli.run("remote", "add", "origin", url, "--no-prompt", env={"WORKBENCH_TOKEN": token})
    assert "Saved to the system keyring" in r.stderr


def test_two_replicas_and_a_server_converge_through_offline_periods_and_conflicts(tmp_path):
    served, creds = _served(tmp_path)
    srv = Server(served)
    a, b = Cli(tmp_path, "alice"), Cli(tmp_path, "bob")
    try:
        _add_remote(a, srv.url, creds["member_token"])
        _add_remote(b, srv.url, creds["member_token"])
        assert creds["member_token"] not in (a.data_dir / "workbench.db").read_bytes().decode("latin-1")
        assert a.run("sync").returncode == 0 and b.run("sync").returncode == 0
        ids = [x["id"] for x in a.json("annotations", "list", "--all", "--limit", "200")["items"]]
        assert len(ids) >= 10
        # The server goes away: both keep working offline.
        srv.stop()
        a.run("annotation", "set-status", ids[0], "in_progress")
        a.run("annotation", "reply", ids[1], "alice was here (offline)")
        b.run("annotation", "set-status", ids[0], "won_t_fix")  # conflicts with alice
        b.run("annotation", "resolve", ids[2], "--summary", "bob fixed it")
        b.run("annotation", "reply", ids[2], "bob was here (offline)")
        offline = a.run("sync", check=False)
        assert offline.returncode == 1 and "cannot reach" in offline.stderr
        assert a.json("sync", "status")["pending"] == 2
        srv = Server(served, port=srv.port)
        assert a.run("sync").returncode == 0
        r = b.run("sync")
        assert "1 conflict(s)" in r.stderr
        [c] = b.json("sync", "conflicts")["items"]
        assert (c["field"], c["mine"], c["theirs"]) == ("status", "won_t_fix", "in_progress")
        b.run("sync", "conflicts", "--keep-mine", str(c["id"]))
        b.run("sync")
        a.run("sync")
        b.run("sync")
        with sqlite3.connect(served / "workbench.db") as s, a.db() as da, b.db() as dbb:
            ws = creds["workspace_id"]
            want = _state(s, ws)
            assert _state(da, ws) == want and _state(dbb, ws) == want
            assert s.execute("SELECT status FROM annotations WHERE id = ?", [ids[0]]).fetchone()[0] == "won_t_fix"
            assert s.execute("SELECT count(*) FROM replies WHERE body LIKE '% was here (offline)'").fetchone()[0] == 2
            for d in (da, dbb):
                assert d.execute("SELECT count(*) FROM sync_outbox").fetchone()[0] == 0
                assert d.execute("SELECT count(*) FROM sync_conflicts").fetchone()[0] == 0
        for path in (served, a.data_dir, b.data_dir):
            assert _integrity(path) == "ok"
    finally:
        srv.stop()


@pytest.mark.parametrize("point", ["push:before_send", "push:after_send"])
def test_client_killed_while_pushing_loses_and_repeats_nothing(tmp_path, point):
    served, creds = _served(tmp_path, annotations=12)
    srv = Server(served)
    a = Cli(tmp_path, "alice")
    try:
        _add_remote(a, srv.url, creds["member_token"])
        a.run("sync")
        ids = [x["id"] for x in a.json("annotations", "list")["items"]]
        a.run("annotation", "reply", ids[0], "committed locally, then the client died")
        a.run("annotation", "set-status", ids[1], "triaged")
        killed = a.run("sync", check=False, env={"WORKBENCH_SYNC_CRASH_AT": point})
        assert killed.returncode == -signal.SIGKILL
        assert _integrity(a.data_dir) == "ok"
        assert a.json("sync", "status")["pending"] == 2
        assert a.run("sync").returncode == 0
        a.run("sync")
        with sqlite3.connect(served / "workbench.db") as s, a.db() as d:
            assert s.execute("SELECT count(*) FROM replies WHERE body = 'committed locally, then the client died'").fetchone()[0] == 1
            assert s.execute("SELECT status FROM annotations WHERE id = ?", [ids[1]]).fetchone()[0] == "triaged"
            assert _state(d, creds["workspace_id"]) == _state(s, creds["workspace_id"])
    finally:
        srv.stop()


def test_server_killed_after_applying_a_write_before_answering(tmp_path):
    served, creds = _served(tmp_path, annotations=12)
    port = free_port()
    srv = Server(served, port=port, env={"WORKBENCH_TEST_CRASH_AFTER_APPLY": "POST /replies$"})
    a = Cli(tmp_path, "alice")
    try:
        _add_remote(a, srv.url, creds["member_token"])
        a.run("sync")
        ids = [x["id"] for x in a.json("annotations", "list")["items"]]
        a.run("annotation", "reply", ids[0], "the server died after saving me")
        r = a.run("sync", check=False)
        assert r.returncode == 1 and "no answer" in r.stderr
        assert srv.proc.wait(10) == -signal.SIGKILL
        assert _integrity(served) == "ok"
        srv.stop()  # its log: the process is gone, its file still open
        srv = Server(served, port=port)  # back up, without the fault
        assert a.run("sync").returncode == 0
        a.run("sync")
        with sqlite3.connect(served / "workbench.db") as s, a.db() as d:
            assert s.execute("SELECT count(*) FROM replies WHERE body = 'the server died after saving me'").fetchone()[0] == 1
            assert _state(d, creds["workspace_id"]) == _state(s, creds["workspace_id"])
        assert _integrity(a.data_dir) == "ok"
    finally:
        srv.stop()


def test_client_killed_mid_pull_resumes(tmp_path):
    served, creds = _served(tmp_path, annotations=1500)
    srv = Server(served)
    a = Cli(tmp_path, "alice")
    try:
        _add_remote(a, srv.url, creds["member_token"])
        killed = a.run("sync", check=False, env={"WORKBENCH_SYNC_CRASH_AT": "pull:after_page:3"})
        assert killed.returncode == -signal.SIGKILL
        with a.db() as d:
            partial = d.execute("SELECT count(*) FROM annotations").fetchone()[0]
            assert 0 < partial < 1500
            assert d.execute("SELECT count(*) FROM sync_cursors WHERE run_cursor IS NOT NULL").fetchone()[0] >= 1
        assert _integrity(a.data_dir) == "ok"
        assert a.run("sync").returncode == 0
        with sqlite3.connect(served / "workbench.db") as s, a.db() as d:
            assert _state(d, creds["workspace_id"]) == _state(s, creds["workspace_id"])
        assert _integrity(a.data_dir) == "ok"
    finally:
        srv.stop()


def test_revoked_token_stops_and_asks_for_new_credentials(tmp_path):
    served, creds = _served(tmp_path, annotations=5)
    srv = Server(served)
    a = Cli(tmp_path, "alice")
    try:
        a.run("remote", "add", "origin", srv.url, "--no-prompt", env={"WORKBENCH_TOKEN": "gfat_" + "x" * 43})
        r = a.run("sync", check=False)
        assert r.returncode == 1 and "credentials rejected" in r.stderr and "remote login origin" in r.stderr
        a.run("remote", "login", "origin", "--only", "token", env={"WORKBENCH_TOKEN": creds["member_token"]})
        assert a.run("sync").returncode == 0
        listing = a.json("remote", "list")["items"][0]
        assert listing["credentials"]["token"] == "keyring" and listing["last_error"] is None
    finally:
        srv.stop()


def test_a_stopped_sync_with_json_reports_its_error_on_stderr_as_every_command_does(tmp_path):
    """README ("Scripts"): with --json a failure is one {"error": {code, message}} object on stderr. A sync that
    stopped (a rejected token, a host that does not answer) exited 1 with only its report on stdout: a script
    reading stderr found nothing, and had no code to tell a credential to renew from a server to wait for."""
    served, creds = _served(tmp_path, annotations=3)
    srv = Server(served)
    a = Cli(tmp_path, "alice")
    try:
        a.run("remote", "add", "origin", srv.url, "--no-prompt", env={"WORKBENCH_TOKEN": "gfat_" + "x" * 43})
        r = a.run("sync", "--json", check=False)
        assert r.returncode == 1
        assert json.loads(r.stdout)["auth_failed"] == "token"  # the run's report stays the result
        error = json.loads(r.stderr)["error"]
        assert error["code"] == "unauthenticated" and "credentials rejected" in error["message"]
        text = a.run("sync", check=False)
        assert text.returncode == 1 and "error: credentials rejected (token)" in text.stderr
    finally:
        srv.stop()
    b = Cli(tmp_path, "bob")  # a port nobody listens on
    b.run("remote", "add", "origin", f"http://127.0.0.1:{free_port()}", "--no-prompt", env={"WORKBENCH_TOKEN": creds["member_token"]})
    r = b.run("sync", "--json", check=False)
    assert r.returncode == 1
    error = json.loads(r.stderr)["error"]
    assert error["code"] == "unreachable" and "cannot reach" in error["message"]


def test_a_replica_refuses_a_server_that_now_serves_another_workspace(tmp_path):
    """The team server was set up again at the same URL (a new `admin bootstrap`), and the reviewer
    logged in with its new token. The next sync took the new workspace's sites and annotations into
    the old workspace's replica: two teams' data mixed in one workspace, shown as one. It must stop
    before anything arrives, say why, and leave the replica as it was."""
    served, creds = _served(tmp_path, annotations=4)
    other = tmp_path / "other"
    other.mkdir()
    other_served, other_creds = _served(other, annotations=3)
    port = free_port()
    srv = Server(served, port=port)
    a = Cli(tmp_path, "alice")
    try:
        _add_remote(a, srv.url, creds["member_token"])
        a.run("sync")
    finally:
        srv.stop()
    first = a.json("annotations", "list")["items"][0]["id"]
    a.run("annotation", "reply", first, "meant for the first team only")
    with a.db() as d:
        before = _state(d, creds["workspace_id"])
        counts = d.execute("SELECT count(*) FROM annotations").fetchone()[0], d.execute("SELECT count(*) FROM sites").fetchone()[0]
    srv = Server(other_served, port=port)  # the same URL, another workspace
    try:
        a.run("remote", "login", "origin", "--only", "token", env={"WORKBENCH_TOKEN": other_creds["member_token"]})
        r = a.run("sync", "--json", check=False)
        assert r.returncode == 1, r.stdout
        error = json.loads(r.stderr)["error"]
        assert error["code"] == "other_workspace"
        assert creds["workspace_id"] in error["message"] and other_creds["workspace_id"] in error["message"]
        with a.db() as d:
            assert _state(d, creds["workspace_id"]) == before
            assert (d.execute("SELECT count(*) FROM annotations").fetchone()[0], d.execute("SELECT count(*) FROM sites").fetchone()[0]) == counts
        assert other_creds["workspace_id"] in a.run("sync", check=False).stderr
        status = a.json("sync", "status")
        assert status["pending"] == 1 and status["refused"] == 0  # the reply waits for its own server, not refused
        with sqlite3.connect(other_served / "workbench.db") as s:
            assert s.execute("SELECT count(*) FROM replies WHERE body = 'meant for the first team only'").fetchone()[0] == 0
    finally:
        srv.stop()


def test_a_url_that_is_not_the_api_stops_with_one_line_not_a_traceback(tmp_path):
    """A remote URL that answers every path with a web page (a proxy's welcome page, a single-page
    app): `workbench sync` printed a 60-line traceback ending in orjson's JSONDecodeError, and
    `--json` gave no error object. It must stop with one line saying what answered, exit 1."""
    with answering(lambda path: (200, "text/html", b"<html><body>Welcome to nginx!</body></html>")) as page:
        url = f"http://127.0.0.1:{page.server_address[1]}"
        a = Cli(tmp_path, "alice")
        _add_remote(a, url, "gfat_" + "x" * 43)
        line, _ = _sync_stops_as_not_the_api(a)
        assert "answered 200 with text/html, not the API's JSON" in line and url in line


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999", "http://team server:11001", "http://:11001"])
def test_remote_add_refuses_a_malformed_url_with_one_line(tmp_path, url):
    """`remote add origin http://[::1` printed a traceback (urlsplit's ValueError), and a port past
    65535 or a URL with a space or no host was saved, to fail at every sync as "cannot reach"."""
    a = Cli(tmp_path, "alice")
    r = a.run("remote", "add", "origin", url, "--no-prompt", check=False, env={"WORKBENCH_TOKEN": "gfat_" + "x" * 43})
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("error: The remote URL must be an http:// or https:// URL")
    assert json.loads(a.run("remote", "list", "--json").stdout)["items"] == []


def test_a_web_page_refusing_the_api_is_named_by_its_title_not_quoted(tmp_path):
    """QA: a remote URL on a static web server (`python -m http.server`, a docs site) stopped with
    `…/api/v1/sites answered 404 (<!DOCTYPE HTML> <html lang="en"> <head> <meta charset=…`: 300
    characters of markup in the one line meant to say what was wrong."""

    class Site(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # the stdlib's signature
            pass

    (tmp_path / "site").mkdir()
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Site(*a, directory=str(tmp_path / "site")))) as site:
        url = f"http://127.0.0.1:{site.server_address[1]}"
        a = Cli(tmp_path, "alice")
        _add_remote(a, url, "gfat_" + "x" * 43)
        r = a.run("sync", "--json", check=False)
        assert r.returncode == 1
        error = json.loads(r.stderr)["error"]
        assert error["code"] == "not_the_api", error
        assert f"{url}/api/v1/sites answered 404 (a web page titled 'Error response')" in error["message"], error
        assert "<" not in error["message"], error


def test_a_write_the_server_refused_unhandled_is_not_left_as_without_an_answer(tmp_path):
    """QA: a team server whose storage was full (or whose database restarted) answered a pushed
    reply with 503 and 'nothing was changed'; the sync stopped at once with 'no answer from the
    server for a write', flagged the change as maybe applied, and the next run looked for it on
    the server before sending. A 503 is tried again as a request that never left, and a run that
    still meets it stops as the server being unavailable, naming the server's reason."""
    from tests.disk_limit import fill, lift, unlimited

    served, creds = _served(tmp_path, annotations=4)
    srv = ServerProcess(served, env={"COLUMNS": "1000"}, wrap=unlimited)
    try:
        a = Cli(tmp_path, "alice")
        _add_remote(a, srv.url, creds["member_token"])
        a.run("sync")
        [ann] = [x["id"] for x in a.json("annotations", "list", "--limit", "1")["items"]]
        words = "🙂" * 20_000  # the longest reply: more than the full disk leaves room for
        a.run("annotation", "reply", ann, words)
        fill(srv.proc.pid)

        r = a.run("sync", "--json", check=False)

        assert r.returncode == 1
        error = json.loads(r.stderr)["error"]
        assert error["code"] == "unreachable" and "server error 503: The server cannot store this now" in error["message"], error
        with a.db() as db:
            assert db.execute("SELECT ambiguous FROM sync_outbox").fetchall() == [(0,)]
        lift(srv.proc.pid)
        assert a.json("sync")["sent"] == 1
        with sqlite3.connect(served / "workbench.db") as db:
            assert db.execute("SELECT count(*) FROM replies WHERE body = ?", [words]).fetchone()[0] == 1
    finally:
        srv.stop()


def test_another_json_service_at_the_remote_s_address_empties_nothing(tmp_path):
    """QA: the team server's address came to serve another JSON service (its port taken after a
    restart), answering `{"status": "ok"}` everywhere. `workbench sync` read each list as empty,
    mirrored that, deleted all 60 personas of the replica and said "Synced"; with a change to push
    it printed a traceback (KeyError: 'id'). It must stop as not the API, with the replica as it was."""
    served, creds = _served(tmp_path, annotations=4)
    port = free_port()
    srv = ServerProcess(served, port=port)
    a = Cli(tmp_path, "alice")
    try:
        _add_remote(a, srv.url, creds["member_token"])
        a.run("sync")
    finally:
        srv.stop()

    def mirrored() -> tuple[int, ...]:
        with a.db() as db:
            return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("personas", "sites", "annotations", "replies"))

    before = mirrored()
    assert before[0] > 0, before
    with answering(lambda path: (200, "application/json", b'{"status": "ok"}'), port):
        for pending in (False, True):
            if pending:
                [ann] = [x["id"] for x in a.json("annotations", "list", "--limit", "1")["items"]]
                a.run("annotation", "set-status", ann, "triaged")
            r = a.run("sync", "--json", check=False)
            assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
            error = json.loads(r.stderr)["error"]
            assert error["code"] == "not_the_api" and "not the API's list" in error["message"], error
            assert mirrored() == before
        assert json.loads(a.run("sync", "status", "--json").stdout)["pending"] == 1


def test_a_list_row_without_its_id_stops_with_one_line_naming_the_list_and_the_row(tmp_path):
    """QA: a server whose sites list held a row without its id made `workbench sync` print a
    traceback ending in KeyError: 'id', and `--json` gave no error object. It stops with one
    `error:` line naming the list and the row (code not_the_api), exit 1, nothing mirrored."""
    def sites_with_a_row_without_its_id(path: str) -> tuple[int, str, bytes]:
        if not path.startswith("/api/v1/sites"):
            return 404, "application/json", b'{"detail": "Not Found"}'
        rows = [{"id": "site-1", "name": "Shop"}, {"name": "a site without its id"}]
        return 200, "application/json", json.dumps({"items": rows, "next_cursor": None}).encode()

    with answering(sites_with_a_row_without_its_id) as odd:
        url = f"http://127.0.0.1:{odd.server_address[1]}"
        a = Cli(tmp_path, "alice")
        _add_remote(a, url, "gfat_" + "x" * 43)
        line, r = _sync_stops_as_not_the_api(a)
        assert f"{url}/api/v1/sites" in line and "a list (\"items\") whose item 2 of 2 is an object without its 'id'" in line, line
        assert json.loads(r.stdout)["stopped"] == json.loads(r.stderr)["error"]["message"]
        with a.db() as db:
            assert db.execute("SELECT count(*) FROM sites").fetchone()[0] == 0
