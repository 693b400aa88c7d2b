"""Promises in outbound replies become commitments, due in the customer's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.commitments.conftest import commitments_of, make_case, reply
from tests.conftest import audit_verbs


def test_spanish_reply_promising_a_call_tomorrow_before_12(db, agent, fixed_clock):
    # The customer lives in Bogotá: "mañana antes de las 12" is noon there, not in Madrid.
    ids = make_case(db, agent.id, timezone="America/Bogota")
    message_id = reply(
        db,
        agent.actor,
        ids["case"],
        "Hola Lucía, sentimos mucho el cobro duplicado, fue un error nuestro. "
        "Le llamaremos mañana antes de las 12 para confirmarle la devolución.",
    )
    [commitment] = commitments_of(db, ids["case"])
    bogota = ZoneInfo("America/Bogota")
    sent_local = fixed_clock.now.astimezone(bogota)  # 04:00 on the 10th in Bogotá
    expected = datetime.combine(sent_local.date() + timedelta(days=1), datetime.min.time(), bogota)
    expected = expected.replace(hour=12)
    assert commitment.due_at == expected
    assert commitment.due_at.astimezone(bogota).hour == 12
    assert commitment.kind == "call_back"
    assert commitment.state == "open"
    assert commitment.source == "extracted" and commitment.message_id == message_id
    assert commitment.owner_id == agent.id and commitment.customer_id == ids["customer"]
    assert "Le llamaremos mañana antes de las 12" in commitment.description
    assert "commitment.create" in audit_verbs(db, "commitment")


def test_english_reply_within_48_hours(db, agent, fixed_clock):
    ids = make_case(
        db, agent.id, timezone="Europe/London", language="en", name="Hannah Reid",
        email="hannah@example.co.uk",
    )
    reply(
        db,
        agent.actor,
        ids["case"],
        "Hannah, I'm so sorry we charged you twice. We will refund you within 48 hours.",
    )
    [commitment] = commitments_of(db, ids["case"])
    assert commitment.kind == "refund"
    assert commitment.due_at == fixed_clock.now + timedelta(hours=48)
    assert commitment.due_text == "within 48 hours"


def test_notes_and_replies_without_promises_create_nothing(db, agent, fixed_clock):
    ids = make_case(db, agent.id)
    reply(db, agent.actor, ids["case"], "Le llamaremos mañana a las 10.", direction="note")
    reply(db, agent.actor, ids["case"], "Gracias por escribirnos, Lucía.")
    assert commitments_of(db, ids["case"]) == []


def test_a_promise_without_a_date_is_kept_without_one(db, agent, fixed_clock):
    ids = make_case(db, agent.id)
    reply(db, agent.actor, ids["case"], "Le mantendremos informado de cualquier novedad.")
    [commitment] = commitments_of(db, ids["case"])
    assert commitment.kind == "update" and commitment.due_at is None and commitment.state == "open"


def test_a_promise_waiting_for_the_customer_says_so(db, agent, fixed_clock):
    ids = make_case(db, agent.id)
    reply(
        db,
        agent.actor,
        ids["case"],
        "Si nos envía el ticket de compra, le devolveremos el importe en 3 días hábiles.",
    )
    [commitment] = commitments_of(db, ids["case"])
    assert commitment.kind == "refund" and commitment.depends_on_customer
    assert commitment.condition == "Si nos envía"


def test_the_promises_follow_a_handover(db, agent, other_agent, manager, fixed_clock):
    from meaculpa.cases.actions import do_update_case
    from meaculpa.cases.queries import access_case

    ids = make_case(db, agent.id)
    reply(db, agent.actor, ids["case"], "Le llamaremos mañana a las 10.")
    with db.transaction() as s:
        case = access_case(s, manager.actor, ids["case"])
        do_update_case(s, manager.actor, case, owner_id=other_agent.id, owner_set=True,
                       handover_note="Olivia speaks to the bank")
    [commitment] = commitments_of(db, ids["case"])
    assert commitment.owner_id == other_agent.id
    assert "commitment.reassign" in audit_verbs(db, "commitment")


def test_a_promise_repeated_in_a_later_reply_is_not_a_second_promise(db, client, agent):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from meaculpa.commitments.models import Commitment
    from meaculpa.core.clock import override

    r = client.post("/api/v1/customers", json={
        "name": "Ana", "language": "es", "timezone": "Europe/Madrid",
        "identities": [{"kind": "email", "value": "ana.repetida@example.es"}]},
        headers=agent.headers)
    customer_id = r.json()["id"]
    case = client.post("/api/v1/cases", json={"customer_id": customer_id, "channel": "email"},
                       headers=agent.headers).json()
    text = "Lo sentimos. Le devolveremos los 129,00 € en un plazo de 7 días hábiles."
    for hour in (9, 14):
        moment = datetime(2026, 11, 9, hour, 0, tzinfo=UTC)
        with override(lambda moment=moment: moment):
            client.post(f"/api/v1/cases/{case['id']}/messages", json={"text": text},
                        headers=agent.headers)
    with db.reading() as s:
        rows = list(s.scalars(select(Commitment).where(Commitment.case_id == case["id"])))
    assert len(rows) == 1 and rows[0].kind == "refund"
