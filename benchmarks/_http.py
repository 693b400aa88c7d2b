"""A small keep-alive HTTP/1.1 load client on asyncio, light enough to share 2 cores.

Shared by the benchmarks; not part of the package.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    count: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return ordered[k] * 1000

    def summary(self) -> str:
        return (
            f"{self.rate:8.0f} req/s  p50 {self.pct(50):6.1f} ms  p99 {self.pct(99):6.1f} ms"
            f"  mean {statistics.fmean(self.latencies) * 1000:6.1f} ms  statuses {self.statuses}"
        )


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        chunked = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            return status, data
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def run_load(
    host: str,
    port: int,
    concurrency: int,
    total: int,
    make_request: Callable[[int], tuple[str, str, bytes, dict[str, str]]],
) -> Result:
    """Send ``total`` requests from ``concurrency`` keep-alive connections."""
    counter = iter(range(total))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def lane() -> None:
        conn = Connection(host, port)
        await conn.open()
        try:
            for i in counter:
                method, path, body, headers = make_request(i)
                t0 = time.perf_counter()
                status, _ = await conn.request(method, path, body, headers)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return Result(total, time.perf_counter() - start, latencies, statuses)


def json_request(
    method: str, path: str, payload: Any, token: str
) -> tuple[str, str, bytes, dict[str, str]]:
    return (
        method,
        path,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
