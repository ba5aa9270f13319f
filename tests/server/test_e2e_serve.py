"""End to end: the real `workbench serve` process over TCP, driven as the document's curl examples do."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.images import PNG
from tests.stores import stored_blob

pytestmark = pytest.mark.e2e


def _bootstrap(data_dir) -> dict:
    out = subprocess.run([sys.executable, "-m", "workbench", "admin", "bootstrap", "--data-dir", str(data_dir), "--json"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_documented_agent_flow_over_tcp(tmp_path):
    data = tmp_path / "served"
    creds = _bootstrap(data)
    subprocess.run([sys.executable, "-m", "workbench", "demo", "--data-dir", str(data), "--annotations", "60"], check=True, capture_output=True)
    srv = ServerProcess(data)
    try:
        h = {"Authorization": f"Bearer {creds['member_token']}"}
        with httpx.Client(base_url=srv.url, headers=h, timeout=10) as c:
            assert c.get("/docs").status_code == 200
            assert "/api/v1/sites/{site_id}/annotations" in c.get("/openapi.json").json()["paths"]
            assert len(c.get("/api/v1/sites").json()["items"]) == 3
            listing = c.get(f"/api/v1/sites/{creds['site_id']}/annotations", params={"status": "new"}).json()
            assert listing["items"] and all(a["status"] == "new" for a in listing["items"])
            ann = listing["items"][0]["id"]
            pre = c.post(f"/api/v1/annotations/{ann}/resolutions/upload-url", json={"kind": "after", "content_type": "image/png"}).json()
            assert pre["url"].startswith(srv.url)
            put = httpx.put(pre["url"], content=PNG, headers={"Content-Type": "image/png"})
            assert put.status_code == 200
            res = c.post(f"/api/v1/annotations/{ann}/resolutions",
                         json={"after_key": pre["key"], "diff_url": "https://github.com/x/y/pull/42", "explanation": "Increased CTA contrast."})
            assert res.status_code == 201
            assert c.patch(f"/api/v1/annotations/{ann}", json={"status": "resolved", "summary": "shipped in v2"}).json()["status"] == "resolved"
            assert c.post(f"/api/v1/annotations/{ann}/replies", json={"body": "fixed in #1234"}).status_code == 201
            md = c.get(f"/api/v1/annotations/{ann}/markdown").text
            assert "fixed in #1234" in md and "shipped in v2" in md
            r = httpx.get(srv.url + "/api/v1/sites", headers={"Authorization": "Bearer gfat_" + "x" * 43})
            assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]
        assert stored_blob(data, pre["key"]) == PNG
    finally:
        srv.stop()
    log = (tmp_path / f"serve-{srv.port}.log").read_text()
    assert creds["member_token"] not in log and creds["mcp_token"] not in log


def test_the_credentials_hint_bootstraps_the_store_being_served(tmp_path, engine):
    """`serve` prints the bootstrap command for its own store: the same --data-dir, or on a team
    server the same database with its password masked (it said "with the same --data-dir" there,
    which would have bootstrapped a SQLite store the server never reads), in the environment
    (as --database, the password put back would be in `ps`)."""
    data = tmp_path / "served"
    env: dict[str, str] = {}  # no COLUMNS: the line (well over 80 characters here) stays whole in a log
    password, url = "s3cret-pw", os.environ.get("WORKBENCH_DATABASE_URL", "")
    if engine == "postgresql":
        assert url.startswith("postgresql://postgres@")
        env["WORKBENCH_DATABASE_URL"] = url.replace("postgres@", f"postgres:{password}@", 1)  # trust auth takes any password
    srv = ServerProcess(data, env=env)
    try:
        log = Path(srv.log.name).read_text()
        hint = next(line for line in log.splitlines() if line.startswith("Credentials: "))
        command = shlex.split(hint.removeprefix("Credentials: ").split(" (")[0])
        if engine == "sqlite":
            assert command == ["workbench", "admin", "bootstrap", "--json", "--data-dir", str(data.resolve())]
            assert " (" not in hint
        clean = {k: v for k, v in os.environ.items() if k != "WORKBENCH_DATABASE_URL"}  # the command alone says where
        if engine == "postgresql":
            assert command == [f"WORKBENCH_DATABASE_URL={url.replace('postgres@', 'postgres:***@', 1)}", "workbench", "admin", "bootstrap", "--json"]
            assert password not in log and "password is not printed" in hint
            command.pop(0)
            clean["WORKBENCH_DATABASE_URL"] = env["WORKBENCH_DATABASE_URL"]  # what its reader does: puts the password back
        done = subprocess.run([sys.executable, "-m", "workbench", *command[1:]], capture_output=True, text=True, check=True, env=clean)
        creds = json.loads(done.stdout)
        sites = httpx.get(srv.url + "/api/v1/sites", headers={"Authorization": f"Bearer {creds['member_token']}"})
        assert sites.status_code == 200 and [s["id"] for s in sites.json()["items"]] == [creds["site_id"]]
    finally:
        srv.stop()
