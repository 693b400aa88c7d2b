"""The follow-up after resolution: scheduled, sent by e-mail, answered through a signed link."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from meaculpa.cases.models import Case
from meaculpa.core.clock import override, utcnow
from meaculpa.followups.links import followup_token
from meaculpa.followups.models import Followup
from meaculpa.jobs.models import Job
from meaculpa.notifications.models import OutboundEmail
from tests.conftest import TEST_SECRET, audit_verbs
from tests.followups.conftest import link_path, reopen, resolve, run_worker_at, seed
from tests.web.helpers import csrf_from, login


def followups(db):
    with db.reading() as s:
        return list(s.scalars(select(Followup).order_by(Followup.id)))


def test_resolution_sends_the_question_n_days_later_in_spanish(
    db, agent, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    [f] = followups(db)
    assert f.status == "scheduled" and f.due_at == resolved_at + timedelta(days=3)
    # Two days later nothing is sent yet.
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=2))
    assert mailbox.messages == [] and followups(db)[0].status == "scheduled"
    # On the third day the question goes out, once.
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=4))
    [mail] = mailbox.to("lucia@example.es")
    assert len(mailbox.messages) == 1
    assert mail["Subject"] == f"¿Está realmente resuelto? (MC-{ids.case})"
    body = mail.get_content()
    assert "Hola, Lucía Fernández:" in body and "del 1 al 5" in body
    assert "http://127.0.0.1:8000/f/" in body
    f = followups(db)[0]
    assert f.status == "sent" and f.language == "es" and f.email_id is not None
    with db.reading() as s:
        email = s.get(OutboundEmail, f.email_id)
        assert email.kind == "follow_up" and email.case_id == ids.case
    assert {"followup.schedule", "followup.send"} <= set(audit_verbs(db, "followup"))


def test_english_customer_gets_it_in_english(db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    ids = seed(
        db,
        agent.id,
        language="en",
        name="Hannah Brown",
        email="hannah@example.com",
        text="You charged me twice.",
    )
    resolved_at = resolve(db, agent.actor, ids.case)
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    [mail] = mailbox.to("hannah@example.com")
    assert mail["Subject"] == f"Is it really solved? (MC-{ids.case})"
    assert "Hello Hannah Brown," in mail.get_content()


def test_delay_zero_sends_at_once(client, db, agent, manager, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    assert client.put(
        "/api/v1/followups/settings", json={"delay_days": 0}, headers=manager.headers
    ).json() == {"delay_days": 0, "link_days": 30}
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    run_worker_at(db, mail_settings, resolved_at + timedelta(seconds=1))
    assert len(mailbox.to("lucia@example.es")) == 1


def test_not_solved_reopens_with_higher_severity_and_alerts_the_owner(
    client, db, agent, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id, severity="medium")
    resolved_at = resolve(db, agent.actor, ids.case)
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    path = link_path(mailbox.to("lucia@example.es")[0].get_content())

    page = client.get(path)
    assert page.status_code == 200 and "¿Está realmente resuelto?" in page.text
    assert page.headers["x-robots-tag"].startswith("noindex")
    answer = {
        "csrf_token": csrf_from(page.text),
        "solved": "no",
        "rating": "2",
        "comment": "Me siguen cobrando dos veces.",
    }
    thanks = client.post(path, data=answer)
    assert thanks.status_code == 200 and "Gracias por su respuesta" in thanks.text
    assert "con prioridad" in thanks.text

    with db.reading() as s:
        case = s.get(Case, ids.case)
        assert case.status == "in_progress" and case.severity == "high"
        assert case.reopened_count == 1
    [f] = followups(db)
    assert (f.status, f.solved, f.rating, f.reopened_case) == ("answered", False, 2, True)
    assert f.comment == "Me siguen cobrando dos veces."
    assert "case.reopen" in audit_verbs(db, "case")
    # The owner hears about it by e-mail, in their language.
    run_worker_at(db, mail_settings, utcnow())
    [alert] = mailbox.to(agent.email)
    assert alert["Subject"] == f"No resuelto: se ha reabierto MC-{ids.case}"
    assert "Me siguen cobrando dos veces." in alert.get_content()
    with db.reading() as s:
        kinds = set(s.scalars(select(OutboundEmail.kind)))
    assert kinds == {"follow_up", "alert"}
    # ... and on the case page.
    login(client, agent)
    case_page = client.get(f"/cases/{ids.case}").text
    assert "Seguimiento" in case_page and "Me siguen cobrando dos veces." in case_page
    assert "el caso se reabrió" in case_page


def test_solved_with_five_stars_is_stored_once(client, db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    path = link_path(mailbox.messages[0].get_content())
    token = csrf_from(client.get(path).text)
    first = client.post(
        path, data={"csrf_token": token, "solved": "yes", "rating": "5", "comment": "Todo perfecto"}
    )
    assert "Nos alegra que esté resuelto" in first.text
    second = client.post(path, data={"csrf_token": token, "solved": "no", "rating": "1"})
    assert second.status_code == 200 and "Nos alegra que esté resuelto" in second.text
    [f] = followups(db)
    assert (f.status, f.solved, f.rating, f.comment) == ("answered", True, 5, "Todo perfecto")
    assert audit_verbs(db, "followup").count("followup.answer") == 1
    with db.reading() as s:
        assert s.get(Case, ids.case).status == "resolved"
    # The page keeps showing the thanks.
    assert "Gracias por su respuesta" in client.get(path).text


def test_invalid_answer_and_missing_csrf_store_nothing(
    client, db, agent, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    path = link_path(mailbox.messages[0].get_content())
    token = csrf_from(client.get(path).text)
    no_csrf = client.post(path, data={"solved": "yes", "rating": "5"})
    assert no_csrf.status_code == 403
    bad = client.post(path, data={"csrf_token": token, "solved": "maybe", "rating": "9"})
    assert bad.status_code == 422 and "del 1 al 5" in bad.text
    too_long = client.post(path, data={"csrf_token": token, "solved": "yes", "comment": "x" * 2001})
    assert too_long.status_code == 422
    assert followups(db)[0].answered_at is None


def test_reopening_before_the_follow_up_cancels_it(db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    reopen(db, agent.actor, ids.case)
    [f] = followups(db)
    assert f.status == "cancelled" and f.cancelled_at is not None
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=5))
    assert mailbox.messages == []
    # The next resolution gets its own follow-up (one per resolution).
    second = resolve(db, agent.actor, ids.case)
    rows = followups(db)
    assert [(r.round, r.status) for r in rows] == [(0, "cancelled"), (1, "scheduled")]
    run_worker_at(db, mail_settings, second + timedelta(days=3, minutes=1))
    assert len(mailbox.to("lucia@example.es")) == 1
    with db.reading() as s:
        jobs = list(s.scalars(select(Job.status).where(Job.kind == "followups.send")))
    assert jobs == ["done", "done"]


def test_expired_and_tampered_links_store_nothing(client, db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    path = link_path(mailbox.messages[0].get_content())
    token = csrf_from(client.get(path).text)
    followup_id = followups(db)[0].id
    past = utcnow() - timedelta(days=31)
    with override(lambda: past):
        old, _ = followup_token(TEST_SECRET, followup_id, 30)

    expired = client.get(f"/f/{old}")
    assert expired.status_code == 410 and "Este enlace ha caducado" in expired.text
    assert expired.headers["x-robots-tag"].startswith("noindex")
    posted = client.post(f"/f/{old}", data={"csrf_token": token, "solved": "no"})
    assert posted.status_code == 410
    english = client.get(f"/f/{old}", headers={"Accept-Language": "en"})
    assert "This link has expired" in english.text

    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 404
    refused = client.post(tampered, data={"csrf_token": token, "solved": "no"})
    assert refused.status_code == 404 and "Este enlace no es válido" in refused.text
    # A tracking link does not open the follow-up page (each link has its purpose).
    link = client.get(f"/api/v1/cases/{ids.case}/tracking-link", headers=agent.headers).json()
    tracking_token = link["url"].rsplit("/", 1)[1]
    assert client.get(f"/f/{tracking_token}").status_code == 404

    f = followups(db)[0]
    assert f.answered_at is None and f.status == "sent"
    with db.reading() as s:
        assert s.get(Case, ids.case).status == "resolved"


def test_customer_without_email_is_skipped(db, agent, mail_settings, smtp_server):
    from meaculpa.cases.actions import do_open_case
    from meaculpa.core.audit import Actor
    from meaculpa.customers.actions import do_create_customer
    from meaculpa.customers.schemas import CustomerCreate

    with db.transaction() as s:
        customer = do_create_customer(
            s,
            Actor.system(),
            CustomerCreate.model_validate(
                {"name": "Pepe", "identities": [{"kind": "phone", "value": "+34600111222"}]}
            ),
        )
        case_id = do_open_case(s, Actor.system(), customer, channel="phone", owner_id=agent.id).id
    resolved_at = resolve(db, agent.actor, case_id)
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    [f] = followups(db)
    assert f.status == "skipped" and smtp_server[2].messages == []
