"""API schemas of the followups domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from meaculpa.core.schemas import ReadModel, StrictModel

MAX_COMMENT = 2000
FollowupState = Literal["none", "scheduled", "sent", "answered", "cancelled", "skipped"]
GroupBy = Literal["none", "week", "month", "owner", "channel", "severity", "language"]


class AnswerIn(StrictModel):
    """The customer's answer: really solved or not, 1-5 stars, a comment."""

    solved: bool
    rating: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=MAX_COMMENT)


class FollowupRead(ReadModel):
    id: int
    case_id: int
    customer_id: int
    round: int
    status: str
    status_note: str
    language: str
    resolved_at: datetime
    due_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    cancelled_at: datetime | None
    answered_at: datetime | None
    solved: bool | None
    rating: int | None
    comment: str | None
    reopened_case: bool


class CaseFollowupRead(ReadModel):
    case_id: int
    # The state of the latest follow-up ("none" when the case was never resolved).
    state: FollowupState
    latest: FollowupRead | None
    followups: list[FollowupRead]


class FollowupSettingsRead(ReadModel):
    delay_days: int
    link_days: int


class FollowupSettingsUpdate(StrictModel):
    delay_days: int | None = Field(default=None, ge=0, le=90)
    link_days: int | None = Field(default=None, ge=1, le=365)


class TrackingLinkRead(ReadModel):
    case_id: int
    url: str
    expires_at: datetime


class SatisfactionRow(ReadModel):
    group: str
    sent: int
    answered: int
    response_rate: float | None
    solved: int
    not_solved: int
    solved_rate: float | None
    rated: int
    average_rating: float | None
    ratings: dict[str, int]
