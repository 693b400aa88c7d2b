"""The case-page panel, its forms (CSRF, audit) and the "my promises" page."""

from __future__ import annotations

from datetime import timedelta

from meaculpa.cases.queries import access_case
from meaculpa.commitments.actions import do_create_commitment
from meaculpa.core.clock import utcnow
from tests.commitments.conftest import commitments_of, make_case
from tests.conftest import audit_verbs
from tests.web.helpers import csrf, login


def promise(db, person, case_id, hours, kind="call_back"):
    with db.transaction() as s:
        case = access_case(s, person.actor, case_id)
        return do_create_commitment(
            s, person.actor, case, kind=kind, due_at=utcnow() + timedelta(hours=hours),
            description="Llamar para confirmar el abono",
        ).id


def test_panel_shows_promises_in_the_customers_time(client, db, agent):
    ids = make_case(db, agent.id, timezone="America/Bogota")
    promise(db, agent, ids["case"], hours=30)
    login(client, agent)
    page = client.get(f"/cases/{ids['case']}").text
    assert 'id="commitments"' in page and "Promesas" in page
    assert "Horas del cliente (America/Bogota)" in page
    assert "Devolver la llamada" in page and "Llamar para confirmar el abono" in page
    assert "Pendiente" in page and "Marcar cumplida" in page and "Añadir una promesa" in page
    english = client.get(f"/cases/{ids['case']}?lang=en").text
    assert "Promises" in english and "Mark kept" in english and "Pending" in english


def test_keep_and_cancel_from_the_panel(client, db, agent):
    ids = make_case(db, agent.id)
    first = promise(db, agent, ids["case"], hours=5)
    second = promise(db, agent, ids["case"], hours=6, kind="refund")
    login(client, agent)
    token = csrf(client, f"/cases/{ids['case']}")
    refused = client.post(f"/commitments/{first}/keep", data={}, follow_redirects=False)
    assert refused.status_code == 403
    kept = client.post(f"/commitments/{first}/keep", data={"csrf_token": token})
    assert "Promesa marcada como cumplida" in kept.text and "Cumplida" in kept.text
    empty = client.post(f"/commitments/{second}/cancel", data={"csrf_token": token, "reason": ""})
    assert "Indica por qué" in empty.text
    client.post(f"/commitments/{second}/cancel",
                data={"csrf_token": token, "reason": "Prefiere un vale"})
    states = {c.id: c.state for c in commitments_of(db, ids["case"])}
    assert states == {first: "kept", second: "cancelled"}
    assert audit_verbs(db, "commitment")[-2:] == ["commitment.keep", "commitment.cancel"]
    assert "Cancelada: Prefiere un vale" in client.get(f"/cases/{ids['case']}").text


def test_add_form_reads_the_customers_local_time(client, db, agent):
    ids = make_case(db, agent.id, timezone="America/Mexico_City")
    login(client, agent)
    token = csrf(client, f"/cases/{ids['case']}")
    day = (utcnow() + timedelta(days=3)).date().isoformat()
    response = client.post(
        f"/cases/{ids['case']}/commitments",
        data={"csrf_token": token, "kind": "visit", "due_date": day, "due_time": "09:30",
              "description": "Visita del técnico"},
    )
    assert "Promesa añadida" in response.text
    [commitment] = commitments_of(db, ids["case"])
    local = commitment.due_at.astimezone(__import__("zoneinfo").ZoneInfo("America/Mexico_City"))
    assert (local.date().isoformat(), local.hour, local.minute) == (day, 9, 30)
    assert commitment.source == "manual" and commitment.kind == "visit"
    past = client.post(
        f"/cases/{ids['case']}/commitments",
        data={"csrf_token": token, "kind": "visit", "due_date": "2020-01-01", "due_time": "09:30"},
    )
    assert "Elige una fecha y hora futuras" in past.text
    bad = client.post(f"/cases/{ids['case']}/commitments",
                      data={"csrf_token": token, "kind": "visit", "due_date": "mañana"})
    assert "Elige una fecha y hora futuras" in bad.text
    assert len(commitments_of(db, ids["case"])) == 1


def test_other_agents_see_the_panel_without_buttons(client, db, agent, other_agent):
    ids = make_case(db, agent.id)
    commitment_id = promise(db, agent, ids["case"], hours=5)
    login(client, other_agent)
    page = client.get(f"/cases/{ids['case']}").text
    assert "Llamar para confirmar el abono" in page and "Mark kept" not in page
    token = csrf(client, f"/cases/{ids['case']}")
    response = client.post(f"/commitments/{commitment_id}/keep", data={"csrf_token": token})
    assert "not allowed" in response.text
    assert commitments_of(db, ids["case"])[0].state == "open"


def test_my_promises_page(client, db, agent):
    ids = make_case(db, agent.id)
    later = promise(db, agent, ids["case"], hours=30)
    soon = promise(db, agent, ids["case"], hours=2, kind="refund")
    other = make_case(db, agent.id, name="Jorge", email="jorge@example.es")
    overdue = promise(db, agent, other["case"], hours=1, kind="write")
    from meaculpa.core import clock
    from tests.commitments.conftest import Clock

    assert client.get("/commitments", follow_redirects=False).status_code == 303
    login(client, agent)
    with clock.override(Clock(utcnow() + timedelta(hours=1, minutes=30))):
        page = client.get("/commitments").text
    assert "Mis promesas" in page and "3 promesas pendientes" in page and "1 vencida" in page
    order = [page.index(f"#commitment-{i}") for i in (overdue, soon, later)]
    assert order == sorted(order)
    assert "sev-row-critical" in page and "Fuera de plazo" in page and "Jorge" in page
