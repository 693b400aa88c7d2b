"""The promised resolution date of an apology is a promise to each customer it reached: kept
when the error is resolved and the customers are told before the date, broken when the date
passes first; the reporter and managers are reminded once before it and alerted once after.
Real HTTP, a real database, a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select

from meaculpa.apologies.actions import note_bounce
from meaculpa.apologies.models import Apology, ApologyCampaign
from meaculpa.core import clock
from meaculpa.core.audit import Actor, AuditEvent
from meaculpa.core.clock import utcnow
from meaculpa.customers.models import Customer
from meaculpa.jobs.runner import Runner
from meaculpa.jobs.schedule import schedule_periodic
from tests.apologies.test_journey import make_error, upload
from tests.conftest import make_person
from tests.web.helpers import login

CSV = (
    "email,name,language\n"
    "lucia@example.es,Lucía Fernández,es\n"
    "john@example.com,John Smith,en\n"
    "pedro@example.es,Pedro,es\n"
)


def _send_with_promise(client, db, manager, settings, days: float = 3) -> tuple[int, Runner]:
    """An error hurting three customers (one opted out), apologised to with a promised date."""
    error_id = make_error(client, manager)
    assert upload(client, manager, error_id, CSV).status_code == 200
    with db.reading() as s:
        pedro = s.scalar(select(Customer.id).where(Customer.name == "Pedro"))
    client.patch(f"/api/v1/customers/{pedro}", json={"opt_out": True}, headers=manager.headers)
    r = client.put(
        f"/api/v1/errors/{error_id}/apology",
        json={"promised_by": (utcnow() + timedelta(days=days)).isoformat()},
        headers=manager.headers,
    )
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/errors/{error_id}/apology/send", headers=manager.headers)
    assert r.status_code == 202
    runner = Runner(db, name="w1",
                    settings=settings.model_copy(update={"outreach_rates": {"email": 1000.0}}))
    runner.run_pending()
    return error_id, runner


def _at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _scan(db, runner: Runner) -> None:
    assert "apologies.promises" in schedule_periodic(db)
    runner.run_pending()


def _figures(client, manager, error_id: int) -> dict:
    r = client.get(f"/api/v1/errors/{error_id}/figures", headers=manager.headers)
    assert r.status_code == 200
    return r.json()


def test_each_apology_carries_the_promise_and_it_is_kept(
    client, db, manager, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    error_id, runner = _send_with_promise(client, db, manager, mail_settings)
    with db.reading() as s:
        rows = {a.to_address: a for a in s.scalars(select(Apology))}
        due = s.scalar(select(ApologyCampaign.promised_by))
    assert rows["lucia@example.es"].promise_state == "pending"
    assert rows["john@example.com"].promise_due_at == due
    # The customer who opted out was not apologised to: no promise to them.
    assert rows["pedro@example.es"].promise_state is None
    f = _figures(client, manager, error_id)
    assert (f["promises"], f["promises_pending"], f["promises_kept"]) == (2, 2, 0)
    listed = client.get(f"/api/v1/errors/{error_id}/apologies", headers=manager.headers).json()
    assert sorted(str(a["promise_state"]) for a in listed["items"]) == [
        "None", "pending", "pending"]

    # Resolved, but the customers were not told yet: still pending.
    r = client.patch(f"/api/v1/errors/{error_id}", json={"status": "fixed"},
                     headers=manager.headers)
    assert r.status_code == 200, r.text
    _scan(db, runner)
    assert _figures(client, manager, error_id)["promises_pending"] == 2
    # The update tells them, before the date: kept, for both, in one settle.
    r = client.post(f"/api/v1/errors/{error_id}/updates",
                    json={"text_es": "Ya está resuelto.", "text_en": "It is fixed."},
                    headers=manager.headers)
    assert r.status_code == 201, r.text
    runner.run_pending()
    assert len(mailbox.to("lucia@example.es")) == 2
    with clock.override(_at(utcnow() + timedelta(minutes=2))):
        _scan(db, runner)
    f = _figures(client, manager, error_id)
    assert (f["promises_pending"], f["promises_kept"], f["promises_broken"]) == (0, 2, 0)
    with db.reading() as s:
        settles = s.scalars(
            select(AuditEvent).where(AuditEvent.verb == "apology.promise.settle")
        ).all()
    assert len(settles) == 1 and settles[0].after["kept"] == 2

    # Long after the date nothing changes, and nobody is alerted.
    with clock.override(_at(due + timedelta(days=1))):
        schedule_periodic(db)
        runner.run_pending()
    assert _figures(client, manager, error_id)["promises_kept"] == 2
    assert not [m for m in mailbox.to(manager.email) if "E-" in str(m["Subject"])]

    # The error page's apology section says so.
    login(client, manager)
    page = client.get(f"/errors/{error_id}").text
    assert "Prometido a 2 clientes para el" in page
    assert "cumplida: 2" in page and "incumplida: 0" in page


def test_the_date_passes_first_reminded_once_then_broken_and_alerted(
    client, db, manager, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    english = make_person(db, "manager", "emma@olivar.example", "Emma", language="en")
    agent = make_person(db, "agent", "ines@olivar.example", "Inés")
    error_id, runner = _send_with_promise(client, db, manager, mail_settings)
    with db.reading() as s:
        due = s.scalar(select(ApologyCampaign.promised_by))
    assert due is not None

    # Two days before: too early for the reminder.
    with clock.override(_at(due - timedelta(days=2))):
        _scan(db, runner)
    assert mailbox.to(manager.email) == []
    # Twelve hours before: the reporter and the managers are reminded, each in their language.
    with clock.override(_at(due - timedelta(hours=12))):
        _scan(db, runner)
    [es] = mailbox.to(manager.email)
    [en] = mailbox.to(english.email)
    assert str(es["Subject"]).startswith("Promesa a punto de vencer")
    assert "2 clientes" in es.get_content()
    assert str(en["Subject"]).startswith("Promise due soon")
    assert mailbox.to(agent.email) == []
    # Once only.
    with clock.override(_at(due - timedelta(hours=6))):
        _scan(db, runner)
    assert len(mailbox.to(manager.email)) == 1

    # An update told them, but the error was not resolved before the date: broken.
    client.post(f"/api/v1/errors/{error_id}/updates",
                json={"text_es": "Seguimos en ello.", "text_en": "Still on it."},
                headers=manager.headers)
    runner.run_pending()
    with clock.override(_at(due + timedelta(hours=1))):
        _scan(db, runner)
    f = _figures(client, manager, error_id)
    assert (f["promises_pending"], f["promises_kept"], f["promises_broken"]) == (0, 0, 2)
    alerts = [m for m in mailbox.to(manager.email) if "incumplida" in str(m["Subject"])]
    assert len(alerts) == 1
    assert [m for m in mailbox.to(english.email) if "Promise broken" in str(m["Subject"])]
    with db.reading() as s:
        verbs = [
            (e.verb, e.after)
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.verb.like("apology.promise.%"))
                .order_by(AuditEvent.id)
            )
        ]
    assert [v for v, _ in verbs] == [
        "apology.promise.remind", "apology.promise.settle", "apology.promise.alert"]
    assert verbs[1][1]["broken"] == 2
    # The next scan finds nothing pending: no second alert.
    with clock.override(_at(due + timedelta(hours=2))):
        schedule_periodic(db)
        runner.run_pending()
    assert len([m for m in mailbox.to(manager.email) if "incumplida" in str(m["Subject"])]) == 1


def test_a_bounced_apology_carries_no_promise(client, db, manager, mail_settings, smtp_server):
    error_id, runner = _send_with_promise(client, db, manager, mail_settings)
    with db.transaction() as s:
        email_id = s.scalar(select(Apology.email_id).where(
            Apology.to_address == "john@example.com"))
        note_bounce(s, Actor.system("mail"), email_id)
    f = _figures(client, manager, error_id)
    assert (f["promises"], f["promises_pending"]) == (1, 1)
    with db.reading() as s:
        due = s.scalar(select(ApologyCampaign.promised_by))
    with clock.override(_at(due + timedelta(minutes=1))):
        _scan(db, runner)
    f = _figures(client, manager, error_id)
    assert (f["promises"], f["promises_broken"]) == (1, 1)


def test_a_customer_who_writes_in_keeps_one_promise_and_a_case_commitment(
    client, db, manager, mail_settings, smtp_server
):
    error_id, runner = _send_with_promise(client, db, manager, mail_settings)
    r = client.post(
        "/api/v1/messages",
        json={"channel": "email",
              "customer": {"identities": [{"kind": "email", "value": "john@example.com"}]},
              "text": "Thanks for letting me know. When will it be fixed?"},
        headers=manager.headers,
    )
    assert r.status_code in (200, 201), r.text
    runner.run_pending()
    f = _figures(client, manager, error_id)
    assert (f["promises"], f["promises_on_cases"]) == (2, 1)
