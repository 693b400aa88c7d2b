"""Pages of the lessons domain: my lessons (unread first), one lesson, writing and assigning."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from meaculpa.accounts.queries import list_users
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import Invalid, ProblemError
from meaculpa.core.permissions import has_role
from meaculpa.lessons import actions, queries
from meaculpa.lessons.schemas import LessonCreate
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


def _ids(form: Any, name: str) -> list[int]:
    out = []
    for raw in form.getlist(name):
        for part in str(raw).replace(",", " ").split():
            if not part.isdigit() or len(part) > 12:
                raise Invalid(f"{part!r} is not a number", field=name)
            out.append(int(part))
    return out


def _optional_id(form: Any, name: str) -> int | None:
    raw = field(form, name)
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise Invalid(f"{raw!r} is not a number", field=name)
    return int(raw)


@router.get("/lessons", name="lessons")
async def lessons_page(
    request: Request, user: CurrentUser, db: DB, action_id: int | None = None
) -> Response:
    manager = has_role(user.actor, "manager")
    with db.reading() as session:
        mine = queries.to_reads(
            session, queries.list_lessons(session, user_id=user.id, limit=200)[:200], user.id
        )
        everyone = (
            queries.to_reads(session, queries.list_lessons(session, limit=100)[:100], user.id)
            if manager
            else []
        )
        users = list_users(session, active_only=True) if manager else []
    unread = [lesson for lesson in mine if lesson.read_at is None]
    read = [lesson for lesson in mine if lesson.read_at is not None]
    return render(
        request,
        "lessons/list.html",
        {
            "section": "lessons",
            "unread": unread,
            "read": read,
            "everyone": everyone,
            "users": [u for u in users if u.role == "agent"] if manager else [],
            "can_teach": manager,
            "action_id": action_id if action_id and action_id > 0 else None,
        },
    )


@router.get("/lessons/unread-badge", name="lessons_unread_badge")
async def unread_badge(request: Request, user: CurrentUser, db: DB) -> Response:
    """The navigation's count of unread lessons (loaded by htmx)."""
    _ = gettext(request)
    with db.reading() as session:
        n = queries.unread_count(session, user.id)
    if not n:
        return HTMLResponse("")
    title = _("Unread lessons")
    return HTMLResponse(
        f'<span class="badge sev-high unread-lessons" title="{title}">{int(n)}</span>'
    )


@router.post("/lessons", name="lesson_create")
def create_lesson(request: Request, user: CurrentUser, db: DB, form: PostedForm) -> Response:
    _ = gettext(request)
    try:
        data = LessonCreate.model_validate(
            {
                "title": field(form, "title"),
                "what_went_wrong": field(form, "what_went_wrong"),
                "what_to_do": field(form, "what_to_do"),
                "language": field(form, "language") or "es",
                "example_case_ids": _ids(form, "example_case_ids"),
                "action_id": _optional_id(form, "action_id"),
                "error_id": _optional_id(form, "error_id"),
                "problem_id": _optional_id(form, "problem_id"),
                "assign_to": _ids(form, "assign_to"),
                "assign_all_agents": field(form, "assign_all_agents") == "1",
            }
        )
        with db.transaction() as session:
            lesson_id = actions.do_create_lesson(session, user.actor, data).id
    except ValidationError:
        flash(
            request, _("Some of the values are not valid. Check the form and try again."), "error"
        )
        return redirect("/lessons")
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect("/lessons")
    flash(request, _("Lesson saved and assigned."))
    return redirect(f"/lessons/{lesson_id}")


@router.get("/lessons/{lesson_id}", name="lesson")
async def lesson_page(lesson_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    manager = has_role(user.actor, "manager")
    with db.reading() as session:
        lesson = queries.access_lesson(session, user.actor, lesson_id)
        read = queries.to_reads(session, [lesson], user.id)[0]
        users = list_users(session, active_only=True)
    return render(
        request,
        "lessons/detail.html",
        {
            "section": "lessons",
            "lesson": read,
            "names": {u.id: u.name for u in users},
            "agents": [u for u in users if u.role == "agent"],
            "can_teach": manager,
        },
    )


@router.post("/lessons/{lesson_id}/read", name="lesson_read")
def confirm_read(
    lesson_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    try:
        with db.transaction() as session:
            lesson = queries.access_lesson(session, user.actor, lesson_id)
            actions.do_confirm_read(session, user.actor, lesson)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(f"/lessons/{lesson_id}")
    flash(request, _("Thank you: the lesson is marked as read."))
    return redirect("/lessons")


@router.post("/lessons/{lesson_id}/assign", name="lesson_assign")
def assign(
    lesson_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/lessons/{lesson_id}"
    try:
        with db.transaction() as session:
            lesson = queries.access_lesson(session, user.actor, lesson_id)
            actions.do_assign_lesson(
                session,
                user.actor,
                lesson,
                _ids(form, "assign_to"),
                all_agents=field(form, "assign_all_agents") == "1",
            )
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Lesson assigned."))
    return redirect(here)
