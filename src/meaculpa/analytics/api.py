"""JSON API of the analytics domain: recovery figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from meaculpa.analytics.recovery import GROUPS, GroupFigures, figures
from meaculpa.core.clock import utcnow
from meaculpa.core.deps import ApiActor, ReadSession
from meaculpa.core.exceptions import Invalid
from meaculpa.core.permissions import require_role

router = APIRouter(prefix="/analytics", tags=["analytics"])
MAX_DAYS = 3 * 366


class RecoveryReport(BaseModel):
    since: datetime
    until: datetime
    group_by: str
    groups: list[GroupFigures]


def period(since: date | None, until: date | None) -> tuple[datetime, datetime]:
    """``[since, until]`` as whole UTC days; the last 30 days by default."""
    end = until or utcnow().date()
    start = since or end - timedelta(days=29)
    if start > end:
        raise Invalid("'from' must not be after 'to'", field="from")
    if (end - start).days > MAX_DAYS:
        raise Invalid(f"periods are limited to {MAX_DAYS} days", field="from")
    return (
        datetime.combine(start, time(), UTC),
        datetime.combine(end + timedelta(days=1), time(), UTC),
    )


@router.get("/recovery", response_model=RecoveryReport)
async def recovery(
    actor: ApiActor,
    session: ReadSession,
    since: date | None = Query(None, alias="from"),
    until: date | None = Query(None, alias="to"),
    group_by: str = Query("all", pattern="^(" + "|".join(GROUPS) + ")$"),
) -> Any:
    """Time to first apology, time to resolution, promise-keeping rate, reopen rate and
    satisfaction after recovery for the cases opened in the period. Managers only."""
    require_role(actor, "manager", "see recovery figures")
    start, end = period(since, until)
    groups = figures(session, start, end, group_by)
    return {
        "since": start,
        "until": end,
        "group_by": group_by,
        "groups": [g.to_dict() for g in groups],
    }
