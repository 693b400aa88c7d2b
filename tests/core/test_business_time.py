from datetime import UTC, datetime

from meaculpa.core.business_time import WorkingTime

HOURS = {d: [["09:00", "14:00"], ["15:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
MADRID = WorkingTime.from_settings("Europe/Madrid", HOURS, ["2026-12-08"])


def madrid(*args: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(*args, tzinfo=ZoneInfo("Europe/Madrid"))


def test_hours_roll_over_lunch_nights_weekends_and_holidays():
    # Friday 17:00 + 4 working hours: 1 h on Friday, 3 h on Monday from 9:00 -> 12:00.
    assert MADRID.add_business_hours(madrid(2026, 12, 4, 17, 0), 4) == madrid(2026, 12, 7, 12, 0)
    # Before lunch, across it: 13:00 + 2 h -> 16:00.
    assert MADRID.add_business_hours(madrid(2026, 12, 7, 13, 0), 2) == madrid(2026, 12, 7, 16, 0)
    # Monday 17:30 + 1 h, Tuesday 8 December is a holiday -> Wednesday 9:30.
    assert MADRID.add_business_hours(madrid(2026, 12, 7, 17, 30), 1) == madrid(2026, 12, 9, 9, 30)
    # Sunday night counts from Monday's opening.
    assert MADRID.add_business_hours(madrid(2026, 12, 6, 23, 0), 0.5) == madrid(2026, 12, 7, 9, 30)
    assert MADRID.add_business_hours(madrid(2026, 12, 4, 17, 0), 4).tzinfo == UTC


def test_hours_between_and_open():
    assert (
        MADRID.business_hours_between(madrid(2026, 12, 4, 17, 0), madrid(2026, 12, 7, 12, 0)) == 4
    )
    assert MADRID.is_open(madrid(2026, 12, 7, 10, 0))
    assert not MADRID.is_open(madrid(2026, 12, 7, 14, 30))
    assert not MADRID.is_open(madrid(2026, 12, 8, 10, 0))
    cal = MADRID.calendar()
    assert cal.opens.hour == 9 and cal.closes.hour == 18 and 4 in cal.working_weekdays
