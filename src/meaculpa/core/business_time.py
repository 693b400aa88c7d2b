"""The organisation's working time: business hours per weekday, holidays, time zone.

Deadlines of playbook steps, reminders of promises and due dates are counted here, in the
organisation's own calendar (a step due "in 4 business hours" on Friday at 17:00 in Madrid is
due on Monday at 12:00 when the office opens at 9:00 and Friday closes at 18:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from meaculpa.analysis.calendar import BusinessCalendar

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkingTime:
    timezone: ZoneInfo
    # weekday (0 = Monday) -> [(opens, closes), ...] in local time, sorted
    spans: dict[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date]

    @classmethod
    def from_settings(
        cls, timezone: str, business_hours: dict[str, Any], holidays: list[Any]
    ) -> WorkingTime:
        spans: dict[int, tuple[tuple[time, time], ...]] = {}
        for day, ranges in (business_hours or {}).items():
            if day not in DAYS:
                continue
            spans[DAYS.index(day)] = tuple(
                sorted((time.fromisoformat(a), time.fromisoformat(b)) for a, b in ranges)
            )
        hols = frozenset(
            h if isinstance(h, date) else date.fromisoformat(str(h)) for h in holidays or []
        )
        return cls(ZoneInfo(timezone), spans, hols)

    @classmethod
    def of(cls, org: Any) -> WorkingTime:
        """From an :class:`~meaculpa.accounts.models.Organisation` (or anything like it)."""
        return cls.from_settings(org.timezone, org.business_hours, org.holidays)

    def day_spans(self, day: date) -> tuple[tuple[time, time], ...]:
        if day in self.holidays:
            return ()
        return self.spans.get(day.weekday(), ())

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        return any(a <= local.time() < b for a, b in self.day_spans(local.date()))

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` of working time after ``start`` (aware UTC in and out)."""
        if hours < 0:
            raise ValueError("hours must be >= 0")
        remaining = timedelta(hours=hours)
        local = start.astimezone(self.timezone)
        day = local.date()
        for _ in range(3700):  # ten years of days at most
            for opens, closes in self.day_spans(day):
                span_start = datetime.combine(day, opens, self.timezone)
                span_end = datetime.combine(day, closes, self.timezone)
                begin = max(span_start, local) if day == local.date() else span_start
                if begin >= span_end:
                    continue
                available = span_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("the calendar has no working hours")

    def business_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        total = timedelta()
        a, b = start.astimezone(self.timezone), end.astimezone(self.timezone)
        day = a.date()
        while day <= b.date():
            for opens, closes in self.day_spans(day):
                s = max(datetime.combine(day, opens, self.timezone), a)
                e = min(datetime.combine(day, closes, self.timezone), b)
                if e > s:
                    total += e - s
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    def calendar(self) -> BusinessCalendar:
        """The simpler calendar the text analysis resolves promised dates with."""
        if not self.spans:
            return BusinessCalendar.create(holidays=self.holidays)
        opens = min(s[0][0] for s in self.spans.values() if s)
        closes = max(s[-1][1] for s in self.spans.values() if s)
        return BusinessCalendar.create(
            working_weekdays=sorted(d for d, s in self.spans.items() if s),
            opens=opens,
            closes=closes,
            holidays=self.holidays,
        )
