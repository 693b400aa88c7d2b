"""Load clients for the benchmarks: a small keep-alive HTTP/1.1 client on asyncio, and a
driver for ``wrk`` (a load generator in C, ten times cheaper a request, which matters when
client and server share two cores).

Shared by the benchmarks; not part of the package.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
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


# -- wrk: a C load generator, so the client's CPU stays out of the server's way --------------

WRK_SCRIPT = r"""
-- Written by benchmarks/_http.py for one run. Request k of thread t carries body(t + T * k)
-- (T threads): every request of the run is distinct.
local path = [==[%(path)s]==]
local lanes = %(lanes)d
local all_threads = {}
local next_lane = 0

%(body)s

function setup(thread)
  thread:set("lane", next_lane)
  next_lane = next_lane + 1
  table.insert(all_threads, thread)
end

function init(args)
  sent = 0
  statuses = {}
  math.randomseed(1000 + lane)
%(headers)s
end

function request()
  local i = lane + lanes * sent
  sent = sent + 1
  return wrk.format("POST", path, nil, body(i))
end

function response(status, headers, content)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(all_threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, status .. ":" .. n)
  end
  io.write(string.format("WRK %%d %%.6f %%.3f %%.3f %%.3f %%.3f %%s\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
    table.concat(parts, ",")))
end
"""


@dataclass
class WrkResult:
    count: int
    seconds: float
    percentiles: dict[int, float]  # milliseconds
    mean_ms: float
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: int) -> float:
        return self.percentiles[p]

    def summary(self) -> str:
        return (
            f"{self.rate:8.0f} req/s  p50 {self.pct(50):6.1f} ms  p99 {self.pct(99):6.1f} ms"
            f"  mean {self.mean_ms:6.1f} ms  statuses {self.statuses}"
        )


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def run_wrk(
    host: str,
    port: int,
    concurrency: int,
    seconds: float,
    path: str,
    headers: dict[str, str],
    body_lua: str,
) -> WrkResult:
    """POST to ``path`` from ``concurrency`` keep-alive connections for ``seconds``.

    ``body_lua`` defines a Lua function ``body(i)`` returning the request body for the i-th
    request (i distinct over the run).
    """
    wrk = wrk_binary()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    threads = max(1, min(concurrency, os.cpu_count() or 1))
    header_lines = "\n".join(
        f"  wrk.headers[ [==[{k}]==] ] = [==[{v}]==]" for k, v in headers.items()
    )
    script = WRK_SCRIPT % {
        "path": path,
        "lanes": threads,
        "body": body_lua,
        "headers": header_lines,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(
            [
                wrk,
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "30s",
                "-s",
                f.name,
                f"http://{host}:{port}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    count, secs, p50, p90, p99, mean, parts = [*line.split()[1:], ""][:7]
    statuses = {int(k): int(v) for k, v in (p.split(":") for p in parts.split(",") if p)}
    return WrkResult(
        int(count),
        float(secs),
        {50: float(p50), 90: float(p90), 99: float(p99)},
        float(mean),
        dict(sorted(statuses.items())),
    )
