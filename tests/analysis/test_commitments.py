from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from meaculpa.analysis import BusinessCalendar, extract_commitments

MADRID = ZoneInfo("Europe/Madrid")
SENT = datetime(2026, 3, 10, 15, 0, tzinfo=MADRID)  # a Tuesday


def only(text: str, sent: datetime = SENT, tz: str = "Europe/Madrid", **kw: object):
    found = extract_commitments(text, sent, tz, **kw)  # type: ignore[arg-type]
    assert len(found) == 1, found
    return found[0]


def test_tomorrow_before_noon_resolves_to_local_noon() -> None:
    c = only("Le llamaremos mañana antes de las 12.")
    assert c.action == "call_back"
    assert c.due_local == datetime(2026, 3, 11, 12, 0, tzinfo=MADRID)
    assert c.due_utc == datetime(2026, 3, 11, 11, 0, tzinfo=UTC)
    assert c.due_utc is not None and c.due_utc.tzinfo is UTC
    assert c.due_text == "mañana antes de las 12"
    assert not c.depends_on_customer


def test_business_days_skip_weekend_and_holidays() -> None:
    friday = datetime(2026, 3, 13, 10, 0, tzinfo=MADRID)
    cal = BusinessCalendar.create(holidays=["2026-03-19"])
    c = only("Le reembolsaremos el importe en 5 días hábiles.", friday, calendar=cal)
    # Mon 16, Tue 17, Wed 18, (Thu 19 holiday), Fri 20, Mon 23
    assert c.action == "refund"
    assert c.due_local == datetime(2026, 3, 23, 18, 0, tzinfo=MADRID)
    assert c.due_basis == "business_days"
    assert c.on_working_day is True


def test_calendar_closing_time_and_weekdays_are_used() -> None:
    cal = BusinessCalendar.create(working_weekdays=[0, 1, 2, 3, 4, 5], closes="20:00")
    saturday = datetime(2026, 3, 13, 10, 0, tzinfo=MADRID)  # Friday -> 1 working day = Saturday
    c = only("Le enviaremos un nuevo router en 1 día hábil.", saturday, calendar=cal)
    assert c.action == "deliver"
    assert c.due_local == datetime(2026, 3, 14, 20, 0, tzinfo=MADRID)


def test_within_hours_is_exact_and_converted_to_utc() -> None:
    c = only("We will refund you within 48 hours.")
    assert c.due_utc == datetime(2026, 3, 12, 14, 0, tzinfo=UTC)


def test_by_friday_in_customer_time_zone_with_dst() -> None:
    sent = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    c = only("We'll send a replacement by Friday 5pm.", sent, tz="America/New_York")
    assert c.action == "deliver"
    assert c.due_local == datetime(2026, 3, 13, 17, 0, tzinfo=ZoneInfo("America/New_York"))
    assert c.due_utc == datetime(2026, 3, 13, 21, 0, tzinfo=UTC)  # EDT, -4


def test_depends_on_customer_and_vague_time() -> None:
    c = only("Please DM us your order number and we'll look into it.")
    assert c.action == "investigate"
    assert c.depends_on_customer
    assert c.condition is not None and "DM" in c.condition
    v = only("Le mantendremos informado lo antes posible.")
    assert v.action == "update" and v.due_utc is None and v.vague


def test_spanish_condition_and_explicit_date() -> None:
    c = only("Si nos envía la factura, le abonaremos la diferencia el 20 de marzo.")
    assert c.action == "refund" and c.depends_on_customer
    assert c.due_local == datetime(2026, 3, 20, 18, 0, tzinfo=MADRID)


def test_negated_and_non_promises_are_ignored() -> None:
    assert extract_commitments("No le reembolsaremos el importe.", SENT, "Europe/Madrid") == []
    assert extract_commitments("You can reset your password on our site.", SENT, "UTC") == []
    assert extract_commitments("", SENT, "UTC") == []


def test_two_actions_in_one_sentence() -> None:
    found = extract_commitments(
        "Revisaremos su caso y le diremos algo en 24 horas.", SENT, "Europe/Madrid"
    )
    assert [c.action for c in found] == ["investigate", "update"]
    assert all(c.due_utc == datetime(2026, 3, 11, 14, 0, tzinfo=UTC) for c in found)


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError):
        extract_commitments("We'll call you.", datetime(2026, 3, 10, 15, 0), "UTC")
    with pytest.raises(ValueError):
        extract_commitments("We'll call you.", SENT, "Mars/Olympus")
    with pytest.raises(ValueError):
        BusinessCalendar.create(working_weekdays=[])


def test_to_dict_is_json_ready() -> None:
    import json

    d = only("Le llamaremos mañana antes de las 12.").to_dict()
    assert json.loads(json.dumps(d))["due_local"] == "2026-03-11T12:00:00+01:00"
    assert d["analyzer"] == "commitments" and d["version"]


def test_calendar_helpers() -> None:
    cal = BusinessCalendar.create(holidays=[date(2026, 12, 25)], opens=time(8, 0))
    assert cal.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    assert cal.last_working_day_of_week(date(2026, 12, 21)) == date(2026, 12, 24)


def test_refunds_named_by_amount_or_in_the_present_tense():
    from datetime import UTC, datetime

    from meaculpa.analysis import extract_commitments

    sent = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)  # Monday, 10:00 in Madrid
    for text in ("Le devolveremos los 129,00 € en un plazo de 7 días hábiles.",
                 "Te devolvemos el dinero mañana.",
                 "Le devolvemos 45 euros antes del viernes."):
        [promise] = extract_commitments(text, sent, "Europe/Madrid", language="es")
        assert promise.action == "refund" and promise.due_utc is not None, text
