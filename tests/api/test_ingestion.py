"""POST /api/v1/messages: identity matching, threading into cases, idempotency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from meaculpa.cases.models import Case
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.messages.models import Message
from tests.conftest import audit_verbs


def inbound(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "email",
        "customer": {
            "name": "Lucía Fernández",
            "language": "es",
            "identities": [{"kind": "email", "value": "Lucia.Fernandez@Example.es"}],
        },
        "subject": "Cobro duplicado",
        "text": "Me habéis cobrado dos veces el pedido 4411. Quiero que me devolváis el dinero.",
    }
    body.update(overrides)
    return body


def count(db: Any, model: Any) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_first_message_creates_customer_and_case(client, db, agent):
    r = client.post("/api/v1/messages", json=inbound(external_id="m-1"), headers=agent.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] and body["customer_created"] and body["case_created"]
    assert body["case_reference"] == f"MC-{body['case_id']}"
    assert body["message"]["direction"] == "inbound"
    with db.reading() as s:
        customer = s.get(Customer, body["customer_id"])
        assert customer.name == "Lucía Fernández"
        assert [(i.kind, i.value) for i in customer.identities] == [
            ("email", "lucia.fernandez@example.es")
        ]
        case = s.get(Case, body["case_id"])
        assert case.status == "new" and case.language == "es" and case.channel == "email"
        assert case.subject == "Cobro duplicado" and case.message_count == 1
        # The only active agent becomes the customer's one owner.
        assert case.owner_id == agent.id and customer.owner_id == agent.id
    assert audit_verbs(db) == ["customer.create", "case.create", "message.create"]


def test_second_message_joins_open_case(client, db, agent):
    first = client.post("/api/v1/messages", json=inbound(), headers=agent.headers).json()
    second = client.post(
        "/api/v1/messages", json=inbound(text="¿Alguien me va a contestar?"), headers=agent.headers
    ).json()
    assert second["case_id"] == first["case_id"]
    assert not second["case_created"] and not second["customer_created"]
    with db.reading() as s:
        assert s.get(Case, first["case_id"]).message_count == 2


def test_identity_matching_across_channels(client, db, agent):
    """A tweet from a handle we know by e-mail lands on the same customer and case."""
    first = client.post(
        "/api/v1/messages",
        json=inbound(
            customer={
                "identities": [
                    {"kind": "email", "value": "ana@example.com"},
                    {"kind": "phone", "value": "+34 600 11 22 33"},
                ]
            }
        ),
        headers=agent.headers,
    ).json()
    tweet = client.post(
        "/api/v1/messages",
        json={
            "channel": "twitter",
            "text": "@marca sigo sin respuesta",
            "customer": {
                "identities": [
                    {"kind": "twitter", "value": "@Ana_Tweets"},
                    {"kind": "phone", "value": "0034600112233"},
                ]
            },
        },
        headers=agent.headers,
    ).json()
    assert tweet["customer_id"] == first["customer_id"]
    assert tweet["case_id"] == first["case_id"]
    with db.reading() as s:
        kinds = sorted(
            (i.kind, i.value)
            for i in s.scalars(
                select(CustomerIdentity).where(CustomerIdentity.customer_id == first["customer_id"])
            )
        )
    assert kinds == [
        ("email", "ana@example.com"),
        ("phone", "+34600112233"),
        ("twitter", "ana_tweets"),
    ]
    assert "customer.identity.add" in audit_verbs(db)


def test_message_on_resolved_case_opens_a_new_case(client, db, agent):
    first = client.post("/api/v1/messages", json=inbound(), headers=agent.headers).json()
    r = client.patch(
        f"/api/v1/cases/{first['case_id']}", json={"status": "resolved"}, headers=agent.headers
    )
    assert r.status_code == 200, r.text
    again = client.post(
        "/api/v1/messages", json=inbound(text="Otra cosa"), headers=agent.headers
    ).json()
    assert again["case_id"] != first["case_id"] and again["case_created"]


def test_waiting_case_wakes_up_when_customer_writes(client, db, agent):
    first = client.post("/api/v1/messages", json=inbound(), headers=agent.headers).json()
    client.patch(
        f"/api/v1/cases/{first['case_id']}",
        json={"status": "waiting_on_customer"},
        headers=agent.headers,
    )
    client.post(
        "/api/v1/messages", json=inbound(text="Aquí tienen el recibo"), headers=agent.headers
    )
    with db.reading() as s:
        assert s.get(Case, first["case_id"]).status == "in_progress"


def test_same_external_id_is_stored_once(client, db, agent):
    body = inbound(external_id="<abc@mail.example.es>")
    r1 = client.post("/api/v1/messages", json=body, headers=agent.headers)
    r2 = client.post("/api/v1/messages", json=body, headers=agent.headers)
    assert r1.status_code == 201 and r2.status_code == 200
    assert r2.json()["created"] is False
    assert r2.json()["message"]["id"] == r1.json()["message"]["id"]
    assert count(db, Message) == 1
    # The same id on another channel is another message.
    r3 = client.post(
        "/api/v1/messages",
        json=inbound(external_id="<abc@mail.example.es>", channel="web"),
        headers=agent.headers,
    )
    assert r3.status_code == 201
    assert count(db, Message) == 2


def test_idempotency_key_replays_the_first_answer(client, db, agent):
    headers = {**agent.headers, "Idempotency-Key": "retry-7f3a"}
    r1 = client.post("/api/v1/messages", json=inbound(), headers=headers)
    r2 = client.post("/api/v1/messages", json=inbound(), headers=headers)
    assert r1.status_code == r2.status_code == 201
    assert r1.json() == r2.json()
    assert count(db, Message) == 1
    other = client.post("/api/v1/messages", json=inbound(text="distinto"), headers=headers)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert count(db, Message) == 1


def test_concurrent_retries_never_duplicate(client, db, agent):
    """Sixteen simultaneous deliveries of one message and of one key: one row each."""
    body = inbound(external_id="dup-1")
    keyed = inbound(
        text="con clave", customer={"identities": [{"kind": "email", "value": "otro@example.com"}]}
    )

    def send(i: int) -> int:
        if i % 2:
            return client.post("/api/v1/messages", json=body, headers=agent.headers).status_code
        return client.post(
            "/api/v1/messages", json=keyed, headers={**agent.headers, "Idempotency-Key": "k-1"}
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(send, range(16)))
    assert set(codes) <= {200, 201}, codes
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 2
        assert s.scalar(select(func.count()).select_from(Customer)) == 2
        assert s.scalar(select(func.count()).select_from(Case)) == 2


def test_html_is_sanitised_and_text_derived(client, db, agent):
    r = client.post(
        "/api/v1/messages",
        json=inbound(
            text="",
            html='<p onclick="x()">Hola <b>equipo</b></p><script>alert(1)</script>'
            '<a href="javascript:alert(1)">clic</a>',
        ),
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    msg = r.json()["message"]
    assert "script" not in msg["html"] and "onclick" not in msg["html"]
    assert "javascript:" not in msg["html"]
    assert msg["text"].startswith("Hola equipo")


def test_bad_input_is_refused_and_nothing_stored(client, db, agent):
    cases = [
        (
            inbound(customer={"identities": [{"kind": "email", "value": "not-an-email"}]}),
            "customer.identities.0",
        ),
        (inbound(customer={"identities": []}), "customer.identities"),
        (inbound(channel="carrier-pigeon"), "channel"),
        (inbound(text="", html=None), ""),
        (inbound(unexpected="field"), "unexpected"),
        (inbound(sent_at="2026-01-01T10:00:00"), "sent_at"),
        (
            inbound(attachments=[{"filename": "../../etc/passwd", "size": 10}]),
            "attachments.0.filename",
        ),
        (inbound(text="hola\x00adiós"), "text"),
        (
            inbound(
                customer={"name": "A\x00B", "identities": [{"kind": "email", "value": "a@b.es"}]}
            ),
            "customer.name",
        ),
    ]
    for body, field in cases:
        r = client.post("/api/v1/messages", json=body, headers=agent.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["status"] == 422
        assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    r = client.post(
        "/api/v1/messages",
        content=b'{"channel": "email",',
        headers={**agent.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["title"] == "Malformed JSON"
    assert count(db, Message) == 0 and count(db, Customer) == 0


def test_oversized_body_is_refused(client, db, agent):
    big = inbound(text="x" * 2_000_000)
    r = client.post("/api/v1/messages", json=big, headers=agent.headers)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert count(db, Message) == 0


def test_too_long_text_names_the_field(client, db, agent):
    r = client.post("/api/v1/messages", json=inbound(text="y" * 100_001), headers=agent.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "text"


def test_batch_ingestion(client, db, agent):
    batch = {"messages": [
        inbound(external_id="b-1"),
        inbound(external_id="b-2", text="Y además el segundo pedido llegó roto."),
        inbound(external_id="b-3", channel="twitter", text="@marca fatal",
                customer={"identities": [{"kind": "twitter", "value": "@pepe"}]}),
    ]}
    r = client.post("/api/v1/messages/batch", json=batch, headers=agent.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"] == 3 and body["duplicates"] == 0
    first, second, third = body["results"]
    assert first["case_id"] == second["case_id"] != third["case_id"]
    assert second["customer_created"] is False
    # Sent again: nothing new, the stored messages come back.
    again = client.post("/api/v1/messages/batch", json=batch, headers=agent.headers).json()
    assert again["created"] == 0 and again["duplicates"] == 3
    assert [x["message"]["id"] for x in again["results"]] == [
        x["message"]["id"] for x in body["results"]]
    assert count(db, Message) == 3


def test_batch_with_a_bad_message_stores_nothing(client, db, agent):
    batch = {"messages": [inbound(external_id="ok-1"),
                          inbound(channel="pigeon", external_id="bad-2")]}
    r = client.post("/api/v1/messages/batch", json=batch, headers=agent.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "messages.1.channel"
    assert count(db, Message) == 0
    too_many = {"messages": [inbound(external_id=f"m{i}") for i in range(101)]}
    r = client.post("/api/v1/messages/batch", json=too_many, headers=agent.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "messages"
    r = client.post("/api/v1/messages/batch", json={"messages": []}, headers=agent.headers)
    assert r.status_code == 422
