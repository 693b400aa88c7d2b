"""Remedies over the API: the lifecycle, approval limits, rejection, the policy, auth paths."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.core.audit import AuditEvent
from meaculpa.remedies.models import Remedy, RemedyLimit
from tests.conftest import audit_verbs, make_person
from tests.remedies.helpers import new_customer, new_error, open_case


def propose(client, person, case_id, **body):
    body.setdefault("kind", "refund")
    return client.post(f"/api/v1/cases/{case_id}/remedies", json=body, headers=person.headers)


def remedy_row(db, remedy_id):
    with db.reading() as s:
        return s.get(Remedy, remedy_id)


def test_propose_approve_deliver_with_audit_events(client, db, agent):
    customer = new_customer(db)
    error_id = new_error(db, [customer])
    case_id = open_case(db, customer, owner_id=agent.id)
    made = propose(client, agent, case_id, amount="30.50", currency="eur",
                   description="Devolvemos el cargo duplicado")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["state"] == "proposed" and body["amount"] == "30.50"
    assert body["amount_minor"] == 3050 and body["currency"] == "EUR"
    assert body["error_id"] == error_id and body["proposed_by_id"] == agent.id
    rid = body["id"]

    approved = client.post(f"/api/v1/remedies/{rid}/approve", headers=agent.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    assert approved.json()["approved_by_id"] == agent.id and approved.json()["approved_at"]
    delivered = client.post(f"/api/v1/remedies/{rid}/deliver", headers=agent.headers)
    assert delivered.status_code == 200 and delivered.json()["state"] == "delivered"
    assert delivered.json()["delivered_by_id"] == agent.id

    assert audit_verbs(db, "remedy") == ["remedy.propose", "remedy.approve", "remedy.deliver"]
    with db.reading() as s:
        last = s.scalars(select(AuditEvent).where(AuditEvent.verb == "remedy.deliver")).one()
        assert last.actor_id == agent.id and last.object_id == str(rid)
        assert last.before == {"state": "approved", "delivered_by_id": None}
        assert last.after == {"state": "delivered", "delivered_by_id": agent.id}

    got = client.get(f"/api/v1/remedies/{rid}", headers=agent.headers).json()
    assert got["state"] == "delivered" and got["delivered_at"]
    listing = client.get(f"/api/v1/cases/{case_id}/remedies", headers=agent.headers).json()
    assert [r["id"] for r in listing["items"]] == [rid]
    assert listing["second_failure"] is None
    assert listing["suggestion"]["kind"] == "gift_or_surprise"
    # Delivered is final.
    again = client.post(f"/api/v1/remedies/{rid}/approve", headers=agent.headers)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "state"


def test_agent_above_limit_is_refused_and_nothing_changes(client, db, agent):
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    rid = propose(client, agent, case_id, amount="120", currency="EUR").json()["id"]
    before = audit_verbs(db)
    refused = client.post(f"/api/v1/remedies/{rid}/approve", headers=agent.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["limit"] == "50.00" and problem["currency"] == "EUR"
    assert problem["role"] == "agent" and problem["amount"] == "120.00"
    assert "50.00 EUR" in problem["detail"]
    row = remedy_row(db, rid)
    assert row.state == "proposed" and row.approved_by_id is None and row.approved_at is None
    assert audit_verbs(db) == before
    # Rejecting takes the same authority.
    no = client.post(f"/api/v1/remedies/{rid}/reject", json={"reason": "x"}, headers=agent.headers)
    assert no.status_code == 403 and remedy_row(db, rid).state == "proposed"
    # A currency the agent has no limit in: only remedies without an amount.
    usd = propose(client, agent, case_id, amount="1", currency="USD").json()["id"]
    refused = client.post(f"/api/v1/remedies/{usd}/approve", headers=agent.headers)
    assert refused.status_code == 403 and refused.json()["limit"] == "0.00"
    plain = propose(client, agent, case_id, kind="replacement_or_redo").json()
    assert plain["amount"] is None
    ok = client.post(f"/api/v1/remedies/{plain['id']}/approve", headers=agent.headers)
    assert ok.status_code == 200


def test_manager_within_limit_and_admin_without(client, db, agent, manager, admin):
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    mid = propose(client, agent, case_id, amount="400", currency="EUR").json()["id"]
    ok = client.post(f"/api/v1/remedies/{mid}/approve", headers=manager.headers)
    assert ok.status_code == 200 and ok.json()["approved_by_id"] == manager.id
    big = propose(client, manager, case_id, amount="900", currency="EUR").json()["id"]
    refused = client.post(f"/api/v1/remedies/{big}/approve", headers=manager.headers)
    assert refused.status_code == 403 and refused.json()["limit"] == "500.00"
    assert client.post(f"/api/v1/remedies/{big}/approve", headers=admin.headers).status_code == 200


def test_reject_needs_a_reason_and_cancel(client, db, agent, manager):
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    rid = propose(client, agent, case_id, amount="20", currency="EUR").json()["id"]
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        answer = client.post(f"/api/v1/remedies/{rid}/reject", json=body, headers=manager.headers)
        assert answer.status_code == 422, body
    assert remedy_row(db, rid).state == "proposed"
    done = client.post(
        f"/api/v1/remedies/{rid}/reject", json={"reason": "Ya se devolvió"}, headers=manager.headers
    )
    assert done.status_code == 200
    assert done.json()["state"] == "rejected" and done.json()["reason"] == "Ya se devolvió"
    assert done.json()["closed_by_id"] == manager.id
    other = propose(client, agent, case_id, kind="credit", amount="5", currency="EUR").json()["id"]
    client.post(f"/api/v1/remedies/{other}/approve", headers=agent.headers)
    cancelled = client.post(f"/api/v1/remedies/{other}/cancel", headers=agent.headers)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert audit_verbs(db, "remedy")[1:] == [
        "remedy.reject", "remedy.propose", "remedy.approve", "remedy.cancel"]
    # Delivering needs an approved remedy.
    assert client.post(f"/api/v1/remedies/{rid}/deliver", headers=agent.headers).status_code == 422


def test_unauthorised_forbidden_missing_and_invalid(client, db, agent, other_agent, manager):
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    rid = propose(client, agent, case_id, amount="10", currency="EUR").json()["id"]
    routes = [
        ("get", f"/api/v1/cases/{case_id}/remedies"),
        ("post", f"/api/v1/cases/{case_id}/remedies"),
        ("get", f"/api/v1/remedies/{rid}"),
        ("post", f"/api/v1/remedies/{rid}/approve"),
        ("post", f"/api/v1/remedies/{rid}/deliver"),
        ("post", f"/api/v1/remedies/{rid}/reject"),
        ("post", f"/api/v1/remedies/{rid}/cancel"),
        ("get", "/api/v1/remedies/report"),
        ("get", "/api/v1/remedy-policy"),
        ("put", "/api/v1/remedy-policy"),
    ]
    for method, path in routes:
        answer = client.request(method, path, json={"kind": "refund", "reason": "x"})
        assert answer.status_code == 401, path
    # Another agent's case: no proposing, approving, delivering or cancelling.
    assert propose(client, other_agent, case_id).status_code == 403
    for step in ("approve", "deliver", "cancel"):
        answer = client.post(f"/api/v1/remedies/{rid}/{step}", headers=other_agent.headers)
        assert answer.status_code == 403, step
    assert remedy_row(db, rid).state == "proposed"
    # ...but reading is open to the team.
    assert client.get(f"/api/v1/remedies/{rid}", headers=other_agent.headers).status_code == 200
    assert client.get("/api/v1/remedies/report", headers=agent.headers).status_code == 403
    assert client.put("/api/v1/remedy-policy", json={}, headers=manager.headers).status_code == 403
    # Missing things.
    assert propose(client, agent, 999_999).status_code == 404
    assert client.get("/api/v1/remedies/999999", headers=agent.headers).status_code == 404
    assert client.post("/api/v1/remedies/999999/approve", headers=agent.headers).status_code == 404
    assert client.get("/api/v1/cases/999999/remedies", headers=agent.headers).status_code == 404
    # Values that break the rules.
    bad = [
        {"kind": "cash"},
        {"kind": "refund", "amount": "10"},
        {"kind": "refund", "currency": "EUR"},
        {"kind": "refund", "amount": "10.005", "currency": "EUR"},
        {"kind": "refund", "amount": "10.5", "currency": "JPY"},
        {"kind": "refund", "amount": "-3", "currency": "EUR"},
        {"kind": "refund", "amount": "3", "currency": "EURO"},
        {"kind": "refund", "amount": "3", "currency": "ZZZ"},
        {"kind": "refund", "amount": "1e20", "currency": "EUR"},
        {"kind": "refund", "error_id": 12345},
        {"kind": "refund", "surprise": True},
    ]
    for body in bad:
        assert propose(client, agent, case_id, **body).status_code == 422, body
    report = client.get("/api/v1/remedies/report?from=2026-05-01&to=2026-04-01",
                        headers=manager.headers)
    assert report.status_code == 422
    assert client.get("/api/v1/remedies/report?group_by=colour",
                      headers=manager.headers).status_code == 422
    with db.reading() as s:
        assert len(list(s.scalars(select(Remedy)))) == 1


def test_policy_defaults_and_admin_update(client, db, agent, admin):
    policy = client.get("/api/v1/remedy-policy", headers=agent.headers).json()
    assert policy["saved"] is False and policy["repeat_window_months"] == 6
    limits = {(x["role"], x["currency"]): x["max_amount"] for x in policy["limits"]}
    assert limits == {("agent", "EUR"): "50.00", ("manager", "EUR"): "500.00",
                      ("admin", "EUR"): None}
    update = {
        "repeat_window_months": 12,
        "limits": [
            {"role": "agent", "currency": "eur", "max_amount": "100"},
            {"role": "agent", "currency": "JPY", "max_amount": "5000"},
            {"role": "manager", "currency": "EUR", "max_amount": "1000"},
        ],
    }
    saved = client.put("/api/v1/remedy-policy", json=update, headers=admin.headers)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["saved"] is True and body["repeat_window_months"] == 12
    assert {(x["role"], x["currency"], x["max_amount"]) for x in body["limits"]} == {
        ("agent", "EUR", "100.00"), ("agent", "JPY", "5000"), ("manager", "EUR", "1000.00")}
    assert "remedy_policy.update" in audit_verbs(db)
    with db.reading() as s:
        assert {r.max_minor for r in s.scalars(select(RemedyLimit))} == {10000, 5000, 100000}
    # The new limit applies at once.
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    rid = propose(client, agent, case_id, amount="80", currency="EUR").json()["id"]
    assert client.post(f"/api/v1/remedies/{rid}/approve", headers=agent.headers).status_code == 200
    # Invalid policies change nothing.
    for bad in (
        {"repeat_window_months": 0},
        {"currency": "XX"},
        {"limits": [{"role": "agent", "currency": "EUR", "max_amount": "1"},
                    {"role": "agent", "currency": "EUR", "max_amount": "2"}]},
        {"limits": [{"role": "boss", "currency": "EUR"}]},
        {"limits": [{"role": "agent", "currency": "EUR", "max_amount": "-1"}]},
    ):
        answer = client.put("/api/v1/remedy-policy", json=bad, headers=admin.headers)
        assert answer.status_code == 422, bad
    assert client.get("/api/v1/remedy-policy", headers=admin.headers).json() == body


def test_openapi_lists_the_routes(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/cases/{case_id}/remedies", "/api/v1/remedies/{remedy_id}",
                 "/api/v1/remedies/{remedy_id}/approve", "/api/v1/remedies/report",
                 "/api/v1/remedy-policy"):
        assert path in paths


def test_a_second_manager_is_not_needed(db, client, agent):
    """Proposer and approver may be the same person within their limit (no four-eyes rule)."""
    manager2 = make_person(db, "manager", "m2@example.com", "Mario")
    case_id = open_case(db, new_customer(db), owner_id=agent.id)
    rid = propose(client, manager2, case_id, amount="10", currency="EUR").json()["id"]
    assert client.post(f"/api/v1/remedies/{rid}/approve",
                       headers=manager2.headers).status_code == 200
