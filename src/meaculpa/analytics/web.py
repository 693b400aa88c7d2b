"""Pages of the analytics domain: the recovery figures for managers."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from meaculpa.analytics.api import period
from meaculpa.analytics.recovery import GROUPS, figures
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import ProblemError
from meaculpa.core.permissions import require_role
from meaculpa.web.pages import CurrentUser, flash, gettext, problem_message, render

router = APIRouter(include_in_schema=False)


@router.get("/analytics/recovery", name="recovery_figures")
async def recovery_page(
    request: Request,
    user: CurrentUser,
    db: DB,
    since: str | None = Query(None, alias="from", max_length=10),
    until: str | None = Query(None, alias="to", max_length=10),
    group_by: str = Query("all", max_length=16),
) -> Response:
    require_role(user.actor, "manager", "see recovery figures")
    _ = gettext(request)
    group_by = group_by if group_by in GROUPS else "all"
    try:
        start, end = period(
            date.fromisoformat(since) if since else None,
            date.fromisoformat(until) if until else None,
        )
    except ValueError:
        flash(request, _("Dates are written as YYYY-MM-DD."), "error")
        start, end = period(None, None)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        start, end = period(None, None)
    with db.reading() as session:
        groups = figures(session, start, end, group_by)
    return render(
        request,
        "analytics/recovery.html",
        {
            "groups": groups,
            "group_by": group_by,
            "group_options": GROUPS,
            "since": start.date().isoformat(),
            "until": (end.date().fromordinal(end.date().toordinal() - 1)).isoformat(),
        },
    )
