"""A problem whose weekly count jumps alerts every manager once (e-mail to a real SMTP
server, in their language, and the alerts page); the monthly review gathers problems,
improvement actions and recovery figures for managers, as a page and as JSON."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from meaculpa.core.clock import utcnow
from meaculpa.jobs.queue import enqueue
from meaculpa.problems.models import ProblemAlert, ProblemReport
from tests.conftest import audit_verbs, make_person
from tests.problems.test_grouping_api import LUGGAGE
from tests.web.helpers import login


def _check_alerts(db, work, settings) -> None:
    with db.transaction() as s:
        enqueue(s, "problems.check_alerts")
    work(settings)


def test_a_weekly_jump_alerts_each_manager_once(
    client, db, admin, manager, agent, send, work, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    mia = make_person(db, "manager", "mia@example.com", "Mia Manager", language="en")
    res = client.put("/api/v1/problem-settings", json={"alert_min_count": 4},
                     headers=admin.headers)
    assert res.status_code == 200
    for i, (text, lang) in enumerate(LUGGAGE):
        send(text, f"j{i}@example.com", language=lang)
    work(mail_settings)
    _check_alerts(db, work, mail_settings)

    with db.reading() as s:
        alerts = s.scalars(select(ProblemAlert).order_by(ProblemAlert.user_id)).all()
    assert sorted(a.user_id for a in alerts) == sorted([admin.id, manager.id, mia.id])
    assert {a.count for a in alerts} == {len(LUGGAGE)} and {a.baseline for a in alerts} == {0}
    [spanish] = mailbox.to(manager.email)
    [english] = mailbox.to(mia.email)
    assert spanish["Subject"].startswith("Un problema va en aumento:")
    assert english["Subject"].startswith("A problem is rising:")
    assert "/problems/" in english.get_content()
    assert mailbox.to(agent.email) == []
    assert audit_verbs(db, "problem").count("problem.alerted") == 1

    # Once a week: running the check again sends nothing new.
    _check_alerts(db, work, mail_settings)
    assert len(mailbox.messages) == 3

    assert login(client, mia).status_code == 200
    fragment = client.get("/problems/alerts/fragment").text
    assert 'href="/problems/' in fragment and "<td class=\"num\">4</td>" in fragment
    assert 'hx-get="/problems/alerts/fragment"' in client.get("/alerts").text


def test_a_steady_problem_raises_no_alert(client, db, admin, manager, send, work, mail_settings,
                                          smtp_server):
    _, _, mailbox = smtp_server
    client.put("/api/v1/problem-settings", json={"alert_min_count": 2}, headers=admin.headers)
    now = utcnow()
    for week in range(0, 3):
        for i, (text, lang) in enumerate(LUGGAGE[:2]):
            send(text, f"w{week}-{i}@example.com", language=lang,
                 sent_at=now - timedelta(days=7 * week))
    work(mail_settings)
    _check_alerts(db, work, mail_settings)
    with db.reading() as s:
        assert s.scalars(select(ProblemAlert)).all() == []
    assert mailbox.messages == []


def test_monthly_review_page_and_json(client, db, agent, manager, send, work):
    for i, (text, lang) in enumerate(LUGGAGE):
        send(text, f"r{i}@example.com", language=lang)
    work()
    with db.reading() as s:
        problem_id = s.scalar(select(ProblemReport.problem_id))
    action = client.post(
        "/api/v1/improvements",
        json={"title": "Etiquetas RFID en las maletas", "kind": "process_fix",
              "problem_ids": [problem_id],
              "customer_summary": {"es": "Ahora cada maleta lleva una etiqueta RFID.",
                                   "en": "Every bag now carries an RFID tag."}},
        headers=manager.headers,
    )
    assert action.status_code == 201, action.text
    res = client.post(f"/api/v1/improvements/{action.json()['id']}/status",
                      json={"status": "done"}, headers=manager.headers)
    assert res.status_code == 200, res.text
    month = utcnow().strftime("%Y-%m")

    assert client.get(f"/api/v1/review?month={month}", headers=agent.headers).status_code == 403
    bad = client.get("/api/v1/review?month=2026-13", headers=manager.headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    body = client.get(f"/api/v1/review?month={month}", headers=manager.headers).json()
    assert body["month"] == month and body["reports"] == len(LUGGAGE)
    [top] = body["top_problems"]
    assert top["id"] == problem_id and top["count"] == len(LUGGAGE) and top["customers"] == 4
    assert top["languages"] == {"en": 2, "es": 2}
    assert body["recovery"]["cases"] == len(LUGGAGE)
    [summary] = body["actions"]
    assert summary["title"] == "Etiquetas RFID en las maletas"
    assert summary["problem_ids"] == [problem_id] and summary["status"] == "done"
    assert sum(body["effectiveness"].values()) == 1

    assert login(client, manager).status_code == 200
    page = client.get(f"/review?month={month}")
    assert page.status_code == 200
    assert page.text.count("<svg") >= 3 and "/static/review.css" in page.text
    assert "Etiquetas RFID en las maletas" in page.text and "Revisión de dirección" in page.text
    assert "@media print" in client.get("/static/review.css").text
    # A month with nothing in it is still a page; a wrong month is explained, not a crash.
    assert "Este mes no se agrupó" in client.get("/review?month=2001-01").text
    assert 'class="flash flash-error' in client.get("/review?month=junio").text
    assert login(client, agent).status_code == 200
    assert client.get("/review").status_code == 403
