"""API shapes of the commitments domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from meaculpa.core.schemas import ReadModel, StrictModel

Kind = Literal["call_back", "write", "refund", "deliver", "visit", "update", "investigate"]
State = Literal["open", "kept", "broken", "cancelled"]
UpdateMode = Literal["remind_owner", "auto_update"]


class CommitmentCreate(StrictModel):
    """A promise made by hand. ``due_at`` must carry its offset (e.g. ``+01:00`` or ``Z``)."""

    kind: Kind
    due_at: AwareDatetime
    description: str = Field(default="", max_length=2000)
    depends_on_customer: bool = False
    condition: str | None = Field(default=None, max_length=500)


class KeepIn(StrictModel):
    note: str | None = Field(default=None, max_length=2000)


class CancelIn(StrictModel):
    reason: str = Field(min_length=1, max_length=2000)


class CommitmentRead(ReadModel):
    id: int
    case_id: int
    customer_id: int
    owner_id: int | None
    kind: str
    description: str
    due_at: datetime | None
    # The due time in the customer's time zone, and that zone.
    due_local: datetime | None = None
    customer_timezone: str | None = None
    due_text: str | None
    depends_on_customer: bool
    condition: str | None
    source: str
    message_id: int | None
    state: str
    overdue: bool = False
    created_at: datetime
    created_by_id: int | None
    kept_at: datetime | None
    kept_by_id: int | None
    kept_note: str | None
    broken_at: datetime | None
    cancelled_at: datetime | None
    cancelled_by_id: int | None
    cancel_reason: str | None


class SettingsRead(ReadModel):
    reminder_minutes: list[int]
    updates_enabled: bool
    update_interval_hours: float
    update_mode: str


class SettingsUpdate(StrictModel):
    reminder_minutes: list[int] | None = Field(default=None, max_length=6)
    updates_enabled: bool | None = None
    update_interval_hours: float | None = Field(default=None, gt=0, le=24 * 30)
    update_mode: UpdateMode | None = None

    @field_validator("reminder_minutes")
    @classmethod
    def _sane_minutes(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        if any(m < 1 or m > 7 * 24 * 60 for m in value):
            raise ValueError("each reminder is 1 to 10080 minutes before the due time")
        return sorted(set(value), reverse=True)


class StatsGroup(ReadModel):
    id: int | None
    name: str
    kept: int
    broken: int
    rate: float | None


class StatsRead(ReadModel):
    """The promise-keeping rate: kept / (kept + broken), of promises due in the period."""

    since: datetime | None
    until: datetime | None
    kept: int
    broken: int
    open: int
    cancelled: int
    rate: float | None
    group_by: str
    groups: list[StatsGroup]


class ProgressUpdateRead(ReadModel):
    id: int
    case_id: int
    mode: str
    due_at: datetime
    sent_at: datetime
    next_due_at: datetime | None
    email_id: int | None
    to_address: str | None
    language: str
