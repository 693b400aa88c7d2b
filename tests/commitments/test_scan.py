"""The one-minute scan: reminders once each, misses broken and alerted, progress updates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from meaculpa.cases.queries import access_case
from meaculpa.commitments.actions import do_create_commitment, do_keep_commitment
from meaculpa.commitments.models import CommitmentNotice, ProgressUpdate
from meaculpa.commitments.queries import access_commitment, promise_stats
from meaculpa.jobs.schedule import PERIODIC
from meaculpa.notifications.models import OutboundEmail
from tests.commitments.conftest import commitments_of, make_case, reply
from tests.conftest import audit_verbs


def promise(db, person, case_id, *, hours, kind="call_back", **extra):
    from meaculpa.core.clock import utcnow

    with db.transaction() as s:
        case = access_case(s, person.actor, case_id)
        return do_create_commitment(
            s, person.actor, case, kind=kind, due_at=utcnow() + timedelta(hours=hours),
            description="Llamar a Lucía para confirmar el abono", **extra,
        ).id


def state_of(db, commitment_id):
    with db.reading() as s:
        return access_commitment(s, None, commitment_id).state


def test_the_scan_runs_every_minute():
    from meaculpa.jobs.registry import load_handlers

    assert "commitments.scan" in load_handlers()
    assert PERIODIC["commitments.scan"] == timedelta(minutes=1)


def test_reminders_are_sent_once_each_to_the_owner(db, agent, fixed_clock, mail_settings,
                                                    smtp_server, scan):
    _, _, mailbox = smtp_server
    ids = make_case(db, agent.id)
    commitment_id = promise(db, agent, ids["case"], hours=3)
    scan(mail_settings)
    assert mailbox.to(agent.email) == []

    fixed_clock.advance(hours=1, minutes=5)          # 1 h 55 min left: the 2 h reminder
    scan(mail_settings)
    scan(mail_settings)
    [first] = mailbox.to(agent.email)
    assert first["Subject"].startswith("Recordatorio: promesa a Lucía Fernández")
    body = first.get_content()
    assert "Llamar a Lucía para confirmar el abono" in body
    assert f"http://127.0.0.1:8000/cases/{ids['case']}" in body
    assert "martes, 10 de marzo, 13:00" in body      # 12:00 UTC in Madrid

    fixed_clock.advance(hours=1, minutes=35)         # 20 min left: the 30 min reminder
    scan(mail_settings)
    scan(mail_settings)
    assert len(mailbox.to(agent.email)) == 2
    with db.reading() as s:
        notices = list(s.scalars(select(CommitmentNotice).order_by(CommitmentNotice.id)))
        kinds = {e.kind for e in s.scalars(select(OutboundEmail))}
    assert [(n.kind, n.minutes_before) for n in notices] == [("reminder", 120), ("reminder", 30)]
    assert kinds == {"reminder"}
    assert state_of(db, commitment_id) == "open"
    assert audit_verbs(db, "commitment").count("commitment.remind") == 2


def test_a_late_promise_only_gets_the_reminders_still_ahead(db, agent, fixed_clock,
                                                            mail_settings, smtp_server, scan):
    _, _, mailbox = smtp_server
    ids = make_case(db, agent.id)
    promise(db, agent, ids["case"], hours=1)         # made inside the 2 h window
    fixed_clock.advance(minutes=10)
    scan(mail_settings)
    assert mailbox.to(agent.email) == []
    fixed_clock.advance(minutes=25)                  # 25 min left
    scan(mail_settings)
    assert len(mailbox.to(agent.email)) == 1


def test_missed_promise_is_broken_alerted_and_counted(db, agent, fixed_clock, mail_settings,
                                                       smtp_server, scan):
    _, _, mailbox = smtp_server
    ids = make_case(db, agent.id)
    missed = promise(db, agent, ids["case"], hours=1)
    kept = promise(db, agent, ids["case"], hours=1, kind="refund")
    with db.transaction() as s:
        do_keep_commitment(s, agent.actor, access_commitment(s, agent.actor, kept))
    fixed_clock.advance(hours=1, minutes=1)
    scan(mail_settings)
    scan(mail_settings)
    assert state_of(db, missed) == "broken" and state_of(db, kept) == "kept"
    alerts = [m for m in mailbox.to(agent.email) if m["Subject"].startswith("Promesa incumplida")]
    assert len(alerts) == 1
    assert "ahora cuenta como incumplida" in alerts[0].get_content()
    assert "commitment.break" in audit_verbs(db, "commitment")
    with db.reading() as s:
        stats = promise_stats(s)
        alone = promise_stats(s, owner_id=agent.id, since=fixed_clock.now - timedelta(days=1))
        later = promise_stats(s, since=fixed_clock.now + timedelta(days=1))
    assert (stats.kept, stats.broken, stats.rate) == (1, 1, 0.5)
    assert alone.groups[0].rate == 0.5 and alone.groups[0].name == "Alberto Agente"
    assert later.rate is None


def test_promise_waiting_on_a_silent_customer_is_cancelled_not_broken(
    db, agent, fixed_clock, mail_settings, smtp_server, scan
):
    _, _, mailbox = smtp_server
    ids = make_case(db, agent.id)
    waiting = promise(db, agent, ids["case"], hours=1, depends_on_customer=True,
                      condition="si nos envía el ticket")
    fixed_clock.advance(hours=2)
    scan(mail_settings)
    assert state_of(db, waiting) == "cancelled"
    assert not [m for m in mailbox.messages if "incumplida" in m["Subject"]]
    with db.reading() as s:
        assert promise_stats(s).rate is None


def test_auto_update_reaches_the_customer_once(client, db, agent, manager, fixed_clock,
                                               mail_settings, smtp_server, scan):
    _, _, mailbox = smtp_server
    settings = {"update_mode": "auto_update", "update_interval_hours": 2}
    assert client.patch("/api/v1/commitments/settings", json=settings,
                        headers=manager.headers).status_code == 200
    ids = make_case(db, agent.id)                    # opened Tuesday 10:00 in Madrid
    fixed_clock.advance(minutes=30)
    reply(db, agent.actor, ids["case"], "Lo sentimos mucho. Le llamaremos el jueves a las 10.")
    fixed_clock.advance(hours=1, minutes=50)         # 12:20: under 2 business hours
    scan(mail_settings)
    assert not [m for m in mailbox.to("lucia@example.es") if "Novedades" in m["Subject"]]

    fixed_clock.advance(minutes=15)                  # 12:35: the update is due
    scan(mail_settings)
    scan(mail_settings)
    updates = [m for m in mailbox.to("lucia@example.es") if "Novedades" in m["Subject"]]
    assert len(updates) == 1
    assert updates[0]["Subject"] == f"Novedades sobre su caso MC-{ids['case']}"
    body = updates[0].get_content()
    assert f"MC-{ids['case']}" in body and "sentimos" in body
    assert "Le llamaremos el jueves a las 10" in body
    assert "Volverá a saber de nosotros como muy tarde el martes, 10 de marzo, 14:35" in body
    with db.reading() as s:
        [update] = list(s.scalars(select(ProgressUpdate)))
    assert update.mode == "auto_update" and update.to_address == "lucia@example.es"
    assert "progress_update.send" in audit_verbs(db, "case")

    # A reply resets the clock: no update until 2 business hours after it.
    fixed_clock.advance(minutes=30)
    reply(db, agent.actor, ids["case"], "Seguimos con ello, Lucía.")
    fixed_clock.advance(hours=1, minutes=30)
    scan(mail_settings)
    assert len([m for m in mailbox.to("lucia@example.es") if "Novedades" in m["Subject"]]) == 1
    listed = client.get(f"/api/v1/cases/{ids['case']}/progress-updates", headers=agent.headers)
    assert [u["mode"] for u in listed.json()] == ["auto_update"]


def test_remind_owner_mode_writes_to_the_owner(db, agent, fixed_clock, mail_settings,
                                               smtp_server, scan):
    _, _, mailbox = smtp_server
    ids = make_case(db, agent.id)
    fixed_clock.advance(hours=23)                    # Wednesday 09:00: 8 business hours
    scan(mail_settings)
    assert mailbox.to(agent.email) == []
    fixed_clock.advance(hours=1)                     # Wednesday 10:00: 9 business hours
    scan(mail_settings)
    scan(mail_settings)
    [reminder] = mailbox.to(agent.email)
    assert reminder["Subject"] == f"Lucía Fernández espera noticias de MC-{ids['case']}"
    assert mailbox.to("lucia@example.es") == []
    assert commitments_of(db, ids["case"]) == []
