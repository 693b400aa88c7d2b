"""API shapes of the problems domain."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from meaculpa.core.schemas import ReadModel, StrictModel


class CauseCategory(StrEnum):
    people = "people"
    process = "process"
    product = "product"
    partner = "partner"
    policy = "policy"
    system = "system"


class ProblemStatus(StrEnum):
    open = "open"
    archived = "archived"


class WeekCount(ReadModel):
    week_start: date
    count: int


class ProblemRead(ReadModel):
    id: int
    label: str
    label_locked: bool
    key_terms: list[str]
    representative_text: str
    status: str
    merged_into_id: int | None
    size: int
    first_reported_at: datetime | None
    last_reported_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ProblemDetail(ProblemRead):
    weekly_counts: list[WeekCount]
    trend: str
    language_mix: dict[str, int]
    error_ids: list[int]
    customers: int


class ReportRead(ReadModel):
    id: int
    problem_id: int
    source_type: str
    source_id: int
    case_id: int | None
    customer_id: int | None
    language: str
    excerpt: str
    similarity: float
    reported_at: datetime


class ProblemUpdate(StrictModel):
    label: str | None = Field(
        default=None, max_length=200, description="a name; an empty one brings back the automatic"
    )
    status: ProblemStatus | None = None


class MergeIn(StrictModel):
    into: int = Field(description="the problem that absorbs this one")


class SplitIn(StrictModel):
    report_ids: list[int] = Field(
        default_factory=list,
        max_length=5000,
        description="the reports that move; none: cut in two by meaning",
    )
    label: str = Field(default="", max_length=200)


class ErrorLinkIn(StrictModel):
    error_id: int


class RootCauseIn(StrictModel):
    category: CauseCategory
    whys: list[Annotated[str, Field(max_length=1000)]] = Field(default_factory=list, max_length=5)
    notes: str = Field(default="", max_length=10_000)


class RootCauseRead(ReadModel):
    id: int
    error_id: int | None
    problem_id: int | None
    category: str
    whys: list[str]
    notes: str
    updated_by_id: int | None
    created_at: datetime
    updated_at: datetime


class SettingsRead(ReadModel):
    new_problem_threshold: float
    alert_min_count: int
    alert_factor: float
    alert_baseline_weeks: int
    saved: bool


class SettingsUpdate(StrictModel):
    new_problem_threshold: float | None = Field(default=None, ge=0.2, le=0.95)
    alert_min_count: int | None = Field(default=None, ge=1, le=100_000)
    alert_factor: float | None = Field(default=None, ge=1.0, le=100.0)
    alert_baseline_weeks: int | None = Field(default=None, ge=1, le=52)
