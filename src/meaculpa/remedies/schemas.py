"""API shapes of the remedies domain. Amounts travel as decimal strings, never floats."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, computed_field, field_validator, model_validator

from meaculpa.core.enums import Role
from meaculpa.core.schemas import ReadModel, StrictModel
from meaculpa.remedies import money


class RemedyKind(StrEnum):
    refund = "refund"
    credit = "credit"
    compensation = "compensation"
    replacement_or_redo = "replacement_or_redo"
    upgrade_or_better_service = "upgrade_or_better_service"
    gift_or_surprise = "gift_or_surprise"
    other = "other"


class RemedyState(StrEnum):
    proposed = "proposed"
    approved = "approved"
    delivered = "delivered"
    rejected = "rejected"
    cancelled = "cancelled"


class ReportGroup(StrEnum):
    error_type = "error_type"
    team = "team"
    kind = "kind"
    month = "month"


def _currency(value: str | None) -> str | None:
    return None if value is None else money.check_currency(value)


class RemedyCreate(StrictModel):
    kind: RemedyKind
    description: str = Field(default="", max_length=2000)
    amount: Decimal | None = Field(default=None, gt=0, description="in major units: 12.50")
    currency: str | None = Field(default=None, description="ISO 4217 code, e.g. EUR")
    error_id: int | None = Field(
        default=None, description="the error it makes good for; the customer's latest if left out"
    )

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        return _currency(value)

    @model_validator(mode="after")
    def _amount_and_currency(self) -> RemedyCreate:
        if (self.amount is None) != (self.currency is None):
            raise ValueError("give an amount and its currency together, or neither")
        if self.amount is not None and self.currency is not None:
            money.to_minor(self.amount, self.currency)
        return self

    @property
    def amount_minor(self) -> int | None:
        if self.amount is None or self.currency is None:
            return None
        return money.to_minor(self.amount, self.currency)


class ReasonIn(StrictModel):
    reason: str = Field(min_length=1, max_length=2000)


class OptionalReasonIn(StrictModel):
    reason: str = Field(default="", max_length=2000)


class RemedyRead(ReadModel):
    id: int
    case_id: int
    customer_id: int
    error_id: int | None
    team_id: int | None
    kind: RemedyKind
    description: str
    amount_minor: int | None
    currency: str | None
    state: RemedyState
    reason: str
    proposed_by_id: int | None
    proposed_at: datetime
    approved_by_id: int | None
    approved_at: datetime | None
    delivered_by_id: int | None
    delivered_at: datetime | None
    closed_by_id: int | None
    closed_at: datetime | None
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount(self) -> Decimal | None:
        if self.amount_minor is None or self.currency is None:
            return None
        return money.from_minor(self.amount_minor, self.currency)


class SecondFailureRead(ReadModel):
    case_id: int
    customer_id: int
    prior_cases: int
    prior_errors: int
    window_months: int
    severity_before: str
    severity_after: str
    flagged_at: datetime


class SuggestionRead(ReadModel):
    kind: RemedyKind
    level: int
    amount: Decimal | None
    currency: str | None
    repeat: bool
    reason: str


class CaseRemedies(ReadModel):
    """A case's remedies, its second-failure flag (or null) and the suggested remedy."""

    items: list[RemedyRead]
    second_failure: SecondFailureRead | None
    suggestion: SuggestionRead


class LimitItem(StrictModel):
    role: Role
    currency: str
    max_amount: Decimal | None = Field(
        default=None, ge=0, description="null: no limit for this role in this currency"
    )

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        return _currency(value)

    @model_validator(mode="after")
    def _fits(self) -> LimitItem:
        if self.max_amount is not None:
            money.to_minor(self.max_amount, self.currency)
        return self


class PolicyRead(ReadModel):
    repeat_window_months: int
    currency: str
    limits: list[LimitItem]
    saved: bool = Field(description="false while the defaults apply")


class PolicyUpdate(StrictModel):
    repeat_window_months: int | None = Field(default=None, ge=1, le=120)
    currency: str | None = None
    limits: list[LimitItem] | None = Field(
        default=None, max_length=100, description="replaces every limit when given"
    )

    @field_validator("currency")
    @classmethod
    def _check_currency(cls, value: str | None) -> str | None:
        return _currency(value)

    @field_validator("limits")
    @classmethod
    def _unique(cls, value: list[LimitItem] | None) -> list[LimitItem] | None:
        if value is not None:
            pairs = [(item.role, item.currency) for item in value]
            if len(pairs) != len(set(pairs)):
                raise ValueError("one limit per role and currency")
        return value


class ReportRow(ReadModel):
    group: str | None = Field(description="the error type, team id, kind or month (YYYY-MM)")
    label: str
    currency: str | None = Field(description="null for remedies without an amount")
    delivered_count: int
    total_minor: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal | None:
        if self.currency is None:
            return None
        return money.from_minor(self.total_minor, self.currency)


class ReportTotal(ReadModel):
    currency: str | None
    delivered_count: int
    total_minor: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal | None:
        if self.currency is None:
            return None
        return money.from_minor(self.total_minor, self.currency)


class Report(ReadModel):
    """Delivered remedies between ``from`` (inclusive) and ``to`` (inclusive), in UTC days."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    group_by: ReportGroup
    rows: list[ReportRow]
    totals: list[ReportTotal]


def dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", by_alias=True))
