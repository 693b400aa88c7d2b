from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from meaculpa.core.enums import Language
from meaculpa.core.schemas import ReadModel, StrictModel
from meaculpa.remedies.schemas import RemedyKind


class CampaignIn(StrictModel):
    """The apology of an error: texts per language (defaults when left out), the remedy
    offered and the promised resolution date."""

    subject_es: str | None = Field(default=None, min_length=3, max_length=300)
    body_es: str | None = Field(default=None, min_length=10, max_length=20_000)
    subject_en: str | None = Field(default=None, min_length=3, max_length=300)
    body_en: str | None = Field(default=None, min_length=10, max_length=20_000)
    remedy_kind: RemedyKind | None = None
    remedy_amount: Decimal | None = Field(default=None, gt=0, max_digits=14)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    promised_by: AwareDatetime | None = None

    @model_validator(mode="after")
    def _amount_needs_remedy(self) -> CampaignIn:
        if self.remedy_amount is not None and self.remedy_kind is None:
            raise ValueError("an amount needs a remedy_kind")
        return self


class CampaignRead(ReadModel):
    id: int
    error_id: int
    status: str
    subject_es: str
    body_es: str
    subject_en: str
    body_en: str
    remedy_kind: str | None
    remedy_amount_minor: int | None
    currency: str | None
    promised_by: datetime | None
    sent_at: datetime | None
    paused_reason: str | None
    created_at: datetime
    updated_at: datetime


class PreviewRead(StrictModel):
    language: Language
    customer_id: int | None
    customer_name: str
    subject: str
    text: str
    unknown_variables: list[str]


class SendResult(StrictModel):
    status: str
    enqueue_job: bool


class ApologyRead(ReadModel):
    id: int
    error_id: int
    customer_id: int
    state: str
    skip_reason: str | None
    channel: str
    to_address: str | None
    language: str
    email_id: int | None
    queued_at: datetime
    sent_at: datetime | None
    bounced_at: datetime | None
    replied_at: datetime | None
    complained_at: datetime | None
    case_id: int | None
    promise_due_at: datetime | None
    promise_state: str | None


class CustomerFilter(StrictModel):
    """Existing customers to put on an error's list (all given conditions together)."""

    language: Language | None = None
    email_domain: str | None = Field(default=None, min_length=3, max_length=253)
    created_from: AwareDatetime | None = None
    created_to: AwareDatetime | None = None
    # Customers with a case opened in this window (e.g. while the error was live).
    case_opened_from: AwareDatetime | None = None
    case_opened_to: AwareDatetime | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    dry_run: bool = False

    @model_validator(mode="after")
    def _something(self) -> CustomerFilter:
        conditions = (
            self.language,
            self.email_domain,
            self.created_from,
            self.created_to,
            self.case_opened_from,
            self.case_opened_to,
        )
        if all(c is None for c in conditions):
            raise ValueError("give at least one condition; every customer is not a filter")
        if self.details:
            from meaculpa.errors.schemas import _check_details

            _check_details(self.details)
        return self


class FilterResult(StrictModel):
    matched: int
    added: int
    dry_run: bool


class PostIn(StrictModel):
    text_es: str = Field(default="", max_length=10_000)
    text_en: str = Field(default="", max_length=10_000)
    notify: bool = True

    @model_validator(mode="after")
    def _some_text(self) -> PostIn:
        if not self.text_es.strip() and not self.text_en.strip():
            raise ValueError("write the update in Spanish, English or both")
        return self


class PostRead(ReadModel):
    id: int
    error_id: int
    text_es: str
    text_en: str
    notify: bool
    created_at: datetime


class FigureSet(ReadModel):
    error_id: int
    affected: int
    apologised: int
    skipped_opt_out: int
    skipped_no_email: int
    bounced: int
    complained_before_apology: int
    share_apologised_before_complaint: float | None
    replies_after_apology: int
    complaints_after_apology: int
    first_apology_hours: float | None
    last_apology_hours: float | None
    remedy_offered: dict[str, str]
    remedies_delivered: dict[str, str]
    remedy_offered_minor: dict[str, int]
    remedies_delivered_minor: dict[str, int]
    promised_by: datetime | None
    promises: int
    promises_pending: int
    promises_kept: int
    promises_broken: int
    promises_on_cases: int
