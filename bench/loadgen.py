"""A small keep-alive HTTP/1.1 load generator: N connections, fixed duration, latency percentiles.

``run`` sends one request over and over; ``run_mix`` draws each request from weighted kinds
(e.g. 90 % list reads, 5 % PATCH, 5 % replies) and reports each kind apart.

Deliberately minimal (pre-encoded request, Content-Length framing) so the client costs far
less CPU than the servers it compares; both servers are measured with the same client.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(len(data) * p / 100))]


async def _worker(
    host: str, port: int, request: bytes | Callable[[], tuple[str, bytes]], stop_at: float,
    lat: list[float] | dict[str, list[float]], errors: list[int],
) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while time.perf_counter() < stop_at:
            kind, raw = request() if callable(request) else ("", request)
            into = lat[kind] if isinstance(lat, dict) else lat  # a dict of kinds exactly when requests are drawn
            t0 = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            into.append((time.perf_counter() - t0) * 1000)
            if status not in (200, 201):
                errors[0] += 1
            done += 1
    finally:
        writer.close()
    return done


async def _run(host: str, port: int, path: str, headers: dict[str, str], connections: int, seconds: float) -> Result:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *[f"{k}: {v}" for k, v in headers.items()], "", ""]
    request = "\r\n".join(lines).encode()
    lat: list[float] = []
    errors = [0]
    start = time.perf_counter()
    counts = await asyncio.gather(*[_worker(host, port, request, start + seconds, lat, errors) for _ in range(connections)])
    return Result(sum(counts), time.perf_counter() - start, lat, errors[0])


def run(host: str, port: int, path: str, headers: dict[str, str], connections: int = 16, seconds: float = 8.0) -> Result:
    try:
        import uvloop

        return uvloop.run(_run(host, port, path, headers, connections, seconds))
    except ImportError:
        return asyncio.run(_run(host, port, path, headers, connections, seconds))


def request_bytes(host: str, port: int, method: str, path: str, headers: dict[str, str], body: object | None = None) -> bytes:
    """One pre-encoded HTTP/1.1 request (JSON body, Content-Length framing)."""
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", *[f"{k}: {v}" for k, v in headers.items()]]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join([*lines, "", ""])).encode() + payload


async def _run_mix(
    host: str, port: int, pick: Callable[[], tuple[str, bytes]], kinds: list[str], connections: int, seconds: float,
) -> tuple[dict[str, Result], int]:
    lat: dict[str, list[float]] = {k: [] for k in kinds}
    errors = [0]
    start = time.perf_counter()
    await asyncio.gather(*[_worker(host, port, pick, start + seconds, lat, errors) for _ in range(connections)])
    took = time.perf_counter() - start
    return {k: Result(len(v), took, v, 0) for k, v in lat.items()}, errors[0]


def run_mix(
    host: str, port: int, mix: list[tuple[str, float, Callable[[], bytes]]], connections: int = 16, seconds: float = 8.0, seed: int = 1
) -> tuple[dict[str, Result], int]:
    """Requests drawn from ``mix`` (kind, weight, build one request); per-kind results and the error count."""
    rng = random.Random(seed)
    kinds = [m[0] for m in mix]
    weights = [m[1] for m in mix]
    builders = {m[0]: m[2] for m in mix}

    def pick() -> tuple[str, bytes]:
        kind = rng.choices(kinds, weights)[0]
        return kind, builders[kind]()

    try:
        import uvloop

        return uvloop.run(_run_mix(host, port, pick, kinds, connections, seconds))
    except ImportError:
        return asyncio.run(_run_mix(host, port, pick, kinds, connections, seconds))
