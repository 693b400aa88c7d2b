from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from meaculpa.core.enums import AffectedState, ErrorStatus, ErrorType, Severity
from meaculpa.core.schemas import ReadModel, StrictModel
from meaculpa.customers.schemas import IdentityIn


class ErrorRead(ReadModel):
    id: int
    title: str
    description: str
    type: ErrorType
    severity: Severity
    status: ErrorStatus
    detected_at: datetime
    root_cause: str
    reported_by_id: int | None
    affected_count: int
    public: bool
    public_summary: str
    postmortem: str
    created_at: datetime
    updated_at: datetime


class ErrorCreate(StrictModel):
    title: str = Field(min_length=3, max_length=300)
    description: str = Field(default="", max_length=20_000)
    type: ErrorType
    severity: Severity = Severity.medium
    detected_at: AwareDatetime | None = None
    root_cause: str = Field(default="", max_length=20_000)


class ErrorUpdate(StrictModel):
    title: str | None = Field(default=None, min_length=3, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    type: ErrorType | None = None
    severity: Severity | None = None
    status: ErrorStatus | None = None
    root_cause: str | None = Field(default=None, max_length=20_000)
    # The public status page: whether the error shows there, in plain language, and the
    # postmortem published once it is closed.
    public: bool | None = None
    public_summary: str | None = Field(default=None, max_length=5_000)
    postmortem: str | None = Field(default=None, max_length=20_000)


def _check_details(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > 30:
        raise ValueError("at most 30 detail fields")
    for key, item in value.items():
        if len(key) > 60:
            raise ValueError("detail names have at most 60 characters")
        if not isinstance(item, str | int | float | bool) and item is not None:
            raise ValueError(f"detail {key!r} must be text, a number or true/false")
        if isinstance(item, str) and len(item) > 500:
            raise ValueError(f"detail {key!r} has more than 500 characters")
    return value


class AffectedIn(StrictModel):
    """A hurt customer, by id or by an identity (unknown identities create the customer)."""

    customer_id: int | None = None
    identity: IdentityIn | None = None
    name: str | None = Field(default=None, max_length=200)
    details: dict[str, Any] = Field(default_factory=dict)
    state: AffectedState = AffectedState.identified

    @model_validator(mode="after")
    def _one_way(self) -> AffectedIn:
        if (self.customer_id is None) == (self.identity is None):
            raise ValueError("give either customer_id or identity")
        _check_details(self.details)
        return self


class AffectedUpdate(StrictModel):
    state: AffectedState | None = None
    details: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check(self) -> AffectedUpdate:
        if self.details is not None:
            _check_details(self.details)
        return self


class AffectedRead(ReadModel):
    id: int
    error_id: int
    customer_id: int
    state: AffectedState
    details: dict[str, Any]
    created_at: datetime
    updated_at: datetime
