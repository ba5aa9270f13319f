"""Benchmark: the API on PostgreSQL (1, 2 and 4 serving processes) against SQLite (one), in the same run (issue 14).

For each size, the cached store of bench_scale.py is copied (SQLite's backup API) to a scratch
directory, given fresh credentials, and copied into a throwaway PostgreSQL cluster
(tests/pg_cluster.py) with ``workbench admin migrate-store``'s use case. Then, at 16 client
connections, each measure is taken in ``--rounds`` rounds whose order rotates, and the medians
are printed as ratios to SQLite's:

- reads at the first size: the list's first page (served from the page cache, so mostly what
  a request costs around the query) and uncached pages (a random status filter, cursor depth
  and limit per request, more keys than the cache holds, so each runs its query), on SQLite with
  one process and PostgreSQL with 1, 2 and 4;
- writes at the first size: PATCH throughput and p99 on SQLite and PostgreSQL (1 and 4 processes);
- growth: the uncached pages on one process of each engine at every size, as a ratio to the
  first size (goal: flat, at most 2x).

N workers are one ``serve --database URL --workers N`` on its own port (uvicorn's workers share
it), started beside the others before anything is timed.

    .venv/bin/python bench/bench_pg.py --quick   # 10k and 100k annotations (a few minutes)
    .venv/bin/python bench/bench_pg.py           # 100k and 1M (building 1M takes ~5 min once, cached; its copy ~minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import loadgen
from bench_scale import STATUSES, store_for
from procs import free_port, start_serve, wait_until_up

from tests.pg_cluster import Cluster
from workbench.services import migrate_store
from workbench.services.bootstrap import bootstrap
from workbench.services.context import Workbench

HOST = "127.0.0.1"
# Pages walked per status filter for the uncached pages (with 8 filters and 20 limits, far more keys than the page cache's 512).
DEPTHS = 120

Request = bytes | Callable[[], tuple[str, bytes]]


def start_pg_serve(url: str, data_dir: Path, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """``workbench serve --database --workers N`` as start_serve starts it for SQLite (limits out of the way)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--data-dir", str(data_dir), "--database", url, "--port", str(port),
         "--workers", str(workers), "--log-level", "warning", "--token-limit", str(10**9), "--ip-limit", str(10**9)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )


async def _spread(ports: list[int], make: Callable[[int], Request], connections: int, seconds: float) -> loadgen.Result:
    lat: list[float] = []
    errors = [0]
    start = time.perf_counter()
    counts = await asyncio.gather(*[
        # loadgen's own connection loop, one per client connection, taking the ports in turn.
        loadgen._worker(HOST, ports[i % len(ports)], make(ports[i % len(ports)]), start + seconds, lat, errors)
        for i in range(connections)
    ])
    return loadgen.Result(sum(counts), time.perf_counter() - start, lat, errors[0])


def spread(ports: list[int], make: Callable[[int], Request], connections: int, seconds: float) -> loadgen.Result:
    """``connections`` keep-alive connections spread over ``ports`` for ``seconds``; ``make(port)`` gives each its requests."""
    try:
        import uvloop

        return uvloop.run(_spread(ports, make, connections, seconds))
    except ImportError:
        return asyncio.run(_spread(ports, make, connections, seconds))


def _prepare(cache: Path, size: int, scratch: Path) -> tuple[Path, dict[str, str]]:
    """A scratch copy of the cached store of ``size`` annotations, with credentials and its busiest site."""
    cached = store_for(cache, size, rebuild=False)
    data = scratch / f"sqlite-{size}"
    data.mkdir(parents=True)
    t = time.perf_counter()
    with sqlite3.connect(cached / "workbench.db") as src, sqlite3.connect(data / "workbench.db") as dst:
        src.backup(dst)
    wb = Workbench.open(str(data), mailer=None)
    creds = bootstrap(wb)
    row = wb.store.db.execute("SELECT site_id FROM annotations GROUP BY site_id ORDER BY count(*) DESC LIMIT 1").fetchone()
    creds["site_id"] = row[0]
    wb.store.close()
    print(f"  scratch copy of {size:,} annotations: {time.perf_counter() - t:.1f} s", flush=True)
    return data, creds


def _copy_to_pg(cluster: Cluster, data: Path) -> str:
    url = cluster.create()
    t = time.perf_counter()
    last = [0.0]

    def show(what: str, done: int, total: int | None) -> None:
        if time.perf_counter() - last[0] > 0.5 or done == total:
            last[0] = time.perf_counter()
            print(f"\r  {what}: {done:,}" + (f"/{total:,}" if total else "") + " " * 20, end="", flush=True)

    report = migrate_store.copy(data, url, progress=show)
    print(f"\r  migrate-store: {sum(r.rows for r in report.tables):,} rows copied and verified "
          f"({'ok' if report.ok else 'MISMATCH ' + ', '.join(report.mismatched)}) in {time.perf_counter() - t:.0f} s" + " " * 20, flush=True)
    if not report.ok:
        raise SystemExit("the copy did not verify")
    return url


class Target:
    """One engine's serving processes over one store, and the requests the measures send them."""

    def __init__(self, label: str, ports: list[int], creds: dict[str, str], queries: list[str], ids: list[str]) -> None:
        self.label, self.ports, self.queries, self.ids = label, ports, queries, ids
        self.auth = {"Authorization": f"Bearer {creds['member_token']}"}
        self.listing = f"/api/v1/sites/{creds['site_id']}/annotations"
        # Each load draws requests of its own: a generator seeded alike every time replayed the
        # same pages, which the page cache had kept from the load before (runs sped up 700 ->
        # 7,000 req/s over twenty loads of one second on PostgreSQL, reading more cached pages each time).
        self._draws = itertools.count()

    def first_page(self, port: int) -> Request:
        return loadgen.request_bytes(HOST, port, "GET", f"{self.listing}?limit=50", self.auth)

    def uncached(self, port: int) -> Request:
        rng = random.Random(f"{port}:{next(self._draws)}")

        def one() -> tuple[str, bytes]:
            # The limit is not part of a cursor's scope: 20 limits times the walked pages outnumber the cache's 512 pages.
            path = f"{self.listing}?{rng.choice(self.queries)}&limit={rng.randint(41, 60)}"
            return "list", loadgen.request_bytes(HOST, port, "GET", path, self.auth)

        return one

    def patch(self, port: int) -> Request:
        counter = itertools.count()

        def one() -> tuple[str, bytes]:
            n = next(counter)
            path = f"/api/v1/annotations/{self.ids[(n * 7 + port) % len(self.ids)]}"
            return "patch", loadgen.request_bytes(HOST, port, "PATCH", path, self.auth, {"summary": f"load {port} {n}"})

        return one


def _walk(base: str, target_path: str, auth: dict[str, str]) -> tuple[list[str], list[str]]:
    """Query strings of up to DEPTHS pages per status filter (a cursor is bound to its filters), and
    the ids on the unfiltered ones (for PATCH)."""
    queries: list[str] = []
    ids: list[str] = []
    with httpx.Client(base_url=base, headers=auth, timeout=30) as client:
        for status in [None, *STATUSES]:
            cursor = None
            for _ in range(DEPTHS):
                params = {**({"status": status} if status else {}), **({"cursor": cursor} if cursor else {})}
                queries.append(str(httpx.QueryParams(params)))
                page = client.get(target_path, params={**params, "limit": "50"}).json()
                if status is None:
                    ids += [a["id"] for a in page["items"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
    return queries, ids


def measure(targets: list[tuple[Target, int]], kind: str, rounds: int, connections: int, seconds: float) -> dict[str, loadgen.Result]:
    """Median-of-``rounds`` results per (target, process count), in rotating order; ``kind``: first_page, uncached or patch."""
    runs: dict[str, list[loadgen.Result]] = {}
    for r in range(rounds):
        order = targets[r % len(targets):] + targets[: r % len(targets)]
        for target, procs in order:
            make = getattr(target, kind)
            res = spread(target.ports, make, connections, seconds)
            if res.errors:
                raise SystemExit(f"{target.label} x{procs} {kind}: {res.errors} error responses")
            runs.setdefault(f"{target.label} x{procs}", []).append(res)
    out = {}
    for key, results in runs.items():
        best = sorted(results, key=lambda x: x.rps)[len(results) // 2]
        out[key] = best
    return out


def _row(label: str, res: loadgen.Result, base: loadgen.Result) -> str:
    return f"{label:<16}{res.rps:>10,.0f}{res.percentile(50):>9.1f}{res.percentile(99):>9.1f}{res.rps / base.rps:>11.2f}"


HEAD = f"{'':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs SQLite':>11}"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10k and 100k annotations instead of 100k and 1M")
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated sizes (overrides --quick)")
    ap.add_argument("--workers", type=str, default="1,2,4", help="PostgreSQL serving processes to compare")
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "workbench-bench", help="bench_scale.py's built stores")
    args = ap.parse_args()
    # Stopped from outside, still stop the servers and the cluster (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = sorted(int(s) for s in (args.sizes or ("10000,100000" if args.quick else "100000,1000000")).split(","))
    workers = sorted({int(w) for w in args.workers.split(",")})
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="wb-bench-pg-"))
    print("starting a PostgreSQL cluster (tests/pg_cluster.py) …", flush=True)
    cluster = Cluster()
    procs: list[subprocess.Popen[bytes]] = []
    growth: dict[str, dict[int, loadgen.Result]] = {"sqlite": {}, "postgresql": {}}
    try:
        for size in sizes:
            print(f"\n== {size:,} annotations", flush=True)
            data, creds = _prepare(args.cache_dir, size, scratch)
            url = _copy_to_pg(cluster, data)
            first = size == sizes[0]
            sq_port = free_port()
            procs.append(start_serve(data, sq_port))
            counts = workers if first else [1]
            pg_ports = {w: free_port() for w in counts}
            procs += [start_pg_serve(url, scratch / f"pg-{size}-{w}", port, w) for w, port in pg_ports.items()]
            for port in [sq_port, *pg_ports.values()]:
                wait_until_up(f"http://{HOST}:{port}/openapi.json", timeout=60)
            auth = {"Authorization": f"Bearer {creds['member_token']}"}
            listing = f"/api/v1/sites/{creds['site_id']}/annotations"
            queries, ids = _walk(f"http://{HOST}:{sq_port}", listing, auth)
            sqlite = Target("sqlite", [sq_port], creds, queries, ids)
            pgs = {w: Target("postgresql", [port], creds, queries, ids) for w, port in pg_ports.items()}
            # Warm every process (its connections, caches and code paths) before anything is timed.
            for target in pgs.values():
                spread(target.ports, target.uncached, 8, 1.5)
            spread([sq_port], sqlite.uncached, 4, 1.0)
            reads = [(sqlite, 1), *((pgs[w], w) for w in counts)]
            print(f"  {len(queries) * 20} distinct uncached pages, {len(ids)} ids to PATCH; "
                  f"{args.connections} connections, {args.rounds} rounds of {args.seconds:.0f} s", flush=True)
            for kind in (("first_page", "uncached") if first else ("uncached",)):
                res = measure(reads, kind, args.rounds, args.connections, args.seconds)
                base = res["sqlite x1"]
                print(f"\n  list, {'first page (page cache)' if kind == 'first_page' else 'uncached pages (random status, cursor and limit)'}")
                print("  " + HEAD)
                for key, r in res.items():
                    print("  " + _row(key, r, base))
                if kind == "uncached":
                    growth["sqlite"][size] = base
                    growth["postgresql"][size] = res[f"postgresql x{counts[0]}"]
                else:
                    best = max((r for k, r in res.items() if k.startswith("postgresql")), key=lambda x: x.rps)
                    print(f"  PostgreSQL's best at or above SQLite on reads: {'met' if best.rps >= base.rps else 'NOT met'} "
                          f"({best.rps / base.rps:.2f}x)")
            if first:
                writes = [(sqlite, 1), (pgs[min(workers)], min(workers)), *([(pgs[max(workers)], max(workers))] if max(workers) > 1 else [])]
                res = measure(writes, "patch", args.rounds, args.connections, args.seconds)
                base = res["sqlite x1"]
                print("\n  PATCH (writes)")
                print("  " + HEAD)
                for key, r in res.items():
                    print("  " + _row(key, r, base))
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
            procs.clear()
            cluster.drop(url)
            shutil.rmtree(data, ignore_errors=True)
        print(f"\n== growth of the uncached list, {sizes[0]:,} -> {sizes[-1]:,} annotations (one process each)")
        print(f"  {'':<12}" + "".join(f"{f'{s:,} req/s':>16}{'p99 ms':>8}" for s in sizes) + f"{'cost ratio':>12}")
        for engine, by_size in growth.items():
            cells = "".join(f"{by_size[s].rps:>16,.0f}{by_size[s].percentile(99):>8.1f}" for s in sizes)
            ratio = by_size[sizes[0]].rps / by_size[sizes[-1]].rps
            print(f"  {engine:<12}{cells}{ratio:>12.2f}  ({'flat' if ratio <= 2 else 'grows'}: goal <= 2x)")
    finally:
        for p in procs:
            p.terminate()
        cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
