"""Helpers the benchmarks share for the servers they start: a free loopback port, waiting for one to answer, its CPU time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ROOT = Path(__file__).resolve().parents[1]


def start_serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """``workbench serve`` over ``data_dir`` on ``port``, its per-token and per-IP limits out of
    the way (the defaults would throttle a benchmark's load into 429s)."""
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", "serve", "--data-dir", str(data_dir), "--port", str(port), "--log-level", "warning",
         "--token-limit", str(10**9), "--ip-limit", str(10**9)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``): unlike wall-clock
    throughput, it does not move with what else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
