"""API shapes of the improvements domain."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from meaculpa.core.schemas import ReadModel, StrictModel

Purpose = Literal["corrective", "preventive"]
Kind = Literal["playbook_revision", "staff_training", "policy_change", "process_fix", "product_fix"]
Status = Literal["planned", "in_progress", "done", "cancelled"]
Verdict = Literal["pending", "effective", "not_effective", "not_enough_data"]
Lang = Literal["es", "en"]

MAX_LINKS = 20


def _clean_summary(value: dict[Lang, str] | None) -> dict[Lang, str] | None:
    if value is None:
        return None
    cleaned: dict[Lang, str] = {}
    for lang, text in value.items():
        text = text.strip()
        if len(text) > 2000:
            raise ValueError("each summary is at most 2000 characters")
        if text:
            cleaned[lang] = text
    return cleaned


class ActionCreate(StrictModel):
    """A new improvement action. ``due_at`` must carry its offset; ``customer_summary`` is what
    the customers who reported the linked problems are told once it is done, per language."""

    title: str = Field(min_length=3, max_length=300)
    description: str = Field(default="", max_length=10_000)
    purpose: Purpose = "corrective"
    kind: Kind
    owner_id: int | None = None
    due_at: AwareDatetime | None = None
    window_days: int = Field(default=28, ge=7, le=180)
    problem_ids: list[int] = Field(default_factory=list, max_length=MAX_LINKS)
    error_ids: list[int] = Field(default_factory=list, max_length=MAX_LINKS)
    customer_summary: dict[Lang, str] = Field(default_factory=dict)

    @field_validator("customer_summary")
    @classmethod
    def _summary(cls, value: dict[Lang, str]) -> dict[Lang, str]:
        return _clean_summary(value) or {}

    @field_validator("problem_ids", "error_ids")
    @classmethod
    def _unique(cls, value: list[int]) -> list[int]:
        return sorted(set(value))


class ActionUpdate(StrictModel):
    """Change an action that is not done or cancelled; the link lists replace the old ones."""

    title: str | None = Field(default=None, min_length=3, max_length=300)
    description: str | None = Field(default=None, max_length=10_000)
    purpose: Purpose | None = None
    kind: Kind | None = None
    owner_id: int | None = None
    due_at: AwareDatetime | None = None
    window_days: int | None = Field(default=None, ge=7, le=180)
    problem_ids: list[int] | None = Field(default=None, max_length=MAX_LINKS)
    error_ids: list[int] | None = Field(default=None, max_length=MAX_LINKS)
    customer_summary: dict[Lang, str] | None = None

    @field_validator("customer_summary")
    @classmethod
    def _summary(cls, value: dict[Lang, str] | None) -> dict[Lang, str] | None:
        return _clean_summary(value)

    @field_validator("problem_ids", "error_ids")
    @classmethod
    def _unique(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else sorted(set(value))


class StatusIn(StrictModel):
    """Move an action on: ``in_progress``, ``done`` (with an optional note) or ``cancelled``
    (with a reason)."""

    status: Literal["in_progress", "done", "cancelled"]
    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)


class EvaluationRead(ReadModel):
    problem_id: int
    window_days: int
    before_start: datetime
    pivot_at: datetime
    observed_until: datetime
    after_end: datetime
    before_reports: int
    before_cases: int
    after_reports: int
    after_cases: int
    # Reports per 1,000 cases opened in the window.
    before_rate: float | None
    after_rate: float | None
    p_value: float | None
    verdict: str
    final: bool
    evaluated_at: datetime


class ActionRead(ReadModel):
    id: int
    title: str
    description: str
    purpose: str
    kind: str
    owner_id: int | None
    due_at: datetime | None
    status: str
    overdue: bool = False
    customer_summary: dict[str, str]
    window_days: int
    problem_ids: list[int] = Field(default_factory=list)
    error_ids: list[int] = Field(default_factory=list)
    created_by_id: int | None
    created_at: datetime
    started_at: datetime | None
    done_at: datetime | None
    done_by_id: int | None
    done_note: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    verdict: str | None
    evaluation_final: bool
    evaluations: list[EvaluationRead] = Field(default_factory=list)
    customers_told: int = 0


class CustomerNoticeRead(ReadModel):
    id: int
    action_id: int
    customer_id: int
    problem_id: int | None
    outcome: str
    language: str
    email_id: int | None
    created_at: datetime
