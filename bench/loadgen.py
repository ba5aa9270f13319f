"""A small keep-alive HTTP/1.1 load generator: N connections, fixed duration, latency percentiles.

Deliberately minimal (pre-encoded request, Content-Length framing) so the client costs far
less CPU than the servers it compares; both servers are measured with the same client.
"""

from __future__ import annotations

import asyncio
import time
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


async def _worker(host: str, port: int, request: bytes, stop_at: float, lat: list[float], errors: list[int]) -> int:
    reader, writer = await asyncio.open_connection(host, port)
    done = 0
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            lat.append((time.perf_counter() - t0) * 1000)
            if status != 200:
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
