"""Customers, cases, errors, users and organisation through the API: behaviour, 403s, audit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from meaculpa.core.audit import AuditEvent
from meaculpa.customers.models import Customer
from tests.conftest import audit_verbs, make_person


def make_customer(client: Any, who: Any, email: str = "carmen@example.es", **extra: Any) -> dict:
    body = {
        "name": "Carmen Ruiz",
        "language": "es",
        "timezone": "Europe/Madrid",
        "identities": [{"kind": "email", "value": email}],
        **extra,
    }
    r = client.post("/api/v1/customers", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def make_case(client: Any, who: Any, customer_id: int, **extra: Any) -> dict:
    r = client.post(
        "/api/v1/cases",
        json={"customer_id": customer_id, "subject": "Pedido tarde", "channel": "email", **extra},
        headers=who.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_customer_crud_and_identities(client, db, agent):
    c = make_customer(client, agent)
    assert c["identities"][0]["value"] == "carmen@example.es"
    assert c["owner_id"] is None and c["failures_count"] == 0
    r = client.patch(f"/api/v1/customers/{c['id']}", json={"language": "en"}, headers=agent.headers)
    assert r.json()["language"] == "en"
    r = client.post(
        f"/api/v1/customers/{c['id']}/identities",
        json={"kind": "twitter", "value": "@CarmenR"},
        headers=agent.headers,
    )
    assert r.status_code == 201 and r.json()["value"] == "carmenr"
    # The same identity cannot belong to two customers.
    other = make_customer(client, agent, email="pablo@example.es")
    r = client.post(
        f"/api/v1/customers/{other['id']}/identities",
        json={"kind": "twitter", "value": "carmenr"},
        headers=agent.headers,
    )
    assert r.status_code == 409 and r.json()["customer_id"] == c["id"]
    r = client.post(
        "/api/v1/customers",
        json={"name": "Dup", "identities": [{"kind": "email", "value": "CARMEN@example.es"}]},
        headers=agent.headers,
    )
    assert r.status_code == 409
    found = client.get("/api/v1/customers?identity=twitter:@carmenR", headers=agent.headers).json()
    assert [x["id"] for x in found["items"]] == [c["id"]]
    ident_id = r_id = client.get(f"/api/v1/customers/{c['id']}", headers=agent.headers).json()[
        "identities"
    ][1]["id"]
    assert r_id == ident_id
    r = client.delete(f"/api/v1/customers/{c['id']}/identities/{ident_id}", headers=agent.headers)
    assert r.status_code == 204
    verbs = audit_verbs(db, "customer")
    assert verbs == [
        "customer.create",
        "customer.update",
        "customer.identity.add",
        "customer.create",
        "customer.identity.remove",
    ]


def test_customer_bad_input(client, db, agent):
    for body, field in [
        ({"name": ""}, "name"),
        ({"name": "X", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "X", "language": "de"}, "language"),
        ({"name": "X", "identities": [{"kind": "fax", "value": "1"}]}, "identities.0.kind"),
        ({"name": "X", "identities": [{"kind": "phone", "value": "call me"}]}, "identities.0"),
        ({"name": "X", "owner_id": 4242}, "owner_id"),
    ]:
        r = client.post("/api/v1/customers", json=body, headers=agent.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"].startswith(field), r.json()
    with db.reading() as s:
        assert s.scalar(select(Customer.id)) is None


def test_cursor_pagination_walks_every_row_once(client, agent):
    ids = {make_customer(client, agent, email=f"c{i}@example.com")["id"] for i in range(7)}
    seen: list[int] = []
    url = "/api/v1/customers?limit=3"
    while True:
        page = client.get(url, headers=agent.headers).json()
        seen += [c["id"] for c in page["items"]]
        if not page["next_cursor"]:
            break
        url = f"/api/v1/customers?limit=3&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted(ids) and len(seen) == 7


def test_case_lifecycle(client, db, agent):
    c = make_customer(client, agent)
    case = make_case(client, agent, c["id"], severity="high")
    assert case["status"] == "new" and case["owner_id"] == agent.id
    cid = case["id"]

    def move(status: str) -> Any:
        return client.patch(f"/api/v1/cases/{cid}", json={"status": status}, headers=agent.headers)

    assert move("acknowledged").json()["acknowledged_at"] is not None
    assert move("in_progress").status_code == 200
    assert move("waiting_on_customer").status_code == 200
    r = move("new")
    assert r.status_code == 422 and "in_progress" in r.json()["allowed"]
    assert move("resolved").json()["resolved_at"] is not None
    assert move("closed").json()["closed_at"] is not None
    r = client.post(
        f"/api/v1/cases/{cid}/reopen", json={"reason": "Sigue sin funcionar"}, headers=agent.headers
    )
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "in_progress" and body["reopened_count"] == 1
    assert body["resolved_at"] is None and body["closed_at"] is None
    r = client.post(
        f"/api/v1/cases/{cid}/reopen", json={"reason": "otra vez"}, headers=agent.headers
    )
    assert r.status_code == 422
    with db.reading() as s:
        reopen = s.scalar(select(AuditEvent).where(AuditEvent.verb == "case.reopen"))
        assert reopen.after["reason"] == "Sigue sin funcionar"
        assert reopen.before["status"] == "closed"


def test_replies_and_notes(client, db, agent):
    c = make_customer(client, agent)
    case = make_case(client, agent, c["id"])
    r = client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"text": "Lamentamos el retraso; le llamamos hoy.", "direction": "outbound"},
        headers=agent.headers,
    )
    assert r.status_code == 201 and r.json()["author_id"] == agent.id
    # The first outbound reply acknowledges a new case.
    assert (
        client.get(f"/api/v1/cases/{case['id']}", headers=agent.headers).json()["status"]
        == "acknowledged"
    )
    r = client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"text": "Nota: revisar con logística", "direction": "note", "status": "in_progress"},
        headers=agent.headers,
    )
    assert r.status_code == 201
    page = client.get(f"/api/v1/cases/{case['id']}/messages", headers=agent.headers).json()
    assert [m["direction"] for m in page["items"]] == ["outbound", "note"]
    r = client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"text": "x", "direction": "inbound"},
        headers=agent.headers,
    )
    assert r.status_code == 422


def test_agent_cannot_change_another_agents_case(client, db, agent, other_agent, manager):
    c = make_customer(client, agent)
    case = make_case(client, agent, c["id"], owner_id=agent.id)
    r = client.patch(
        f"/api/v1/cases/{case['id']}", json={"severity": "low"}, headers=other_agent.headers
    )
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    r = client.post(
        f"/api/v1/cases/{case['id']}/messages", json={"text": "hola"}, headers=other_agent.headers
    )
    assert r.status_code == 403
    # A manager hands the case over explicitly; then the new owner may work it.
    r = client.patch(
        f"/api/v1/cases/{case['id']}", json={"owner_id": other_agent.id}, headers=manager.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "handover_note"
    r = client.patch(
        f"/api/v1/cases/{case['id']}",
        json={"owner_id": other_agent.id, "handover_note": "Le prometimos llamada el lunes."},
        headers=manager.headers,
    )
    assert r.status_code == 200 and r.json()["owner_id"] == other_agent.id
    # The customer moves with the case, and the note is in the timeline for the new owner.
    customer = client.get(f"/api/v1/customers/{c['id']}", headers=manager.headers).json()
    assert customer["owner_id"] == other_agent.id
    notes = client.get(f"/api/v1/cases/{case['id']}/messages", headers=manager.headers).json()
    assert any(m["direction"] == "note" and "llamada el lunes" in m["text"] for m in notes["items"])
    r = client.patch(
        f"/api/v1/cases/{case['id']}", json={"owner_id": None}, headers=manager.headers
    )
    assert r.status_code == 422
    assert (
        client.patch(
            f"/api/v1/cases/{case['id']}", json={"severity": "low"}, headers=other_agent.headers
        ).status_code
        == 200
    )


def test_errors_and_affected_customers(client, db, agent, other_agent, manager):
    r = client.post(
        "/api/v1/errors",
        json={
            "title": "Cobro duplicado en pedidos del 3 de marzo",
            "type": "calculation",
            "severity": "high",
            "description": "La pasarela cobró dos veces.",
        },
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    err = r.json()
    assert err["status"] == "open" and err["reported_by_id"] == agent.id
    c = make_customer(client, agent)
    r = client.post(
        f"/api/v1/errors/{err['id']}/affected",
        json={"customer_id": c["id"], "details": {"order": "A-1", "amount": 49.9}},
        headers=agent.headers,
    )
    assert r.status_code == 201, r.text
    affected = r.json()
    # An unknown identity creates the customer.
    r = client.post(
        f"/api/v1/errors/{err['id']}/affected",
        json={"identity": {"kind": "email", "value": "nuevo@example.es"}, "name": "Nuevo Cliente"},
        headers=agent.headers,
    )
    assert r.status_code == 201
    r = client.post(
        f"/api/v1/errors/{err['id']}/affected", json={"customer_id": c["id"]}, headers=agent.headers
    )
    assert r.status_code == 409
    assert (
        client.get(f"/api/v1/errors/{err['id']}", headers=agent.headers).json()["affected_count"]
        == 2
    )
    assert (
        client.get(f"/api/v1/customers/{c['id']}", headers=agent.headers).json()["failures_count"]
        == 1
    )
    r = client.patch(
        f"/api/v1/errors/{err['id']}/affected/{affected['id']}",
        json={"state": "apologised"},
        headers=agent.headers,
    )
    assert r.json()["state"] == "apologised"
    listed = client.get(
        f"/api/v1/errors/{err['id']}/affected?state=apologised", headers=agent.headers
    ).json()
    assert [a["customer_id"] for a in listed["items"]] == [c["id"]]
    # Only the reporter or a manager changes an error.
    r = client.patch(
        f"/api/v1/errors/{err['id']}", json={"status": "fixed"}, headers=other_agent.headers
    )
    assert r.status_code == 403
    r = client.patch(
        f"/api/v1/errors/{err['id']}",
        json={"status": "fixed", "root_cause": "Reintento sin idempotencia"},
        headers=manager.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "fixed"
    r = client.post("/api/v1/errors", json={"title": "x", "type": "weather"}, headers=agent.headers)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"title", "type"}
    assert audit_verbs(db, "error") == [
        "error.create",
        "error.affected.add",
        "error.affected.add",
        "error.affected.update",
        "error.update",
    ]
    assert (
        client.get("/api/v1/errors?status=fixed", headers=agent.headers).json()["items"][0]["id"]
        == err["id"]
    )


def test_users_teams_and_organisation_permissions(client, db, agent, admin, manager):
    body = {
        "email": "nueva@example.com",
        "name": "Nueva Agente",
        "role": "agent",
        "password": "una-clave-larga",
    }
    assert client.post("/api/v1/users", json=body, headers=agent.headers).status_code == 403
    assert client.post("/api/v1/users", json=body, headers=manager.headers).status_code == 403
    r = client.post("/api/v1/users", json=body, headers=admin.headers)
    assert r.status_code == 201 and "password" not in r.json()
    assert client.post("/api/v1/users", json=body, headers=admin.headers).status_code == 409
    assert (
        client.post("/api/v1/teams", json={"name": "Madrid"}, headers=agent.headers).status_code
        == 403
    )
    team = client.post("/api/v1/teams", json={"name": "Madrid"}, headers=manager.headers).json()
    # Agents edit their own profile, not their role.
    r = client.patch(f"/api/v1/users/{agent.id}", json={"language": "en"}, headers=agent.headers)
    assert r.status_code == 200 and r.json()["language"] == "en"
    r = client.patch(f"/api/v1/users/{agent.id}", json={"role": "admin"}, headers=agent.headers)
    assert r.status_code == 403
    r = client.patch(
        f"/api/v1/users/{agent.id}", json={"team_id": team["id"]}, headers=admin.headers
    )
    assert r.json()["team_id"] == team["id"]
    org = client.get("/api/v1/organisation", headers=agent.headers).json()
    assert org["default_language"] == "es"
    update = {
        "name": "Muebles Rivera",
        "timezone": "Atlantic/Canary",
        "holidays": ["2026-12-25", "2027-01-06"],
        "business_hours": {"mon": [["09:00", "14:00"], ["16:00", "19:00"]]},
    }
    assert (
        client.patch("/api/v1/organisation", json=update, headers=manager.headers).status_code
        == 403
    )
    r = client.patch("/api/v1/organisation", json=update, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["timezone"] == "Atlantic/Canary" and r.json()["holidays"][0] == "2026-12-25"
    r = client.patch(
        "/api/v1/organisation",
        json={"business_hours": {"mon": [["18:00", "09:00"]]}},
        headers=admin.headers,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "business_hours"
    r = client.patch(
        "/api/v1/organisation", json={"holidays": ["not-a-date"]}, headers=admin.headers
    )
    assert r.status_code == 422
    assert (
        client.get("/api/v1/organisation", headers=agent.headers).json()["name"] == "Muebles Rivera"
    )
    assert {
        "user.create",
        "team.create",
        "user.update",
        "organisation.update",
        "organisation.create",
    } <= set(audit_verbs(db))


def test_audit_trail_records_before_and_after(client, db, agent, manager):
    c = make_customer(client, agent)
    client.patch(
        f"/api/v1/customers/{c['id']}", json={"name": "Carmen Ruiz Gil"}, headers=agent.headers
    )
    assert client.get("/api/v1/audit-events", headers=agent.headers).status_code == 403
    page = client.get(
        f"/api/v1/audit-events?object_type=customer&object_id={c['id']}", headers=manager.headers
    ).json()
    update = page["items"][0]
    assert update["verb"] == "customer.update"
    assert update["actor_id"] == agent.id and update["actor_label"] == agent.email
    assert update["before"] == {"name": "Carmen Ruiz"}
    assert update["after"] == {"name": "Carmen Ruiz Gil"}


def test_jobs_listing_is_for_managers(client, agent, manager):
    assert client.get("/api/v1/jobs", headers=agent.headers).status_code == 403
    assert client.get("/api/v1/jobs?status=failed", headers=manager.headers).json()["items"] == []
    assert client.get("/api/v1/jobs?status=bogus", headers=manager.headers).status_code == 422


def test_internal_tasks_never_change_the_owner(client, db, agent, other_agent, manager):
    team = client.post("/api/v1/teams", json={"name": "Facturación"}, headers=manager.headers)
    team_id = team.json()["id"]
    client.patch(f"/api/v1/users/{other_agent.id}", json={"team_id": team_id},
                 headers=make_admin_headers(db))
    c = make_customer(client, agent)
    case = make_case(client, agent, c["id"], owner_id=agent.id)
    r = client.post(f"/api/v1/cases/{case['id']}/tasks",
                    json={"title": "Revisar la devolución", "team_id": team_id},
                    headers=agent.headers)
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["status"] == "open"
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent.headers).json()[
        "owner_id"] == agent.id
    # Someone outside the team may not close it; a member of the team may.
    outsider = make_person(db, "agent", "nadie@example.com", "Nadie")
    r = client.post(f"/api/v1/cases/tasks/{task['id']}/done", headers=outsider.headers)
    assert r.status_code == 403
    r = client.post(f"/api/v1/cases/tasks/{task['id']}/done", headers=other_agent.headers)
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert r.json()["done_by_id"] == other_agent.id
    listed = client.get(f"/api/v1/cases/{case['id']}/tasks", headers=agent.headers).json()
    assert [t["title"] for t in listed] == ["Revisar la devolución"]
    assert client.get(f"/api/v1/cases/{case['id']}", headers=agent.headers).json()[
        "owner_id"] == agent.id
    r = client.post(f"/api/v1/cases/{case['id']}/tasks", json={"title": ""},
                    headers=agent.headers)
    assert r.status_code == 422
    assert "case.task.create" in audit_verbs(db) and "case.task.done" in audit_verbs(db)


def make_admin_headers(db):
    return make_person(db, "admin", "root@example.com", "Root").headers
