"""Pages of the insights domain: the case panel, label corrections and the live reply coach."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from meaculpa.analysis import coach_reply
from meaculpa.cases.queries import access_case
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import ProblemError
from meaculpa.insights import actions, queries
from meaculpa.insights.labels import INSIGHT_LABELS, insight_label
from meaculpa.messages.queries import access_message
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
from meaculpa.web.panels import CasePanel, case_panel

router = APIRouter(include_in_schema=False)

#: Drafts longer than this are coached on their first part only.
MAX_DRAFT_CHARS = 20_000
#: Below this many characters the language is taken from the case, not detected.
DETECT_FROM_CHARS = 40


def _panel_context(session: Session, user: Any, case: Any) -> dict[str, Any]:
    found = queries.latest_case_analysis(session, case.id)
    message, analysis = found if found is not None else (None, None)
    result = analysis.result if analysis is not None and analysis.result else None
    corrections = queries.corrections_for(session, message.id) if message is not None else []
    current = {c.field: c.value for c in corrections}
    if result is not None:
        current.setdefault("sentiment", result["sentiment"]["label"])
        current.setdefault("anger", "angry" if result["anger"]["angry"] else "calm")
    return {
        "message": message,
        "analysis": analysis,
        "result": result,
        "current": current,
        "corrections": corrections,
        "insight": queries.get_case_insight(session, case.id),
        "ilabel": insight_label,
        "labels": INSIGHT_LABELS,
    }


case_panel(
    CasePanel(
        name="insights",
        template="insights/_case_panel.html",
        area="sidebar",
        order=5,
        context=_panel_context,
    )
)


@router.post("/cases/{case_id}/labels", name="insights_correct_label")
def correct_label(
    case_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    """An agent corrects what the analysis read in the case's message."""
    _ = gettext(request)
    here = f"/cases/{case_id}"
    message_id = int_field(form, "message_id")
    changes = [(name, field(form, name)) for name in ("sentiment", "anger") if field(form, name)]
    if message_id is None or not changes:
        flash(request, _("Choose a label before saving it."), "error")
        return redirect(here)
    try:
        with db.transaction() as session:
            access_case(session, user.actor, case_id)
            message = access_message(session, user.actor, message_id)
            if message.case_id != case_id:
                raise ProblemError("the message is not part of this case")
            for name, value in changes:
                actions.do_correct_label(session, user.actor, message, name, value)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Thank you: the correction will teach the analysis."))
    return redirect(here + "#insights")


@router.post("/cases/{case_id}/coach", name="insights_coach")
async def coach(
    case_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    """The reply coach for the draft in the reply box (an htmx fragment)."""
    with db.reading() as session:
        case = access_case(session, user.actor, case_id)
        case_language = case.language
    text = field(form, "text")[:MAX_DRAFT_CHARS]
    report = None
    if text and field(form, "direction", "outbound") != "note":
        language = None if len(text) >= DETECT_FROM_CHARS else case_language
        report = await run_in_threadpool(coach_reply, text, language)
    return render(
        request,
        "insights/_coach.html",
        {"report": report, "ilabel": insight_label},
        partial=True,
    )
