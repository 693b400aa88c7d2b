"""API schemas of the surveys domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from meaculpa.core.enums import Language
from meaculpa.core.schemas import ReadModel, StrictModel

MAX_COMMENT = 2000
MAX_RECIPIENTS = 5000
Kind = Literal["csat", "nps", "ces"]
InviteStatus = Literal["scheduled", "sent", "answered", "cancelled", "skipped"]
Source = Literal["case", "list"]
GroupBy = Literal["all", "team", "month", "week", "source", "language"]


class SurveySettingsRead(ReadModel):
    after_case: bool
    after_case_kind: Kind
    delay_days: int
    link_days: int
    quiet_days: int
    csat_low: int
    nps_low: int
    ces_high: int


class SurveySettingsUpdate(StrictModel):
    """Only the fields sent change."""

    after_case: bool | None = None
    after_case_kind: Kind | None = None
    delay_days: int | None = Field(default=None, ge=0, le=90)
    link_days: int | None = Field(default=None, ge=1, le=365)
    quiet_days: int | None = Field(default=None, ge=0, le=365)
    csat_low: int | None = Field(default=None, ge=1, le=4)
    nps_low: int | None = Field(default=None, ge=0, le=9)
    ces_high: int | None = Field(default=None, ge=2, le=7)


class QuestionTextRead(ReadModel):
    kind: Kind
    language: Language
    question: str
    comment_question: str
    customised: bool


class QuestionTextUpdate(StrictModel):
    question: str = Field(min_length=1, max_length=300)
    comment_question: str = Field(min_length=1, max_length=300)


class CustomerFilter(StrictModel):
    """Existing customers to survey: every filter given must match."""

    q: str | None = Field(default=None, max_length=200, description="part of the name")
    language: Language | None = None
    owner_id: int | None = None
    customer_ids: list[int] | None = Field(default=None, max_length=MAX_RECIPIENTS)


class Audience(StrictModel):
    """Who receives a list survey: e-mail addresses of known customers, or a filter."""

    # Exactly one of the two (checked by the action, after the send is found).
    emails: list[str] | None = Field(default=None, max_length=MAX_RECIPIENTS)
    filter: CustomerFilter | None = None


class SendCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    audience: Audience | None = None


class RecipientsSummary(ReadModel):
    """What adding recipients did. Each customer is surveyed once per send."""

    invited: int = 0
    already_invited: int = 0
    opted_out: int = 0
    unknown_emails: list[str] = Field(default_factory=list)
    unknown_count: int = 0
    invalid_count: int = 0


class SendRead(ReadModel):
    id: int
    name: str
    kind: Kind
    created_by_id: int | None
    created_at: datetime
    # Invitations of this send by status.
    counts: dict[str, int] = Field(default_factory=dict)


class SendCreated(ReadModel):
    send: SendRead
    recipients: RecipientsSummary | None


class InviteRead(ReadModel):
    id: int
    kind: Kind
    source: Source
    customer_id: int
    case_id: int | None
    send_id: int | None
    owner_id: int | None
    team_id: int | None
    status: InviteStatus
    status_note: str
    language: str
    due_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    answered_at: datetime | None


class ResponseRead(ReadModel):
    id: int
    invite_id: int
    kind: Kind
    score: int
    comment: str | None
    language: str
    customer_id: int
    case_id: int | None
    send_id: int | None
    team_id: int | None
    low: bool
    followup_case_id: int | None
    answered_at: datetime


class AnswerIn(StrictModel):
    """The customer's answer: the score on the survey's scale and an optional comment."""

    score: int
    comment: str = Field(default="", max_length=MAX_COMMENT)


class AnswerRead(ReadModel):
    """What the public answer endpoint tells the customer back."""

    kind: Kind
    score: int
    comment: str | None
    answered_at: datetime


class KindFiguresRead(ReadModel):
    sent: int
    answered: int
    response_rate: float | None
    average: float | None
    low: int
    promoters: int | None
    passives: int | None
    detractors: int | None
    nps: float | None
    scores: dict[str, int]


class GroupResultRead(ReadModel):
    key: str
    sent: int
    answered: int
    response_rate: float | None
    csat: KindFiguresRead
    nps: KindFiguresRead
    ces: KindFiguresRead


class ResultsRead(ReadModel):
    since: datetime
    until: datetime
    group_by: GroupBy
    groups: list[GroupResultRead]

    @classmethod
    def build(cls, since: datetime, until: datetime, group_by: str, groups: list[Any]) -> Any:
        return cls.model_validate(
            {
                "since": since,
                "until": until,
                "group_by": group_by,
                "groups": [g.to_dict() for g in groups],
            }
        )
