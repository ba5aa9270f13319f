"""Benchmark: how long a `workbench` command line takes, against an empty Typer app started the same way.

Scripts and agents run the CLI once per action (`workbench annotation set-status … --json`), so
its start is paid every time. Each command is a fresh ``python`` process running the executable's
entry point (``workbench.cli.entry``) over a demo store, alternating with the baseline: a Typer
app with one command that prints a line (Python's start, Typer's and Rich's imports, nothing of
ours). Medians of ``--runs``; the ratio is to the baseline measured in the same run. No goal: the
figures show where a command line's time goes as the CLI grows.

    .venv/bin/python bench/bench_cli.py [--runs 11]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import typer
from rich.console import Console
app = typer.Typer()
@app.command()
def hello() -> None:
    Console().print("hello")
app()
"""
ENTRY = "import sys; sys.argv = ['workbench', *sys.argv[1:]]; from workbench.cli.entry import run; run()"


def timed(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, env={**os.environ, "COLUMNS": "100"}, timeout=120)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: a command that says "nothing to undo" and the like
        raise RuntimeError(f"{args[3:]} failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    ap.add_argument("--runs", type=int, default=11, help="runs of each command line, alternating with the baseline")
    args = ap.parse_args()
    python = sys.executable
    # Bytecode for our packages, as an installed copy has it (see bench_tui.py).
    subprocess.run([python, "-m", "compileall", "-q", "workbench", "storage", "sync"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "store")
        subprocess.run([python, "-c", ENTRY, "demo", "--data-dir", data], cwd=ROOT, check=True, capture_output=True)
        listed = subprocess.run([python, "-c", ENTRY, "annotations", "list", "--json", "--limit", "1", "--data-dir", data],
                                cwd=ROOT, check=True, capture_output=True, text=True).stdout
        ann = json.loads(listed)["items"][0]["id"]
        commands = {
            "annotations list --json": ["annotations", "list", "--json", "--limit", "1", "--data-dir", data],
            "annotation set-status … --json": ["annotation", "set-status", ann, "ack", "--json", "--data-dir", data],
            "sync status --json": ["sync", "status", "--json", "--data-dir", data],
            "remote list": ["remote", "list", "--data-dir", data],
            "workspaces --json": ["workspaces", "--json", "--data-dir", data],
            "undo --list --json": ["undo", "--list", "--json", "--data-dir", data],
            "--help": ["--help"],
        }
        for words in commands.values():  # warm the OS file cache once
            timed([python, "-c", ENTRY, *words])
        base: list[float] = []
        took: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, words in commands.items():
                base.append(timed([python, "-c", BASELINE]))
                took[name].append(timed([python, "-c", ENTRY, *words]))
    floor = statistics.median(base)
    print(f"baseline: an empty Typer app with one command, median of {len(base)}: {floor * 1000:.0f} ms")
    for name, values in took.items():
        m = statistics.median(values)
        print(f"  workbench {name:<32} {m * 1000:5.0f} ms (fastest {min(values) * 1000:4.0f})   ratio {m / floor:.2f}")


if __name__ == "__main__":
    main()
