"""Ingestion throughput and latency through real HTTP, and the inbox's first page.

Starts ``meaculpa serve --workers 2`` (or plain ``uvicorn --workers 2`` with ``--server uvicorn``)
on 127.0.0.1 against a fresh database, fills it to 10,000 open cases and times the inbox's
first page (the web page, signed in) and the API's first page of open cases; then sends
inbound messages from keep-alive connections at concurrency 1 and 16 (with ``wrk`` when it is
installed, a C load generator that leaves the two cores to the server; otherwise with the
asyncio client of ``_http.py``), and prints messages/s with p50/p99 latency, the load average,
how the connections split between the worker processes, and the CPU time a message cost the
server's processes, PostgreSQL's and the whole machine.

    python benchmarks/ingest.py                      # SQLite
    python benchmarks/ingest.py --postgres postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/ingest.py --messages 4000 --workers 2 --client python
    python benchmarks/ingest.py --parts ingest --server uvicorn   # single messages only

Data set: synthetic bilingual messages generated here (no external data).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http import Connection, json_request, run_load, run_wrk, wrk_binary
from sqlalchemy import create_engine, insert, text

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Database
from meaculpa.core.migrate import upgrade
from meaculpa.core.security import hash_password, new_api_token

PASSWORD = "bench-password-1"
TEXTS_ES = [
    "Me han cobrado dos veces el pedido {n}. Quiero la devolución ya.",
    "El paquete {n} lleva una semana de retraso y nadie me dice nada.",
    "Es la tercera vez que escribo por la factura {n}, esto es un desastre.",
    "Buenas, el producto del pedido {n} llegó roto. ¿Cómo lo cambio?",
]
TEXTS_EN = [
    "You charged me twice for order {n}. I want my money back.",
    "Parcel {n} is a week late and nobody tells me anything.",
    "Third time I write about invoice {n}. This is a joke.",
    "Hi, the item in order {n} arrived broken. How do I replace it?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> tuple[Database, str]:
    db = Database(url)
    upgrade(db)
    from meaculpa.accounts.models import ApiToken, User

    token, digest = new_api_token()
    with db.transaction() as s:
        user = User(
            email="bench@example.com",
            name="Bench Agent",
            role="admin",
            language="es",
            password_hash=hash_password(PASSWORD),
        )
        s.add(user)
        s.flush()
        s.add(ApiToken(user_id=user.id, name="bench", digest=digest))
    return db, token


def server_options() -> list[str]:
    """uvloop and httptools when installed (uvicorn[standard]); uvicorn would pick them too."""
    options = []
    for module, flag in (("uvloop", "--loop"), ("httptools", "--http")):
        if importlib.util.find_spec(module) is not None:
            options += [flag, module]
    return options


def server_flavour() -> str:
    options = server_options()
    return ", ".join(options[1::2]) if options else "asyncio loop, h11"


def start_server(url: str, port: int, workers: int, kind: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MEACULPA_DATABASE_URL": url,
        "MEACULPA_ENVIRONMENT": "test",
        "MEACULPA_SECRET_KEY": "b" * 40,
        "MEACULPA_EMBEDDED_WORKER": "false",
    }
    where = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    if kind == "meaculpa":
        # What a user runs: `meaculpa serve`, whose supervisor hands each connection to the
        # worker process holding the fewest (core.serving).
        command = [sys.executable, "-c", "from meaculpa.cli import main; main()", "serve", *where]
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "meaculpa.app:create_app",
            "--factory",
            *where,
            *server_options(),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def connections_per_process(port: int) -> str:
    """The client connections each server process holds, e.g. "9/7" (Linux ``ss``; "?" without).

    With keep-alive clients this split decides much of the figure: uvicorn's worker processes
    share one listening socket, and the one that wakes first accepts a whole burst of new
    connections, so 16 connections often land 12/4 or 14/2 and the busier process (one core at
    most, for its GIL) sets the pace.
    """
    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    counts = Counter(re.findall(r"pid=(\d+)", out))
    return "/".join(str(n) for n in sorted(counts.values(), reverse=True)) or "?"


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):  # children of every thread
        try:
            found += (task / "children").read_text().split()
        except OSError:
            continue
    pids = [int(p) for p in found]
    return pids + [g for c in pids for g in _children(c)]


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _machine_busy() -> float:
    """CPU seconds all cores spent busy since boot (Linux /proc/stat)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / _TICK


class CpuMeter:
    """CPU time spent during a run by the server's processes, by PostgreSQL's (all of them:
    its backends and background writers) and by the whole machine, the load generator
    included. Per message it depends far less on the host's other work than messages/s."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def snapshot(self) -> tuple[float, float, float]:
        server = sum(_proc_cpu(p) for p in [self.server_pid, *_children(self.server_pid)])
        postgres = sum(_proc_cpu(p) for p in _postgres_pids())
        return server, postgres, _machine_busy()

    @staticmethod
    def per_message(before: tuple[float, ...], after: tuple[float, ...], n: int) -> str:
        if not n:
            return ""
        server, postgres, machine = ((a - b) * 1000 / n for a, b in zip(after, before, strict=True))
        pg = f" postgres {postgres:.2f}" if postgres > 0.005 else ""
        return f"  CPU ms/msg: server {server:.2f}{pg} machine {machine:.2f}"


def message(i: int, run: str) -> dict[str, Any]:
    rnd = random.Random(i)
    spanish = rnd.random() < 0.6
    # Half the messages come from returning customers, so both paths are measured.
    who = rnd.randrange(max(i // 2, 1)) if i % 2 else i
    template = rnd.choice(TEXTS_ES if spanish else TEXTS_EN)
    return {
        "channel": rnd.choice(["email", "web", "twitter", "api"]),
        "external_id": f"{run}-{i}",
        "text": template.format(n=10000 + i),
        "customer": {
            "name": f"Cliente {who}",
            "language": "es" if spanish else "en",
            "identities": [{"kind": "email", "value": f"c{who}@{run}.example.com"}],
        },
    }


def bench_ingest(port: int, token: str, concurrency: int, total: int) -> Any:
    run = uuid.uuid4().hex[:8]

    def make(i: int) -> Any:
        return json_request("POST", "/api/v1/messages", message(i, run), token)

    return asyncio.run(run_load("127.0.0.1", port, concurrency, total, make))


def _lua_texts(templates: list[str]) -> str:
    # Each template as the inside of a JSON string, with Lua's %d where Python has {n}.
    items = [json.dumps(t.replace("{n}", "%d"), ensure_ascii=False)[1:-1] for t in templates]
    return "{" + ", ".join(f"[==[{t}]==]" for t in items) + "}"


def message_lua(run: str) -> str:
    """``message()`` as a Lua ``body(i)`` for wrk: same templates, channels and shares (60 %
    Spanish, odd messages from a customer picked among the first half), drawn by Lua's
    generator."""
    return f"""
local texts_es = {_lua_texts(TEXTS_ES)}
local texts_en = {_lua_texts(TEXTS_EN)}
local channels = {{"email", "web", "twitter", "api"}}
local run = [==[{run}]==]

function body(i)
  local spanish = math.random() < 0.6
  local who = i
  if i % 2 == 1 then who = math.random(0, math.max(math.floor(i / 2), 1) - 1) end
  local texts = texts_en
  local language = "en"
  if spanish then texts = texts_es; language = "es" end
  local text = string.format(texts[math.random(#texts)], 10000 + i)
  return string.format(
    '{{"channel":"%s","external_id":"%s-%d","text":"%s","customer":{{"name":"Cliente %d",'
    .. '"language":"%s","identities":[{{"kind":"email","value":"c%d@%s.example.com"}}]}}}}',
    channels[math.random(4)], run, i, text, who, language, who, run)
end
"""


def bench_ingest_wrk(port: int, token: str, concurrency: int, seconds: float) -> Any:
    return run_wrk(
        "127.0.0.1",
        port,
        concurrency,
        seconds,
        "/api/v1/messages",
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        message_lua(uuid.uuid4().hex[:8]),
    )


def bench_batch(port: int, token: str, concurrency: int, total: int, size: int) -> Any:
    """Send ``total`` messages as batches of ``size`` to POST /api/v1/messages/batch."""
    run = uuid.uuid4().hex[:8]

    def make(i: int) -> Any:
        batch = [message(i * size + k, run) for k in range(size)]
        return json_request("POST", "/api/v1/messages/batch", {"messages": batch}, token)

    return asyncio.run(run_load("127.0.0.1", port, concurrency, total // size, make))


def fill_open_cases(db: Database, target: int) -> int:
    """Bulk-insert customers and open cases until ``target`` cases are open."""
    from meaculpa.cases.models import Case
    from meaculpa.customers.models import Customer

    with db.reading() as s:
        have = s.execute(
            text(
                "SELECT count(*) FROM case_record WHERE status IN "
                "('new','acknowledged','in_progress','waiting_on_customer')"
            )
        ).scalar_one()
    need = max(target - int(have), 0)
    if need == 0:
        return int(have)
    now = utcnow()
    rnd = random.Random(7)
    batch = 2000
    for start in range(0, need, batch):
        n = min(batch, need - start)
        with db.transaction() as s:
            ids = [
                s.execute(
                    insert(Customer).values(
                        name=f"Relleno {start + k}",
                        language="es",
                        timezone="Europe/Madrid",
                        failures_count=0,
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key[0]
                for k in range(n)
            ]
            s.execute(
                insert(Case),
                [
                    {
                        "customer_id": cid,
                        "owner_id": 1,
                        "subject": f"Caso de relleno {cid}",
                        "channel": rnd.choice(["email", "web", "twitter"]),
                        "language": "es",
                        "severity": rnd.choice(["low", "medium", "high", "critical"]),
                        "status": rnd.choice(["new", "acknowledged", "in_progress"]),
                        "opened_at": now,
                        "last_message_at": now,
                        "updated_at": now,
                        "reopened_count": 0,
                        "message_count": 1,
                    }
                    for cid in ids
                ],
            )
    with db.transaction() as s:
        s.execute(text("ANALYZE"))  # as autovacuum would after such a load
    return int(have) + need


async def time_pages(port: int, token: str, repeat: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"api": [], "page": []}
    conn = Connection("127.0.0.1", port)
    await conn.open()
    auth = {"Authorization": f"Bearer {token}"}
    # Sign in through the login form, as a person would.
    status, body = await conn.request("GET", "/login")
    cookie = ""
    page_ok = status == 200
    if page_ok:
        match = re.search(rb'name="csrf_token" value="([^"]+)"', body)
        # The session cookie is read from a raw request below.
        page_ok = match is not None
    if page_ok:
        cookie = await login_cookie(port)
        page_ok = bool(cookie)
    for _ in range(repeat):
        t0 = time.perf_counter()
        status, _ = await conn.request("GET", "/api/v1/cases?open=true&limit=50", headers=auth)
        timings["api"].append(time.perf_counter() - t0)
        assert status == 200, status
        if page_ok:
            t0 = time.perf_counter()
            status, body = await conn.request("GET", "/", headers={"Cookie": cookie})
            timings["page"].append(time.perf_counter() - t0)
            assert status == 200 and b"MC-" in body, status
    conn.close()
    return timings


async def login_cookie(port: int) -> str:
    """Sign in through /login and return the session cookie header value."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def raw(req: bytes) -> tuple[bytes, bytes]:
        writer.write(req)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        m = re.search(rb"(?i)content-length: (\d+)", head)
        body = await reader.readexactly(int(m.group(1))) if m else b""
        return head, body

    head, body = await raw(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    cookies = dict(re.findall(rb"(?i)set-cookie: ([^=]+)=([^;]+)", head))
    token = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    if token is None:
        writer.close()
        return ""
    from urllib.parse import urlencode

    form = urlencode(
        {"email": "bench@example.com", "password": PASSWORD, "csrf_token": token.group(1).decode()}
    ).encode()
    cookie = "; ".join(f"{k.decode()}={v.decode()}" for k, v in cookies.items())
    head, _ = await raw(
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: "
        + cookie.encode()
        + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + b"Content-Length: "
        + str(len(form)).encode()
        + b"\r\n\r\n"
        + form
    )
    cookies.update(dict(re.findall(rb"(?i)set-cookie: ([^=]+)=([^;]+)", head)))
    writer.close()
    return "; ".join(f"{k.decode()}={v.decode()}" for k, v in cookies.items())


def run_engine(label: str, url: str, args: argparse.Namespace) -> None:
    db, token = prepare(url)
    port = free_port()
    server = start_server(url, port, args.workers, args.server)
    try:
        # The inbox first, on exactly 10,000 open cases; then ingestion on top of them.
        filled = fill_open_cases(db, 10_000)
        timings = asyncio.run(time_pages(port, token, args.repeat)) if "inbox" in args.parts else {}
        for name, values in timings.items():
            if not values:
                print(f"{label:10s} inbox {name}: not measured (no login page)")
                continue
            ms = sorted(v * 1000 for v in values)
            print(
                f"{label:10s} inbox {name:4s} first page, {filled} open cases: "
                f"median {statistics.median(ms):.1f} ms  p90 {ms[int(len(ms) * 0.9) - 1]:.1f} ms"
                f"  over {len(ms)} requests"
            )
        bench_ingest(port, token, 4, 200)  # warm-up
        for concurrency in (1, 16) if "ingest" in args.parts else ():
            split: list[str] = []
            probe = threading.Timer(
                1.0, lambda found=split: found.append(connections_per_process(port))
            )
            probe.start()
            meter = CpuMeter(server.pid)
            before = meter.snapshot()
            if args.client == "wrk":
                result = bench_ingest_wrk(port, token, concurrency, args.seconds)
            else:
                total = args.messages if concurrency > 1 else max(args.messages // 4, 200)
                result = bench_ingest(port, token, concurrency, total)
            cpu = meter.per_message(before, meter.snapshot(), result.count)
            probe.cancel()
            print(
                f"{label:10s} ingest  c={concurrency:<3d} n={result.count:<6d} "
                f"{result.summary()}  load {os.getloadavg()[0]:.2f}"
                f"  connections per worker {split[0] if split else '?'}{cpu}"
            )
        for concurrency in (1, 4) if "batch" in args.parts else ():
            size = 100
            result = bench_batch(port, token, concurrency, args.messages * 2, size)
            print(
                f"{label:10s} batch   c={concurrency:<3d} n={args.messages * 2:<6d} "
                f"{result.rate * size:8.0f} messages/s in batches of {size}; per batch "
                f"p50 {result.pct(50):6.1f} ms  p99 {result.pct(99):6.1f} ms  {result.statuses}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL URL; a fresh schema is used and dropped")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument(
        "--parts",
        default="inbox,ingest,batch",
        help="what to measure, comma-separated: inbox, ingest (single messages), batch",
    )
    parser.add_argument(
        "--server",
        choices=("meaculpa", "uvicorn"),
        default="meaculpa",
        help="`meaculpa serve` (connections handed out evenly) or plain `uvicorn --workers`",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator for single messages: wrk when installed (auto), or the asyncio one",
    )
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="length of each wrk run (wrk counts by time)"
    )
    args = parser.parse_args()
    if args.client == "auto":
        args.client = "wrk" if wrk_binary() else "python"
    elif args.client == "wrk" and not wrk_binary():
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --client python")
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {platform.system()} {platform.release()}"
    )
    client = (
        f"wrk ({wrk_binary()}, {args.seconds:g} s a run, a distinct body a request)"
        if args.client == "wrk"
        else "asyncio keep-alive (Python)"
    )
    print(
        f"server: {'meaculpa serve' if args.server == 'meaculpa' else 'uvicorn'}, "
        f"{args.workers} worker processes, {server_flavour()}; "
        f"client for single messages: {client}; batches: asyncio keep-alive; same machine"
    )
    print("data: synthetic es/en messages (60% es), half from returning customers")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        run_engine("sqlite", f"sqlite:///{tmp}/bench.db", args)
    pg = args.postgres or os.environ.get("MEACULPA_BENCH_POSTGRES")
    if pg and not args.sqlite_only:
        schema = "bench_" + uuid.uuid4().hex[:8]
        base = pg.replace("postgresql://", "postgresql+psycopg://", 1)
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        try:
            sep = "&" if "?" in base else "?"
            run_engine("postgresql", f"{base}{sep}options=-csearch_path%3D{schema}", args)
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()
