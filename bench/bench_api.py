"""Benchmark: the annotations list endpoint vs a bare Starlette endpoint serving the same bytes.

Both run as uvicorn processes on loopback, measured with the same client at 16 connections in
alternating rounds; each round's ratio is printed, then their median and spread (machines
here are noisy; absolute numbers are not comparable between runs). Goal: median ratio >= 0.6.

    .venv/bin/python bench/bench_api.py [--annotations 5000] [--rounds 7] [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

# This checkout first: the seeding runs in this process, and an installed copy of another
# checkout (a worktree benchmarked against main) would build its store with that schema.
sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
import loadgen
from procs import cpu_seconds, free_port, start_serve, wait_until_up

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
    ap.add_argument("--seconds", type=float, default=3.0, help="each server's share of a round")
    ap.add_argument("--rounds", type=int, default=7, help="alternating rounds; the median ratio is the result")
    ap.add_argument("--connections", type=int, default=16)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    print(f"seeding {args.annotations} annotations…", flush=True)
    creds = _seed(tmp / "data", args.annotations)
    wport, bport = free_port(), free_port()
    serve = start_serve(tmp / "data", wport)
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
        # Warm both, then measure in alternating rounds (bare, api, api, bare, ...) so both share
        # the machine's noise; each round gives one ratio, and the median and spread are reported.
        loadgen.run("127.0.0.1", bport, "/page", {}, args.connections, 1.0)
        loadgen.run("127.0.0.1", wport, path, headers, args.connections, 1.0)
        rounds: list[tuple[loadgen.Result, loadgen.Result]] = []
        cpu: list[tuple[float, float]] = []  # server CPU microseconds per request: bare, api
        for i in range(args.rounds):
            pair, per = {}, {}
            for which in (("bare", "api") if i % 2 == 0 else ("api", "bare")):
                proc, port_, path_, headers_ = (bare, bport, "/page", {}) if which == "bare" else (serve, wport, path, headers)
                before = cpu_seconds(proc.pid)
                pair[which] = loadgen.run("127.0.0.1", port_, path_, headers_, args.connections, args.seconds)
                per[which] = (cpu_seconds(proc.pid) - before) * 1e6 / pair[which].requests
            rounds.append((pair["bare"], pair["api"]))
            cpu.append((per["bare"], per["api"]))
    finally:
        serve.terminate()
        if bare:
            bare.terminate()
    assert all(b.errors == 0 and a.errors == 0 for b, a in rounds), [(b.errors, a.errors) for b, a in rounds]
    ratios = [a.rps / b.rps for b, a in rounds]
    print(f"body: {len(body):,} bytes; {args.connections} connections; {args.rounds} rounds of {args.seconds:.0f} s each")
    print(f"{'round':>6}{'bare req/s':>12}{'api req/s':>12}{'ratio':>8}{'bare p99':>10}{'api p99':>10}{'bare CPU us':>13}{'api CPU us':>12}")
    for i, ((b, a), r, (cb, ca)) in enumerate(zip(rounds, ratios, cpu, strict=True)):
        print(f"{i + 1:>6}{b.rps:>12.0f}{a.rps:>12.0f}{r:>8.2f}{b.percentile(99):>10.2f}{a.percentile(99):>10.2f}{cb:>13.0f}{ca:>12.0f}")
    med = statistics.median(ratios)
    print(f"throughput ratio: median {med:.2f} (min {min(ratios):.2f}, max {max(ratios):.2f})  "
          f"(goal >= 0.60: {'met' if med >= 0.6 else 'NOT met'})")
    # Server CPU per request, bare over api: what the throughput ratio would be were each server
    # alone with a core, and far steadier than it on a shared machine.
    cpu_ratios = [cb / ca for cb, ca in cpu]
    print(f"CPU per request: bare {statistics.median(c[0] for c in cpu):.0f} us, api {statistics.median(c[1] for c in cpu):.0f} us; "
          f"ratio bare/api median {statistics.median(cpu_ratios):.2f} (min {min(cpu_ratios):.2f}, max {max(cpu_ratios):.2f})")


if __name__ == "__main__":
    main()
