"""Pages: the inbox of open cases and the case page (timeline, reply, status)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from meaculpa.accounts.queries import list_users, users_by_id
from meaculpa.cases import actions, queries
from meaculpa.cases.actions import TRANSITIONS
from meaculpa.core.deps import DB
from meaculpa.core.enums import CaseStatus, Channel, Direction, Severity
from meaculpa.core.exceptions import ProblemError
from meaculpa.core.permissions import has_role
from meaculpa.customers.queries import access_customer
from meaculpa.messages.actions import do_add_reply
from meaculpa.messages.queries import case_timeline
from meaculpa.messages.schemas import ReplyIn
from meaculpa.web.pages import (
    CurrentUser,
    PostedForm,
    field,
    flash,
    gettext,
    int_field,
    problem_message,
    redirect,
    render,
)
from meaculpa.web.panels import CasePanel, case_panel, panels_for

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
MAX_PAGE = 10_000
SCOPES = ("mine", "all")
SORTS = ("oldest", "newest", "activity", "anger", "negative")


def _choice(value: str | None, allowed: tuple[str, ...] | list[str], default: str | None) -> Any:
    return value if value in allowed else default


@router.get("/inbox", name="inbox_alias")
async def inbox_alias(request: Request) -> Response:
    query = request.url.query
    return redirect("/" + (f"?{query}" if query else ""))


@router.get("/", name="inbox")
async def inbox(
    request: Request,
    user: CurrentUser,
    db: DB,
    scope: str | None = Query(None, max_length=16),
    channel: str | None = Query(None, max_length=16),
    severity: str | None = Query(None, max_length=16),
    sort: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    """Open cases: mine (and unassigned) or everyone's, filtered, sorted, paged."""
    default_scope = "all" if has_role(user.actor, "manager") else "mine"
    filters = {
        "scope": _choice(scope, SCOPES, default_scope),
        "channel": _choice(channel, [c.value for c in Channel], None),
        "severity": _choice(severity, [s.value for s in Severity], None),
        "sort": _choice(sort, SORTS, "oldest"),
    }
    with db.reading() as session:
        rows, next_page = queries.inbox_page(
            session,
            mine_or_unassigned_for=user.id if filters["scope"] == "mine" else None,
            channel=filters["channel"],
            severity=filters["severity"],
            sort=filters["sort"],
            page=page,
            per_page=PER_PAGE,
        )

    def page_url(number: int) -> str:
        params = {k: v for k, v in filters.items() if v}
        params["page"] = str(number)
        return "/?" + urlencode(params)

    context = {
        "rows": rows,
        "filters": filters,
        "page": page,
        "prev_url": page_url(page - 1) if page > 1 else None,
        "next_url": page_url(next_page) if next_page else None,
        "channels": [c.value for c in Channel],
        "severities": [s.value for s in Severity],
        "sorts": SORTS,
    }
    partial = bool(request.headers.get("hx-request")) and not request.headers.get("hx-boosted")
    template = "cases/_inbox_results.html" if partial else "cases/inbox.html"
    return render(request, template, context, headers={"Vary": "HX-Request"}, partial=partial)


@router.get("/cases/{case_id}", name="case")
async def case_page(case_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    with db.reading() as session:
        case = queries.access_case(session, user.actor, case_id)
        customer = access_customer(session, user.actor, case.customer_id)
        messages = case_timeline(session, case.id)
        author_ids = {m.author_id for m in messages if m.author_id is not None}
        if case.owner_id is not None:
            author_ids.add(case.owner_id)
        people = users_by_id(session, author_ids)
        owner = people.get(case.owner_id) if case.owner_id is not None else None
        assignable = list_users(session, active_only=True)
        panels = panels_for(session, user, case)
    allowed = sorted(TRANSITIONS[CaseStatus(case.status)], key=lambda s: list(CaseStatus).index(s))
    return render(
        request,
        "cases/case.html",
        {
            "case": case,
            "customer": customer,
            "owner": owner,
            "messages": messages,
            "people": people,
            "next_statuses": [s.value for s in allowed],
            "severities": [s.value for s in Severity],
            "assignable": assignable,
            "panels": panels,
        },
    )


@router.post("/cases/{case_id}/reply", name="case_reply")
def case_reply(
    case_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/cases/{case_id}"
    try:
        data = ReplyIn(
            direction=Direction(field(form, "direction") or "outbound"),
            text=field(form, "text"),
            status=CaseStatus(field(form, "status")) if field(form, "status") else None,
        )
    except (ValidationError, ValueError):
        flash(request, _("Write a message before sending it."), "error")
        return redirect(here + "#reply")
    try:
        with db.transaction() as session:
            case = queries.access_case(session, user.actor, case_id)
            message = do_add_reply(session, user.actor, case, data)
            message_id = message.id
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here + "#reply")
    if data.direction is Direction.note:
        flash(request, _("Internal note added."))
    else:
        flash(request, _("Reply sent to the customer."))
    return redirect(f"{here}#message-{message_id}")


@router.post("/cases/{case_id}/update", name="case_update")
def case_update(
    case_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    """Change status, severity or owner (a handover); the action checks who may."""
    _ = gettext(request)
    here = f"/cases/{case_id}"
    status = field(form, "status") or None
    severity = field(form, "severity") or None
    if (status and status not in CaseStatus.__members__) or (
        severity and severity not in Severity.__members__
    ):
        flash(
            request, _("Some of the values are not valid. Check the form and try again."), "error"
        )
        return redirect(here)
    owner_field = "owner_id" in form
    owner_id = int_field(form, "owner_id")
    try:
        with db.transaction() as session:
            case = queries.access_case(session, user.actor, case_id)
            before = (case.status, case.severity, case.owner_id)
            actions.do_update_case(
                session,
                user.actor,
                case,
                status=status,
                severity=severity,
                owner_id=owner_id,
                owner_set=owner_field and owner_id != case.owner_id,
                handover_note=field(form, "handover_note") or None,
            )
            changed = before != (case.status, case.severity, case.owner_id)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Case updated.") if changed else _("Nothing to change."))
    return redirect(here)


# --- internal tasks (a case-page panel) -------------------------------------------------------


def _tasks_context(session: Any, user: Any, case: Any) -> dict[str, Any]:
    from meaculpa.accounts.queries import list_teams

    tasks = queries.list_tasks(session, case.id)
    people = users_by_id(session, {t.assignee_id for t in tasks if t.assignee_id is not None})
    return {
        "tasks": tasks,
        "people": people,
        "teams": list_teams(session),
        "assignable": list_users(session, active_only=True),
    }


case_panel(
    CasePanel(
        name="tasks",
        template="cases/_tasks_panel.html",
        context=_tasks_context,
        area="main",
        order=40,
    )
)


@router.post("/cases/{case_id}/tasks", name="case_task_create")
def case_task_create(
    case_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/cases/{case_id}#tasks"
    try:
        with db.transaction() as session:
            case = queries.access_case(session, user.actor, case_id)
            actions.do_create_task(
                session,
                user.actor,
                case,
                title=field(form, "title"),
                team_id=int_field(form, "team_id"),
                assignee_id=int_field(form, "assignee_id"),
            )
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Task created. You are still the customer's contact."))
    return redirect(here)


@router.post("/tasks/{task_id}/done", name="case_task_done")
def case_task_done(
    task_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    try:
        with db.transaction() as session:
            task = queries.access_task(session, user.actor, task_id)
            case_id = task.case_id
            actions.do_complete_task(session, user.actor, task)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect("/")
    flash(request, _("Task done."))
    return redirect(f"/cases/{case_id}#tasks")
