"""Benchmark: the annotations list endpoint vs a bare Starlette endpoint serving the same bytes.

Both run as uvicorn processes on loopback, measured in the same run with the same client at
16 connections; figures are printed as ratios (machines here are noisy; absolute numbers are
not comparable between runs). Goal: throughput ratio >= 0.6.

    .venv/bin/python bench/bench_api.py [--annotations 5000] [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen
from procs import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]






def _seed(data_dir: Path, n: int) -> dict:
    from workbench.services.bootstrap import bootstrap
    from workbench.services.context import Workbench
    from workbench.services.demo import load_demo

    wb = Workbench.open(str(data_dir), mailer=None)
    creds = bootstrap(wb)
    load_demo(wb, annotations=n)
    wb.store.close()
    return creds


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    ap.add_argument("--annotations", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    print(f"seeding {args.annotations} annotations…", flush=True)
    creds = _seed(tmp / "data", args.annotations)
    wport, bport = free_port(), free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--data-dir", str(tmp / "data"), "--port", str(wport), "--log-level", "warning",
         "--token-limit", str(10**9), "--ip-limit", str(10**9)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    bare = None
    try:
        path = f"/api/v1/sites/{creds['site_id']}/annotations?limit=50"
        headers = {"Authorization": f"Bearer {creds['member_token']}"}
        wait_until_up(f"http://127.0.0.1:{wport}/openapi.json")
        body = httpx.get(f"http://127.0.0.1:{wport}{path}", headers=headers).content
        assert len(json.loads(body)["items"]) == 50
        (tmp / "body.json").write_bytes(body)
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bport), "--log-level", "warning"],
            cwd=ROOT / "bench", env={**os.environ, "BENCH_BODY_FILE": str(tmp / "body.json")},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until_up(f"http://127.0.0.1:{bport}/page")
        # Warm both, then measure alternately (bare, api, bare, api) to share the machine's noise.
        loadgen.run("127.0.0.1", bport, "/page", {}, args.connections, 1.0)
        loadgen.run("127.0.0.1", wport, path, headers, args.connections, 1.0)
        half = args.seconds / 2
        b1 = loadgen.run("127.0.0.1", bport, "/page", {}, args.connections, half)
        a1 = loadgen.run("127.0.0.1", wport, path, headers, args.connections, half)
        b2 = loadgen.run("127.0.0.1", bport, "/page", {}, args.connections, half)
        a2 = loadgen.run("127.0.0.1", wport, path, headers, args.connections, half)
    finally:
        serve.terminate()
        if bare:
            bare.terminate()
    api = loadgen.Result(a1.requests + a2.requests, a1.seconds + a2.seconds, a1.latencies_ms + a2.latencies_ms, a1.errors + a2.errors)
    base = loadgen.Result(b1.requests + b2.requests, b1.seconds + b2.seconds, b1.latencies_ms + b2.latencies_ms, b1.errors + b2.errors)
    assert api.errors == 0 and base.errors == 0, (api.errors, base.errors)
    print(f"body: {len(body):,} bytes; {args.connections} connections; {args.seconds:.0f} s each")
    print(f"{'':24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'bare Starlette (base)':24}{base.rps:>10.0f}{base.percentile(50):>10.2f}{base.percentile(99):>10.2f}")
    print(f"{'annotations list':24}{api.rps:>10.0f}{api.percentile(50):>10.2f}{api.percentile(99):>10.2f}")
    ratio = api.rps / base.rps
    print(f"throughput ratio: {ratio:.2f}  (goal >= 0.60: {'met' if ratio >= 0.6 else 'NOT met'})")
    print(f"p99 ratio (api/base): {api.percentile(99) / base.percentile(99):.2f}")


if __name__ == "__main__":
    main()
