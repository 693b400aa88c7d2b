"""Outbound e-mail: queued in the caller's transaction, sent once to a real SMTP server."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.core.audit import Actor
from meaculpa.jobs.models import Job
from meaculpa.jobs.runner import Runner
from meaculpa.notifications.actions import Recipient, do_queue_email
from meaculpa.notifications.models import OutboundEmail

SYSTEM = Actor.system("test")


def queue(db, **extra):
    with db.transaction() as s:
        email = do_queue_email(
            s, SYSTEM, to=Recipient("lucia@example.es", "Lucía Fernández"),
            subject="Sentimos el cobro duplicado", text="Hola Lucía,\nLo sentimos mucho.",
            kind="apology", mail_domain="olivar.example", language="es", **extra,
        )
        return email.id, email.message_id


def test_email_is_sent_once_with_threading_headers(db, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    email_id, message_id = queue(db, in_reply_to="<abc@cliente.example>",
                                 references=["<abc@cliente.example>"])
    runner = Runner(db, name="w1", settings=mail_settings)
    assert runner.run_pending() == 1
    [received] = mailbox.messages
    assert received["Message-ID"] == message_id
    assert received["In-Reply-To"] == "<abc@cliente.example>"
    assert received["Subject"] == "Sentimos el cobro duplicado"
    assert "Lucía" in received.get_content()
    assert received["From"] == "Olivar Hogar <atencion@olivar.example>"
    assert received["Content-Language"] == "es"
    with db.reading() as s:
        email = s.get(OutboundEmail, email_id)
        assert email.status == "sent" and email.sent_at is not None
        # The job is done; running it again would not send again.
        job = s.scalar(select(Job).where(Job.kind == "notifications.send_email"))
        assert job.status == "done"
    from meaculpa.notifications.jobs import send_email

    send_email(db, {"email_id": email_id})
    assert len(mailbox.messages) == 1


def test_without_smtp_the_email_is_held_not_lost(db, settings):
    email_id, _ = queue(db)
    Runner(db, name="w1", settings=settings).run_pending()
    with db.reading() as s:
        email = s.get(OutboundEmail, email_id)
        assert email.status == "held" and "MEACULPA_SMTP_HOST" in email.last_error


def test_unreachable_server_is_retried(db, settings):
    broken = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 9,
                                         "smtp_timeout_seconds": 2})
    email_id, _ = queue(db)
    Runner(db, name="w1", settings=broken).run_pending()
    with db.reading() as s:
        email = s.get(OutboundEmail, email_id)
        job = s.scalar(select(Job).where(Job.kind == "notifications.send_email"))
    assert email.status == "failed" and email.last_error
    assert job.status == "queued" and job.attempts == 1 and "ConnectionRefused" in job.last_error


def test_bad_address_is_refused(db):
    import pytest

    from meaculpa.core.exceptions import Invalid

    with pytest.raises(Invalid), db.transaction() as s:
        do_queue_email(s, SYSTEM, to=Recipient("not an address"), subject="x", text="y",
                       kind="notice", mail_domain="x.example")
    with db.reading() as s:
        assert s.scalar(select(OutboundEmail.id)) is None
