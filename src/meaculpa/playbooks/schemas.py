"""API shapes of the playbooks domain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from meaculpa.core.enums import ErrorType, Severity
from meaculpa.core.schemas import ReadModel, StrictModel

MAX_TEMPLATE = 5_000
MAX_HOURS = 2_000.0


class StepKey(StrEnum):
    """The protocol, in its natural order."""

    acknowledge = "acknowledge"
    apologise = "apologise"
    empathise = "empathise"
    explain = "explain"
    remedy = "remedy"
    give_date = "give_date"
    follow_up = "follow_up"


class StepTemplates(StrictModel):
    es: str = Field(min_length=1, max_length=MAX_TEMPLATE)
    en: str = Field(min_length=1, max_length=MAX_TEMPLATE)


class PlaybookStepIn(StrictModel):
    key: StepKey
    # Business hours after the case opened by which the step should be done.
    hours: float = Field(ge=0, le=MAX_HOURS)
    templates: StepTemplates


class PlaybookUpdate(StrictModel):
    steps: list[PlaybookStepIn] = Field(min_length=1, max_length=len(StepKey))
    reason: str = Field(min_length=3, max_length=1_000)
    # The version the editor started from; a newer stored version is a 409.
    version: int | None = Field(default=None, ge=1)
    # The lesson learned behind the change (optional).
    lesson_id: int | None = Field(default=None, ge=1)

    @field_validator("steps")
    @classmethod
    def _unique_keys(cls, steps: list[PlaybookStepIn]) -> list[PlaybookStepIn]:
        keys = [s.key for s in steps]
        if len(set(keys)) != len(keys):
            raise ValueError("each step may appear once")
        return steps


class PlaybookStepRead(ReadModel):
    key: StepKey
    hours: float
    templates: dict[str, str]


class PlaybookRead(ReadModel):
    id: int
    error_type: ErrorType
    severity: Severity
    version: int
    steps: list[PlaybookStepRead]
    updated_by_id: int | None
    created_at: datetime
    updated_at: datetime


class PlaybookRevisionRead(ReadModel):
    id: int
    playbook_id: int
    version: int
    snapshot: dict[str, Any]
    reason: str
    lesson_id: int | None = None
    author_id: int | None
    author_label: str
    created_at: datetime


class ChecklistStepRead(ReadModel):
    key: StepKey
    position: int
    hours: float
    due_at: datetime
    state: Literal["done", "due", "overdue"]
    done_at: datetime | None
    done_by_id: int | None
    late: bool
    alerted_at: datetime | None


class ChecklistRead(ReadModel):
    case_id: int
    playbook_id: int | None
    error_type: ErrorType
    severity: Severity
    error_id: int | None
    language: str
    steps: list[ChecklistStepRead]


class RenderedTemplate(ReadModel):
    case_id: int
    step: StepKey
    language: str
    text: str


class StepAlertRead(ReadModel):
    id: int
    case_id: int
    step: StepKey
    user_id: int | None
    due_at: datetime
    email_id: int | None
    created_at: datetime
