"""The case page: timeline (escaped), reply and note, status changes; the customer page."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor, AuditEvent
from meaculpa.errors.actions import do_add_affected, do_create_error
from meaculpa.errors.schemas import AffectedIn, ErrorCreate
from meaculpa.messages.models import Message
from tests.conftest import audit_verbs
from tests.web.helpers import csrf, seed_case


def messages_of(db, case_id):
    with db.reading() as s:
        return list(
            s.scalars(select(Message).where(Message.case_id == case_id).order_by(Message.id))
        )


def test_case_page_shows_header_and_timeline(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id, severity="high", channel="web",
                    text="Primera línea\nsegunda línea")
    page = signed_in.get(f"/cases/{ids['case']}").text
    assert f"MC-{ids['case']}" in page and "Cobro duplicado" in page
    for fact in ("Lucía Fernández", "Alberto Agente", "Nuevo", "Alta", "Formulario web",
                 "Español", "Conversación"):
        assert fact in page, fact
    assert f'href="/customers/{ids["customer"]}"' in page
    assert "Primera línea\nsegunda línea" in page
    assert 'class="msg msg-inbound"' in page


def test_message_text_is_escaped_and_html_is_sanitised(signed_in, db, agent):
    ids = seed_case(
        db, owner_id=agent.id,
        text='<script>alert("x")</script> <img src=x onerror=alert(1)>',
    )
    with_html = seed_case(
        db, owner_id=agent.id, name="Hannah", email="hannah@example.com",
        html='<p>Hola <b>equipo</b></p><script>alert(2)</script><a href="javascript:alert(3)">x</a>'
             '<img src=x onerror=alert(4)>',
    )
    page = signed_in.get(f"/cases/{ids['case']}").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    page = signed_in.get(f"/cases/{with_html['case']}").text
    assert "<b>equipo</b>" in page                     # the stored sanitised HTML is rendered
    assert "alert(2)" not in page and "javascript:" not in page and "onerror" not in page


def test_reply_is_stored_with_its_audit_event_and_acknowledges(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    token = csrf(signed_in, f"/cases/{ids['case']}")
    response = signed_in.post(
        f"/cases/{ids['case']}/reply",
        data={"csrf_token": token, "direction": "outbound",
              "text": "Lo sentimos <mucho>. Devolvemos el cargo hoy.", "status": ""},
    )
    assert response.status_code == 200
    stored = messages_of(db, ids["case"])[-1]
    assert str(response.url).endswith(f"/cases/{ids['case']}#message-{stored.id}")
    assert "Respuesta enviada al cliente." in response.text
    assert "Lo sentimos &lt;mucho&gt;. Devolvemos el cargo hoy." in response.text
    assert stored.direction == "outbound" and stored.author_id == agent.id
    with db.reading() as s:
        assert s.get(Case, ids["case"]).status == "acknowledged"
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.verb == "message.create")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.actor_id == agent.id and event.object_id == str(stored.id)
    assert audit_verbs(db, "case")[-1] == "case.update"
    # The flash is shown once.
    assert "Respuesta enviada al cliente." not in signed_in.get(f"/cases/{ids['case']}").text


def test_internal_note_with_status_change(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    token = csrf(signed_in, f"/cases/{ids['case']}")
    response = signed_in.post(
        f"/cases/{ids['case']}/reply",
        data={"csrf_token": token, "direction": "note", "text": "Revisado en Stripe.",
              "status": "in_progress"},
    )
    assert "Nota interna añadida." in response.text
    assert 'class="msg msg-note"' in response.text
    assert messages_of(db, ids["case"])[-1].direction == "note"
    with db.reading() as s:
        assert s.get(Case, ids["case"]).status == "in_progress"


def test_empty_or_bad_reply_is_a_flash_not_a_crash(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    token = csrf(signed_in, f"/cases/{ids['case']}")
    for data in ({"text": "   "}, {"text": "hola", "direction": "inbound"},
                 {"text": "hola", "status": "exploded"}):
        response = signed_in.post(f"/cases/{ids['case']}/reply", data={"csrf_token": token, **data})
        assert response.status_code == 200
        assert "Escribe un mensaje antes de enviarlo." in response.text
    assert len(messages_of(db, ids["case"])) == 1


def test_action_errors_are_flashed(signed_in, db, agent, other_agent):
    theirs = seed_case(db, owner_id=other_agent.id)
    token = csrf(signed_in, f"/cases/{theirs['case']}")
    response = signed_in.post(
        f"/cases/{theirs['case']}/reply",
        data={"csrf_token": token, "direction": "outbound", "text": "Hola"},
    )
    assert response.status_code == 200
    assert "No puedes hacer este cambio." in response.text
    assert len(messages_of(db, theirs["case"])) == 1

    mine = seed_case(db, owner_id=agent.id, name="Ana", email="ana@example.es")
    response = signed_in.post(
        f"/cases/{mine['case']}/update", data={"csrf_token": token, "status": "closed"}
    )
    assert "Ese cambio de estado no está permitido." in response.text
    assert "Confirmado" in response.text and "Resuelto" in response.text
    with db.reading() as s:
        assert s.get(Case, mine["case"]).status == "new"


def test_status_severity_and_owner_change(signed_in, db, agent, other_agent):
    ids = seed_case(db, owner_id=agent.id)
    token = csrf(signed_in, f"/cases/{ids['case']}")
    response = signed_in.post(
        f"/cases/{ids['case']}/update",
        data={"csrf_token": token, "status": "in_progress", "severity": "critical",
              "owner_id": str(agent.id)},
    )
    assert "Caso actualizado." in response.text
    with db.reading() as s:
        case = s.get(Case, ids["case"])
        assert (case.status, case.severity, case.owner_id) == ("in_progress", "critical", agent.id)
    nothing = signed_in.post(
        f"/cases/{ids['case']}/update",
        data={"csrf_token": token, "status": "in_progress", "severity": "critical",
              "owner_id": str(agent.id)},
    )
    assert "No había nada que cambiar." in nothing.text
    handover = signed_in.post(
        f"/cases/{ids['case']}/update",
        data={"csrf_token": token, "status": "in_progress", "owner_id": str(other_agent.id),
              "handover_note": "Pendiente de la devolución del pedido 4411."},
    )
    assert "Caso actualizado." in handover.text
    with db.reading() as s:
        assert s.get(Case, ids["case"]).owner_id == other_agent.id
    bad = signed_in.post(
        f"/cases/{ids['case']}/update", data={"csrf_token": token, "severity": "apocalyptic"}
    )
    assert "Algunos valores no son válidos." in bad.text


def test_unknown_case_is_a_translated_404_page(signed_in):
    response = signed_in.get("/cases/999999")
    assert response.status_code == 404
    assert "No encontrado" in response.text and "does not exist" not in response.text
    assert signed_in.get("/cases/abc").status_code == 422
    english = signed_in.get("/cases/999999?lang=en")
    assert "Not found" in english.text


def test_customer_page_shows_identities_cases_and_errors(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    with db.transaction() as s:
        error = do_create_error(s, Actor.system(), ErrorCreate(
            title="Doble cobro en tarjetas", type="calculation", severity="high"))
        do_add_affected(s, Actor.system(), error, AffectedIn(customer_id=ids["customer"]))
    page = signed_in.get(f"/customers/{ids['customer']}").text
    assert "Lucía Fernández" in page and "lucia@example.es" in page
    assert f"MC-{ids['case']}" in page and "Cobro duplicado" in page
    assert "Doble cobro en tarjetas" in page and "Identificado" in page
    assert "Afectado por 1 error nuestro" in page
    assert signed_in.get("/customers/424242").status_code == 404
