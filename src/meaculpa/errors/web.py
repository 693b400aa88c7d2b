"""Pages: the list of the company's errors, one error with the customers it hurt, new error."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from meaculpa.accounts.queries import users_by_id
from meaculpa.core.deps import DB
from meaculpa.core.enums import AffectedState, ErrorStatus, ErrorType, Severity
from meaculpa.core.exceptions import ProblemError
from meaculpa.customers.queries import customer_names
from meaculpa.customers.schemas import IdentityIn
from meaculpa.errors import actions, queries
from meaculpa.errors.schemas import AffectedIn, ErrorCreate, ErrorUpdate
from meaculpa.improvements.queries import actions_for_error
from meaculpa.web.pages import (
    CurrentUser,
    PostedForm,
    field,
    flash,
    gettext,
    problem_message,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
AFFECTED_SHOWN = 200


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


def _choice(value: str | None, allowed: list[str]) -> str | None:
    return value if value in allowed else None


@router.get("/errors", name="errors")
async def errors_list(
    request: Request,
    user: CurrentUser,
    db: DB,
    status: str | None = Query(None, max_length=24),
    type: str | None = Query(None, max_length=24),
    severity: str | None = Query(None, max_length=16),
    before: int | None = Query(None, ge=1),
) -> Response:
    """Errors, newest first, filtered by status, type and severity."""
    filters = {
        "status": _choice(status, _values(ErrorStatus)),
        "type": _choice(type, _values(ErrorType)),
        "severity": _choice(severity, _values(Severity)),
    }
    with db.reading() as session:
        rows = queries.list_errors(session, after_id=before, limit=PER_PAGE, **filters)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    next_url = None
    if more:
        params = {k: v for k, v in filters.items() if v}
        params["before"] = str(rows[-1].id)
        next_url = "/errors?" + urlencode(params)
    first_url = None
    if before is not None:
        first_url = "/errors?" + urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "errors/list.html",
        {
            "errors": rows,
            "filters": filters,
            "next_url": next_url,
            "first_url": first_url,
            "statuses": _values(ErrorStatus),
            "types": _values(ErrorType),
            "severities": _values(Severity),
        },
    )


def _new_form(request: Request, values: dict[str, str], error: str | None = None) -> Response:
    return render(
        request,
        "errors/new.html",
        {
            "values": values,
            "form_error": error,
            "types": _values(ErrorType),
            "severities": _values(Severity),
        },
        status_code=422 if error else 200,
    )


@router.get("/errors/new", name="error_new")
async def error_new(request: Request, user: CurrentUser) -> Response:
    return _new_form(request, {"severity": "medium"})


@router.post("/errors", name="error_create")
def error_create(request: Request, user: CurrentUser, db: DB, form: PostedForm) -> Response:
    _ = gettext(request)
    values = {
        name: field(form, name)
        for name in ("title", "type", "severity", "description", "root_cause")
    }
    try:
        data = ErrorCreate(
            title=values["title"],
            type=ErrorType(values["type"]),
            severity=Severity(values["severity"] or "medium"),
            description=values["description"],
            root_cause=values["root_cause"],
        )
    except (ValidationError, ValueError):
        return _new_form(
            request,
            values,
            _("Give the error a title of at least 3 characters, a type and a severity."),
        )
    try:
        with db.transaction() as session:
            error_id = actions.do_create_error(session, user.actor, data).id
    except ProblemError as exc:
        return _new_form(request, values, problem_message(_, exc))
    flash(request, _("Error recorded. Now find the customers it hurt."))
    return redirect(f"/errors/{error_id}")


@router.get("/errors/{error_id}", name="error")
async def error_page(error_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    with db.reading() as session:
        error = queries.access_error(session, user.actor, error_id)
        affected = queries.list_affected(session, error.id, limit=AFFECTED_SHOWN)
        names = customer_names(session, [a.customer_id for a in affected])
        people = users_by_id(
            session, [error.reported_by_id] if error.reported_by_id is not None else []
        )
        from meaculpa.apologies.web import error_context

        owning = error_context(session, error)
        improvement_actions = actions_for_error(session, error.id)
    return render(
        request,
        "errors/error.html",
        {
            "improvement_actions": improvement_actions,
            "error": error,
            "affected": affected[:AFFECTED_SHOWN],
            "more_affected": len(affected) > AFFECTED_SHOWN,
            "names": names,
            "reporter": people.get(error.reported_by_id) if error.reported_by_id else None,
            "statuses": _values(ErrorStatus),
            "states": _values(AffectedState),
            "owning": owning,
        },
    )


@router.post("/errors/{error_id}/update", name="error_update")
def error_update(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/errors/{error_id}"
    try:
        data = ErrorUpdate(status=ErrorStatus(field(form, "status")))
    except (ValidationError, ValueError):
        flash(
            request, _("Some of the values are not valid. Check the form and try again."), "error"
        )
        return redirect(here)
    try:
        with db.transaction() as session:
            error = queries.access_error(session, user.actor, error_id)
            actions.do_update_error(session, user.actor, error, data)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Error updated."))
    return redirect(here)


@router.post("/errors/{error_id}/affected", name="error_add_affected")
def error_add_affected(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    """Add a hurt customer by e-mail; an unknown address creates the customer."""
    _ = gettext(request)
    here = f"/errors/{error_id}"
    try:
        data = AffectedIn(
            identity=IdentityIn.model_validate({"kind": "email", "value": field(form, "email")}),
            name=field(form, "name") or None,
        )
    except ValidationError:
        flash(request, _("Write the customer's e-mail address."), "error")
        return redirect(here + "#affected")
    try:
        with db.transaction() as session:
            error = queries.access_error(session, user.actor, error_id)
            actions.do_add_affected(session, user.actor, error, data)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here + "#affected")
    flash(request, _("Customer added to the affected list."))
    return redirect(here + "#affected")
