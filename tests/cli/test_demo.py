"""``meaculpa demo``: a realistic bilingual story, seeded once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from meaculpa.accounts.models import Organisation, Team, User
from meaculpa.accounts.queries import authenticate
from meaculpa.cases.models import Case
from meaculpa.core.audit import AuditEvent
from meaculpa.core.clock import utcnow
from meaculpa.core.enums import CaseStatus, Direction
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, spain_national_holidays
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.messages.models import Message
from tests.cli.conftest import count


def test_demo_seeds_a_realistic_story_once(cli, mdb):
    started = utcnow()
    result = cli("demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert "demo data seeded" in result.output
    assert f"sign in as {DEMO_ADMIN_EMAIL} with the password {DEMO_PASSWORD}" in result.output

    with mdb.reading() as s:
        assert count(mdb, Customer) == 200
        languages = dict(s.execute(
            select(Customer.language, func.count()).group_by(Customer.language)).all())
        assert set(languages) == {"es", "en"}
        assert 0.5 < languages["es"] / 200 < 0.72
        kinds = set(s.scalars(select(CustomerIdentity.kind).distinct()))
        assert {"email", "phone", "whatsapp", "twitter"} <= kinds

        cases = count(mdb, Case)
        assert 220 <= cases <= 270
        statuses = set(s.scalars(select(Case.status).distinct()))
        assert statuses == {status.value for status in CaseStatus}
        directions = set(s.scalars(select(Message.direction).distinct()))
        assert directions == {d.value for d in Direction}
        assert count(mdb, Message) > 3 * cases
        # Counters agree with the messages.
        mismatched = s.scalar(select(func.count()).select_from(Case).where(
            Case.message_count != select(func.count(Message.id))
            .where(Message.case_id == Case.id).scalar_subquery()))
        assert mismatched == 0

        # A plausible past: the last ~60 days, nothing in the future.
        earliest = s.scalar(select(func.min(Message.sent_at)))
        latest = s.scalar(select(func.max(Message.sent_at)))
        assert earliest is not None and latest is not None
        assert started - timedelta(days=75) < earliest < started - timedelta(days=40)
        assert latest <= started
        assert s.scalar(select(func.max(AuditEvent.at))) <= started
        assert s.scalar(select(func.max(Case.opened_at))) <= started

        errors = list(s.scalars(select(Error)))
        assert len(errors) >= 5
        assert len({e.type for e in errors}) >= 5 and len({e.severity for e in errors}) >= 3
        affected = list(s.scalars(select(AffectedCustomer)))
        assert all(e.affected_count > 0 for e in errors)
        assert all("order" in a.details and "amount_eur" in a.details for a in affected)

        verbs = set(s.scalars(select(AuditEvent.verb).distinct()))
        assert {"customer.create", "case.create", "case.update", "message.create",
                "error.create", "error.affected.add", "user.create"} <= verbs

        org = s.scalar(select(Organisation))
        assert org is not None and org.timezone == "Europe/Madrid"
        assert "2026-04-03" in org.holidays and "2027-03-26" in org.holidays
        assert org.business_hours["fri"] == [["08:00", "15:00"]]
        assert count(mdb, Team) == 2
        roles = dict(s.execute(select(User.role, func.count()).group_by(User.role)).all())
        assert roles == {"admin": 1, "manager": 2, "agent": 6}
        assert authenticate(s, DEMO_ADMIN_EMAIL, DEMO_PASSWORD) is not None
        before = (count(mdb, Customer), count(mdb, Case), count(mdb, Message),
                  count(mdb, AuditEvent))

    again = cli("demo", "--no-serve")
    assert again.exit_code == 0, again.output
    assert "nothing was seeded" in again.output
    assert f"sign in as {DEMO_ADMIN_EMAIL}" in again.output
    after = (count(mdb, Customer), count(mdb, Case), count(mdb, Message), count(mdb, AuditEvent))
    assert after == before


def test_the_story_clock_is_put_back(cli, mdb):
    """After seeding, the same process (the server the demo starts) writes the real time."""
    import meaculpa.messages.actions as message_actions
    from meaculpa.core import clock
    from meaculpa.core.audit import Actor, record

    assert cli("demo", "--no-serve", "--customers", "20").exit_code == 0
    assert message_actions.utcnow is clock.utcnow
    before = utcnow()
    with mdb.transaction() as session:
        event = record(session, Actor.system("test"), "test.ping", "test", 1)
        session.flush()
        at = event.at
    assert before <= at <= utcnow()


def test_demo_is_deterministic(mdb, tmp_path):
    from meaculpa.core.db import Database
    from meaculpa.core.migrate import upgrade
    from meaculpa.demo import seed_demo

    now = utcnow()
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    try:
        stories = []
        for db in (mdb, other):
            assert seed_demo(db, customers=20, now=now).seeded
            with db.reading() as s:
                stories.append((
                    list(s.scalars(select(Customer.name).order_by(Customer.id))),
                    list(s.scalars(select(Message.text).order_by(Message.id))),
                    list(s.scalars(select(Message.sent_at).order_by(Message.id))),
                ))
        assert stories[0] == stories[1]
        assert len(stories[0][0]) == 20
    finally:
        other.dispose()


def test_spanish_holidays():
    days = {d.isoformat() for d in spain_national_holidays(2026)}
    assert {"2026-01-01", "2026-01-06", "2026-04-03", "2026-10-12", "2026-12-25"} <= days
    assert "2027-03-26" in {d.isoformat() for d in spain_national_holidays(2027)}
