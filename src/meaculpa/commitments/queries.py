"""Reads of the commitments domain."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import Team, User
from meaculpa.cases.models import Case
from meaculpa.commitments.models import (
    DEFAULT_REMINDER_MINUTES,
    Commitment,
    CommitmentNotice,
    CommitmentSettings,
    ProgressUpdate,
)
from meaculpa.commitments.schemas import CommitmentRead, StatsGroup, StatsRead
from meaculpa.core.audit import Actor
from meaculpa.core.clock import utcnow
from meaculpa.core.enums import CaseStatus, Direction
from meaculpa.core.exceptions import NotFound
from meaculpa.core.i18n import zone
from meaculpa.customers.models import Customer
from meaculpa.messages.models import Message

# Cases whose customer is due to hear from us: open, and not waiting for the customer.
UPDATE_STATUSES = (CaseStatus.new, CaseStatus.acknowledged, CaseStatus.in_progress)


def get_commitment(session: Session, commitment_id: int) -> Commitment | None:
    return session.get(Commitment, commitment_id)


def access_commitment(session: Session, actor: Actor, commitment_id: int) -> Commitment:
    """Any signed-in user may read a promise; changing it is checked in the actions."""
    commitment = session.get(Commitment, commitment_id)
    if commitment is None:
        raise NotFound(f"commitment {commitment_id} does not exist")
    return commitment


def list_case_commitments(session: Session, case_id: int) -> list[Commitment]:
    """A case's promises: open ones first by due time, then the rest, newest first."""
    rows = list(session.scalars(select(Commitment).where(Commitment.case_id == case_id)))
    far = datetime.max.replace(tzinfo=utcnow().tzinfo)
    return sorted(
        rows,
        key=lambda c: (
            c.state != "open",
            (c.due_at or far) if c.state == "open" else far,
            -c.id,
        ),
    )


def list_commitments(
    session: Session,
    *,
    owner_id: int | None = None,
    case_id: int | None = None,
    state: str | None = None,
    overdue: bool = False,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Commitment]:
    """Promises, newest first (``limit + 1`` rows, for keyset paging)."""
    stmt = select(Commitment)
    if owner_id is not None:
        stmt = stmt.where(Commitment.owner_id == owner_id)
    if case_id is not None:
        stmt = stmt.where(Commitment.case_id == case_id)
    if state:
        stmt = stmt.where(Commitment.state == state)
    if overdue:
        stmt = stmt.where(Commitment.state == "open", Commitment.due_at <= utcnow())
    if after_id is not None:
        stmt = stmt.where(Commitment.id < after_id)
    return list(session.scalars(stmt.order_by(Commitment.id.desc()).limit(limit + 1)))


def open_commitments_of(session: Session, owner_id: int, *, limit: int = 500) -> list[Commitment]:
    """An agent's open promises, soonest due first (undated ones last)."""
    return list(
        session.scalars(
            select(Commitment)
            .where(Commitment.owner_id == owner_id, Commitment.state == "open")
            .order_by(Commitment.due_at.is_(None), Commitment.due_at, Commitment.id)
            .limit(limit)
        )
    )


def recent_closed_of(session: Session, owner_id: int, *, limit: int = 20) -> list[Commitment]:
    return list(
        session.scalars(
            select(Commitment)
            .where(Commitment.owner_id == owner_id, Commitment.state != "open")
            .order_by(Commitment.updated_at.desc(), Commitment.id.desc())
            .limit(limit)
        )
    )


def customer_timezones(session: Session, customer_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.timezone).where(Customer.id.in_(ids)))
    return {cid: tz for cid, tz in rows}


def to_reads(
    session: Session, rows: Sequence[Commitment], now: datetime | None = None
) -> list[CommitmentRead]:
    """API shapes, with the due time in each customer's own time zone."""
    now = now or utcnow()
    zones = customer_timezones(session, (c.customer_id for c in rows))
    reads = []
    for c in rows:
        tz = zones.get(c.customer_id)
        read = CommitmentRead.model_validate(c)
        read.customer_timezone = tz
        read.due_local = c.due_at.astimezone(zone(tz)) if c.due_at is not None else None
        read.overdue = c.is_overdue(now)
        reads.append(read)
    return reads


# --- settings ----------------------------------------------------------------------------------


def get_settings(session: Session) -> CommitmentSettings:
    """The stored settings, or an unsaved row with the defaults."""
    row = session.scalar(select(CommitmentSettings).order_by(CommitmentSettings.id).limit(1))
    if row is None:
        row = CommitmentSettings(
            reminder_minutes=list(DEFAULT_REMINDER_MINUTES),
            updates_enabled=True,
            update_interval_hours=9.0,
            update_mode="remind_owner",
        )
    return row


# --- what the scan works on -------------------------------------------------------------------


def due_soon(session: Session, now: datetime, within_minutes: int) -> list[Commitment]:
    """Open dated promises due after ``now`` and within ``within_minutes``."""
    if within_minutes <= 0:
        return []
    return list(
        session.scalars(
            select(Commitment)
            .where(
                Commitment.state == "open",
                Commitment.due_at > now,
                Commitment.due_at <= now + timedelta(minutes=within_minutes),
            )
            .order_by(Commitment.due_at, Commitment.id)
        )
    )


def missed(session: Session, now: datetime, *, limit: int = 500) -> list[Commitment]:
    """Open promises whose due time has passed."""
    return list(
        session.scalars(
            select(Commitment)
            .where(Commitment.state == "open", Commitment.due_at <= now)
            .order_by(Commitment.due_at, Commitment.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def notices_sent(session: Session, commitment_ids: Iterable[int]) -> set[tuple[int, str, int]]:
    ids = sorted(set(commitment_ids))
    if not ids:
        return set()
    rows = session.execute(
        select(
            CommitmentNotice.commitment_id, CommitmentNotice.kind, CommitmentNotice.minutes_before
        ).where(CommitmentNotice.commitment_id.in_(ids))
    )
    return {(cid, kind, minutes) for cid, kind, minutes in rows}


def notices_for(
    session: Session, commitment_ids: Iterable[int]
) -> dict[int, list[CommitmentNotice]]:
    ids = sorted(set(commitment_ids))
    result: dict[int, list[CommitmentNotice]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = session.scalars(
        select(CommitmentNotice)
        .where(CommitmentNotice.commitment_id.in_(ids))
        .order_by(CommitmentNotice.created_at, CommitmentNotice.id)
    )
    for notice in rows:
        result[notice.commitment_id].append(notice)
    return result


def customer_acted_since(session: Session, case_id: int, since: datetime) -> bool:
    """Whether the customer wrote on the case after ``since``."""
    found = session.scalar(
        select(Message.id)
        .where(
            Message.case_id == case_id,
            Message.direction == Direction.inbound.value,
            Message.sent_at > since,
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class UpdateCandidate:
    case_id: int
    owner_id: int | None
    customer_id: int
    language: str
    subject: str
    last_contact_at: datetime


def update_candidates(
    session: Session, now: datetime, interval_hours: float
) -> list[UpdateCandidate]:
    """Open cases with no customer-facing contact for at least ``interval_hours`` wall-clock
    hours (business hours are never more than those, so this is a safe first cut)."""
    cutoff = now - timedelta(hours=interval_hours)
    last_out = (
        select(Message.case_id.label("case_id"), func.max(Message.sent_at).label("at"))
        .where(Message.direction == Direction.outbound.value)
        .group_by(Message.case_id)
        .subquery()
    )
    last_update = (
        select(
            ProgressUpdate.case_id.label("case_id"), func.max(ProgressUpdate.sent_at).label("at")
        )
        .group_by(ProgressUpdate.case_id)
        .subquery()
    )
    stmt = (
        select(
            Case.id,
            Case.owner_id,
            Case.customer_id,
            Case.language,
            Case.subject,
            Case.opened_at,
            last_out.c.at,
            last_update.c.at,
        )
        .outerjoin(last_out, last_out.c.case_id == Case.id)
        .outerjoin(last_update, last_update.c.case_id == Case.id)
        .where(
            Case.status.in_([s.value for s in UPDATE_STATUSES]),
            Case.opened_at <= cutoff,
            (last_out.c.at.is_(None)) | (last_out.c.at <= cutoff),
            (last_update.c.at.is_(None)) | (last_update.c.at <= cutoff),
        )
        .order_by(Case.id)
    )
    result = []
    for (
        case_id,
        owner_id,
        customer_id,
        language,
        subject,
        opened,
        out_at,
        upd_at,
    ) in session.execute(stmt):
        last = max(t for t in (opened, out_at, upd_at) if t is not None)
        result.append(
            UpdateCandidate(case_id, owner_id, customer_id, language, subject or "", last)
        )
    return result


def last_contact_at(session: Session, case: Case) -> datetime:
    """The last customer-facing contact on ``case``: an outbound reply or a progress update
    (the case's opening when there is none)."""
    out_at = session.scalar(
        select(func.max(Message.sent_at)).where(
            Message.case_id == case.id, Message.direction == Direction.outbound.value
        )
    )
    upd_at = session.scalar(
        select(func.max(ProgressUpdate.sent_at)).where(ProgressUpdate.case_id == case.id)
    )
    return max(t for t in (case.opened_at, out_at, upd_at) if t is not None)


def progress_updates_of(session: Session, case_id: int, *, limit: int = 50) -> list[ProgressUpdate]:
    return list(
        session.scalars(
            select(ProgressUpdate)
            .where(ProgressUpdate.case_id == case_id)
            .order_by(ProgressUpdate.sent_at.desc(), ProgressUpdate.id.desc())
            .limit(limit)
        )
    )


# --- the promise-keeping rate -----------------------------------------------------------------


def _rate(kept: int, broken: int) -> float | None:
    return round(kept / (kept + broken), 4) if kept + broken else None


def promise_stats(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    group_by: str = "owner",
) -> StatsRead:
    """Kept / (kept + broken) of the promises due in ``[since, until)``, by owner or team.

    Cancelled promises and those still open do not count in the rate (they are reported).
    """
    stmt = select(Commitment.owner_id, Commitment.state, func.count(Commitment.id)).group_by(
        Commitment.owner_id, Commitment.state
    )
    if since is not None:
        stmt = stmt.where(Commitment.due_at >= since)
    if until is not None:
        stmt = stmt.where(Commitment.due_at < until)
    if owner_id is not None:
        stmt = stmt.where(Commitment.owner_id == owner_id)
    if team_id is not None:
        stmt = stmt.where(Commitment.owner_id.in_(select(User.id).where(User.team_id == team_id)))
    counts: dict[int | None, dict[str, int]] = {}
    for owner, state, n in session.execute(stmt):
        counts.setdefault(owner, {})[state] = n
    owners = sorted(o for o in counts if o is not None)
    people = (
        {
            uid: (name, tid)
            for uid, name, tid in session.execute(
                select(User.id, User.name, User.team_id).where(User.id.in_(owners))
            )
        }
        if owners
        else {}
    )
    team_names = {tid: name for tid, name in session.execute(select(Team.id, Team.name))}

    def total(state: str) -> int:
        return sum(c.get(state, 0) for c in counts.values())

    grouped: dict[int | None, list[int]] = {}
    names: dict[int | None, str] = {}
    for owner, states in counts.items():
        if group_by == "team":
            key = people.get(owner, ("", None))[1] if owner is not None else None
            names[key] = team_names.get(key, "") if key is not None else ""
        else:
            key = owner
            names[key] = people.get(owner, ("", None))[0] if owner is not None else ""
        acc = grouped.setdefault(key, [0, 0])
        acc[0] += states.get("kept", 0)
        acc[1] += states.get("broken", 0)
    groups = (
        [
            StatsGroup(id=key, name=names[key], kept=k, broken=b, rate=_rate(k, b))
            for key, (k, b) in sorted(grouped.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
            if k + b
        ]
        if group_by in ("owner", "team")
        else []
    )
    kept, broken = total("kept"), total("broken")
    return StatsRead(
        since=since,
        until=until,
        kept=kept,
        broken=broken,
        open=total("open"),
        cancelled=total("cancelled"),
        rate=_rate(kept, broken),
        group_by=group_by,
        groups=groups,
    )
