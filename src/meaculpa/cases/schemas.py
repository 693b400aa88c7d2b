from __future__ import annotations

from datetime import datetime

from pydantic import Field

from meaculpa.core.enums import CaseStatus, Channel, Language, Severity
from meaculpa.core.schemas import ReadModel, StrictModel


class CaseRead(ReadModel):
    id: int
    reference: str
    customer_id: int
    owner_id: int | None
    subject: str
    channel: Channel
    language: Language
    severity: Severity
    status: CaseStatus
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_count: int
    message_count: int
    last_message_at: datetime
    updated_at: datetime


class CaseCreate(StrictModel):
    customer_id: int
    subject: str = Field(default="", max_length=300)
    channel: Channel = Channel.web
    language: Language | None = None
    severity: Severity = Severity.medium
    owner_id: int | None = None


class CaseUpdate(StrictModel):
    subject: str | None = Field(default=None, max_length=300)
    severity: Severity | None = None
    status: CaseStatus | None = None
    owner_id: int | None = None
    # Required when ``owner_id`` hands the customer to someone else: what they need to know.
    handover_note: str | None = Field(default=None, max_length=5000)
    language: Language | None = None


class TaskCreate(StrictModel):
    title: str = Field(min_length=1, max_length=300)
    team_id: int | None = None
    assignee_id: int | None = None


class TaskRead(ReadModel):
    id: int
    case_id: int
    title: str
    team_id: int | None
    assignee_id: int | None
    status: str
    created_by_id: int | None
    created_at: datetime
    done_at: datetime | None
    done_by_id: int | None
