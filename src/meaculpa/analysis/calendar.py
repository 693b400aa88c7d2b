"""Business calendar used to resolve promised due times (working days, hours, holidays)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Working weekdays (0 = Monday), opening hours and holiday dates.

    ``closes`` is also the time used when a promise names a day but no hour ("mañana",
    "by Friday", "en 5 días hábiles"): the promise is due when that working day ends.
    """

    working_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    opens: time = time(9, 0)
    closes: time = time(18, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def create(
        cls,
        working_weekdays: Iterable[int] = (0, 1, 2, 3, 4),
        opens: time | str = time(9, 0),
        closes: time | str = time(18, 0),
        holidays: Iterable[date | str] = (),
    ) -> BusinessCalendar:
        """Build a calendar from plain values (ISO strings accepted for times and dates)."""
        days = frozenset(int(d) for d in working_weekdays)
        if not days or any(d < 0 or d > 6 for d in days):
            raise ValueError("working_weekdays must be a non-empty subset of 0..6")
        o = time.fromisoformat(opens) if isinstance(opens, str) else opens
        c = time.fromisoformat(closes) if isinstance(closes, str) else closes
        if o >= c:
            raise ValueError("opening time must be before closing time")
        hol = frozenset(date.fromisoformat(h) if isinstance(h, str) else h for h in holidays)
        return cls(working_weekdays=days, opens=o, closes=c, holidays=hol)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.working_weekdays and day not in self.holidays

    def next_working_day(self, day: date, *, include_today: bool = False) -> date:
        current = day if include_today else day + timedelta(days=1)
        for _ in range(800):
            if self.is_working_day(current):
                return current
            current += timedelta(days=1)
        raise ValueError("calendar has no working day in the next 800 days")

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day after ``day`` (``day`` itself is not counted)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        current = day
        if count == 0:
            return self.next_working_day(day, include_today=True)
        for _ in range(count):
            current = self.next_working_day(current)
        return current

    def last_working_day_of_week(self, day: date) -> date:
        """Last working day of the ISO week containing ``day`` (or ``day`` if none is later)."""
        monday = day - timedelta(days=day.weekday())
        for offset in range(6, -1, -1):
            candidate = monday + timedelta(days=offset)
            if self.is_working_day(candidate):
                return max(candidate, day)
        return day

    def to_dict(self) -> dict[str, Any]:
        return {
            "working_weekdays": sorted(self.working_weekdays),
            "opens": self.opens.isoformat(timespec="minutes"),
            "closes": self.closes.isoformat(timespec="minutes"),
            "holidays": sorted(d.isoformat() for d in self.holidays),
        }


DEFAULT_CALENDAR = BusinessCalendar()
