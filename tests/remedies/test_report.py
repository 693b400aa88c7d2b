"""The cost report: delivered remedies summed per currency by error type, team, kind, month."""

from __future__ import annotations

from datetime import UTC, datetime

from meaculpa.core.clock import override
from meaculpa.remedies.actions import do_deliver_remedy
from meaculpa.remedies.models import Remedy
from tests.remedies.helpers import new_customer, new_error, open_case, put_in_team


def deliver(client, db, case_id, person, approver, *, amount, currency="EUR", kind="refund",
            at=None, error_id=None, state="delivered"):
    body = {"kind": kind}
    if amount is not None:
        body |= {"amount": amount, "currency": currency}
    if error_id is not None:
        body["error_id"] = error_id
    rid = client.post(f"/api/v1/cases/{case_id}/remedies", json=body,
                      headers=person.headers).json()["id"]
    if state == "proposed":
        return rid
    assert client.post(f"/api/v1/remedies/{rid}/approve",
                       headers=approver.headers).status_code == 200
    if state == "approved":
        return rid
    # Delivered through the action, on a clock set to ``at``.
    with override(lambda: at), db.transaction() as s:
        do_deliver_remedy(s, person.actor, s.get(Remedy, rid))
    return rid


def report(client, manager, **params):
    answer = client.get("/api/v1/remedies/report", params=params, headers=manager.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_report_sums_by_error_type_team_kind_and_month(client, db, agent, other_agent, manager,
                                                       admin):
    north = put_in_team(db, agent.id, "Norte")
    south = put_in_team(db, other_agent.id, "Sur")
    lucia, pablo, ana = (new_customer(db, f"{n}@example.es", n) for n in ("lucia", "pablo", "ana"))
    calc = new_error(db, [lucia, pablo], type_="calculation")
    late = new_error(db, [pablo], type_="delivery", title="Late parcel")
    c1 = open_case(db, lucia, owner_id=agent.id)
    c2 = open_case(db, pablo, owner_id=other_agent.id)
    c3 = open_case(db, ana, owner_id=agent.id)
    march = datetime(2026, 3, 10, 9, tzinfo=UTC)
    april = datetime(2026, 4, 2, 9, tzinfo=UTC)
    deliver(client, db, c1, agent, manager, amount="30.00", at=march)                   # calc
    deliver(client, db, c1, agent, manager, amount="12.50", kind="credit", at=april)    # calc
    deliver(client, db, c2, other_agent, manager, amount="100", at=march, error_id=late)  # Sur
    deliver(client, db, c2, other_agent, admin, amount="7", currency="USD", at=march,
            error_id=calc)                                                          # calc, Sur
    deliver(client, db, c3, agent, manager, amount=None, kind="gift_or_surprise", at=april)
    deliver(client, db, c3, agent, admin, amount="999", at=datetime(2026, 6, 1, tzinfo=UTC))
    deliver(client, db, c3, agent, manager, amount="40", state="approved")   # not delivered
    deliver(client, db, c3, agent, manager, amount="40", state="proposed")

    by_type = report(client, manager, **{"from": "2026-03-01", "to": "2026-04-30"})
    assert by_type["from"] == "2026-03-01" and by_type["group_by"] == "error_type"
    rows = {(r["group"], r["currency"]): (r["delivered_count"], r["total"])
            for r in by_type["rows"]}
    assert rows == {
        ("calculation", "EUR"): (2, "42.50"),
        ("calculation", "USD"): (1, "7.00"),
        ("delivery", "EUR"): (1, "100.00"),
        (None, None): (1, None),
    }
    totals = {t["currency"]: (t["delivered_count"], t["total"]) for t in by_type["totals"]}
    assert totals == {"EUR": (3, "142.50"), "USD": (1, "7.00"), None: (1, None)}

    by_team = report(client, manager, group_by="team", **{"from": "2026-03-01", "to": "2026-04-30"})
    rows = {(r["label"], r["currency"]): (r["delivered_count"], r["total_minor"])
            for r in by_team["rows"]}
    assert rows == {("Norte", "EUR"): (2, 4250), ("Norte", None): (1, 0),
                    ("Sur", "EUR"): (1, 10000), ("Sur", "USD"): (1, 700)}
    assert {r["group"] for r in by_team["rows"]} == {str(north), str(south)}

    by_kind = report(client, manager, group_by="kind", **{"from": "2026-03-01", "to": "2026-03-31"})
    rows = {(r["group"], r["currency"]): r["total"] for r in by_kind["rows"]}
    assert rows == {("refund", "EUR"): "130.00", ("refund", "USD"): "7.00"}

    by_month = report(client, manager, group_by="month",
                      **{"from": "2026-01-01", "to": "2026-06-30"})
    rows = {(r["group"], r["currency"]): (r["delivered_count"], r["total_minor"])
            for r in by_month["rows"]}
    assert rows == {("2026-03", "EUR"): (2, 13000), ("2026-03", "USD"): (1, 700),
                    ("2026-04", "EUR"): (1, 1250), ("2026-04", None): (1, 0),
                    ("2026-06", "EUR"): (1, 99900)}
    # The last day is included; an empty period is empty.
    june = report(client, manager, **{"from": "2026-06-01", "to": "2026-06-01"})
    assert june["totals"] == [{"currency": "EUR", "delivered_count": 1, "total_minor": 99900,
                               "total": "999.00"}]
    assert report(client, manager, **{"from": "2025-01-01", "to": "2025-01-31"})["rows"] == []
