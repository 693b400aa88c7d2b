"""Done when: 10,000 affected customers imported from CSV get their apology exactly once
from a real ``meaculpa worker`` process that is killed (SIGKILL) in the middle of the
delivery and started again; a complaint from one of them links to the error.

The kill is placed deterministically: the SMTP server kills the worker while the worker waits
for the answer to message 3,000, and does not keep that message (as a server whose client
vanished may do). The restarted worker must then take over the dead worker's jobs at once,
send that message and the rest of its half-sent chunk, and send nothing already accepted.
(A kill in the instant after a server's "250 OK" and before the worker's commit would repeat
that one message under the same Message-ID; no SMTP client can close that window.)"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from meaculpa.apologies.models import Apology, ErrorCaseLink
from meaculpa.jobs.models import Job
from meaculpa.jobs.runner import Runner
from meaculpa.notifications.models import OutboundEmail
from tests.conftest import TEST_SECRET

N = 10_000
KILL_AT = 3_000
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)", re.MULTILINE | re.IGNORECASE)


class KillingMailbox:
    """An SMTP server that counts what it accepts and, when message ``KILL_AT`` arrives,
    SIGKILLs the worker sending it before answering (so that message is not accepted)."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.message_ids: Counter[str] = Counter()
        self.worker: subprocess.Popen[bytes] | None = None
        self.killed = threading.Event()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if not self.killed.is_set() and sum(self.received.values()) + 1 >= KILL_AT:
                assert self.worker is not None
                os.kill(self.worker.pid, signal.SIGKILL)
                self.worker.wait(timeout=30)
                self.killed.set()
                return "451 4.3.0 the sender went away"
            for rcpt in envelope.rcpt_tos:
                self.received[rcpt] += 1
            found = MESSAGE_ID.search(envelope.content)
            self.message_ids[found.group(1).decode() if found else ""] += 1
        return "250 OK"


@pytest.fixture
def killing_smtp() -> Any:
    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    mailbox = KillingMailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


def start_worker(database_url: str, port: int, tmp_path: Any) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MEACULPA_DATABASE_URL": database_url,
        "MEACULPA_ENVIRONMENT": "test",
        "MEACULPA_SECRET_KEY": TEST_SECRET,
        "MEACULPA_SMTP_HOST": "127.0.0.1",
        "MEACULPA_SMTP_PORT": str(port),
        "MEACULPA_OUTREACH_RATES": '{"email": 1000000}',
        "MEACULPA_WORKER_POLL_SECONDS": "0.2",
    }
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-c", "from meaculpa.cli import main; main()", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def sent_count(db: Any) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.count(Apology.id)).where(Apology.state == "sent")) or 0)


def test_ten_thousand_apologies_exactly_once_through_a_killed_worker(
    client, db, manager, database_url, killing_smtp, tmp_path, settings
):
    port, mailbox = killing_smtp
    began = time.monotonic()
    r = client.post(
        "/api/v1/errors",
        json={"title": "Cobro duplicado", "type": "calculation", "severity": "high"},
        headers=manager.headers,
    )
    error_id = r.json()["id"]
    rows = ["email,name,language,order_number"]
    rows += [f"cliente{i}@example.es,Cliente {i},{'es' if i % 3 else 'en'},P-{i}" for i in range(N)]
    r = client.post(
        f"/api/v1/errors/{error_id}/affected/import",
        content=("\n".join(rows) + "\n").encode(),
        headers={**manager.headers, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200 and r.json()["added"] == N, r.text[:500]
    assert client.put(f"/api/v1/errors/{error_id}/apology", json={},
                      headers=manager.headers).status_code == 200
    assert client.post(f"/api/v1/errors/{error_id}/apology/send",
                       headers=manager.headers).status_code == 202
    assert client.post(f"/api/v1/errors/{error_id}/apology/send",
                       headers=manager.headers).json()["enqueue_job"] is False

    print(f"imported and queued in {time.monotonic() - began:.1f} s")
    worker = start_worker(database_url, port, tmp_path)
    mailbox.worker = worker
    try:
        assert mailbox.killed.wait(timeout=120), (tmp_path / "worker.log").read_text()[-3000:]
        assert worker.returncode == -signal.SIGKILL
        middle = sent_count(db)
        assert 0 < middle < N
        with db.reading() as s:
            held = s.scalar(
                select(func.count(Apology.id)).where(Apology.state == "sending")
            )
        assert held and held > 0  # the dead worker's chunk, half sent
        worker = start_worker(database_url, port, tmp_path)
        deadline = time.monotonic() + 180
        while sent_count(db) < N and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    print(f"delivered in {time.monotonic() - began:.1f} s")
    assert sent_count(db) == N, (tmp_path / "worker.log").read_text()[-3000:]
    # Exactly once each, by recipient and by Message-ID.
    assert len(mailbox.received) == N and set(mailbox.received.values()) == {1}
    assert len(mailbox.message_ids) == N and set(mailbox.message_ids.values()) == {1}
    with db.reading() as s:
        assert s.scalar(select(func.count(OutboundEmail.id))) == N
        assert s.scalar(
            select(func.count(Job.id)).where(Job.kind.like("apologies.%"), Job.status != "done")
        ) == 0

    # One of them complains: the case is linked to the error and the complaint counted.
    r = client.post(
        "/api/v1/messages",
        json={"channel": "email",
              "customer": {"identities": [{"kind": "email", "value": "cliente42@example.es"}]},
              "text": "Me habéis cobrado dos veces, es indignante. Quiero mi dinero ya o "
                      "pondré una reclamación."},
        headers=manager.headers,
    )
    assert r.status_code in (200, 201)
    case_id = r.json()["case_id"]
    Runner(db, name="in-test").run_pending()
    with db.reading() as s:
        link = s.scalar(select(ErrorCaseLink).where(ErrorCaseLink.case_id == case_id))
        assert link is not None and link.error_id == error_id and not link.before_apology
        apology = s.scalar(select(Apology).where(Apology.case_id == case_id))
        assert apology.state == "complained"
