"""Recovery figures: how fast we apologise and resolve, whether promises are kept, how often
cases come back, and how satisfied customers are afterwards — by team, error type and period.

Every figure is computed from the stored facts of the cases opened in the period; nothing is
kept in counters that could drift.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import Team, User
from meaculpa.analysis.coach import coach_reply
from meaculpa.cases.models import Case
from meaculpa.core.clock import as_utc
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.messages.models import Message

GroupBy = Literal["team", "error_type", "month", "week", "all"]
GROUPS: tuple[str, ...] = ("all", "team", "error_type", "month", "week")
NO_TEAM = "(no team)"
NO_ERROR = "(no error)"


@dataclass
class CaseFacts:
    id: int
    opened_at: datetime
    resolved_at: datetime | None
    status: str
    reopened_count: int
    team: str
    error_type: str
    first_apology_at: datetime | None = None
    commitments_kept: int = 0
    commitments_broken: int = 0
    satisfaction: list[int] = field(default_factory=list)
    solved_answers: list[bool] = field(default_factory=list)


@dataclass
class GroupFigures:
    key: str
    cases: int
    apologised_share: float | None
    hours_to_first_apology_median: float | None
    resolved: int
    hours_to_resolution_median: float | None
    reopen_rate: float | None
    promises_kept: int
    promises_broken: int
    promise_keeping_rate: float | None
    satisfaction_answers: int
    satisfaction_mean: float | None
    solved_share: float | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@lru_cache(maxsize=50_000)
def _apologises(message_id: int, text: str, language: str) -> bool:
    return "apology" in coach_reply(text[:20_000], language).present


# Other domains add facts to the cases (promises kept, satisfaction answers) through these.
FactSource = Callable[[Session, dict[int, CaseFacts]], None]
FACT_SOURCES: list[FactSource] = []


def fact_source(fn: FactSource) -> FactSource:
    FACT_SOURCES.append(fn)
    return fn


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    return (ids[i : i + size] for i in range(0, len(ids), size))


@fact_source
def _promises(session: Session, facts: dict[int, CaseFacts]) -> None:
    """Promises made on the cases: kept and broken ones (open or cancelled ones do not count)."""
    from meaculpa.commitments.models import Commitment

    for chunk in _chunks(list(facts)):
        rows = session.execute(
            select(Commitment.case_id, Commitment.state, func.count())
            .where(Commitment.case_id.in_(chunk), Commitment.state.in_(("kept", "broken")))
            .group_by(Commitment.case_id, Commitment.state)
        )
        for case_id, state, n in rows:
            if state == "kept":
                facts[case_id].commitments_kept += n
            else:
                facts[case_id].commitments_broken += n


@fact_source
def _satisfaction(session: Session, facts: dict[int, CaseFacts]) -> None:
    """The customers' answers to the follow-up after resolution."""
    from meaculpa.followups.models import Followup

    for chunk in _chunks(list(facts)):
        rows = session.execute(
            select(Followup.case_id, Followup.solved, Followup.rating).where(
                Followup.case_id.in_(chunk), Followup.answered_at.is_not(None)
            )
        )
        for case_id, solved, rating in rows:
            if rating is not None:
                facts[case_id].satisfaction.append(int(rating))
            if solved is not None:
                facts[case_id].solved_answers.append(bool(solved))


def collect(session: Session, since: datetime, until: datetime) -> dict[int, CaseFacts]:
    """The facts of every case opened in ``[since, until)``."""
    rows = session.execute(
        select(
            Case.id,
            Case.opened_at,
            Case.resolved_at,
            Case.status,
            Case.reopened_count,
            Case.customer_id,
            Team.name,
        )
        .outerjoin(User, User.id == Case.owner_id)
        .outerjoin(Team, Team.id == User.team_id)
        .where(Case.opened_at >= since, Case.opened_at < until)
    ).all()
    customers = {r[5] for r in rows}
    error_type: dict[int, str] = {}
    if customers:
        for customer_id, etype in session.execute(
            select(AffectedCustomer.customer_id, Error.type)
            .join(Error, Error.id == AffectedCustomer.error_id)
            .where(AffectedCustomer.customer_id.in_(customers))
            .order_by(Error.detected_at)
        ):
            error_type[customer_id] = etype  # the latest error wins
    facts = {
        r[0]: CaseFacts(
            id=r[0],
            opened_at=as_utc(r[1]),
            resolved_at=as_utc(r[2]) if r[2] else None,
            status=r[3],
            reopened_count=r[4],
            team=r[6] or NO_TEAM,
            error_type=error_type.get(r[5], NO_ERROR),
        )
        for r in rows
    }
    ids = list(facts)
    for chunk in _chunks(ids):
        outbound = session.execute(
            select(Message.id, Message.case_id, Message.sent_at, Message.text, Case.language)
            .join(Case, Case.id == Message.case_id)
            .where(Message.case_id.in_(chunk), Message.direction == "outbound")
            .order_by(Message.case_id, Message.sent_at, Message.id)
        )
        for message_id, case_id, sent_at, text, language in outbound:
            f = facts[case_id]
            if f.first_apology_at is None and _apologises(message_id, text, language):
                f.first_apology_at = as_utc(sent_at)
    for source in FACT_SOURCES:
        source(session, facts)
    return facts


def _key(f: CaseFacts, group_by: str) -> str:
    if group_by == "team":
        return f.team
    if group_by == "error_type":
        return f.error_type
    if group_by == "month":
        return f.opened_at.strftime("%Y-%m")
    if group_by == "week":
        year, week, _ = f.opened_at.isocalendar()
        return f"{year}-W{week:02d}"
    return "all"


def _median(values: Iterable[float]) -> float | None:
    items = list(values)
    return round(statistics.median(items), 2) if items else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def figures(
    session: Session, since: datetime, until: datetime, group_by: str = "all"
) -> list[GroupFigures]:
    if group_by not in GROUPS:
        raise ValueError(f"group_by is one of {', '.join(GROUPS)}")
    groups: dict[str, list[CaseFacts]] = defaultdict(list)
    for f in collect(session, since, until).values():
        groups[_key(f, group_by)].append(f)
    out = []
    for key in sorted(groups):
        cases = groups[key]
        apologised = [f for f in cases if f.first_apology_at is not None]
        resolved = [f for f in cases if f.resolved_at is not None]
        ever_resolved = [f for f in cases if f.resolved_at is not None or f.reopened_count > 0]
        kept = sum(f.commitments_kept for f in cases)
        broken = sum(f.commitments_broken for f in cases)
        scores = [s for f in cases for s in f.satisfaction]
        solved = [a for f in cases for a in f.solved_answers]
        out.append(
            GroupFigures(
                key=key,
                cases=len(cases),
                apologised_share=_share(len(apologised), len(cases)),
                hours_to_first_apology_median=_median(
                    (f.first_apology_at - f.opened_at).total_seconds() / 3600
                    for f in apologised
                    if f.first_apology_at is not None
                ),
                resolved=len(resolved),
                hours_to_resolution_median=_median(
                    (f.resolved_at - f.opened_at).total_seconds() / 3600
                    for f in resolved
                    if f.resolved_at is not None
                ),
                reopen_rate=_share(
                    sum(1 for f in ever_resolved if f.reopened_count > 0), len(ever_resolved)
                ),
                promises_kept=kept,
                promises_broken=broken,
                promise_keeping_rate=_share(kept, kept + broken),
                satisfaction_answers=len(scores),
                satisfaction_mean=round(statistics.fmean(scores), 2) if scores else None,
                solved_share=_share(sum(solved), len(solved)),
            )
        )
    return out
