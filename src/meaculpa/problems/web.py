"""Pages of the problems domain: recurring problems, one problem (rename, merge, split, link
to errors, root cause), the root cause of an error, and alerts about rising problems."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import ProblemError
from meaculpa.core.i18n import N_
from meaculpa.core.permissions import has_role
from meaculpa.errors.queries import access_error, list_errors
from meaculpa.problems import actions, charts, queries
from meaculpa.problems.models import Problem
from meaculpa.problems.texts import CATEGORY_LABELS, SOURCE_LABELS, STATUS_LABELS, TREND_LABELS
from meaculpa.web.pages import (
    CurrentUser,
    PageUser,
    PostedForm,
    field,
    flash,
    gettext,
    int_field,
    problem_message,
    redirect,
    render,
)
from meaculpa.web.panels import CasePanel, case_panel

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
WEEKS_SHOWN = 12
REPORTS_SHOWN = 100


def _series(
    session: Session, ids: list[int], weeks: int, until: datetime | None = None
) -> dict[int, list[tuple[Any, int]]]:
    now = until or utcnow()
    monday = queries.week_start(now)
    return queries.weekly_counts_many(
        session, ids, monday - timedelta(days=7 * (weeks - 1)), now + timedelta(seconds=1)
    )


@router.get("/problems", name="problems")
async def problems_page(
    request: Request,
    user: CurrentUser,
    db: DB,
    status: str = Query("open", pattern="^(open|archived|merged)$"),
    q: str | None = Query(None, max_length=200),
    page: int = Query(1, ge=1, le=10_000),
    small: bool = Query(False, description="include problems reported once or twice"),
) -> Response:
    """Problems by how often they were reported in the last four weeks, most first."""
    _ = gettext(request)
    with db.reading() as session:
        rows = queries.list_problems(session, status=status, limit=100_000, query=q)
        if status != "merged" and not small:
            rows = [p for p in rows if p.size >= 3]
        series = _series(session, [p.id for p in rows], WEEKS_SHOWN)
    recent = {pid: sum(n for _, n in s[-4:]) for pid, s in series.items()}
    rows.sort(key=lambda p: (-recent.get(p.id, 0), -p.size, -p.id))
    start = (page - 1) * PER_PAGE
    shown = rows[start : start + PER_PAGE]
    items = []
    for p in shown:
        s = series.get(p.id, [])
        items.append(
            {
                "problem": p,
                "recent": recent.get(p.id, 0),
                "trend": queries.trend_of(s).direction,
                "spark": charts.sparkline(
                    [n for _, n in s], title=_("Reports per week, last 12 weeks")
                ),
            }
        )
    return render(
        request,
        "problems/list.html",
        {
            "items": items,
            "status": status,
            "q": q or "",
            "small": small,
            "page": page,
            "more": len(rows) > start + PER_PAGE,
            "total": len(rows),
            "trend_labels": TREND_LABELS,
            "status_labels": STATUS_LABELS,
        },
    )


def _problem_context(
    session: Session, user: PageUser, problem: Problem, _: Callable[..., str]
) -> dict[str, Any]:
    # A problem nobody reported lately is charted up to its last report, not over empty weeks.
    last = as_utc(problem.last_reported_at) if problem.last_reported_at else None
    until = last if last and last < utcnow() - timedelta(weeks=WEEKS_SHOWN) else None
    series = _series(session, [problem.id], WEEKS_SHOWN, until)[problem.id]
    reports = queries.list_reports(session, problem.id, limit=REPORTS_SHOWN)
    error_ids = queries.linked_error_ids(session, problem.id)
    errors = [access_error(session, user.actor, e) for e in error_ids]
    others = [
        p
        for p in queries.open_problems(session)
        if p.id != problem.id and p.size > 0 and problem.status == queries.OPEN
    ]
    others.sort(key=lambda p: -p.size)
    return {
        "problem": problem,
        "chart": charts.column_chart(
            [(w.strftime("%d/%m"), n) for w, n in series],
            title=_("Reports per week, last 12 weeks"),
        ),
        "trend": queries.trend_of(series),
        "chart_until": until,
        "languages": queries.language_mix(session, problem.id),
        "customers": len(queries.reporter_customer_ids(session, problem.id)),
        "reports": reports[:REPORTS_SHOWN],
        "more_reports": len(reports) > REPORTS_SHOWN,
        "errors": errors,
        "recent_errors": [e for e in list_errors(session, limit=50) if e.id not in error_ids],
        "merge_targets": others[:200],
        "cause": queries.get_root_cause(session, problem_id=problem.id),
        "categories": CATEGORY_LABELS,
        "trend_labels": TREND_LABELS,
        "status_labels": STATUS_LABELS,
        "source_labels": SOURCE_LABELS,
        "can_manage": has_role(user.actor, "manager") and problem.status != queries.MERGED,
    }


@router.get("/problems/alerts", name="problem_alerts")
async def alerts_page(request: Request, user: CurrentUser, db: DB) -> Response:
    """The rising problems this user was alerted about."""
    with db.reading() as session:
        alerts = queries.list_alerts_for_user(session, user.id)
        problems = {a.problem_id: queries.get_problem(session, a.problem_id) for a in alerts}
    return render(request, "problems/alerts.html", {"alerts": alerts, "problems": problems})


@router.get("/problems/alerts/fragment", name="problem_alerts_fragment")
async def alerts_fragment(request: Request, user: CurrentUser, db: DB) -> Response:
    """The same list, as a section of the /alerts page (loaded there by htmx)."""
    with db.reading() as session:
        alerts = queries.list_alerts_for_user(session, user.id, limit=20)
        problems = {a.problem_id: queries.get_problem(session, a.problem_id) for a in alerts}
    return render(
        request,
        "problems/_alerts_section.html",
        {"alerts": alerts, "problems": problems},
        partial=True,
    )


@router.get("/problems/{problem_id}", name="problem")
async def problem_page(problem_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    with db.reading() as session:
        problem = queries.access_problem(session, user.actor, problem_id)
        context = _problem_context(session, user, problem, gettext(request))
    return render(request, "problems/problem.html", context)


def _change(
    request: Request,
    db: DB,
    user: PageUser,
    problem_id: int,
    fn: Callable[[Session, Problem], Any],
    done: str,
    anchor: str = "",
) -> Response:
    """Run one change on a problem; flash the outcome and go back to its page."""
    _ = gettext(request)
    here = f"/problems/{problem_id}"
    try:
        with db.transaction() as session:
            problem = queries.access_problem(session, user.actor, problem_id, for_update=True)
            result = fn(session, problem)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here + anchor)
    flash(request, _(done))  # done is an N_() msgid
    if isinstance(result, Problem) and result.id != problem_id:
        return redirect(f"/problems/{result.id}")
    return redirect(here + anchor)


@router.post("/problems/{problem_id}/rename", name="problem_rename")
def rename(
    problem_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    label = field(form, "label")[:200]
    return _change(
        request, db, user, problem_id,
        lambda s, p: actions.do_rename_problem(s, user.actor, p, label),
        N_("Problem renamed."),
    )  # fmt: skip


@router.post("/problems/{problem_id}/status", name="problem_status")
def set_status(
    problem_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    status = field(form, "status")
    return _change(
        request, db, user, problem_id,
        lambda s, p: actions.do_set_status(s, user.actor, p, status),
        N_("Problem updated."),
    )  # fmt: skip


@router.post("/problems/{problem_id}/merge", name="problem_merge")
def merge(
    problem_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    into = int_field(form, "into") or 0

    def run(s: Session, p: Problem) -> Problem:
        target = queries.access_problem(s, user.actor, into, for_update=True)
        return actions.do_merge_problems(s, user.actor, p, target)

    return _change(request, db, user, problem_id, run, N_("Problems merged."))


def _ids(form: FormData, name: str) -> list[int]:
    out = []
    for value in form.getlist(name)[: actions.MAX_SPLIT_REPORTS]:
        if isinstance(value, str) and value.isdigit():
            out.append(int(value))
    return out


@router.post("/problems/{problem_id}/split", name="problem_split")
def split(
    problem_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    """The ticked reports move to a new problem; with none ticked, the smaller half by meaning."""
    report_ids = _ids(form, "report_id")
    label = field(form, "label")[:200]
    return _change(
        request, db, user, problem_id,
        lambda s, p: actions.do_split_problem(s, user.actor, p, report_ids or None, label),
        N_("Problem split. These are the reports that moved."),
    )  # fmt: skip


@router.post("/problems/{problem_id}/errors", name="problem_link_error")
def link_error(
    problem_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    error_id = int_field(form, "error_id") or 0
    return _change(
        request, db, user, problem_id,
        lambda s, p: actions.do_link_error(s, user.actor, p, error_id),
        N_("Problem linked to the error."), "#errors",
    )  # fmt: skip


@router.post("/problems/{problem_id}/errors/{error_id}/unlink", name="problem_unlink_error")
def unlink_error(
    problem_id: int, error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    return _change(
        request, db, user, problem_id,
        lambda s, p: actions.do_unlink_error(s, user.actor, p, error_id),
        N_("Link removed."), "#errors",
    )  # fmt: skip


def _cause_values(form: FormData) -> tuple[str, list[str], str]:
    whys = [field(form, f"why{i}")[:1000] for i in range(1, actions.MAX_WHYS + 1)]
    return field(form, "category"), whys, field(form, "notes")[:10_000]


@router.post("/problems/{problem_id}/root-cause", name="problem_root_cause")
def problem_root_cause(
    problem_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    category, whys, notes = _cause_values(form)
    return _change(
        request, db, user, problem_id,
        lambda s, p: actions.do_set_root_cause(
            s, user.actor, category=category, whys=whys, notes=notes, problem_id=p.id
        ),
        N_("Root cause saved."), "#root-cause",
    )  # fmt: skip


# --- the root cause of an error --------------------------------------------------------------


@router.get("/errors/{error_id}/root-cause", name="error_root_cause")
async def error_root_cause_page(
    error_id: int, request: Request, user: CurrentUser, db: DB
) -> Response:
    with db.reading() as session:
        error = access_error(session, user.actor, error_id)
        cause = queries.get_root_cause(session, error_id=error.id)
        problems = queries.problems_for_error(session, error.id)
    return render(
        request,
        "problems/error_cause.html",
        {
            "error": error,
            "cause": cause,
            "problems": problems,
            "categories": CATEGORY_LABELS,
            "can_manage": has_role(user.actor, "manager"),
        },
    )


@router.post("/errors/{error_id}/root-cause", name="error_root_cause_save")
def error_root_cause_save(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/errors/{error_id}/root-cause"
    category, whys, notes = _cause_values(form)
    try:
        with db.transaction() as session:
            actions.do_set_root_cause(
                session, user.actor, category=category, whys=whys, notes=notes, error_id=error_id
            )
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Root cause saved."))
    return redirect(here)


# --- the monthly management review -----------------------------------------------------------


@router.get("/review", name="review")
async def review_page(
    request: Request,
    user: CurrentUser,
    db: DB,
    month: str | None = Query(None, max_length=7),
) -> Response:
    """Top problems, improvement actions and whether they worked, recovery figures; printable."""
    from meaculpa.core.permissions import require_role
    from meaculpa.improvements.texts import KIND_LABELS, PURPOSE_LABELS, VERDICT_LABELS
    from meaculpa.improvements.texts import STATUS_LABELS as ACTION_STATUS
    from meaculpa.problems.review import build_review, parse_month, previous_month

    require_role(user.actor, "manager", "see the management review")
    _ = gettext(request)
    today = utcnow().date()
    try:
        chosen = parse_month(month, today)
    except ValueError:
        flash(request, _("A month is written YYYY-MM."), "error")
        chosen = previous_month(today)
    with db.reading() as session:
        review = build_review(session, chosen)
    verdicts = [(_(VERDICT_LABELS[k]), float(v)) for k, v in review.effectiveness.items()]
    return render(
        request,
        "problems/review.html",
        {
            "review": review,
            "month_value": chosen.strftime("%Y-%m"),
            "month_name": chosen,
            "top_chart": charts.bar_chart(
                [(p.label, float(p.count)) for p in review.top],
                title=_("Most reported problems"),
            ),
            "weekly_chart": charts.column_chart(
                [(w.strftime("%d/%m"), n) for w, n in review.weekly],
                title=_("Complaints grouped per week"),
                height=180,
            ),
            "verdict_chart": charts.bar_chart(verdicts, title=_("Actions done, by verdict")),
            "kind_labels": KIND_LABELS,
            "purpose_labels": PURPOSE_LABELS,
            "verdict_labels": VERDICT_LABELS,
            "action_status": ACTION_STATUS,
            "categories": CATEGORY_LABELS,
        },
    )


# --- the case page: which recurring problems this case is part of ----------------------------


def _case_problems(session: Session, user: Any, case: Any) -> dict[str, Any]:
    problems = queries.problems_of_case(session, case.id)
    return {"problems": [p for p in problems if p.status != queries.MERGED]}


case_panel(
    CasePanel(
        name="problems",
        template="problems/_case_panel.html",
        area="sidebar",
        order=60,
        context=_case_problems,
    )
)
