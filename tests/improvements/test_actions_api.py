"""Improvement actions over the JSON API: lifecycle, permissions, bad input, paging, audit;
reminders before the due date and the overdue alert at a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

from meaculpa.core.clock import override
from meaculpa.improvements.queries import effectiveness_counts, list_actions_with_effectiveness
from tests.conftest import audit_verbs
from tests.improvements.conftest import T0, make_problem, run_worker_at


def _create(client, person, **extra):
    body = {"title": "Nueva política de devoluciones", "kind": "policy_change", **extra}
    return client.post("/api/v1/improvements", headers=person.headers, json=body)


def test_lifecycle_permissions_and_audit(db, client, manager, agent, other_agent):
    problem = make_problem(db, "Devoluciones lentas")
    assert _create(client, agent).status_code == 403
    r = _create(
        client,
        manager,
        owner_id=agent.id,
        purpose="preventive",
        due_at="2030-01-15T18:00:00+01:00",
        problem_ids=[problem, problem],
        description="Devolver el dinero en 48 h.",
    )
    assert r.status_code == 201, r.text
    action = r.json()
    assert action["status"] == "planned" and action["problem_ids"] == [problem]
    assert action["purpose"] == "preventive" and action["owner_id"] == agent.id
    aid = action["id"]
    # Someone who is neither the owner nor a manager cannot move it.
    r = client.post(
        f"/api/v1/improvements/{aid}/status",
        headers=other_agent.headers,
        json={"status": "in_progress"},
    )
    assert r.status_code == 403
    # The owner starts it; an agent cannot edit it.
    r = client.post(
        f"/api/v1/improvements/{aid}/status", headers=agent.headers, json={"status": "in_progress"}
    )
    assert r.status_code == 200 and r.json()["status"] == "in_progress"
    assert r.json()["started_at"] is not None
    r = client.patch(f"/api/v1/improvements/{aid}", headers=agent.headers, json={"title": "Otra"})
    assert r.status_code == 403
    # Starting twice is a conflict; cancelling needs a reason.
    r = client.post(
        f"/api/v1/improvements/{aid}/status", headers=agent.headers, json={"status": "in_progress"}
    )
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/improvements/{aid}/status", headers=agent.headers, json={"status": "cancelled"}
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/improvements/{aid}/status",
        headers=agent.headers,
        json={"status": "cancelled", "reason": "La política ya no aplica"},
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    # A cancelled action is history.
    r = client.patch(f"/api/v1/improvements/{aid}", headers=manager.headers, json={"title": "X y"})
    assert r.status_code == 409
    r = client.post(
        f"/api/v1/improvements/{aid}/status", headers=manager.headers, json={"status": "done"}
    )
    assert r.status_code == 409
    assert audit_verbs(db, "improvement_action") == [
        "improvement.create",
        "improvement.start",
        "improvement.cancel",
    ]


def test_bad_input_is_a_clear_problem(db, client, manager):
    cases = [
        {"title": "ab", "kind": "policy_change"},
        {"title": "Sin tipo"},
        {"title": "Tipo raro", "kind": "magic"},
        {"title": "Sin zona", "kind": "policy_change", "due_at": "2030-01-15T18:00:00"},
        {"title": "Ventana", "kind": "policy_change", "window_days": 3},
        {"title": "Problema", "kind": "policy_change", "problem_ids": [999]},
        {"title": "Error", "kind": "policy_change", "error_ids": [999]},
        {"title": "Dueño", "kind": "policy_change", "owner_id": 999},
        {"title": "Idioma", "kind": "policy_change", "customer_summary": {"fr": "x"}},
        {"title": "Largo", "kind": "policy_change", "description": "x" * 10_001},
        {"title": "Extra", "kind": "policy_change", "surprise": 1},
    ]
    for body in cases:
        r = client.post("/api/v1/improvements", headers=manager.headers, json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/improvements", headers=manager.headers).json()["items"] == []
    assert client.get("/api/v1/improvements/5", headers=manager.headers).status_code == 404
    r = client.get("/api/v1/improvements", headers=manager.headers, params={"cursor": "nonsense"})
    assert r.status_code == 422
    assert client.get("/api/v1/improvements").status_code == 401


def test_cursor_pages_and_filters(db, client, manager, agent):
    ids = [
        _create(client, manager, title=f"Acción número {i}", owner_id=agent.id).json()["id"]
        for i in range(5)
    ]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/improvements", headers=agent.headers, params=params).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    mine = client.get("/api/v1/improvements", headers=agent.headers, params={"mine": True})
    assert len(mine.json()["items"]) == 5
    planned = client.get(
        "/api/v1/improvements", headers=agent.headers, params={"status": "done"}
    ).json()
    assert planned["items"] == []


def test_reminders_before_the_due_date_and_one_overdue_alert(
    db, client, manager, other_agent, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    due = T0 + timedelta(days=5)
    with override(lambda: T0):
        aid = _create(
            client,
            manager,
            owner_id=other_agent.id,
            due_at=due.isoformat(),
            title="Formar al turno",
        ).json()["id"]
    run_worker_at(db, mail_settings, due - timedelta(hours=80))
    assert mailbox.messages == []
    run_worker_at(db, mail_settings, due - timedelta(hours=71))
    [first] = mailbox.to("olivia@example.com")
    # Olivia reads English.
    assert first["Subject"].startswith("Reminder: improvement action due on")
    assert f"/improvements/{aid}" in first.get_content()
    run_worker_at(db, mail_settings, due - timedelta(hours=70))
    assert len(mailbox.messages) == 1
    run_worker_at(db, mail_settings, due - timedelta(hours=23))
    assert len(mailbox.messages) == 2
    run_worker_at(db, mail_settings, due + timedelta(minutes=6))
    run_worker_at(db, mail_settings, due + timedelta(hours=3))
    alerts = [m for m in mailbox.messages if m["Subject"].startswith("Overdue improvement action")]
    assert len(alerts) == 1 and len(mailbox.messages) == 3
    body = client.get(
        "/api/v1/improvements", headers=manager.headers, params={"overdue": True}
    ).json()
    assert [a["id"] for a in body["items"]] == [aid] and body["items"][0]["overdue"] is True
    verbs = audit_verbs(db, "improvement_action")
    assert verbs.count("improvement.remind") == 2 and verbs.count("improvement.alert_overdue") == 1
    # A new due date earns new reminders.
    new_due = due + timedelta(days=10)
    with override(lambda: due + timedelta(hours=4)):
        r = client.patch(
            f"/api/v1/improvements/{aid}",
            headers=manager.headers,
            json={"due_at": new_due.isoformat()},
        )
    assert r.status_code == 200 and r.json()["overdue"] is False
    run_worker_at(db, mail_settings, new_due - timedelta(hours=20))
    assert len(mailbox.messages) == 4


def test_management_review_reads_actions_with_their_effectiveness(db, client, manager, agent):
    problem = make_problem(db, "Vajilla rota")
    with override(lambda: T0 - timedelta(days=20)):
        done_id = _create(client, manager, title="Cajas dobles", problem_ids=[problem]).json()["id"]
        open_id = _create(
            client,
            manager,
            title="Formación",
            owner_id=agent.id,
            due_at=(T0 - timedelta(days=1)).isoformat(),
        ).json()["id"]
    with override(lambda: T0 - timedelta(days=10)):
        client.post(
            f"/api/v1/improvements/{done_id}/status",
            headers=manager.headers,
            json={"status": "done"},
        )
    with db.reading() as s:
        rows = list_actions_with_effectiveness(s, T0 - timedelta(days=30), T0)
        counts = effectiveness_counts(s, T0 - timedelta(days=30), T0)
    assert [r.id for r in rows] == [done_id, open_id]
    assert rows[0].verdict == "pending" and rows[0].problem_ids == [problem]
    assert rows[1].overdue is True and rows[1].owner_name == "Alberto Agente"
    assert counts["pending"] == 1
