"""The errors list (filters), recording an error, its page, affected customers, status."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.core.audit import Actor
from meaculpa.customers.models import Customer
from meaculpa.errors.actions import do_add_affected, do_create_error
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.errors.schemas import AffectedIn, ErrorCreate
from tests.conftest import audit_verbs
from tests.web.helpers import csrf, seed_case


def make_error(db, title, type_="process", severity="medium", reporter=None):
    actor = reporter.actor if reporter else Actor.system()
    with db.transaction() as s:
        return do_create_error(
            s, actor, ErrorCreate(title=title, type=type_, severity=severity)
        ).id


def test_errors_list_and_filters(signed_in, db):
    make_error(db, "Double charge", "calculation", "high")
    make_error(db, "Late parcels", "delivery", "low")
    page = signed_in.get("/errors").text
    assert "Nuestros errores" in page
    assert "Double charge" in page and "Late parcels" in page and "Cálculo" in page
    only = signed_in.get("/errors?type=delivery").text
    assert "Late parcels" in only and "Double charge" not in only
    high = signed_in.get("/errors?severity=high&status=open").text
    assert "Double charge" in high and "Late parcels" not in high
    none = signed_in.get("/errors?status=fixed").text
    assert "No hay errores con estos filtros" in none
    assert signed_in.get("/errors?status=bogus&type=??").status_code == 200


def test_errors_list_pages_by_id(signed_in, db):
    for i in range(52):
        make_error(db, f"Error number {i:02d}")
    first = signed_in.get("/errors").text
    assert "Error number 51" in first and "Error number 02" in first
    assert "Error number 01" not in first and "before=" in first
    before = first.split("before=")[1].split('"')[0]
    older = signed_in.get(f"/errors?before={before}").text
    assert "Error number 01" in older and "Error number 00" in older
    assert "Error number 02" not in older


def test_record_an_error_through_the_form(signed_in, db, agent):
    form = signed_in.get("/errors/new")
    assert "Registrar un error" in form.text
    token = csrf(signed_in, "/errors/new")
    response = signed_in.post(
        "/errors",
        data={"csrf_token": token, "title": "Cobramos dos veces <b>", "type": "calculation",
              "severity": "high", "description": "Reintento del cobro.", "root_cause": ""},
    )
    assert response.status_code == 200
    assert "Error registrado." in response.text
    assert "Cobramos dos veces &lt;b&gt;" in response.text
    with db.reading() as s:
        error = s.scalars(select(Error)).one()
        assert (error.type, error.severity, error.reported_by_id) == ("calculation", "high",
                                                                        agent.id)
    assert str(response.url).endswith(f"/errors/{error.id}")
    assert audit_verbs(db, "error") == ["error.create"]


def test_invalid_error_form_keeps_values_and_stores_nothing(signed_in, db):
    token = csrf(signed_in, "/errors/new")
    response = signed_in.post(
        "/errors",
        data={"csrf_token": token, "title": "ab", "type": "", "severity": "high",
              "description": "Algo pasó"},
    )
    assert response.status_code == 422
    assert "Pon al error un título" in response.text and "Algo pasó" in response.text
    no_token = signed_in.post("/errors", data={"title": "Valid title", "type": "process"})
    assert no_token.status_code == 403
    with db.reading() as s:
        assert s.scalars(select(Error)).first() is None


def test_error_page_lists_affected_customers_with_their_state(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    error_id = make_error(db, "Double charge", "calculation", "high", reporter=agent)
    with db.transaction() as s:
        do_add_affected(s, Actor.system(), s.get(Error, error_id),
                        AffectedIn(customer_id=ids["customer"], state="apologised",
                                   details={"order": "4411"}))
    page = signed_in.get(f"/errors/{error_id}").text
    assert "Double charge" in page and "Cálculo" in page and "Abierto" in page
    assert "Lucía Fernández" in page and f"/customers/{ids['customer']}" in page
    assert "Disculpas dadas" in page and "order: 4411" in page
    assert "Alberto Agente" in page  # who recorded it
    assert signed_in.get("/errors/9999").status_code == 404


def test_add_affected_customer_and_change_status(signed_in, db, agent):
    error_id = make_error(db, "Wrong invoices", reporter=agent)
    token = csrf(signed_in, f"/errors/{error_id}")
    response = signed_in.post(
        f"/errors/{error_id}/affected",
        data={"csrf_token": token, "email": "Nuevo.Cliente@Example.com", "name": "Nuevo Cliente"},
    )
    assert "Cliente añadido a la lista de afectados." in response.text
    assert "Nuevo Cliente" in response.text
    again = signed_in.post(
        f"/errors/{error_id}/affected",
        data={"csrf_token": token, "email": "nuevo.cliente@example.com"},
    )
    assert "Este cliente ya está en la lista." in again.text
    bad = signed_in.post(f"/errors/{error_id}/affected",
                         data={"csrf_token": token, "email": "not an address"})
    assert "Escribe la dirección de correo del cliente." in bad.text
    with db.reading() as s:
        assert s.scalar(select(Customer.name)) == "Nuevo Cliente"
        assert len(list(s.scalars(select(AffectedCustomer)))) == 1

    fixed = signed_in.post(f"/errors/{error_id}/update",
                           data={"csrf_token": token, "status": "fixed"})
    assert "Error actualizado." in fixed.text
    with db.reading() as s:
        assert s.get(Error, error_id).status == "fixed"
    assert audit_verbs(db, "error") == ["error.create", "error.affected.add", "error.update"]


def test_only_the_reporter_or_a_manager_changes_an_error(signed_in, db, other_agent):
    error_id = make_error(db, "Someone else's error", reporter=other_agent)
    token = csrf(signed_in, f"/errors/{error_id}")
    response = signed_in.post(f"/errors/{error_id}/update",
                              data={"csrf_token": token, "status": "closed"})
    assert response.status_code == 200
    assert "No puedes hacer este cambio." in response.text
    with db.reading() as s:
        assert s.get(Error, error_id).status == "open"
