"""Recovery figures computed from real cases, replies and status changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meaculpa.cases.actions import do_open_case, do_reopen_case, do_update_case
from meaculpa.core.clock import override
from meaculpa.customers.actions import do_create_customer
from meaculpa.customers.schemas import CustomerCreate
from meaculpa.messages.actions import do_add_reply
from meaculpa.messages.schemas import ReplyIn

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float):
    moment = T0 + timedelta(hours=hours)
    return override(lambda: moment)


def make_case(db, actor, email, language="es"):
    with at(0), db.transaction() as s:
        customer = do_create_customer(s, actor, CustomerCreate.model_validate(
            {"name": "Cliente", "language": language,
             "identities": [{"kind": "email", "value": email}]}))
        case = do_open_case(s, actor, customer, channel="email", owner_id=actor.id)
        return case.id


def step(db, actor, case_id, hours, fn):
    from meaculpa.cases.models import Case

    with at(hours), db.transaction() as s:
        fn(s, s.get(Case, case_id))


def test_recovery_figures(db, client, agent, manager):
    a = agent.actor
    first = make_case(db, a, "uno@example.es")
    second = make_case(db, a, "two@example.com", language="en")
    step(db, a, first, 1, lambda s, c: do_add_reply(s, a, c, ReplyIn(
        text="Hemos recibido su mensaje y lo estamos revisando.")))
    step(db, a, first, 3, lambda s, c: do_add_reply(s, a, c, ReplyIn(
        text="Sentimos mucho el error con su pedido; le devolvemos el importe hoy.")))
    step(db, a, first, 10, lambda s, c: do_update_case(s, a, c, status="resolved"))
    step(db, a, first, 30, lambda s, c: do_reopen_case(s, a, c, reason="sigue mal"))
    step(db, a, second, 5, lambda s, c: do_add_reply(s, a, c, ReplyIn(
        text="We are so sorry for the double charge. The refund goes out today.")))
    step(db, a, second, 6, lambda s, c: do_update_case(s, a, c, status="resolved"))

    query = "/api/v1/analytics/recovery?from=2026-03-01&to=2026-03-31"
    assert client.get(query, headers=agent.headers).status_code == 403
    r = client.get(query, headers=manager.headers)
    assert r.status_code == 200, r.text
    [group] = r.json()["groups"]
    assert group["cases"] == 2 and group["apologised_share"] == 1.0
    # First apologies after 3 h (the acknowledgement at 1 h is not one) and 5 h.
    assert group["hours_to_first_apology_median"] == 4.0
    # The reopened case is no longer resolved; the other took 6 h.
    assert group["resolved"] == 1 and group["hours_to_resolution_median"] == 6.0
    assert group["reopen_rate"] == 0.5
    by_month = client.get(query + "&group_by=month", headers=manager.headers).json()
    assert [g["key"] for g in by_month["groups"]] == ["2026-03"]
    empty = client.get("/api/v1/analytics/recovery?from=2026-04-01&to=2026-04-30",
                       headers=manager.headers).json()
    assert empty["groups"] == []
    bad = client.get("/api/v1/analytics/recovery?from=2026-05-01&to=2026-04-01",
                     headers=manager.headers)
    assert bad.status_code == 422
    assert client.get(query + "&group_by=colour", headers=manager.headers).status_code == 422


def test_promises_count_in_the_figures(db, client, agent, manager):
    from meaculpa.commitments.models import Commitment

    a = agent.actor
    case_id = make_case(db, a, "tres@example.es")
    with at(1), db.transaction() as s:
        from meaculpa.cases.models import Case

        case = s.get(Case, case_id)
        for state in ("kept", "kept", "broken", "open", "cancelled"):
            s.add(Commitment(case_id=case_id, customer_id=case.customer_id, owner_id=a.id,
                             kind="call_back", state=state,
                             due_at=T0 + timedelta(hours=5)))
    r = client.get("/api/v1/analytics/recovery?from=2026-03-01&to=2026-03-31",
                   headers=manager.headers).json()
    [group] = r["groups"]
    assert (group["promises_kept"], group["promises_broken"]) == (2, 1)
    assert group["promise_keeping_rate"] == 0.667
