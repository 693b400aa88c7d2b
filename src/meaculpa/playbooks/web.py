"""Pages of the playbooks domain: the playbooks and their history, the case checklist panel,
replies from a step's template, and "my overdue steps" (/alerts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from meaculpa.accounts.queries import users_by_id
from meaculpa.cases.actions import check_can_change
from meaculpa.cases.queries import access_case
from meaculpa.core.api import write
from meaculpa.core.audit import Actor
from meaculpa.core.deps import DB
from meaculpa.core.enums import ErrorType, Severity
from meaculpa.core.exceptions import Conflict, Forbidden, ProblemError
from meaculpa.core.i18n import N_
from meaculpa.core.permissions import has_role
from meaculpa.playbooks import actions, queries
from meaculpa.playbooks.defaults import all_defaults
from meaculpa.playbooks.schemas import PlaybookUpdate, StepKey
from meaculpa.web.pages import (
    CurrentUser,
    PageError,
    PostedForm,
    field,
    flash,
    gettext,
    problem_message,
    redirect,
    render,
)
from meaculpa.web.panels import CasePanel, case_panel

router = APIRouter(include_in_schema=False)

STEP_KEYS = [k.value for k in StepKey]


# --- the case page panel ---------------------------------------------------------------------


def _can_change(actor: Actor, case: Any) -> bool:
    try:
        check_can_change(actor, case)
    except Forbidden:
        return False
    return True


def checklist_context(session: Session, user: Any, case: Any) -> dict[str, Any]:
    checklist = queries.case_checklist(session, case)
    people = users_by_id(session, {s.done_by_id for s in checklist.steps if s.done_by_id})
    return {
        "checklist": checklist,
        "playbook": checklist.playbook,
        "people": people,
        "step_labels": actions.STEP_LABELS,
        "can_change": _can_change(user.actor, case),
    }


case_panel(
    CasePanel(
        name="playbook",
        template="playbooks/_case_panel.html",
        area="main",
        order=10,
        context=checklist_context,
    )
)


def _step(step: str) -> str:
    if step not in STEP_KEYS:
        raise PageError(404, N_("This step is not part of the playbook."))
    return step


@router.post("/cases/{case_id}/playbook/{step}/done", name="playbook_step_done")
def step_done(
    case_id: int, step: str, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/cases/{case_id}#playbook"
    try:
        with db.transaction() as session:
            case = access_case(session, user.actor, case_id)
            actions.do_mark_step_done(session, user.actor, case, _step(step))
    except Conflict:
        flash(request, _("That step was already marked done."), "info")
        return redirect(here)
    except PageError:
        raise
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Step marked done."))
    return redirect(here)


@router.post("/cases/{case_id}/playbook/{step}/undo", name="playbook_step_undo")
def step_undo(
    case_id: int, step: str, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/cases/{case_id}#playbook"
    try:
        with db.transaction() as session:
            case = access_case(session, user.actor, case_id)
            actions.do_undo_step(session, user.actor, case, _step(step))
    except PageError:
        raise
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Step marked as not done."))
    return redirect(here)


def _rendered(db: Any, user: Any, case_id: int, step: str) -> tuple[Any, str]:
    with db.reading() as session:
        case = access_case(session, user.actor, case_id)
        text = queries.rendered_step_text(session, case, _step(step), agent_name=user.name)
    return case, text


@router.get("/cases/{case_id}/playbook/{step}/text", name="playbook_step_text")
async def step_text(
    case_id: int, step: str, request: Request, user: CurrentUser, db: DB
) -> Response:
    """For htmx: the reply textarea (``#reply-text``), filled with the step's template."""
    case, text = _rendered(db, user, case_id, step)
    return render(
        request,
        "playbooks/_reply_text.html",
        {"case": case, "text": text},
        partial=True,
        headers={"Vary": "HX-Request"},
    )


@router.get("/cases/{case_id}/playbook/{step}/reply", name="playbook_step_reply")
async def step_reply(
    case_id: int, step: str, request: Request, user: CurrentUser, db: DB
) -> Response:
    """Without JavaScript: a reply form filled with the step's template, sent to the case."""
    case, text = _rendered(db, user, case_id, step)
    return render(
        request,
        "playbooks/reply.html",
        {"case": case, "step": step, "text": text, "step_labels": actions.STEP_LABELS},
    )


# --- my overdue steps ------------------------------------------------------------------------


@router.get("/alerts", name="playbook_alerts")
async def alerts_page(
    request: Request, user: CurrentUser, db: DB, all: bool = Query(False)
) -> Response:
    with db.reading() as session:
        rows = queries.list_alerts_for_user(session, user.id, pending_only=not all)
    return render(
        request,
        "playbooks/alerts.html",
        {"rows": rows, "show_all": all, "step_labels": actions.STEP_LABELS},
    )


# --- the playbooks ---------------------------------------------------------------------------


def _ensure_defaults(db: Any) -> None:
    with db.reading() as session:
        missing = queries.count_playbooks(session) < len(all_defaults())
    if missing:
        write(db, lambda s: actions.do_install_default_playbooks(s, Actor.system()))


@router.get("/playbooks", name="playbooks")
def playbooks_page(request: Request, user: CurrentUser, db: DB) -> Response:
    """One playbook per error type and severity, with its first deadline and version."""
    _ensure_defaults(db)
    with db.reading() as session:
        rows = queries.list_playbooks(session)
    grid = {(p.error_type, p.severity): p for p in rows}
    return render(
        request,
        "playbooks/list.html",
        {
            "grid": grid,
            "first_hours": {
                p.id: f"{float(p.steps[0]['hours']):g}" if p.steps else "0" for p in rows
            },
            "types": [t.value for t in ErrorType],
            "severities": [s.value for s in Severity],
            "can_edit": has_role(user.actor, "manager"),
        },
    )


def _form_steps(playbook: Any) -> list[dict[str, Any]]:
    """Every step key, in use or not, as the edit form shows them."""
    stored = {s["key"]: s for s in playbook.steps}
    order = [s["key"] for s in playbook.steps] + [k for k in STEP_KEYS if k not in stored]
    rows = []
    for position, key in enumerate(order, start=1):
        step = stored.get(key)
        rows.append(
            {
                "key": key,
                "used": step is not None,
                "position": position,
                "hours": (step or {}).get("hours", 0),
                "templates": (step or {}).get("templates", {"es": "", "en": ""}),
            }
        )
    return rows


def _posted_steps(form: FormData) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(form rows to show again, steps to save)`` from the posted edit form."""
    rows: list[dict[str, Any]] = []
    for index, key in enumerate(STEP_KEYS):
        try:
            position = int(field(form, f"position_{key}") or index + 1)
        except ValueError:
            position = index + 1
        rows.append(
            {
                "key": key,
                "used": field(form, f"use_{key}") == "on",
                "position": position,
                "hours": field(form, f"hours_{key}"),
                "templates": {
                    "es": field(form, f"es_{key}"),
                    "en": field(form, f"en_{key}"),
                },
            }
        )
    rows.sort(key=lambda r: (r["position"], STEP_KEYS.index(r["key"])))
    steps = [
        {"key": r["key"], "hours": r["hours"] or "x", "templates": r["templates"]}
        for r in rows
        if r["used"]
    ]
    return rows, steps


def _playbook_page(
    request: Request,
    db: Any,
    user: Any,
    playbook_id: int,
    *,
    form_rows: list[dict[str, Any]] | None = None,
    reason: str = "",
    form_error: str | None = None,
) -> Response:
    _ = gettext(request)
    with db.reading() as session:
        playbook = queries.access_playbook(session, user.actor, playbook_id)
        revisions = queries.list_revisions(session, playbook.id)
        editor_ids = {r.author_id for r in revisions if r.author_id is not None}
        people = users_by_id(session, editor_ids)
        rows = form_rows or _form_steps(playbook)
    history = [
        {
            "revision": r,
            "reason": _(r.reason) if r.reason == actions.DEFAULTS_REASON else r.reason,
            "author": people[r.author_id].name if r.author_id in people else None,
        }
        for r in revisions
    ]
    return render(
        request,
        "playbooks/playbook.html",
        {
            "playbook": playbook,
            "rows": rows,
            "history": history,
            "reason": reason,
            "form_error": form_error,
            "can_edit": has_role(user.actor, "manager"),
            "step_labels": actions.STEP_LABELS,
        },
        status_code=422 if form_error else 200,
    )


@router.get("/playbooks/{playbook_id}", name="playbook")
async def playbook_page(playbook_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    return _playbook_page(request, db, user, playbook_id)


@router.post("/playbooks/{playbook_id}", name="playbook_update")
def playbook_update(
    playbook_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    """Save new steps, hours and templates; a reason is required and kept with the revision."""
    _ = gettext(request)
    actions.check_can_edit_playbooks(user.actor)
    rows, steps = _posted_steps(form)
    reason = field(form, "reason")
    version = field(form, "version")
    try:
        lesson = field(form, "lesson_id")
        data = PlaybookUpdate.model_validate(
            {
                "steps": steps,
                "reason": reason,
                "version": int(version) if version else None,
                "lesson_id": int(lesson) if lesson else None,
            }
        )
    except (ValidationError, ValueError):
        return _playbook_page(
            request,
            db,
            user,
            playbook_id,
            form_rows=rows,
            reason=reason,
            form_error=_(
                "Check the form: keep at least one step, give each step its hours (0 or more) "
                "and a template in both languages, and say why you are changing the playbook "
                "(at least 3 characters)."
            ),
        )
    try:
        with db.transaction() as session:
            playbook = queries.access_playbook(session, user.actor, playbook_id)
            actions.do_update_playbook(session, user.actor, playbook, data)
    except Conflict:
        return _playbook_page(
            request,
            db,
            user,
            playbook_id,
            form_rows=rows,
            reason=reason,
            form_error=_(
                "Someone saved this playbook while you were editing it. Your changes are "
                "still in the form: reload the page to see theirs, then apply yours again."
            ),
        )
    except ProblemError as exc:
        if getattr(exc, "status", 0) in (403, 404):
            raise
        message = problem_message(_, exc)
        if exc.errors and exc.errors[0].get("field") == "steps":
            message = _("Nothing changed: the steps are the same as the current version.")
        return _playbook_page(
            request, db, user, playbook_id, form_rows=rows, reason=reason, form_error=message
        )
    flash(request, _("Playbook saved. The change and its reason are in the history."))
    return redirect(f"/playbooks/{playbook_id}")
