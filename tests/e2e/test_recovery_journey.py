"""Acceptance test of issue 3: recovering one customer, end to end, over real HTTP and SMTP.

A Spanish complaint arrives as a raw e-mail; the agent apologises and promises "le llamaremos
mañana antes de las 12"; the promise becomes a commitment due at 12:00 the next day in the
customer's time zone; the reply reaches the customer's mailbox threaded; resolving the case
sends the follow-up question some days later; the customer answers "not solved" through the
link in that e-mail and the case comes back, more severe, with its owner alerted.

Everything goes through the ASGI app with a bearer token (``client``), the worker
(``Runner.run_pending``) and a real SMTP server on 127.0.0.1. Time is fixed with
``meaculpa.core.clock.override``, so the test is deterministic. Runs on SQLite and, with
``MEACULPA_TEST_DATABASE_URL``, on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from meaculpa.core import clock
from meaculpa.jobs.runner import Runner
from tests.web.helpers import csrf_from

# Tuesday 10 March 2026, 09:00 UTC: 04:00 in Bogotá, where the customer lives.
START = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
CUSTOMER_ZONE = "America/Bogota"
CUSTOMER = "lucia.fernandez@correo.example.es"
COMPLAINT_ID = "<queja-4411.lucia@correo.example.es>"
LINK = re.compile(r"https?://[^/\s]+(/f/[A-Za-z0-9_.\-]+)")


def crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


# The complaint as a mail client sends it: UTF-8, quoted-printable, RFC 2047 headers.
COMPLAINT = crlf(
    f"""From: =?UTF-8?Q?Luc=C3=ADa_Fern=C3=A1ndez?= <{CUSTOMER}>
To: Atencion al cliente <atencion@olivar.example>
Subject: =?UTF-8?Q?Me_hab=C3=A9is_cobrado_dos_veces_el_pedido_4411?=
Date: Tue, 10 Mar 2026 03:55:00 -0500
Message-ID: {COMPLAINT_ID}
Content-Language: es-CO
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Buenos d=C3=ADas:

Me hab=C3=A9is cobrado dos veces el pedido 4411 (89,90 =E2=82=AC cada vez) y
nadie me contesta al tel=C3=A9fono. Es la segunda vez que me pasa. Quiero que
me devolv=C3=A1is el dinero ya.

Luc=C3=ADa
"""
)

APOLOGY = (
    "Hola, Lucía:\n\n"
    "Tiene toda la razón y le pido disculpas: le cobramos dos veces el pedido 4411 por un "
    "error nuestro, y además no le atendimos al teléfono. Lo sentimos de verdad.\n\n"
    "Ya hemos pedido la devolución de los 89,90 €. Le llamaremos mañana antes de las 12 "
    "para confirmarle que la tiene."
)


class Clock:
    """meaculpa's clock, moved by hand; the app, the API and the worker all read it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, value: datetime) -> datetime:
        self.now = value
        return value


@pytest.fixture
def now() -> Iterator[Clock]:
    source = Clock(START)
    with clock.override(source):
        yield source


def run_worker(db: Any, settings: Any) -> int:
    return Runner(db, name="e2e-worker", settings=settings).run_pending()


def test_complaint_apology_promise_resolution_follow_up_and_reopening(
    client, db, agent, manager, mail_settings, smtp_server, now, tmp_path, monkeypatch
):
    monkeypatch.setenv("MEACULPA_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    _, _, mailbox = smtp_server
    api = agent.headers

    # 1. The complaint arrives as a raw RFC 822 e-mail.
    r = client.post(
        "/api/v1/inbound/email",
        content=COMPLAINT,
        headers={**api, "Content-Type": "message/rfc822"},
    )
    assert r.status_code == 201, r.text
    inbound = r.json()
    assert inbound["case_created"] and inbound["customer_created"]
    assert inbound["message"]["external_id"] == COMPLAINT_ID
    case_id, customer_id = inbound["case_id"], inbound["customer_id"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=api).json()
    assert case["subject"] == "Me habéis cobrado dos veces el pedido 4411"
    assert case["language"] == "es" and case["channel"] == "email"
    assert case["owner_id"] == agent.id  # the only agent: the least loaded one
    reference = case["reference"]
    assert reference == f"MC-{case_id}"

    # The customer lives in Bogotá.
    r = client.patch(
        f"/api/v1/customers/{customer_id}", json={"timezone": CUSTOMER_ZONE}, headers=api
    )
    assert r.status_code == 200, r.text
    assert r.json()["timezone"] == CUSTOMER_ZONE

    # 2. The agent answers with a sincere apology and a promise.
    r = client.post(f"/api/v1/cases/{case_id}/messages", json={"text": APOLOGY}, headers=api)
    assert r.status_code == 201, r.text
    reply = r.json()
    assert reply["direction"] == "outbound" and reply["sent_at"] == "2026-03-10T09:00:00Z"

    # 3. The promise is a commitment due at 12:00 the next day in the customer's zone.
    r = client.get(f"/api/v1/cases/{case_id}/commitments", headers=api)
    assert r.status_code == 200
    [promise] = r.json()
    assert promise["kind"] == "call_back"
    assert promise["source"] == "extracted" and promise["message_id"] == reply["id"]
    assert promise["state"] == "open" and promise["owner_id"] == agent.id
    assert promise["customer_timezone"] == CUSTOMER_ZONE
    assert "mañana antes de las 12" in promise["due_text"]
    due_local = datetime(2026, 3, 11, 12, 0, tzinfo=ZoneInfo(CUSTOMER_ZONE))
    assert promise["due_local"].startswith("2026-03-11T12:00:00-05:00")
    assert datetime.fromisoformat(promise["due_at"]) == due_local  # 17:00 UTC
    assert (
        client.get("/api/v1/commitments?mine=true&state=open", headers=api).json()["items"][0]["id"]
        == promise["id"]
    )

    # 4. The worker e-mails the reply, threaded under the complaint.
    run_worker(db, mail_settings)
    [sent] = mailbox.to(CUSTOMER)
    assert f"[{reference}]" in str(sent["Subject"])
    assert sent["Subject"] == f"Re: Me habéis cobrado dos veces el pedido 4411 [{reference}]"
    assert sent["In-Reply-To"] == COMPLAINT_ID
    assert COMPLAINT_ID in str(sent["References"])
    assert sent["From"] == "Olivar Hogar <atencion@olivar.example>"
    body = sent.get_content().replace("\r\n", "\n")
    assert "le pido disculpas" in body and "Le llamaremos mañana antes de las 12" in body
    assert body.rstrip().endswith("Alberto Agente")

    # 5. Next morning in Bogotá the agent calls, keeps the promise, and resolves the case.
    now.set(datetime(2026, 3, 11, 15, 0, tzinfo=UTC))  # 10:00 in Bogotá
    r = client.post(
        f"/api/v1/commitments/{promise['id']}/keep",
        json={"note": "Llamada hecha: la devolución ya le aparece."},
        headers=api,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "kept"
    severity_before = client.get(f"/api/v1/cases/{case_id}", headers=api).json()["severity"]
    r = client.patch(f"/api/v1/cases/{case_id}", json={"status": "resolved"}, headers=api)
    assert r.status_code == 200, r.text
    resolved = r.json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] == "2026-03-11T15:00:00Z"
    followup = client.get(f"/api/v1/cases/{case_id}/followup", headers=api).json()
    assert followup["state"] == "scheduled"
    delay = client.get("/api/v1/followups/settings", headers=api).json()["delay_days"]
    assert delay == 3

    # Before the delay nothing reaches the customer.
    resolved_at = now.now
    now.set(resolved_at + timedelta(days=delay) - timedelta(hours=1))
    run_worker(db, mail_settings)
    assert len(mailbox.to(CUSTOMER)) == 1

    # 6. Past the delay the worker sends the follow-up question, in Spanish.
    now.set(resolved_at + timedelta(days=delay, minutes=1))
    run_worker(db, mail_settings)
    run_worker(db, mail_settings)  # a second run sends nothing more
    mails = mailbox.to(CUSTOMER)
    assert len(mails) == 2
    question = mails[-1]
    assert question["Subject"] == f"¿Está realmente resuelto? ({reference})"
    text = question.get_content()
    assert "Hola, Lucía Fernández:" in text and "del 1 al 5" in text
    assert client.get(f"/api/v1/cases/{case_id}/followup", headers=api).json()["state"] == "sent"

    # 7. The customer opens the link and answers "not solved".
    match = LINK.search(text)
    assert match, text
    path = match.group(1)
    page = client.get(path)
    assert page.status_code == 200
    assert "¿Está realmente resuelto?" in page.text and reference in page.text
    answer = client.post(
        path,
        data={
            "csrf_token": csrf_from(page.text),
            "solved": "no",
            "rating": "2",
            "comment": "Me han devuelto un cargo, pero el otro sigue ahí.",
        },
    )
    assert answer.status_code == 200 and "Gracias por su respuesta" in answer.text

    # 8. The case is open again, one level more severe.
    levels = ["low", "medium", "high", "critical"]
    expected = levels[min(levels.index(severity_before) + 1, len(levels) - 1)]
    case = client.get(f"/api/v1/cases/{case_id}", headers=api).json()
    assert case["status"] not in {"resolved", "closed"}
    assert case["status"] == "in_progress"
    assert case["severity"] == expected
    assert case["reopened_count"] == 1
    latest = client.get(f"/api/v1/cases/{case_id}/followup", headers=api).json()["latest"]
    assert latest["status"] == "answered" and latest["solved"] is False
    assert latest["rating"] == 2 and latest["reopened_case"] is True

    # ... and its owner hears about it by e-mail.
    run_worker(db, mail_settings)
    [alert] = [m for m in mailbox.to(agent.email) if "No resuelto" in str(m["Subject"])]
    assert alert["Subject"] == f"No resuelto: se ha reabierto {reference}"
    assert "el otro sigue ahí" in alert.get_content()
    assert len(mailbox.to(CUSTOMER)) == 2  # the customer got nothing more

    # 9. The audit trail tells the whole story (managers read it).
    assert client.get("/api/v1/audit-events", headers=api).status_code == 403

    def verbs(**query: str) -> list[str]:
        r = client.get(
            "/api/v1/audit-events", params={**query, "limit": "200"}, headers=manager.headers
        )
        assert r.status_code == 200, r.text
        return [e["verb"] for e in reversed(r.json()["items"])]

    case_verbs = verbs(object_type="case", object_id=str(case_id))
    assert case_verbs[0] == "case.create" and "case.reopen" in case_verbs
    every = verbs()
    story = [
        "customer.create",
        "case.create",
        "message.create",
        "customer.update",
        "commitment.create",
        "email.queue",
        "commitment.keep",
        "followup.schedule",
        "followup.send",
        "followup.answer",
        "case.reopen",
    ]
    positions = []
    for verb in story:
        assert verb in every[(positions[-1] if positions else 0) :], (verb, every)
        positions.append(every.index(verb, positions[-1] if positions else 0))
    # The raised severity is recorded after the reopening, with what it was before.
    raised = client.get(
        "/api/v1/audit-events",
        params={"object_type": "case", "object_id": str(case_id), "verb": "case.update"},
        headers=manager.headers,
    ).json()["items"][0]
    assert raised["after"]["severity"] == expected
    assert raised["before"]["severity"] == severity_before
    reopen = client.get(
        "/api/v1/audit-events", params={"verb": "case.reopen"}, headers=manager.headers
    ).json()["items"][0]
    assert reopen["object_id"] == str(case_id) and reopen["actor_type"] == "system"
