"""Reads of the followups domain: follow-ups, settings, the customer's public view, figures."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.cases.models import Case
from meaculpa.cases.queries import get_case
from meaculpa.commitments.queries import list_case_commitments
from meaculpa.commitments.texts import KIND_LABELS as COMMITMENT_KINDS
from meaculpa.core.audit import Actor
from meaculpa.core.clock import as_utc
from meaculpa.core.enums import Direction
from meaculpa.core.exceptions import Invalid, NotFound
from meaculpa.core.i18n import N_
from meaculpa.customers.models import Customer
from meaculpa.customers.queries import get_customer
from meaculpa.followups.models import (
    DEFAULT_DELAY_DAYS,
    DEFAULT_LINK_DAYS,
    Followup,
    FollowupSettings,
)
from meaculpa.messages.models import Message
from meaculpa.messages.queries import case_timeline
from meaculpa.remedies.queries import list_case_remedies

GROUPS = ("none", "week", "month", "owner", "channel", "severity", "language")

# What each case status means to the customer, in plain words (shown on the tracking page).
PLAIN_STATUS: dict[str, str] = {
    "new": N_("We have received your message and will look at it very soon."),
    "acknowledged": N_("We have read your message and someone is taking care of it."),
    "in_progress": N_("We are working on it."),
    "waiting_on_customer": N_("We are waiting for an answer from you. Write to us below."),
    "resolved": N_("We believe it is solved. If it is not, tell us below."),
    "closed": N_("This case is closed. If something is still wrong, write to us below."),
}


# The remedies a customer sees, and how their state reads to them.
REMEDY_STATES: dict[str, str] = {
    "approved": N_("Agreed, on its way"),
    "delivered": N_("Done"),
}
REMEDY_KINDS: dict[str, str] = {
    "refund": N_("A refund"),
    "credit": N_("A credit for your next purchase"),
    "compensation": N_("Compensation"),
    "replacement_or_redo": N_("We replace it or do it again"),
    "upgrade_or_better_service": N_("An upgrade or a better service"),
    "gift_or_surprise": N_("A small gift"),
    "other": N_("Something to make it right"),
}


@dataclass(frozen=True)
class SettingsView:
    delay_days: int
    link_days: int


def followup_settings(session: Session) -> SettingsView:
    """The organisation's follow-up settings, or the defaults (3 days, links for 30)."""
    row = session.scalar(select(FollowupSettings).order_by(FollowupSettings.id).limit(1))
    if row is None:
        return SettingsView(DEFAULT_DELAY_DAYS, DEFAULT_LINK_DAYS)
    return SettingsView(row.delay_days, row.link_days)


def get_followup(session: Session, followup_id: int) -> Followup | None:
    return session.get(Followup, followup_id)


def followups_for_case(session: Session, case_id: int) -> list[Followup]:
    """The case's follow-ups, latest resolution first."""
    return list(
        session.scalars(
            select(Followup).where(Followup.case_id == case_id).order_by(Followup.round.desc())
        )
    )


def access_case_followups(session: Session, actor: Actor, case_id: int) -> list[Followup]:
    """Any signed-in user may read a case's follow-ups (as the case itself)."""
    if get_case(session, case_id) is None:
        raise NotFound(f"case {case_id} does not exist")
    return followups_for_case(session, case_id)


def list_followups(
    session: Session,
    *,
    answered: bool | None = None,
    solved: bool | None = None,
    status: str | None = None,
    case_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Followup]:
    """Follow-ups, newest first (``limit + 1`` rows, for the cursor)."""
    stmt = select(Followup)
    if answered is True:
        stmt = stmt.where(Followup.answered_at.is_not(None))
    elif answered is False:
        stmt = stmt.where(Followup.answered_at.is_(None))
    if solved is not None:
        stmt = stmt.where(Followup.solved.is_(solved))
    if status:
        stmt = stmt.where(Followup.status == status)
    if case_id is not None:
        stmt = stmt.where(Followup.case_id == case_id)
    if after_id is not None:
        stmt = stmt.where(Followup.id < after_id)
    return list(session.scalars(stmt.order_by(Followup.id.desc()).limit(limit + 1)))


def followup_times_for_customer(
    session: Session, customer_id: int, since: datetime, until: datetime
) -> list[datetime]:
    """When follow-up questions went, or are due to go, to this customer in ``[since, until)``
    (so other domains, such as surveys, do not write to them the same day)."""
    sent = select(Followup.sent_at).where(
        Followup.customer_id == customer_id,
        Followup.sent_at.is_not(None),
        Followup.sent_at >= since,
        Followup.sent_at < until,
    )
    due = select(Followup.due_at).where(
        Followup.customer_id == customer_id,
        Followup.status == "scheduled",
        Followup.due_at >= since,
        Followup.due_at < until,
    )
    times = [t for t in session.scalars(sent) if t is not None]
    times += list(session.scalars(due))
    return sorted(as_utc(t) for t in times)


def customer_email(customer: Customer) -> str | None:
    """The customer's first e-mail identity, if they have one."""
    for identity in customer.identities:
        if identity.kind == "email":
            return identity.value
    return None


# --- the customer's public view -------------------------------------------------------------


@dataclass(frozen=True)
class PublicPromise:
    description: str
    kind_label: str
    due_at: datetime | None
    due_text: str | None
    state: str


@dataclass(frozen=True)
class PublicRemedy:
    description: str
    kind: str
    state: str

    @property
    def kind_label(self) -> str:
        return REMEDY_KINDS.get(self.kind, REMEDY_KINDS["other"])

    @property
    def state_label(self) -> str:
        return REMEDY_STATES.get(self.state, "")


@dataclass
class PublicCase:
    """What the customer may see of one case: never internal notes, never other customers."""

    case: Case
    customer: Customer
    messages: list[Message]
    promises: list[PublicPromise] = field(default_factory=list)
    remedies: list[PublicRemedy] = field(default_factory=list)
    followup: Followup | None = None

    @property
    def plain_status(self) -> str:
        return PLAIN_STATUS.get(self.case.status, PLAIN_STATUS["in_progress"])


def public_promises(session: Session, case_id: int) -> list[PublicPromise]:
    """What we promised on this case and by when (cancelled promises are not shown)."""
    return [
        PublicPromise(
            description=c.description or "",
            kind_label=COMMITMENT_KINDS.get(c.kind, c.kind),
            due_at=c.due_at,
            due_text=c.due_text,
            state=c.state,
        )
        for c in list_case_commitments(session, case_id)
        if c.state != "cancelled"
    ]


def public_remedies(session: Session, case_id: int) -> list[PublicRemedy]:
    """The remedies agreed on this case (approved or delivered; not proposals still to
    decide, nor rejected or cancelled ones) and where each stands."""
    return [
        PublicRemedy(description=r.description or "", kind=r.kind, state=r.state)
        for r in list_case_remedies(session, case_id)
        if r.state in REMEDY_STATES
    ]


def public_case(session: Session, case_id: int, customer_id: int) -> PublicCase:
    """The tracking page's case, only when it still belongs to the customer the link named."""
    case = get_case(session, case_id)
    if case is None or case.customer_id != customer_id:
        raise NotFound("this link names no case")
    customer = get_customer(session, customer_id)
    if customer is None:
        raise NotFound("this link names no case")
    public = (Direction.inbound.value, Direction.outbound.value)
    messages = [m for m in case_timeline(session, case.id) if m.direction in public]
    latest = followups_for_case(session, case.id)
    return PublicCase(
        case=case,
        customer=customer,
        messages=messages,
        promises=public_promises(session, case.id),
        remedies=public_remedies(session, case.id),
        followup=latest[0] if latest else None,
    )


# --- satisfaction after recovery ------------------------------------------------------------


def _group_key(row: Any, group_by: str) -> str:
    if group_by == "week":
        year, week, _ = as_utc(row.sent_at).isocalendar()
        return f"{year}-W{week:02d}"
    if group_by == "month":
        return as_utc(row.sent_at).strftime("%Y-%m")
    if group_by == "owner":
        return str(row.owner_id) if row.owner_id is not None else "unassigned"
    if group_by == "channel":
        return str(row.channel)
    if group_by == "severity":
        return str(row.severity)
    if group_by == "language":
        return str(row.language)
    return "all"


def satisfaction_after_recovery(
    session: Session,
    since: datetime,
    until: datetime,
    group_by: str | None = None,
) -> list[dict[str, Any]]:
    """Answers to the follow-ups sent in ``[since, until)``, overall or per group.

    ``group_by``: ``None``/"none" (one row, group "all"), "week" or "month" of sending (UTC,
    ISO weeks), "owner" (the case's owner id, "unassigned"), "channel", "severity" (the
    case's now) or "language" (the follow-up's). Each row: ``group``, ``sent``, ``answered``,
    ``response_rate``, ``solved``, ``not_solved``, ``solved_rate`` (of the answered),
    ``rated``, ``average_rating`` (1-5) and ``ratings`` (count per star, "1".."5").
    """
    group = group_by or "none"
    if group not in GROUPS:
        raise Invalid(f"group_by must be one of {', '.join(GROUPS)}", field="group_by")
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid("since and until must be timezone-aware", field="since")
    rows = session.execute(
        select(
            Followup.sent_at,
            Followup.answered_at,
            Followup.solved,
            Followup.rating,
            Followup.language,
            Case.owner_id,
            Case.channel,
            Case.severity,
        )
        .join(Case, Case.id == Followup.case_id)
        .where(
            Followup.sent_at.is_not(None),
            Followup.sent_at >= since,
            Followup.sent_at < until,
        )
    ).all()
    buckets: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        buckets[_group_key(row, group)].append(row)
    if group == "none" and not buckets:
        buckets["all"] = []
    result = []
    for key in sorted(buckets):
        items = buckets[key]
        answered = [r for r in items if r.answered_at is not None]
        solved = sum(1 for r in answered if r.solved)
        ratings = [r.rating for r in answered if r.rating is not None]
        result.append(
            {
                "group": key,
                "sent": len(items),
                "answered": len(answered),
                "response_rate": round(len(answered) / len(items), 4) if items else None,
                "solved": solved,
                "not_solved": len(answered) - solved,
                "solved_rate": round(solved / len(answered), 4) if answered else None,
                "rated": len(ratings),
                "average_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
                "ratings": {str(n): ratings.count(n) for n in range(1, 6)},
            }
        )
    return result
