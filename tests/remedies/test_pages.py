"""The remedies panel on the case page, its forms, the cost report and the policy page."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.remedies.models import Remedy
from tests.conftest import audit_verbs
from tests.remedies.helpers import new_customer, open_case
from tests.web.helpers import csrf, login


def remedies_of(db, case_id):
    with db.reading() as s:
        return list(s.scalars(select(Remedy).where(Remedy.case_id == case_id).order_by(Remedy.id)))


def propose(client, case_id, **fields):
    token = csrf(client, f"/cases/{case_id}")
    data = {"csrf_token": token, "kind": "refund", "amount": "", "currency": "EUR",
            "description": "", **fields}
    return client.post(f"/cases/{case_id}/remedies", data=data)


def step(client, remedy_id, case_id, name, **fields):
    token = csrf(client, f"/cases/{case_id}")
    return client.post(f"/remedies/{remedy_id}/{name}", data={"csrf_token": token, **fields})


def test_panel_lifecycle_through_the_forms(client, db, agent):
    customer = new_customer(db)
    open_case(db, customer, owner_id=agent.id)
    case_id = open_case(db, customer, owner_id=agent.id)      # a second failure
    login(client, agent)
    page = client.get(f"/cases/{case_id}").text
    assert 'id="remedies"' in page and "Reparaciones" in page
    assert "Segundo fallo" in page and "Ya fallamos a este cliente una vez" in page
    assert "Gravedad elevada de Media a Alta." in page
    assert "Reparación sugerida" in page and "Compensación adicional" in page and "150,00" in page
    assert "Proponer una reparación" in page and "Todavía no hay reparaciones." in page
    assert "Puedes aprobar hasta 50,00" in page

    answer = propose(client, case_id, amount="30,50", description="Devolvemos el <cargo>")
    assert answer.status_code == 200 and str(answer.url).endswith(f"/cases/{case_id}#remedies")
    assert "Reparación propuesta." in answer.text
    assert "Devolvemos el &lt;cargo&gt;" in answer.text
    assert "30,50" in answer.text and "Propuesta" in answer.text
    (remedy,) = remedies_of(db, case_id)
    assert (remedy.amount_minor, remedy.currency, remedy.proposed_by_id) == (3050, "EUR", agent.id)
    assert f'action="/remedies/{remedy.id}/approve"' in answer.text

    assert "Reparación aprobada." in step(client, remedy.id, case_id, "approve").text
    delivered = step(client, remedy.id, case_id, "deliver").text
    assert "Reparación entregada." in delivered and "Entregada por Alberto Agente" in delivered
    assert f'action="/remedies/{remedy.id}/' not in delivered
    assert audit_verbs(db, "remedy") == ["remedy.propose", "remedy.approve", "remedy.deliver"]


def test_errors_are_flash_messages_and_nothing_is_stored(client, db, agent):
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    login(client, agent)
    bad = propose(client, case_id, amount="12.345")
    assert "Revisa la reparación" in bad.text and remedies_of(db, case_id) == []
    assert "Revisa la reparación" in propose(client, case_id, kind="cash").text
    propose(client, case_id, amount="80")
    (remedy,) = remedies_of(db, case_id)
    page = client.get(f"/cases/{case_id}").text
    assert f'action="/remedies/{remedy.id}/approve"' not in page      # above the agent's limit
    assert f'action="/remedies/{remedy.id}/reject"' not in page
    assert f'action="/remedies/{remedy.id}/cancel"' in page
    refused = step(client, remedy.id, case_id, "approve")
    assert refused.status_code == 200
    assert "puedes aprobar hasta 50.00 EUR por reparación; esta es de 80.00 EUR" in refused.text
    assert remedies_of(db, case_id)[0].state == "proposed"
    # Without CSRF nothing happens.
    assert client.post(f"/remedies/{remedy.id}/cancel").status_code == 403
    assert remedies_of(db, case_id)[0].state == "proposed"


def test_manager_sees_the_buttons_and_reject_needs_a_reason(client, db, agent, manager):
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    login(client, agent)
    propose(client, case_id, amount="80", currency="EUR")
    (remedy,) = remedies_of(db, case_id)
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    client.cookies.clear()
    login(client, manager)
    page = client.get(f"/cases/{case_id}").text
    assert f'action="/remedies/{remedy.id}/approve"' in page
    assert f'action="/remedies/{remedy.id}/reject"' in page
    no_reason = step(client, remedy.id, case_id, "reject", reason="  ")
    assert "Explica por qué se rechaza la reparación." in no_reason.text
    assert remedies_of(db, case_id)[0].state == "proposed"
    done = step(client, remedy.id, case_id, "reject", reason="Duplicada").text
    assert "Reparación rechazada." in done and "Motivo: Duplicada" in done
    assert remedies_of(db, case_id)[0].state == "rejected"


def test_other_agents_see_the_panel_without_forms(client, db, agent, other_agent):
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    login(client, agent)
    propose(client, case_id, amount="5")
    (remedy,) = remedies_of(db, case_id)
    client.cookies.clear()
    login(client, other_agent)          # English profile
    page = client.get(f"/cases/{case_id}").text
    assert "Remedies" in page and "Refund" in page and "€5.00" in page
    assert "Propose a remedy" not in page and f"/remedies/{remedy.id}/" not in page
    refused = step(client, remedy.id, case_id, "approve")
    assert "You are not allowed to make this change" in refused.text
    assert remedies_of(db, case_id)[0].state == "proposed"


def test_report_page_for_managers_only(client, db, agent, manager):
    login(client, agent)
    assert client.get("/remedies/report").status_code == 403
    client.cookies.clear()
    login(client, manager)
    page = client.get("/remedies/report?from=2026-01-01&to=2026-01-31&group_by=team")
    assert page.status_code == 200
    assert "Lo que cuestan las reparaciones" in page.text
    assert "No se entregó ninguna reparación en este periodo." in page.text
    assert 'value="2026-01-01"' in page.text
    # Nonsense parameters fall back to the defaults.
    assert client.get("/remedies/report?from=ayer&group_by=x").status_code == 200


def test_settings_page_for_admins(client, db, agent, manager, admin):
    login(client, manager)
    assert client.get("/settings/remedies").status_code == 403
    client.cookies.clear()
    login(client, admin)
    page = client.get("/settings/remedies").text
    assert "Política de reparaciones" in page and 'value="50.00"' in page
    token = csrf(client, "/settings/remedies")
    data = {
        "csrf_token": token, "repeat_window_months": "9", "currency": "eur",
        "limit_role_0": "agent", "limit_currency_0": "EUR", "limit_max_0": "75",
        "limit_role_1": "manager", "limit_currency_1": "EUR", "limit_max_1": "",
        "limit_role_2": "", "limit_currency_2": "", "limit_max_2": "",
    }
    saved = client.post("/settings/remedies", data=data)
    assert "Política de reparaciones guardada." in saved.text
    assert 'value="75.00"' in saved.text and 'value="9"' in saved.text
    policy = client.get("/api/v1/remedy-policy", headers=admin.headers).json()
    assert policy["repeat_window_months"] == 9
    assert {(x["role"], x["max_amount"]) for x in policy["limits"]} == {
        ("agent", "75.00"), ("manager", None)}
    bad = client.post("/settings/remedies", data={**data, "limit_currency_0": "EURO",
                                                  "csrf_token": csrf(client, "/settings/remedies")})
    assert "Revisa la política" in bad.text
    assert client.get("/api/v1/remedy-policy", headers=admin.headers).json() == policy
    assert audit_verbs(db).count("remedy_policy.update") == 1
