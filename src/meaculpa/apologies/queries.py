"""Reads of the apologies domain: the campaign, its preview, each customer's apology, the
cases linked to an error, the updates, the public status page and the figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.apologies import texts
from meaculpa.apologies.actions import get_campaign
from meaculpa.apologies.models import Apology, ApologyCampaign, ErrorCaseLink, ErrorPost
from meaculpa.apologies.promises import promise_counts
from meaculpa.core.clock import as_utc
from meaculpa.core.exceptions import NotFound
from meaculpa.customers.models import Customer
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.remedies.money import format_money
from meaculpa.remedies.queries import delivered_cost_for_error

__all__ = ["get_campaign"]


def access_campaign(session: Session, error: Error) -> ApologyCampaign:
    campaign = get_campaign(session, error.id)
    if campaign is None:
        raise NotFound(f"error {error.id} has no apology yet; save one first")
    return campaign


@dataclass(frozen=True)
class Preview:
    language: str
    customer_id: int | None
    customer_name: str
    subject: str
    text: str
    unknown_variables: list[str]


def preview(
    session: Session,
    error: Error,
    campaign: ApologyCampaign,
    language: str,
    customer_id: int | None = None,
) -> Preview:
    """The apology as one affected customer in ``language`` would read it (the first such
    customer, or a sample one when none speaks it)."""
    lang = texts.language_of(language)
    stmt = (
        select(Customer.id, Customer.name, Customer.timezone, AffectedCustomer.details)
        .join(AffectedCustomer, AffectedCustomer.customer_id == Customer.id)
        .where(AffectedCustomer.error_id == error.id)
    )
    if customer_id is not None:
        stmt = stmt.where(Customer.id == customer_id)
    else:
        stmt = stmt.where(Customer.language == lang)
    row = session.execute(stmt.order_by(AffectedCustomer.id).limit(1)).first()
    if row is None and customer_id is not None:
        raise NotFound(f"customer {customer_id} is not affected by error {error.id}")
    sample = {"es": "María García", "en": "Mary Smith"}[lang]
    details: dict[str, Any] = dict(row.details or {}) if row is not None else {}
    values = texts.apology_values(
        language=lang,
        customer_name=row.name if row is not None else sample,
        customer_timezone=row.timezone if row is not None else None,
        error_title=error.title,
        error_summary=error.public_summary,
        remedy_kind=campaign.remedy_kind,
        remedy_amount_minor=campaign.remedy_amount_minor,
        currency=campaign.currency,
        promised_by=campaign.promised_by,
        details=details,
    )
    subject = getattr(campaign, f"subject_{lang}")
    body = getattr(campaign, f"body_{lang}")
    known = set(values) | set(_detail_names(session, error.id))
    return Preview(
        language=lang,
        customer_id=row.id if row is not None else None,
        customer_name=str(values["customer_name"]),
        subject=texts.render(subject, values),
        text=texts.tidy(texts.render(body, values)),
        unknown_variables=texts.unknown_variables(subject + "\n" + body, known),
    )


def _detail_names(session: Session, error_id: int) -> set[str]:
    """The detail fields of the error's affected customers (from a sample of them)."""
    names: set[str] = set()
    for details in session.scalars(
        select(AffectedCustomer.details).where(AffectedCustomer.error_id == error_id).limit(200)
    ):
        names.update((details or {}).keys())
    return names


def list_apologies(
    session: Session,
    error_id: int,
    *,
    state: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Apology]:
    stmt = select(Apology).where(Apology.error_id == error_id)
    if state:
        stmt = stmt.where(Apology.state == state)
    if after_id is not None:
        stmt = stmt.where(Apology.id > after_id)
    return list(session.scalars(stmt.order_by(Apology.id).limit(limit + 1)))


def apology_counts(session: Session, error_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Apology.state, func.count(Apology.id))
        .where(Apology.error_id == error_id)
        .group_by(Apology.state)
    ).all()
    return {state: int(n) for state, n in rows}


def list_posts(session: Session, error_id: int) -> list[ErrorPost]:
    return list(
        session.scalars(
            select(ErrorPost).where(ErrorPost.error_id == error_id).order_by(ErrorPost.id.desc())
        )
    )


# --- the case page: no double explaining --------------------------------------------------------


@dataclass(frozen=True)
class CaseError:
    error_id: int
    title: str
    apologised_at: datetime | None
    remedy: str
    state: str | None
    before_apology: bool


def errors_of_case(session: Session, case_id: int, language: str) -> list[CaseError]:
    rows = session.execute(
        select(ErrorCaseLink, Error, Apology, ApologyCampaign)
        .join(Error, Error.id == ErrorCaseLink.error_id)
        .outerjoin(
            Apology,
            (Apology.error_id == ErrorCaseLink.error_id)
            & (Apology.customer_id == ErrorCaseLink.customer_id),
        )
        .outerjoin(ApologyCampaign, ApologyCampaign.error_id == ErrorCaseLink.error_id)
        .where(ErrorCaseLink.case_id == case_id)
        .order_by(ErrorCaseLink.id)
    ).all()
    out = []
    for link, error, apology, campaign in rows:
        remedy = ""
        if campaign is not None:
            remedy = texts.remedy_text(
                campaign.remedy_kind, campaign.remedy_amount_minor, campaign.currency, language
            )
        out.append(
            CaseError(
                error_id=error.id,
                title=error.title,
                apologised_at=apology.sent_at if apology is not None else None,
                remedy=remedy,
                state=apology.state if apology is not None else None,
                before_apology=link.before_apology,
            )
        )
    return out


def apology_sentence_for_case(
    session: Session, case_id: int, language: str, timezone: str | None
) -> tuple[str | None, str | None]:
    """(sentence for a reply template, remedy offered) for the case's linked apology."""
    for item in errors_of_case(session, case_id, language):
        if item.apologised_at is not None:
            return (
                texts.apologised_sentence(item.apologised_at, item.remedy, language, timezone),
                item.remedy or None,
            )
    return None, None


# --- the public status page ---------------------------------------------------------------------


def public_errors(session: Session, limit: int = 50) -> list[tuple[Error, list[ErrorPost]]]:
    errors = list(
        session.scalars(
            select(Error).where(Error.public.is_(True)).order_by(Error.detected_at.desc()).limit(limit)
        )
    )
    if not errors:
        return []
    posts: dict[int, list[ErrorPost]] = {e.id: [] for e in errors}
    for post in session.scalars(
        select(ErrorPost)
        .where(ErrorPost.error_id.in_(list(posts)))
        .order_by(ErrorPost.created_at.desc(), ErrorPost.id.desc())
    ):
        posts[post.error_id].append(post)
    return [(e, posts[e.id]) for e in errors]


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
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
    # The promised resolution date as a promise to each customer the apology reached.
    promised_by: datetime | None = None
    promises: int = 0
    promises_pending: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    # Of these, customers who wrote in and also have a commitment on their case.
    promises_on_cases: int = 0


def _hours(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return round((as_utc(end) - as_utc(start)).total_seconds() / 3600, 2)


def figures(session: Session, error: Error, language: str = "en") -> Figures:
    sent = Apology.sent_at.is_not(None)
    apologised = (
        session.scalar(select(func.count(Apology.id)).where(Apology.error_id == error.id, sent))
        or 0
    )
    skipped = dict(
        session.execute(
            select(Apology.skip_reason, func.count(Apology.id))
            .where(Apology.error_id == error.id, Apology.state == "skipped")
            .group_by(Apology.skip_reason)
        ).all()
    )
    counts = apology_counts(session, error.id)
    before = (
        session.scalar(
            select(func.count(func.distinct(ErrorCaseLink.customer_id))).where(
                ErrorCaseLink.error_id == error.id, ErrorCaseLink.before_apology.is_(True)
            )
        )
        or 0
    )
    # Apologised to first: an apology sent and no complaint from them before it.
    first = (
        session.scalar(
            select(func.count(Apology.id)).where(
                Apology.error_id == error.id,
                sent,
                ~select(ErrorCaseLink.id)
                .where(
                    ErrorCaseLink.error_id == error.id,
                    ErrorCaseLink.customer_id == Apology.customer_id,
                    ErrorCaseLink.before_apology.is_(True),
                )
                .exists(),
            )
        )
        or 0
    )
    replies = (
        session.scalar(
            select(func.count(Apology.id)).where(
                Apology.error_id == error.id, Apology.replied_at.is_not(None)
            )
        )
        or 0
    )
    complaints = (
        session.scalar(
            select(func.count(Apology.id)).where(
                Apology.error_id == error.id, Apology.complained_at.is_not(None)
            )
        )
        or 0
    )
    low, high = session.execute(
        select(func.min(Apology.sent_at), func.max(Apology.sent_at)).where(
            Apology.error_id == error.id
        )
    ).one()
    campaign = get_campaign(session, error.id)
    offered: dict[str, int] = {}
    if campaign is not None and campaign.remedy_amount_minor and campaign.currency:
        offered[campaign.currency] = campaign.remedy_amount_minor * apologised
    delivered = delivered_cost_for_error(session, error.id)
    promised = promise_counts(session, error.id)
    affected = error.affected_count
    return Figures(
        error_id=error.id,
        affected=affected,
        apologised=apologised,
        skipped_opt_out=int(skipped.get("opt_out", 0)),
        skipped_no_email=int(skipped.get("no_email", 0)),
        bounced=counts.get("bounced", 0),
        complained_before_apology=before,
        share_apologised_before_complaint=round(first / affected, 4) if affected else None,
        replies_after_apology=replies,
        complaints_after_apology=complaints,
        first_apology_hours=_hours(error.detected_at, low),
        last_apology_hours=_hours(error.detected_at, high),
        remedy_offered={c: format_money(v, c, language) for c, v in offered.items()},
        remedies_delivered={c: format_money(v, c, language) for c, v in delivered.items()},
        remedy_offered_minor=offered,
        remedies_delivered_minor=delivered,
        promised_by=campaign.promised_by if campaign is not None else None,
        promises=promised["pending"] + promised["kept"] + promised["broken"],
        promises_pending=promised["pending"],
        promises_kept=promised["kept"],
        promises_broken=promised["broken"],
        promises_on_cases=promised["on_cases"],
    )
