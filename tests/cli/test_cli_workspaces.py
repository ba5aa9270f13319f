"""`workbench sync`'s first sync and credentials, as a user runs them: subprocesses against a real `workbench serve`.

Without a TTY the first sync over local work explains and asks for ``--first-sync``; with
one it asks. Credentials: every one a remote's sources use is asked for, and a missing
keyring is said before the first prompt (a pseudo-terminal plays the user).
"""

from __future__ import annotations

import json
import os
import re
import select
import sqlite3
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storage import workspaces as workspaces_repo
from tests.conftest import ServerProcess, bearer
from tests.helpers import every_page
from workbench.domain.annotations import WidgetAnnotationCreate
from workbench.domain.personas import PersonaCreate
from workbench.services import annotations as ann_svc
from workbench.services import personas as personas_svc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.demo import load_demo
from workbench.services.local import local_user

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SERVER_NAME = "Acme Production"
NO_KEYRING = "keyring.backends.fail.Keyring"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ServerProcess, dict]]:
    data = tmp_path / "served"
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    with wb.store.write() as db:
        workspaces_repo.rename(db, creds["workspace_id"], SERVER_NAME)
    for i in range(2):
        ann_svc.submit_from_widget(wb, creds["site_id"], creds["widget_token"], None,
                                   WidgetAnnotationCreate(page_url=f"https://shop.acme.example/p{i}", body=f"Server feedback {i}"))
    wb.store.close()
    proc = ServerProcess(data, env={"PYTHONPATH": str(ROOT)}, cwd=ROOT)
    yield proc, creds
    proc.stop()


def env_for(tmp: Path, keyring_backend: str = "tests.sync.keyring_backend.FileKeyring", **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHON_KEYRING_BACKEND": keyring_backend,
           "WORKBENCH_TEST_KEYRING_FILE": str(tmp / "keyring.json"), **extra}
    for var in ("WORKBENCH_TOKEN", "WORKBENCH_STORE_KEY", "WORKBENCH_JWT"):
        env.pop(var, None)
    return {**env, **extra}


def wb_cli(data: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args, "--data-dir", str(data)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)


def local_store(tmp: Path, *, persona: bool = False) -> tuple[Path, str]:
    """A store with local work (the demo's triage, replies and sessions); returns it and its workspace id."""
    data = tmp / "local"
    wb = Workbench.open(str(data), mailer=None)
    load_demo(wb)
    me = local_user(wb)
    if persona:
        personas_svc.create(wb, me, PersonaCreate(name="Checkout pedant", category="commerce", description="Reads every total"))
    wb.store.close()
    return data, me.workspace_id


def meta(data: Path, key: str) -> str | None:
    with sqlite3.connect(data / "workbench.db") as db:
        row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return None if row is None else row[0]


def replica_of(data: Path) -> str | None:
    with sqlite3.connect(data / "workbench.db") as db:
        return db.execute("SELECT workspace_id FROM sync_remotes WHERE name = 'origin'").fetchone()[0]


def test_first_sync_without_a_tty_explains_and_asks_for_a_choice(served, tmp_path):
    proc, creds = served
    data, _ = local_store(tmp_path)
    env = env_for(tmp_path, WORKBENCH_TOKEN=creds["member_token"])
    assert wb_cli(data, env, "remote", "add", "origin", proc.url, "--no-prompt").returncode == 0
    r = wb_cli(data, env, "sync")
    assert r.returncode == 2, r.stderr
    assert "This store already holds local work" in r.stderr
    assert "320 annotations · 383 replies · 8 feedback sessions · 21 test sessions" in r.stderr
    assert "--first-sync=merge or --first-sync=separate" in r.stderr
    assert replica_of(data) is None  # nothing happened
    bad = wb_cli(data, env, "sync", "--first-sync=both")
    assert bad.returncode == 2 and "merge or separate" in bad.stderr


def test_first_sync_with_json_and_no_choice_is_one_json_error(tmp_path):
    """QA: `sync --json` over local work wrote the first sync's explanation (prose) on stderr before
    its JSON error, so a script reading stderr as JSON failed to parse it. It is decided before any
    request: no server is needed."""
    data, _ = local_store(tmp_path)
    env = env_for(tmp_path, WORKBENCH_TOKEN="wbat_unused")
    assert wb_cli(data, env, "remote", "add", "origin", "http://127.0.0.1:9", "--no-prompt").returncode == 0
    r = wb_cli(data, env, "sync", "--json")
    assert r.returncode == 2 and r.stdout == ""
    said = json.loads(r.stderr)  # the whole of it
    assert said["error"]["code"] == "usage_error" and "--first-sync=merge or --first-sync=separate" in said["error"]["message"]
    assert replica_of(data) is None


def test_first_sync_separate_keeps_the_local_workspace_and_names_the_replica(served, tmp_path):
    proc, creds = served
    data, local = local_store(tmp_path)
    env = env_for(tmp_path, WORKBENCH_TOKEN=creds["member_token"])
    wb_cli(data, env, "remote", "add", "origin", proc.url, "--no-prompt")
    r = wb_cli(data, env, "sync", "--first-sync=separate")
    assert r.returncode == 0, r.stderr
    assert f"kept Acme Commerce as a separate local workspace; the server's workspace is 'origin · {SERVER_NAME}'" in r.stderr
    assert meta(data, "bootstrap_workspace") == local and replica_of(data) is not None
    listed = json.loads(wb_cli(data, env, "annotations", "list", "--json").stdout)
    assert not any("Server feedback" in a["body"] for a in listed["items"])  # the CLI still shows the local work
    again = wb_cli(data, env, "sync")  # the choice is made once
    assert again.returncode == 0, again.stderr
    listed = json.loads(wb_cli(data, env, "workspaces", "--json").stdout)["items"]
    assert [(w["label"], w["kind"], w["annotations"], w["default"]) for w in listed] == [
        ("Acme Commerce", "local", 320, True), (f"origin · {SERVER_NAME}", "replica", 2, False),
    ]
    table = wb_cli(data, {**env, "COLUMNS": "200"}, "workspaces").stdout
    assert f"origin · {SERVER_NAME}" in table and "320 annotations · 383 replies" in table


def test_first_sync_merge_sends_custom_personas_and_opens_the_servers_workspace(served, tmp_path):
    proc, creds = served
    data, local = local_store(tmp_path, persona=True)
    env = env_for(tmp_path, WORKBENCH_TOKEN=creds["member_token"])
    wb_cli(data, env, "remote", "add", "origin", proc.url, "--no-prompt")
    r = wb_cli(data, env, "sync", "--first-sync=merge", "--json")
    assert r.returncode == 0, r.stderr
    notes = json.loads(r.stdout)["notes"]
    assert any("sent 1 custom persona(s) of Acme Commerce" in n for n in notes), notes
    assert any(f"this store now opens origin · {SERVER_NAME}; Acme Commerce keeps what the API cannot create" in n for n in notes)
    assert meta(data, "bootstrap_workspace") == replica_of(data) != local
    personas = every_page(httpx.get, f"{proc.url}/api/personas/mine", bearer(creds["member_token"]))
    assert [p["slug"] for p in personas if p["name"] == "Checkout pedant"] == ["checkout-pedant"]
    with sqlite3.connect(data / "workbench.db") as db:  # nothing local was lost
        assert db.execute("SELECT count(*) FROM annotations WHERE workspace_id = ?", [local]).fetchone()[0] == 320


# -- a user at a terminal ------------------------------------------------------------------


def run_tty(args: list[str], env: dict[str, str], answers: dict[str, str], timeout: float = 90) -> tuple[int, str]:
    """Run ``workbench`` on a pseudo-terminal; each time a prompt ending with a key of ``answers``
    shows up (in order), type its answer. Returns the exit code and everything shown."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "workbench", *args], stdin=slave, stdout=slave, stderr=slave,
                            env={**env, "COLUMNS": "300"}, cwd=ROOT,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    shown = b""
    pending = list(answers.items())
    pos = 0  # where the next prompt is looked for
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the child closed its side
                    chunk = b""
                if not chunk and proc.poll() is not None:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
            text = shown.decode(errors="replace")
            if pending and (at := text.find(pending[0][0], pos)) >= 0:
                # A hidden prompt turns echo off, flushing what was typed before: type after it did.
                while termios.tcgetattr(master)[3] & termios.ECHO and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                os.write(master, (pending[0][1] + "\n").encode())
                pos = at + len(pending[0][0])
                pending.pop(0)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    return proc.returncode, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode(errors="replace")).replace("\r", "")


def test_sync_asks_for_every_credential_and_keeps_them_in_the_keyring(served, tmp_path):
    proc, creds = served
    data = tmp_path / "fresh"
    env = env_for(tmp_path)
    assert wb_cli(data, env, "remote", "add", "origin", proc.url, "--no-prompt").returncode == 0
    code, shown = run_tty(["sync", "--data-dir", str(data)], env, {
        "API token (gfat_…) for sites and annotations for origin": creds["member_token"],
        "store API key for feedback sessions for origin": creds["store_api_key"],
        "JWT for test sessions for origin": creds["jwt"],
    })
    assert code == 0, shown
    assert "Saved to the system keyring: API token (gfat_…) for sites and annotations, store API key for feedback sessions, JWT" in shown
    kept = json.loads((tmp_path / "keyring.json").read_text())
    assert sorted(k.split("\n")[1] for k in kept) == ["jwt", "store_key", "token"]
    with sqlite3.connect(data / "workbench.db") as db:
        assert db.execute("SELECT name FROM stores").fetchall() == [("Acme storefront (AI-built)",)]


def test_without_a_keyring_sync_says_so_first_and_uses_them_for_this_run_only(served, tmp_path):
    proc, creds = served
    data = tmp_path / "fresh"
    env = env_for(tmp_path, keyring_backend=NO_KEYRING)
    code, shown = run_tty(["remote", "add", "origin", proc.url, "--data-dir", str(data)], env, {})
    assert code == 0, shown
    assert "No keyring" in shown and "none is asked for" in shown and "(Enter to skip)" not in shown
    code, shown = run_tty(["sync", "--data-dir", str(data)], env, {
        "API token (gfat_…) for sites and annotations for origin": creds["member_token"],
        "store API key for feedback sessions for origin": "",
        "JWT for test sessions for origin": "",
    })
    assert code == 0, shown
    first_prompt = shown.index("(Enter to skip)")
    assert -1 < shown.find("No keyring") < first_prompt
    assert "used for this run only" in shown and "Saved to the system keyring" not in shown
    assert "Synced" in shown
    assert not (tmp_path / "keyring.json").exists()
