"""Second failures: the flag, the raised severity and the suggested remedy that rises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from meaculpa.cases.models import Case
from meaculpa.core.audit import AuditEvent
from meaculpa.core.clock import utcnow
from meaculpa.messages.actions import do_ingest_message
from meaculpa.messages.schemas import InboundMessage
from meaculpa.remedies.models import SecondFailure
from meaculpa.remedies.queries import Policy, months_before, repeat_failure
from meaculpa.remedies.schemas import RemedyKind
from meaculpa.remedies.suggest import RepeatFailure, suggest_remedy
from tests.remedies.helpers import new_customer, new_error, open_case


def case_row(db, case_id):
    with db.reading() as s:
        return s.get(Case, case_id)


def flag_of(db, case_id):
    with db.reading() as s:
        return s.scalar(select(SecondFailure).where(SecondFailure.case_id == case_id))


def test_a_second_case_in_the_window_raises_severity_and_the_suggestion(client, db, agent):
    customer = new_customer(db)
    first = open_case(db, customer, owner_id=agent.id, at=utcnow() - timedelta(days=40))
    assert case_row(db, first).severity == "medium" and flag_of(db, first) is None
    stranger = open_case(db, new_customer(db, "otro@example.es", "Otro"), owner_id=agent.id)
    second = open_case(db, customer, owner_id=agent.id)
    assert case_row(db, second).severity == "high"
    flag = flag_of(db, second)
    assert flag.prior_cases == 1 and flag.prior_errors == 0 and flag.window_months == 6
    assert (flag.severity_before, flag.severity_after) == ("medium", "high")
    with db.reading() as s:
        events = list(s.scalars(
            select(AuditEvent).where(AuditEvent.object_id == str(second),
                                     AuditEvent.object_type == "case").order_by(AuditEvent.id)
        ))
    verbs = [(e.verb, e.actor_label) for e in events]
    assert ("case.update", "second-failure") in verbs
    assert ("case.second_failure", "second-failure") in verbs
    update = next(e for e in events if e.verb == "case.update")
    assert update.before == {"severity": "medium"} and update.after == {"severity": "high"}

    plain = client.get(f"/api/v1/cases/{stranger}/remedies", headers=agent.headers).json()
    repeat = client.get(f"/api/v1/cases/{second}/remedies", headers=agent.headers).json()
    assert plain["second_failure"] is None and plain["suggestion"]["repeat"] is False
    assert plain["suggestion"]["level"] == 2
    assert repeat["second_failure"]["prior_cases"] == 1
    assert repeat["second_failure"]["severity_after"] == "high"
    assert repeat["suggestion"]["repeat"] is True and repeat["suggestion"]["level"] == 4
    assert repeat["suggestion"]["kind"] == "compensation"
    assert repeat["suggestion"]["amount"] == "150.00"
    assert repeat["suggestion"]["currency"] == "EUR"


def test_outside_the_window_nothing_happens_and_the_window_is_the_policys(client, db, agent,
                                                                        admin):
    customer = new_customer(db)
    open_case(db, customer, owner_id=agent.id, at=utcnow() - timedelta(days=250))
    later = open_case(db, customer, owner_id=agent.id)
    assert flag_of(db, later) is None and case_row(db, later).severity == "medium"
    saved = client.put("/api/v1/remedy-policy", json={"repeat_window_months": 12},
                       headers=admin.headers)
    assert saved.status_code == 200
    third = open_case(db, customer, owner_id=agent.id, severity="critical")
    flag = flag_of(db, third)
    assert flag.prior_cases == 2 and flag.window_months == 12
    # Critical stays critical; the flag is still recorded.
    assert (flag.severity_before, flag.severity_after) == ("critical", "critical")
    assert case_row(db, third).severity == "critical"
    listing = client.get(f"/api/v1/cases/{third}/remedies", headers=agent.headers).json()
    assert listing["suggestion"]["level"] == 5
    assert listing["suggestion"]["kind"] == "upgrade_or_better_service"


def test_errors_that_hit_the_customer_count_from_the_second(db, agent):
    customer = new_customer(db)
    new_error(db, [customer], title="Double charge")
    one = open_case(db, customer, owner_id=agent.id, subject="Me cobrasteis dos veces")
    assert flag_of(db, one) is None          # the case is about that error
    other = new_customer(db, "pablo@example.es", "Pablo")
    new_error(db, [other], title="Double charge again")
    new_error(db, [other], type_="delivery", title="Late parcel")
    case_id = open_case(db, other, owner_id=agent.id)
    flag = flag_of(db, case_id)
    assert flag.prior_errors == 2 and flag.prior_cases == 0 and flag.failures == 1
    assert case_row(db, case_id).severity == "high"
    # Errors detected before the window do not count.
    old = new_customer(db, "ana@example.es", "Ana")
    long_ago = utcnow() - timedelta(days=400)
    new_error(db, [old], at=long_ago, title="Old one")
    new_error(db, [old], at=long_ago, title="Old two")
    assert flag_of(db, open_case(db, old, owner_id=agent.id)) is None


def test_a_message_after_resolution_opens_a_flagged_case(db, agent):
    from meaculpa.cases.actions import do_update_case
    from meaculpa.core.audit import Actor

    def write(text):
        with db.transaction() as s:
            outcome = do_ingest_message(s, Actor.system(), InboundMessage.model_validate({
                "channel": "email", "text": text,
                "customer": {"identities": [{"kind": "email", "value": "rosa@example.es"}]},
            }))
            return outcome.case.id

    first = write("El pedido llegó roto.")
    assert flag_of(db, first) is None
    with db.transaction() as s:
        do_update_case(s, Actor.system(), s.get(Case, first), status="resolved")
    second = write("Y el cambio también llegó roto.")
    assert second != first
    assert flag_of(db, second).prior_cases == 1
    assert case_row(db, second).severity == "high"


def test_repeat_failure_query_and_suggestion_rules(db, agent):
    customer = new_customer(db)
    at = datetime(2026, 3, 31, 12, tzinfo=UTC)
    earlier = open_case(db, customer, owner_id=agent.id, at=at - timedelta(days=10))
    current = open_case(db, customer, owner_id=agent.id, at=at)
    with db.reading() as s:
        history = repeat_failure(s, customer, at - timedelta(days=30), before_case_id=current)
        assert (history.prior_cases, history.prior_errors, history.is_repeat) == (1, 0, True)
        none = repeat_failure(s, customer, at - timedelta(days=30), before_case_id=earlier)
        assert none.count == 0 and not none.is_repeat
    assert months_before(at, 1) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert months_before(at, 13) == datetime(2025, 2, 28, 12, tzinfo=UTC)
    assert months_before(datetime(2024, 3, 31, tzinfo=UTC), 1).day == 29

    class Thing:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    policy = Policy()
    first_time = RepeatFailure(0, 0, 6)
    again = RepeatFailure(1, 0, 6)
    low = Thing(severity="low")
    customer_row = Thing(failures_count=0)
    first = suggest_remedy(low, customer_row, first_time, policy)
    assert first.kind is RemedyKind.replacement_or_redo
    assert suggest_remedy(low, customer_row, first_time, policy).amount is None
    assert suggest_remedy(low, customer_row, again, policy).level == 2
    assert str(suggest_remedy(low, customer_row, again, policy).amount) == "15.00"
    high = suggest_remedy(Thing(severity="high"), customer_row, first_time, policy)
    assert high.amount_minor == 5000
    # A customer hurt by three errors in all gets at least level 3.
    assert suggest_remedy(low, Thing(failures_count=3), first_time, policy).level == 3
    # Hints follow the organisation's currency and limits.
    yen = Policy(currency="JPY", limits={("agent", "JPY"): 7000, ("manager", "JPY"): 70000})
    hint = suggest_remedy(Thing(severity="medium"), customer_row, first_time, yen)
    assert (hint.amount_minor, hint.currency) == (2100, "JPY")
    nothing = suggest_remedy(Thing(severity="medium"), customer_row, first_time,
                             Policy(currency="USD"))
    assert nothing.amount is None and nothing.kind is RemedyKind.gift_or_surprise
