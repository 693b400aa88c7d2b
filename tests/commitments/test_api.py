"""The JSON API: create, read, keep, cancel, stats and settings, with their refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meaculpa.core.clock import utcnow
from tests.commitments.conftest import commitments_of, make_case
from tests.conftest import audit_verbs


def future(hours: float = 5) -> str:
    return (utcnow() + timedelta(hours=hours)).isoformat()


def create(client, person, case_id, **body):
    payload = {"kind": "call_back", "due_at": future(), "description": "Llamar a Lucía"}
    payload.update(body)
    return client.post(f"/api/v1/cases/{case_id}/commitments", json=payload, headers=person.headers)


def test_create_read_and_list(client, db, agent):
    ids = make_case(db, agent.id, timezone="America/Mexico_City")
    due = datetime(2030, 5, 6, 18, 0, tzinfo=UTC)
    response = create(client, agent, ids["case"], due_at=due.isoformat())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "open" and body["source"] == "manual"
    assert body["owner_id"] == agent.id and body["created_by_id"] == agent.id
    assert body["customer_timezone"] == "America/Mexico_City"
    assert body["due_local"].startswith("2030-05-06T12:00:00-06:00")
    assert client.get(f"/api/v1/commitments/{body['id']}", headers=agent.headers).json() == body
    listed = client.get(f"/api/v1/cases/{ids['case']}/commitments", headers=agent.headers)
    assert [c["id"] for c in listed.json()] == [body["id"]]
    mine = client.get("/api/v1/commitments?mine=true&state=open", headers=agent.headers).json()
    assert [c["id"] for c in mine["items"]] == [body["id"]]
    assert audit_verbs(db, "commitment") == ["commitment.create"]


def test_past_due_time_is_refused_and_nothing_stored(client, db, agent):
    ids = make_case(db, agent.id)
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    response = create(client, agent, ids["case"], due_at=past)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "due_at"
    assert commitments_of(db, ids["case"]) == []
    assert audit_verbs(db, "commitment") == []


def test_invalid_bodies_are_422(client, db, agent):
    ids = make_case(db, agent.id)
    assert create(client, agent, ids["case"], due_at="2030-05-06T18:00:00").status_code == 422
    assert create(client, agent, ids["case"], kind="promise").status_code == 422
    assert create(client, agent, ids["case"], extra=1).status_code == 422
    assert create(client, agent, ids["case"], description="a\x00b").status_code == 422
    assert commitments_of(db, ids["case"]) == []


def test_401_403_404(client, db, agent, other_agent):
    ids = make_case(db, agent.id)
    url = f"/api/v1/cases/{ids['case']}/commitments"
    assert client.post(url, json={"kind": "write", "due_at": future()}).status_code == 401
    assert client.get("/api/v1/commitments").status_code == 401
    assert client.get("/api/v1/commitments/stats").status_code == 401
    # Another agent's case: they may read it, not promise on it.
    assert create(client, other_agent, ids["case"]).status_code == 403
    assert create(client, agent, 999_999).status_code == 404
    assert client.get("/api/v1/cases/999999/commitments", headers=agent.headers).status_code == 404
    assert client.get("/api/v1/commitments/999999", headers=agent.headers).status_code == 404
    made = create(client, agent, ids["case"]).json()
    keep = f"/api/v1/commitments/{made['id']}/keep"
    assert client.post(keep, headers=other_agent.headers).status_code == 403
    assert client.post("/api/v1/commitments/999999/keep", headers=agent.headers).status_code == 404
    cancel = f"/api/v1/commitments/{made['id']}/cancel"
    assert client.post(cancel, json={"reason": "x"}, headers=other_agent.headers).status_code == 403


def test_keep_and_cancel(client, db, agent, manager):
    ids = make_case(db, agent.id)
    first = create(client, agent, ids["case"]).json()
    second = create(client, agent, ids["case"], kind="refund").json()
    kept = client.post(f"/api/v1/commitments/{first['id']}/keep", json={"note": "Llamada hecha"},
                       headers=agent.headers)
    assert kept.status_code == 200
    assert kept.json()["state"] == "kept" and kept.json()["kept_by_id"] == agent.id
    again = client.post(f"/api/v1/commitments/{first['id']}/keep", headers=agent.headers)
    assert again.status_code == 409
    cancel = f"/api/v1/commitments/{second['id']}/cancel"
    assert client.post(cancel, json={"reason": ""}, headers=agent.headers).status_code == 422
    assert client.post(cancel, json={}, headers=agent.headers).status_code == 422
    cancelled = client.post(cancel, json={"reason": "El cliente prefiere un vale"},
                            headers=manager.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_reason"] == "El cliente prefiere un vale"
    assert audit_verbs(db, "commitment") == [
        "commitment.create", "commitment.create", "commitment.keep", "commitment.cancel",
    ]
    stats = client.get("/api/v1/commitments/stats", headers=agent.headers).json()
    assert stats["kept"] == 1 and stats["cancelled"] == 1 and stats["broken"] == 0
    assert stats["rate"] == 1.0
    assert stats["groups"] == [
        {"id": agent.id, "name": "Alberto Agente", "kept": 1, "broken": 0, "rate": 1.0}
    ]


def test_stats_validation_and_grouping(client, db, agent):
    url = "/api/v1/commitments/stats"
    assert client.get(url + "?group_by=planet", headers=agent.headers).status_code == 422
    assert client.get(url + "?since=yesterday", headers=agent.headers).status_code == 422
    body = client.get(url + "?group_by=team", headers=agent.headers).json()
    assert body["rate"] is None and body["groups"] == [] and body["group_by"] == "team"


def test_settings_are_for_managers(client, db, agent, manager):
    url = "/api/v1/commitments/settings"
    defaults = client.get(url, headers=agent.headers).json()
    assert defaults == {"reminder_minutes": [120, 30], "updates_enabled": True,
                        "update_interval_hours": 9.0, "update_mode": "remind_owner"}
    change = {"reminder_minutes": [15, 240], "update_mode": "auto_update"}
    assert client.patch(url, json=change, headers=agent.headers).status_code == 403
    for wrong in ({"update_mode": "shout"}, {"reminder_minutes": [0]}, {"oops": 1}):
        assert client.patch(url, json=wrong, headers=manager.headers).status_code == 422
    changed = client.patch(url, json=change, headers=manager.headers)
    assert changed.status_code == 200
    assert changed.json()["reminder_minutes"] == [240, 15]
    assert changed.json()["update_mode"] == "auto_update"
    assert client.get(url, headers=agent.headers).json() == changed.json()
    assert audit_verbs(db, "commitment_settings") == ["commitment_settings.update"]
    assert client.patch(url, json={}, headers=agent.headers).status_code == 403
