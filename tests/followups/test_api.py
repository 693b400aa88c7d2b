"""The follow-up API: state and answer of a case, the list, settings, satisfaction figures."""

from __future__ import annotations

from datetime import timedelta

from meaculpa.core.clock import utcnow
from meaculpa.followups.queries import satisfaction_after_recovery
from tests.followups.conftest import link_path, resolve, run_worker_at, seed
from tests.web.helpers import csrf_from


def answer(client, mailbox, address, **form):
    [mail] = mailbox.to(address)
    path = link_path(mail.get_content())
    token = csrf_from(client.get(path).text)
    assert client.post(path, data={"csrf_token": token, **form}).status_code == 200


def test_case_followup_and_list(client, db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    assert client.get("/api/v1/cases/1/followup").status_code == 401
    a = seed(db, agent.id)
    b = seed(db, agent.id, name="Hannah", email="hannah@example.com", language="en")
    none = client.get(f"/api/v1/cases/{a.case}/followup", headers=agent.headers).json()
    assert none == {"case_id": a.case, "state": "none", "latest": None, "followups": []}
    resolved = resolve(db, agent.actor, a.case)
    resolve(db, agent.actor, b.case)
    state = client.get(f"/api/v1/cases/{a.case}/followup", headers=agent.headers).json()
    assert state["state"] == "scheduled" and state["latest"]["round"] == 0
    run_worker_at(db, mail_settings, resolved + timedelta(days=3, minutes=5))
    answer(client, mailbox, "lucia@example.es", solved="yes", rating="4", comment="Bien")
    state = client.get(f"/api/v1/cases/{a.case}/followup", headers=agent.headers).json()
    latest = state["latest"]
    assert state["state"] == "answered"
    assert (latest["solved"], latest["rating"], latest["comment"]) == (True, 4, "Bien")

    answered = client.get("/api/v1/followups?answered=true", headers=agent.headers).json()
    assert [f["case_id"] for f in answered["items"]] == [a.case]
    waiting = client.get("/api/v1/followups?answered=false", headers=agent.headers).json()
    assert [f["case_id"] for f in waiting["items"]] == [b.case]
    page = client.get("/api/v1/followups?limit=1", headers=agent.headers).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert client.get("/api/v1/cases/9999/followup", headers=agent.headers).status_code == 404
    assert client.get("/api/v1/followups/9999", headers=agent.headers).status_code == 404
    assert (
        client.get("/api/v1/followups?answered=perhaps", headers=agent.headers).status_code == 422
    )
    assert client.get("/api/v1/followups?limit=0", headers=agent.headers).status_code == 422


def test_tracking_link_route_errors(client, agent):
    assert client.get("/api/v1/cases/1/tracking-link").status_code == 401
    missing = client.get("/api/v1/cases/9999/tracking-link", headers=agent.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


def test_settings_are_for_managers(client, agent, manager):
    assert client.get("/api/v1/followups/settings", headers=agent.headers).json() == {
        "delay_days": 3,
        "link_days": 30,
    }
    refused = client.put(
        "/api/v1/followups/settings", json={"delay_days": 1}, headers=agent.headers
    )
    assert refused.status_code == 403
    assert (
        client.put(
            "/api/v1/followups/settings", json={"delay_days": -1}, headers=manager.headers
        ).status_code
        == 422
    )
    assert (
        client.put(
            "/api/v1/followups/settings", json={"delay": 1}, headers=manager.headers
        ).status_code
        == 422
    )
    changed = client.put(
        "/api/v1/followups/settings",
        json={"delay_days": 7, "link_days": 14},
        headers=manager.headers,
    )
    assert changed.json() == {"delay_days": 7, "link_days": 14}
    assert client.get("/api/v1/followups/settings", headers=agent.headers).json()["delay_days"] == 7


def test_satisfaction_after_recovery(client, db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    a = seed(db, agent.id)
    b = seed(db, agent.id, name="Hannah", email="hannah@example.com", language="en")
    c = seed(db, agent.id, name="Carla", email="carla@example.es")
    start = utcnow()
    for ids in (a, b, c):
        resolve(db, agent.actor, ids.case)
    run_worker_at(db, mail_settings, start + timedelta(days=3, minutes=5))
    answer(client, mailbox, "lucia@example.es", solved="yes", rating="5")
    answer(client, mailbox, "hannah@example.com", solved="no", rating="2")
    with db.reading() as s:
        [overall] = satisfaction_after_recovery(s, start, start + timedelta(days=10))
        by_language = satisfaction_after_recovery(s, start, start + timedelta(days=10), "language")
        [empty] = satisfaction_after_recovery(s, start - timedelta(days=9), start)
    assert overall["sent"] == 3 and overall["answered"] == 2
    assert overall["solved"] == 1 and overall["not_solved"] == 1
    assert overall["average_rating"] == 3.5 and overall["ratings"]["5"] == 1
    assert overall["response_rate"] == round(2 / 3, 4) and overall["solved_rate"] == 0.5
    assert {r["group"]: r["answered"] for r in by_language} == {"en": 1, "es": 1}
    assert empty["sent"] == 0 and empty["average_rating"] is None
    since = start.isoformat().replace("+00:00", "Z")
    until = (start + timedelta(days=10)).isoformat().replace("+00:00", "Z")
    api = client.get(
        "/api/v1/followups/satisfaction",
        params={"since": since, "until": until, "group_by": "month"},
        headers=agent.headers,
    )
    assert api.status_code == 200 and sum(r["sent"] for r in api.json()) == 3
    bad = client.get(
        "/api/v1/followups/satisfaction",
        params={"since": until, "until": since},
        headers=agent.headers,
    )
    assert bad.status_code == 422
