"""Pages of the improvements domain: the list, a new action, one action with its proof."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from meaculpa.accounts.queries import list_users, organisation_or_default
from meaculpa.core.clock import utcnow
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import Invalid, ProblemError
from meaculpa.core.i18n import zone
from meaculpa.core.permissions import has_role
from meaculpa.customers.queries import customer_names
from meaculpa.improvements import actions, queries
from meaculpa.improvements.models import KINDS, PURPOSES, STATUSES
from meaculpa.improvements.schemas import ActionCreate, ActionUpdate
from meaculpa.improvements.texts import (
    KIND_LABELS,
    OUTCOME_LABELS,
    PURPOSE_LABELS,
    STATUS_LABELS,
    VERDICT_LABELS,
)
from meaculpa.lessons.queries import list_lessons
from meaculpa.problems import queries as problem_queries
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

LABELS = {
    "kind_labels": KIND_LABELS,
    "purpose_labels": PURPOSE_LABELS,
    "status_labels": STATUS_LABELS,
    "verdict_labels": VERDICT_LABELS,
    "outcome_labels": OUTCOME_LABELS,
    "kinds": KINDS,
    "purposes": PURPOSES,
    "statuses": STATUSES,
}


def _ids(form: Any, name: str) -> list[int]:
    out = []
    for raw in form.getlist(name):
        for part in str(raw).replace(",", " ").split():
            if not part.isdigit() or len(part) > 12:
                raise Invalid(f"{part!r} is not a number", field=name)
            out.append(int(part))
    return out


def _due(form: Any, timezone: str) -> datetime | None:
    raw = field(form, "due_date")
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid("the due date is not a date", field="due_at") from exc
    return datetime.combine(day, time(18, 0), zone(timezone))


def _window(form: Any) -> int:
    raw = field(form, "window_days") or "28"
    if not raw.isdigit() or len(raw) > 4:
        raise Invalid("the window is a number of days", field="window_days")
    return int(raw)


def _owner(form: Any) -> int | None:
    raw = field(form, "owner_id")
    return int(raw) if raw.isdigit() else None


def _summary(form: Any) -> dict[str, str]:
    return {lang: field(form, f"summary_{lang}")[:2000] for lang in ("es", "en")}


def _validation_message(request: Request, exc: ValidationError) -> str:
    _ = gettext(request)
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return _("Check the field %(field)s: %(problem)s", field=where, problem=first.get("msg", ""))


@router.get("/improvements", name="improvements")
async def improvements_page(
    request: Request, user: CurrentUser, db: DB, status: str | None = None
) -> Response:
    now = utcnow()
    chosen = status if status in STATUSES else None
    with db.reading() as session:
        rows = queries.list_actions(session, status=chosen, limit=200)[:200]
        reads = queries.to_reads(session, rows, now)
        users = list_users(session, active_only=True)
        problems = problem_queries.list_problems(session, limit=200)[:200]
    names = {u.id: u.name for u in users}
    return render(
        request,
        "improvements/list.html",
        {
            "section": "improvements",
            "rows": reads,
            "names": names,
            "users": users,
            "problems": problems,
            "status": chosen,
            "can_manage": has_role(user.actor, "manager"),
            **LABELS,
        },
    )


@router.post("/improvements", name="improvement_create")
def create_improvement(request: Request, user: CurrentUser, db: DB, form: PostedForm) -> Response:
    _ = gettext(request)
    try:
        with db.transaction() as session:
            tz = organisation_or_default(session).timezone
            data = ActionCreate.model_validate(
                {
                    "title": field(form, "title"),
                    "description": field(form, "description"),
                    "purpose": field(form, "purpose") or "corrective",
                    "kind": field(form, "kind"),
                    "owner_id": _owner(form),
                    "due_at": _due(form, tz),
                    "window_days": _window(form),
                    "problem_ids": _ids(form, "problem_ids"),
                    "error_ids": _ids(form, "error_ids"),
                    "customer_summary": _summary(form),
                }
            )
            action = actions.do_create_action(session, user.actor, data)
            action_id = action.id
    except ValidationError as exc:
        flash(request, _validation_message(request, exc), "error")
        return redirect("/improvements")
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect("/improvements")
    flash(request, _("Improvement action planned."))
    return redirect(f"/improvements/{action_id}")


@router.get("/improvements/{action_id}", name="improvement")
async def improvement_page(action_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    now = utcnow()
    with db.reading() as session:
        action = queries.access_action(session, user.actor, action_id)
        read = queries.to_reads(session, [action], now)[0]
        users = list_users(session, active_only=True)
        problems = {pid: problem_queries.get_problem(session, pid) for pid in read.problem_ids}
        notices = queries.customer_notices_of(session, action_id, limit=500)
        customers = customer_names(session, [n.customer_id for n in notices])
        owner_notices = queries.notices_of(session, action_id)
        lessons = list_lessons(session, action_id=action_id, limit=50)[:50]
        tz = organisation_or_default(session).timezone
    can_manage = has_role(user.actor, "manager")
    return render(
        request,
        "improvements/detail.html",
        {
            "section": "improvements",
            "a": read,
            "names": {u.id: u.name for u in users},
            "users": users,
            "problems": problems,
            "notices": notices,
            "customers": customers,
            "owner_notices": owner_notices,
            "lessons": lessons,
            "can_manage": can_manage,
            "can_progress": can_manage or user.id == read.owner_id,
            "due_date": read.due_at.astimezone(zone(tz)).date().isoformat() if read.due_at else "",
            **LABELS,
        },
    )


@router.post("/improvements/{action_id}/status", name="improvement_status")
def improvement_status(
    action_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/improvements/{action_id}"
    wanted = field(form, "status")
    try:
        with db.transaction() as session:
            action = queries.access_action(session, user.actor, action_id)
            if wanted == "in_progress":
                actions.do_start_action(session, user.actor, action)
            elif wanted == "done":
                actions.do_complete_action(
                    session, user.actor, action, note=field(form, "note")[:2000] or None
                )
            elif wanted == "cancelled":
                actions.do_cancel_action(
                    session, user.actor, action, reason=field(form, "reason")[:2000]
                )
            else:
                raise Invalid("choose a status", field="status")
    except Invalid as exc:
        if exc.extra.get("languages"):
            flash(
                request,
                _(
                    "Before marking it done, write what changed for the customers in: "
                    "%(languages)s.",
                    languages=", ".join(exc.extra["languages"]),
                ),
                "error",
            )
        else:
            flash(request, problem_message(_, exc), "error")
        return redirect(here)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    messages = {
        "in_progress": _("The action is in progress."),
        "done": _(
            "The action is done. Its effect will be measured, and the customers who reported "
            "its problems will be told."
        ),
        "cancelled": _("The action was cancelled."),
    }
    flash(request, messages[wanted])
    return redirect(here)


@router.post("/improvements/{action_id}/edit", name="improvement_edit")
def improvement_edit(
    action_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/improvements/{action_id}"
    try:
        with db.transaction() as session:
            tz = organisation_or_default(session).timezone
            action = queries.access_action(session, user.actor, action_id)
            data = ActionUpdate.model_validate(
                {
                    "title": field(form, "title"),
                    "description": field(form, "description"),
                    "purpose": field(form, "purpose") or action.purpose,
                    "kind": field(form, "kind") or action.kind,
                    "owner_id": _owner(form),
                    "due_at": _due(form, tz),
                    "problem_ids": _ids(form, "problem_ids"),
                    "error_ids": _ids(form, "error_ids"),
                    "customer_summary": _summary(form),
                }
            )
            actions.do_update_action(session, user.actor, action, data)
    except ValidationError as exc:
        flash(request, _validation_message(request, exc), "error")
        return redirect(here)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Improvement action saved."))
    return redirect(here)

