"""The checklist on the case page, marking steps done, replies from templates, overdue alerts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from meaculpa.cases.queries import get_case
from meaculpa.core.clock import utcnow
from meaculpa.jobs.queue import enqueue
from meaculpa.jobs.registry import load_handlers
from meaculpa.jobs.runner import Runner
from meaculpa.jobs.schedule import PERIODIC, schedule_periodic
from meaculpa.notifications.models import OutboundEmail
from meaculpa.playbooks.models import CaseStep, StepAlert
from tests.conftest import audit_verbs
from tests.playbooks.conftest import set_opened
from tests.web.helpers import csrf, login, seed_case


def overdue_mail(mailbox, address: str) -> list:
    """The overdue-step alerts ``address`` received (other domains send alerts too)."""
    return [
        m
        for m in mailbox.to(address)
        if m["Subject"].startswith(("Fuera de plazo en", "Overdue on"))
    ]


def _steps_html(page: str) -> dict[str, str]:
    """step key -> its state, read from the checklist panel."""
    import re

    return dict(re.findall(r'id="step-([a-z_]+)" data-state="([a-z]+)"', page))


def test_checklist_shows_done_due_and_overdue(client, db, agent, always_open):
    ids = seed_case(db, owner_id=agent.id)
    # Opened 10 hours ago in an always-open calendar: the 4-hour steps are overdue.
    set_opened(db, ids["case"], utcnow() - timedelta(hours=10))
    login(client, agent)
    page = client.get(f"/cases/{ids['case']}").text
    assert "Protocolo de recuperación" in page and 'id="playbook"' in page
    assert "Protocolo general" in page
    states = _steps_html(page)
    assert states == {
        "acknowledge": "overdue",
        "apologise": "overdue",
        "empathise": "overdue",
        "explain": "due",
        "remedy": "due",
        "give_date": "due",
        "follow_up": "due",
    }
    assert "Fuera de plazo" in page and "Pendiente" in page
    response = client.post(
        f"/cases/{ids['case']}/playbook/apologise/done",
        data={"csrf_token": csrf(client, f"/cases/{ids['case']}")},
    )
    assert response.status_code == 200 and "Paso marcado como hecho." in response.text
    assert _steps_html(response.text)["apologise"] == "done"
    assert "por Alberto Agente" in response.text and "tarde" in response.text
    with db.reading() as s:
        [row] = s.scalars(select(CaseStep))
        assert (row.case_id, row.step, row.done_by_id) == (ids["case"], "apologise", agent.id)
        assert row.done_at is not None
    assert "case.playbook_step.done" in audit_verbs(db, "case")
    # Twice is harmless; undo brings it back.
    again = client.post(
        f"/cases/{ids['case']}/playbook/apologise/done",
        data={"csrf_token": csrf(client, f"/cases/{ids['case']}")},
    )
    assert "Ese paso ya estaba marcado como hecho." in again.text
    undone = client.post(
        f"/cases/{ids['case']}/playbook/apologise/undo",
        data={"csrf_token": csrf(client, f"/cases/{ids['case']}")},
    )
    assert _steps_html(undone.text)["apologise"] == "overdue"
    assert "case.playbook_step.undone" in audit_verbs(db, "case")


def test_marking_needs_csrf_and_the_case_owner(client, db, agent, other_agent, always_open):
    ids = seed_case(db, owner_id=agent.id)
    login(client, other_agent)
    refused = client.post(f"/cases/{ids['case']}/playbook/acknowledge/done", data={})
    assert refused.status_code == 403
    not_owner = client.post(
        f"/cases/{ids['case']}/playbook/acknowledge/done",
        data={"csrf_token": csrf(client, f"/cases/{ids['case']}")},
    )
    assert not_owner.status_code == 200 and "not allowed" in not_owner.text
    unknown = client.post(
        f"/cases/{ids['case']}/playbook/dance/done",
        data={"csrf_token": csrf(client, f"/cases/{ids['case']}")},
    )
    assert unknown.status_code == 404
    with db.reading() as s:
        assert s.scalar(select(CaseStep.id)) is None


def test_reply_from_template_with_htmx_and_without_javascript(client, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    login(client, agent)
    page = client.get(f"/cases/{ids['case']}").text
    assert f'hx-get="/cases/{ids["case"]}/playbook/apologise/text" hx-target="#reply-text"' in page
    assert f'href="/cases/{ids["case"]}/playbook/apologise/reply"' in page
    fragment = client.get(
        f"/cases/{ids['case']}/playbook/apologise/text", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith("<textarea") and 'id="reply-text"' in fragment.text
    assert "Hola, Lucía Fernández:" in fragment.text and "Alberto Agente" in fragment.text
    assert "<html" not in fragment.text
    full = client.get(f"/cases/{ids['case']}/playbook/remedy/reply")
    assert full.status_code == 200 and f'action="/cases/{ids["case"]}/reply"' in full.text
    assert "Esto es lo que hacemos para arreglarlo: {remedy}." in full.text
    # The case's language decides the template's language, whatever the agent reads.
    with db.transaction() as s:
        get_case(s, ids["case"]).language = "en"
    english = client.get(f"/cases/{ids['case']}/playbook/apologise/text").text
    assert "Hi Lucía Fernández," in english and "truly sorry" in english
    api = client.get(
        f"/api/v1/playbooks/cases/{ids['case']}/steps/apologise/text?language=es",
        headers=agent.headers,
    )
    assert api.json()["language"] == "es" and "lo siento de verdad" in api.json()["text"]


def test_checklist_api_and_mark_done(client, db, agent, always_open):
    ids = seed_case(db, owner_id=agent.id, severity="critical")
    set_opened(db, ids["case"], utcnow() - timedelta(hours=2))
    checklist = client.get(f"/api/v1/playbooks/cases/{ids['case']}", headers=agent.headers).json()
    assert checklist["error_type"] == "other" and checklist["severity"] == "critical"
    first = checklist["steps"][0]
    assert first["key"] == "acknowledge" and first["hours"] == 1 and first["state"] == "overdue"
    done = client.post(
        f"/api/v1/playbooks/cases/{ids['case']}/steps/acknowledge/done", headers=agent.headers
    )
    assert done.status_code == 201
    step = done.json()["steps"][0]
    assert step["state"] == "done" and step["done_by_id"] == agent.id and step["late"] is True
    again = client.post(
        f"/api/v1/playbooks/cases/{ids['case']}/steps/acknowledge/done", headers=agent.headers
    )
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")


def test_overdue_steps_alert_the_owner_once(
    client, db, agent, other_agent, always_open, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    mine = seed_case(db, owner_id=agent.id)
    theirs = seed_case(
        db,
        owner_id=other_agent.id,
        name="Hannah Smith",
        email="hannah@example.com",
        subject="Broken lamp",
    )
    fresh = seed_case(db, owner_id=agent.id, name="Pablo", email="pablo@example.es")
    set_opened(db, mine["case"], utcnow() - timedelta(hours=10))
    set_opened(db, theirs["case"], utcnow() - timedelta(hours=10))
    with db.transaction() as s:
        s.add(CaseStep(case_id=mine["case"], step="acknowledge", done_by_id=agent.id))
    handlers = load_handlers()  # imports every jobs module, as a worker does
    # Only this domain's scan and the e-mail sender run here (other domains schedule work too).
    mine_only = {k: handlers[k] for k in ("playbooks.scan_overdue", "notifications.send_email")}
    runner = Runner(db, settings=mail_settings, handlers=mine_only)
    assert PERIODIC["playbooks.scan_overdue"] == timedelta(minutes=5)
    assert "playbooks.scan_overdue" in schedule_periodic(db)
    runner.run_pending()

    # One e-mail per owner, in the owner's language, listing the newly overdue steps.
    [to_agent] = overdue_mail(mailbox, agent.email)
    [to_other] = overdue_mail(mailbox, other_agent.email)
    assert to_agent["Subject"] == f"Fuera de plazo en MC-{mine['case']}: Pedir disculpas, Empatizar"
    assert f"/cases/{mine['case']}" in to_agent.get_content()
    assert to_other["Subject"].startswith(f"Overdue on MC-{theirs['case']}: Acknowledge")
    with db.reading() as s:
        alerts = list(s.scalars(select(StepAlert).order_by(StepAlert.id)))
        emails = list(
            s.scalars(
                select(OutboundEmail).where(OutboundEmail.id.in_([a.email_id for a in alerts]))
            )
        )
    assert {(a.case_id, a.step) for a in alerts if a.case_id == mine["case"]} == {
        (mine["case"], "apologise"),
        (mine["case"], "empathise"),
    }
    assert all(a.case_id != fresh["case"] for a in alerts)
    assert len(emails) == 2 and all(e.status == "sent" for e in emails)

    # Running the scan again alerts nobody a second time.
    with db.transaction() as s:
        enqueue(s, "playbooks.scan_overdue")
    runner.run_pending()
    assert len(overdue_mail(mailbox, agent.email) + overdue_mail(mailbox, other_agent.email)) == 2
    with db.reading() as s:
        assert len(list(s.scalars(select(StepAlert)))) == len(alerts)

    # The owner sees them on /alerts and in the checklist; the API lists them too.
    login(client, agent)
    page = client.get("/alerts").text
    assert "Mis pasos fuera de plazo" in page and f"MC-{mine['case']}" in page
    assert "Pedir disculpas" in page and f"MC-{theirs['case']}" not in page
    case_page = client.get(f"/cases/{mine['case']}").text
    assert "responsable avisado" in case_page
    # The inbox marks the case with its late steps, and not the case with none.
    inbox = client.get("/?scope=all").text
    row = inbox.split(f"MC-{mine['case']}", 1)[1].split("</tr>", 1)[0]
    assert "2 pasos fuera de plazo" in row
    assert "fuera de plazo" not in inbox.split(f"MC-{fresh['case']}", 1)[1].split("</tr>", 1)[0]
    mine_api = client.get("/api/v1/playbooks/alerts", headers=agent.headers).json()["items"]
    assert {a["step"] for a in mine_api} == {"apologise", "empathise"}
    # A step done after its alert leaves the pending list.
    client.post(
        f"/cases/{mine['case']}/playbook/empathise/done",
        data={"csrf_token": csrf(client, f"/cases/{mine['case']}")},
    )
    assert "Empatizar" not in client.get("/alerts").text.split("<table", 1)[-1]
    assert "Empatizar" in client.get("/alerts?all=1").text
    row = client.get("/?scope=all").text.split(f"MC-{mine['case']}", 1)[1].split("</tr>", 1)[0]
    assert "1 paso fuera de plazo" in row
