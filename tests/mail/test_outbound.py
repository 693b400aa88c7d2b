"""An agent's answer reaches the customer by e-mail, threaded; the customer's reply comes back."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.jobs.runner import Runner
from meaculpa.mail.subscribers import reply_subject
from meaculpa.notifications.models import OutboundEmail
from tests.mail.conftest import SPANISH_COMPLAINT, make_email, post_email


def test_agent_reply_is_emailed_with_threading_headers_and_the_answer_threads_back(
    client, db, agent, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    first = post_email(client, SPANISH_COMPLAINT, agent).json()
    case_id = first["case_id"]
    r = client.post(
        f"/api/v1/cases/{case_id}/messages",
        json={"text": "Hola Lucía:\n\nTiene razón, le cobramos dos veces. Ya hemos devuelto "
                      "89,90 €; lo verá en 3 días."},
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    # An internal note is never e-mailed.
    client.post(f"/api/v1/cases/{case_id}/messages",
                json={"text": "Revisar la pasarela de pago", "direction": "note"},
                headers=agent.headers)
    with db.reading() as s:
        [email] = s.scalars(select(OutboundEmail)).all()
        assert email.kind == "reply" and email.case_id == case_id and email.language == "es"
    Runner(db, name="w1", settings=mail_settings).run_pending()

    [received] = mailbox.to("lucia.fernandez@correo.example.es")
    subject = f"Re: Cobro duplicado del pedido 4411 ¿qué ha pasado? [MC-{case_id}]"
    assert received["Subject"] == subject
    assert received["In-Reply-To"] == "<CAF4411.lucia@correo.example.es>"
    assert received["References"] == "<CAF4411.lucia@correo.example.es>"
    assert received["From"] == "Olivar Hogar <atencion@olivar.example>"
    body = received.get_content().replace("\r\n", "\n")
    assert "Ya hemos devuelto 89,90 €" in body
    assert body.rstrip().endswith("Un saludo,\nAlberto Agente")
    assert "Revisar la pasarela" not in body
    with db.reading() as s:
        assert s.get(OutboundEmail, email.id).status == "sent"

    # Lucía answers our e-mail; her client quotes only our Message-ID.
    answer = make_email(
        sender="lucia.fernandez@correo.example.es",
        subject=str(received["Subject"]).replace("Re:", "RE: Re:", 1),
        text="Gracias, ya lo veo.",
        message_id="<thanks@correo.example.es>",
        in_reply_to=str(received["Message-ID"]),
    )
    back = post_email(client, answer, agent).json()
    assert back["case_id"] == case_id and back["threaded_by"] == "headers"

    # The next reply threads under her latest e-mail, with the whole thread in References.
    client.post(f"/api/v1/cases/{case_id}/messages", json={"text": "De nada."},
                headers=agent.headers)
    Runner(db, name="w1", settings=mail_settings).run_pending()
    second = mailbox.to("lucia.fernandez@correo.example.es")[-1]
    assert second["In-Reply-To"] == "<thanks@correo.example.es>"
    assert str(second["References"]).split() == [
        "<CAF4411.lucia@correo.example.es>", str(received["Message-ID"]),
        "<thanks@correo.example.es>",
    ]
    assert second["Subject"] == received["Subject"]


def test_english_case_is_signed_in_english(client, db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    raw = make_email(sender="John Smith <john@example.co.uk>", subject="Late parcel",
                     text="My parcel never arrived.", language="en",
                     message_id="<j1@example.co.uk>")
    case_id = post_email(client, raw, agent).json()["case_id"]
    client.post(f"/api/v1/cases/{case_id}/messages", json={"text": "We are sorry, John."},
                headers=agent.headers)
    Runner(db, name="w1", settings=mail_settings).run_pending()
    [received] = mailbox.to("john@example.co.uk")
    body = received.get_content().replace("\r\n", "\n")
    assert body.rstrip().endswith("Kind regards,\nAlberto Agente")
    assert received["Subject"] == f"Re: Late parcel [MC-{case_id}]"


def test_customers_reached_elsewhere_are_not_emailed(client, db, agent):
    r = client.post(
        "/api/v1/messages",
        json={"channel": "whatsapp", "text": "No me ha llegado el pedido",
              "customer": {"identities": [{"kind": "whatsapp", "value": "+34600111222"},
                                          {"kind": "email", "value": "ana@example.es"}]}},
        headers=agent.headers,
    )
    case_id = r.json()["case_id"]
    client.post(f"/api/v1/cases/{case_id}/messages", json={"text": "Lo miramos."},
                headers=agent.headers)
    with db.reading() as s:
        assert s.scalars(select(OutboundEmail)).all() == []


def test_reply_subject():
    assert reply_subject("Cobro duplicado", "MC-7") == "Re: Cobro duplicado [MC-7]"
    assert reply_subject("RE: Re: Cobro [MC-7]", "MC-7") == "Re: Cobro [MC-7]"
    assert reply_subject("", "MC-7") == "Re: [MC-7]"
