"""The customer's tracking page: signed link, plain status, public conversation, replies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from meaculpa.core.clock import override, utcnow
from meaculpa.followups.links import tracking_token
from meaculpa.messages.models import Message
from tests.conftest import TEST_SECRET
from tests.followups.conftest import reply, seed
from tests.web.helpers import csrf_from, login


def tracking_path(client, person, case_id):
    response = client.get(f"/api/v1/cases/{case_id}/tracking-link", headers=person.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["case_id"] == case_id and body["url"].startswith("http://127.0.0.1:8000/t/")
    return "/t/" + body["url"].rsplit("/t/", 1)[1]


def test_tracking_page_shows_status_and_public_messages_never_notes(client, db, agent):
    ids = seed(db, agent.id)
    reply(db, agent.actor, ids.case, "Lo sentimos mucho. Devolvemos el cargo hoy.")
    reply(db, agent.actor, ids.case, "NOTA INTERNA: cliente enfadada", direction="note")
    other = seed(
        db,
        agent.id,
        name="Otro Cliente",
        email="otro@example.es",
        text="Mensaje privado de otro cliente",
    )
    path = tracking_path(client, agent, ids.case)

    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["x-robots-tag"].startswith("noindex")
    text = page.text
    assert '<html lang="es">' in text and f"MC-{ids.case}" in text
    assert "Hemos leído su mensaje y una persona se está ocupando de él." in text
    assert "Me habéis cobrado dos veces el pedido 4411." in text
    assert "Lo sentimos mucho. Devolvemos el cargo hoy." in text
    assert "NOTA INTERNA" not in text
    assert "Mensaje privado de otro cliente" not in text and "Otro Cliente" not in text
    assert "Alberto" in text and "Agente" not in text  # agents by first name only
    assert other.case != ids.case
    # The language switch works on the public page too.
    english = client.get(path + "?lang=en").text
    assert "We have read your message and someone is taking care of it." in english


def test_english_customer_reads_english(client, db, agent):
    ids = seed(
        db,
        agent.id,
        language="en",
        name="Hannah Brown",
        email="hannah@example.com",
        text="You charged me twice.",
    )
    text = client.get(tracking_path(client, agent, ids.case)).text
    assert '<html lang="en">' in text and "We have received your message" in text


def test_reply_from_the_tracking_page_lands_on_the_case(client, db, agent):
    ids = seed(db, agent.id)
    path = tracking_path(client, agent, ids.case)
    page = client.get(path).text
    nonce = page.split('name="nonce" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": csrf_from(page), "nonce": nonce, "text": "¿Hay novedades del reembolso?"}
    after = client.post(f"{path}/reply", data=form)
    assert after.status_code == 200 and "Hemos recibido su mensaje" in after.text
    assert "¿Hay novedades del reembolso?" in after.text
    client.post(f"{path}/reply", data=form)  # a double submit stores one message
    with db.reading() as s:
        rows = list(s.scalars(select(Message).where(Message.text.like("%novedades%"))))
    assert len(rows) == 1
    [message] = rows
    assert (message.case_id, message.customer_id, message.direction, message.channel) == (
        ids.case,
        ids.customer,
        "inbound",
        "web",
    )
    # Without the CSRF token nothing is stored.
    refused = client.post(f"{path}/reply", data={"text": "sin token", "nonce": nonce})
    assert refused.status_code == 403
    empty = client.post(f"{path}/reply", data={**form, "text": "  ", "nonce": "0" * 32})
    assert empty.status_code == 200
    with db.reading() as s:
        assert s.scalar(select(Message.id).where(Message.text == "sin token")) is None


def test_expired_tampered_and_foreign_tracking_links(client, db, agent):
    ids = seed(db, agent.id)
    other = seed(db, agent.id, name="Otro Cliente", email="otro@example.es")
    past = utcnow() - timedelta(days=31)
    with override(lambda: past):
        old, _ = tracking_token(TEST_SECRET, ids.case, ids.customer, 30)
    assert client.get(f"/t/{old}").status_code == 410
    page = client.get(tracking_path(client, agent, ids.case)).text
    refused = client.post(
        f"/t/{old}/reply", data={"csrf_token": csrf_from(page), "text": "caducado"}
    )
    assert refused.status_code == 410
    path = tracking_path(client, agent, ids.case)
    assert client.get(path[:-2] + "xx").status_code == 404
    # A token naming a case with another customer's id shows nothing.
    mixed, _ = tracking_token(TEST_SECRET, other.case, ids.customer, 30)
    response = client.get(f"/t/{mixed}")
    assert response.status_code == 404 and "Otro Cliente" not in response.text
    with db.reading() as s:
        assert s.scalar(select(Message.id).where(Message.text == "caducado")) is None


def test_public_pages_are_rate_limited(client, db, agent):
    ids = seed(db, agent.id)
    path = tracking_path(client, agent, ids.case)
    codes = [client.get(path).status_code for _ in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429


def test_agents_get_the_link_from_the_case_page(client, db, agent):
    ids = seed(db, agent.id)
    login(client, agent)
    page = client.get(f"/cases/{ids.case}").text
    assert "Copiar enlace de seguimiento" in page
    fragment = client.get(f"/cases/{ids.case}/tracking-link", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "http://127.0.0.1:8000/t/" in fragment.text
    assert "<html" not in fragment.text
    full = client.get(f"/cases/{ids.case}/tracking-link")
    assert "<html" in full.text and "Enlace de seguimiento" in full.text
