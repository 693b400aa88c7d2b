"""`meaculpa serve --workers N`: one supervisor hands each client connection to the worker
process holding the fewest, restarts a worker that dies, and stops cleanly."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    """Child processes started by any thread of ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def workers_of(pid: int) -> list[int]:
    """The supervisor's worker processes (multiprocessing may add a resource tracker)."""
    found = []
    for child in children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            found.append(child)
    return sorted(found)


def connections_by_process(port: int, pids: list[int]) -> dict[int, int]:
    """How many established connections on ``port`` each process holds (/proc, no tools)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: established
                inodes.add(fields[9])
    return {pid: len(socket_inodes(pid) & inodes) for pid in pids}


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds open."""
    found = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                found.add(target[8:-1])
    except OSError:
        pass
    return found


def wait_until(check: Any, seconds: float = 20.0) -> Any:
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = {
        **os.environ,
        "MEACULPA_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "MEACULPA_SECRET_KEY": "s" * 40,
        "MEACULPA_EMBEDDED_WORKER": "false",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from meaculpa.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: len(workers_of(proc.pid)) == 2 and get(port, "/login") == 200, 60)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> int:
    try:
        c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", path)
        response = c.getresponse()
        response.read()
        if conn is None:
            c.close()
        return response.status
    except OSError:
        return 0


def open_connections(port: int, n: int) -> list[http.client.HTTPConnection]:
    conns = []
    for _ in range(n):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        assert get(port, "/login", c) == 200  # keep-alive: the connection stays open
        conns.append(c)
    return conns


def test_connections_go_to_the_worker_holding_fewest(served):
    proc, port = served
    pids = workers_of(proc.pid)
    conns = open_connections(port, 6)
    assert sorted(connections_by_process(port, pids).values()) == [3, 3]

    # Close the three one worker holds: the next three all go to it.
    first = pids[0]
    held = connections_by_process(port, [first])[first]
    assert held == 3
    mine = [c for c in conns if _held_by(port, c, first)]
    assert len(mine) == 3
    for c in mine:
        c.close()
    wait_until(lambda: connections_by_process(port, [first])[first] == 0)
    more = open_connections(port, 3)
    assert connections_by_process(port, pids) == {pids[0]: 3, pids[1]: 3}
    for c in conns + more:
        c.close()


def _held_by(port: int, conn: http.client.HTTPConnection, pid: int) -> bool:
    """Whether worker ``pid`` holds the server side of ``conn``."""
    assert conn.sock is not None
    client_port = conn.sock.getsockname()[1]
    server_inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local = int(fields[1].rsplit(":", 1)[1], 16)
        remote = int(fields[2].rsplit(":", 1)[1], 16)
        if local == port and remote == client_port:
            server_inodes.add(fields[9])
    return bool(socket_inodes(pid) & server_inodes)


def test_a_dead_worker_is_replaced_and_sigterm_stops_all(served):
    proc, port = served
    before = workers_of(proc.pid)
    os.kill(before[0], signal.SIGKILL)
    after = wait_until(
        lambda: (w := workers_of(proc.pid)) and len(w) == 2 and before[0] not in w and w
    )
    assert before[1] in after
    wait_until(lambda: get(port, "/login") == 200)
    assert all(get(port, "/login") == 200 for _ in range(6))

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    for pid in after:
        wait_until(lambda pid=pid: not Path(f"/proc/{pid}").exists() or _zombie(pid))
    assert get(port, "/login") == 0  # nobody listens any more


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True
