"""Benchmark: sync against a local `workbench serve`, compared in the same run with its floor.

1. Initial sync of N annotations (default 100,000, one site) into an empty store, vs the floor:
   the same JSON pages read from disk, decoded, mapped to rows and inserted with one
   ``executemany`` in one transaction into an empty store (same schema, same FTS triggers).
   Goal: sync <= 1.5 x floor.
2. A sync with nothing new: requests per resource (goal: one) and its time (goal <= 10 ms).
3. A local triage action in the replica (change + outbox entry + audit, one transaction):
   p99 (goal <= 5 ms).

The server runs with a very high --token-limit (the default 600/min would throttle the bench;
the client honours 429 + Retry-After anyway).

    .venv/bin/python bench/bench_sync.py [--annotations 100000] [--noop-runs 30] [--actions 500]
    .venv/bin/python bench/bench_sync.py --noop-demo 15   # only the no-op sync, on `workbench demo` data
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from procs import free_port, start_serve, wait_until_up

from storage import sync_state
from storage.annotations import _annotation_row, add_annotations, index_text_pending
from storage.db import Store
from sync import wire
from workbench.domain.annotations import AnnotationPatch, StatusLiteral
from workbench.services import annotations as ann_svc
from workbench.services import remotes
from workbench.services import sync as sync_svc
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench
from workbench.services.demo import build, load_demo, repliers
from workbench.services.local import local_user

PAGE = 200




def _seed(data_dir: Path, n: int) -> dict:
    wb = Workbench.open(str(data_dir), mailer=None)
    creds = bootstrap(wb)
    from storage import sites as sites_repo

    site = sites_repo.get_site(wb.store.db, creds["workspace_id"], creds["site_id"])
    assert site is not None  # bootstrap just made it
    anns, _, _ = build(random.Random(11), creds["workspace_id"], [site], [], [creds["owner_user_id"]], n, wb.clock() - 86_400_000,
                       repliers=repliers(wb, creds["workspace_id"]))
    with wb.store.write() as db:
        add_annotations(db, anns)
        index_text_pending(db)  # the annotation search's indexes, as the store's upkeep would soon
    wb.store.close()
    return creds




def _save_pages(url: str, creds: dict, out: Path) -> int:
    """The same pages the sync reads, fetched once and written to disk for the floor."""
    out.mkdir()
    cursor = None
    n = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {creds['member_token']}"}, timeout=60) as c:
        while True:
            params: dict = {"limit": PAGE}
            if cursor:
                params["cursor"] = cursor
            resp = c.get(f"/api/v1/sites/{creds['site_id']}/annotations", params=params)
            resp.raise_for_status()
            (out / f"{n:06d}.json").write_bytes(resp.content)
            n += 1
            cursor = resp.json()["next_cursor"]
            if not cursor:
                return n


def _floor(pages: Path, data_dir: Path, ws: str) -> float:
    store = Store(data_dir)
    store.db  # noqa: B018 - connect (and migrate) before the clock starts
    t0 = time.perf_counter()
    rows = []
    for f in sorted(pages.iterdir()):
        for d in orjson.loads(f.read_bytes())["items"]:
            rows.append(_annotation_row(wire.annotation(d, ws)))
    with store.write() as db:
        db.execute("INSERT INTO workspaces(id, name, created_at) VALUES (?, 'floor', 0)", [ws])
        db.execute(
            "INSERT INTO sites (id, workspace_id, name, url, widget_token, mcp_token, mcp_token_hash, loader_secret_id, created_at, updated_at) "
            "SELECT DISTINCT ?, ?, 's', 'u', 'w', '', 'h', '', 0, 0", [orjson.loads(next(pages.iterdir()).read_bytes())["items"][0]["site_id"], ws],
        )
        db.executemany(
            f"INSERT INTO annotations VALUES ({', '.join('?' for _ in rows[0])})", rows,
        )
    elapsed = time.perf_counter() - t0
    store.close()
    return elapsed


def noop_on_demo(runs: int) -> None:
    """A sync with nothing new on demo data, from a replica holding all three credentials:
    requests per run and the client's CPU time (the server is another process)."""
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-noop-"))
    served = Workbench.open(str(tmp / "server"), mailer=None)
    creds = bootstrap(served)
    load_demo(served)
    served.store.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(tmp / "server", port)
    try:
        wait_until_up(url + "/openapi.json")
        wb = Workbench.open(str(tmp / "replica"), mailer=None)
        remotes.add(wb, "origin", url)
        secrets = {"token": creds["member_token"], "store_key": creds["store_api_key"], "jwt": creds["jwt"]}
        for _ in range(2):  # the first pull, then the run that settles its probes
            assert sync_svc.run_sync(wb, "origin", credentials=secrets).ok
        cpu, wall, requests = [], [], []
        for _ in range(runs):
            c0, t0 = time.process_time(), time.perf_counter()
            rep = sync_svc.run_sync(wb, "origin", credentials=secrets)
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - t0) * 1000)
            requests.append(rep.requests)
            assert rep.ok and rep.received == 0 and rep.sent == 0, rep
    finally:
        serve.terminate()
        serve.wait(10)
    kinds = 6  # sites, personas, annotations, thread changes, feedback sessions, studies
    med = statistics.median(cpu)
    print(f"no-op sync on demo data ({runs} runs): {statistics.median(requests):.0f} requests for {kinds} resource kinds; "
          f"client CPU {med:.2f} ms median (max {max(cpu):.2f}), wall {statistics.median(wall):.2f} ms "
          f"(goal <= one request per kind and <= 10 ms: {'met' if med <= 10 and max(requests) <= kinds else 'NOT met'})")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    ap.add_argument("--noop-demo", type=int, metavar="RUNS", help="only: a no-op sync on demo data against `workbench serve`, RUNS times")
    ap.add_argument("--annotations", type=int, default=100_000)
    ap.add_argument("--noop-runs", type=int, default=30)
    ap.add_argument("--actions", type=int, default=500)
    args = ap.parse_args()
    if args.noop_demo:
        noop_on_demo(args.noop_demo)
        return
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-sync-"))
    print(f"seeding {args.annotations:,} annotations…", flush=True)
    creds = _seed(tmp / "server", args.annotations)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    serve = start_serve(tmp / "server", port)
    try:
        wait_until_up(url + "/openapi.json")
        n_pages = _save_pages(url, creds, tmp / "pages")  # also warms the server's caches
        floor = _floor(tmp / "pages", tmp / "floor", creds["workspace_id"])

        wb = Workbench.open(str(tmp / "replica"), mailer=None)
        remotes.add(wb, "origin", url)
        secrets = {"token": creds["member_token"]}
        t0 = time.perf_counter()
        report = sync_svc.run_sync(wb, "origin", credentials=secrets)
        initial = time.perf_counter() - t0
        assert report.ok, report.stopped
        have = wb.store.db.execute("SELECT count(*) FROM annotations").fetchone()[0]
        assert have == args.annotations, have

        sync_svc.run_sync(wb, "origin", credentials=secrets)  # settle (first-run probes)
        times, requests = [], []
        for _ in range(args.noop_runs):
            t0 = time.perf_counter()
            rep = sync_svc.run_sync(wb, "origin", credentials=secrets)
            times.append((time.perf_counter() - t0) * 1000)
            requests.append(rep.requests)
            assert rep.received == 0 and rep.sent == 0
        resources = 4  # sites, personas, the site's annotations, the site's thread changes

        me = local_user(wb)
        ids = [r[0] for r in wb.store.db.execute("SELECT id FROM annotations ORDER BY random() LIMIT ?", [args.actions])]
        statuses: list[StatusLiteral] = ["ack", "triaged", "in_progress", "resolved"]
        wb.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # start from a clean WAL after the bulk pull
        lat = []
        for i, ann_id in enumerate(ids):
            t0 = time.perf_counter()
            ann_svc.patch(wb, me, ann_id, AnnotationPatch(status=statuses[i % 4]))
            lat.append((time.perf_counter() - t0) * 1000)
        outbox = sync_state.count_entries(wb.store.db, creds["workspace_id"]).get("pending", 0)
        assert 0 < outbox <= 2 * len(ids)  # a status equal to the current one changes nothing
        t0 = time.perf_counter()
        pushed = sync_svc.run_sync(wb, "origin", credentials=secrets)
        push_s = time.perf_counter() - t0
        assert pushed.ok and pushed.pending == 0 and pushed.sent <= outbox, pushed  # a later entry for a field already sent has nothing left to send
    finally:
        serve.terminate()
        serve.wait(10)

    lat.sort()
    p99 = lat[int(len(lat) * 0.99) - 1]
    noop_med = statistics.median(times)
    ratio = initial / floor
    print(f"\n{args.annotations:,} annotations, {n_pages} pages of {PAGE}")
    print(f"initial sync            {initial:8.2f} s   ({args.annotations / initial:,.0f} annotations/s, {report.requests} requests)")
    print(f"floor (disk + executemany) {floor:5.2f} s")
    print(f"initial sync / floor    {ratio:8.2f}    (goal <= 1.50: {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"no-op sync              {noop_med:8.2f} ms median, p90 {sorted(times)[int(len(times) * 0.9) - 1]:.2f} ms, "
          f"{statistics.median(requests):.0f} requests for {resources} resources "
          f"(goal one request per resource and <= 10 ms: {'met' if noop_med <= 10 and statistics.median(requests) <= resources else 'NOT met'})")
    print(f"triage action p99       {p99:8.2f} ms   (p50 {lat[len(lat) // 2]:.2f} ms; goal <= 5 ms: {'met' if p99 <= 5 else 'NOT met'})")
    slow = sum(1 for x in lat if x > 5)
    print(f"   {slow} of {len(lat)} actions over 5 ms (max {lat[-1]:.2f} ms)")
    print(f"push of {outbox} outbox entries {push_s:6.2f} s   ({pushed.sent} PATCHes sent, {pushed.requests} requests incl. the pull)")


if __name__ == "__main__":
    main()
