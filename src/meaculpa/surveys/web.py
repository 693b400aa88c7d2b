"""Pages of the surveys domain.

Public, no login, reached through the signed expiring link of each survey: the question
(``/s/{token}``) and the opt-out (``/s/{token}/opt-out``); they speak the customer's language
(the switch still works), check CSRF, are rate-limited per client address and carry
``X-Robots-Tag: noindex``. For managers: the figures and latest comments (``/surveys``),
list sends and the settings and question texts. For everyone: the case-page panel.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from meaculpa.accounts.queries import list_users
from meaculpa.analytics.api import period
from meaculpa.core.api import awrite
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import Conflict, Invalid, NotFound, ProblemError
from meaculpa.core.i18n import LANGUAGES, N_
from meaculpa.core.permissions import require_role
from meaculpa.core.signing import LinkExpired, LinkInvalid
from meaculpa.customers.queries import customer_names, get_customer
from meaculpa.surveys import actions, queries
from meaculpa.surveys.csvlist import decode_upload, emails_from_text
from meaculpa.surveys.links import read_survey_token
from meaculpa.surveys.models import KINDS, SCALES
from meaculpa.surveys.schemas import (
    MAX_COMMENT,
    Audience,
    QuestionTextUpdate,
    SendCreate,
    SurveySettingsUpdate,
)
from meaculpa.surveys.texts import KIND_NAMES, SCALE_ENDS
from meaculpa.surveys.throttle import limited
from meaculpa.web.pages import (
    NOINDEX,
    CurrentUser,
    PostedForm,
    csrf_ok,
    csrf_refused_page,
    field,
    flash,
    gettext,
    int_field,
    link_error_page,
    page_language,
    problem_message,
    public_error_page,
    redirect,
    render,
)
from meaculpa.web.panels import CasePanel, case_panel

router = APIRouter(include_in_schema=False)

TEMPLATE_ERROR = "surveys/public_error.html"
MAX_UPLOAD = 1_000_000
GROUP_LABELS = {
    "all": N_("Overall"),
    "team": N_("Team"),
    "month": N_("Month"),
    "week": N_("Week"),
    "source": N_("Source"),
    "language": N_("Language"),
}
STATUS_LABELS = {
    "scheduled": N_("Scheduled"),
    "sent": N_("Sent"),
    "answered": N_("Answered"),
    "cancelled": N_("Cancelled"),
    "skipped": N_("Skipped"),
}


# --- the public pages -----------------------------------------------------------------------


def _public_error(request: Request, status: int, title: str, detail: str) -> Response:
    headers = {"Retry-After": "600"} if status == 429 else None
    return public_error_page(request, TEMPLATE_ERROR, status, title, detail, headers)


def _too_many(request: Request) -> Response:
    return _public_error(
        request,
        429,
        N_("Too many attempts"),
        N_("Too many attempts in a short time. Wait a few minutes and try again."),
    )


def _survey_context(session: Session, invite_id: int) -> dict[str, Any]:
    invite = queries.get_invite(session, invite_id)
    if invite is None or invite.status not in ("sent", "answered"):
        raise NotFound("this link names no survey")
    customer = get_customer(session, invite.customer_id)
    if customer is None:
        raise NotFound("this link names no survey")
    low, high = SCALES[invite.kind]
    return {
        "invite": invite,
        "customer": customer,
        "texts": queries.question_text(session, invite.kind, invite.language),
        "response": queries.response_for_invite(session, invite.id),
        "scale": list(range(low, high + 1)),
        "scale_ends": SCALE_ENDS[invite.kind],
        "max_comment": MAX_COMMENT,
    }


def _as_customer(request: Request, context: dict[str, Any]) -> None:
    page_language(request, context["invite"].language)
    request.state.timezone = context["customer"].timezone


@router.get("/s/{token}", name="survey_page")
async def survey_page(token: str, request: Request, db: DB) -> Response:
    if limited(request):
        return _too_many(request)
    try:
        invite_id = read_survey_token(str(request.app.state.settings.secret_key), token)
        with db.reading() as session:
            context = _survey_context(session, invite_id)
    except (LinkExpired, LinkInvalid, NotFound) as exc:
        return link_error_page(request, exc, TEMPLATE_ERROR)
    _as_customer(request, context)
    if context["response"] is not None:
        return render(request, "surveys/thanks.html", context, headers=NOINDEX)
    chosen = request.query_params.get("score", "")
    context.update(values={"score": chosen if chosen.isdigit() else ""}, error=None)
    return render(request, "surveys/answer.html", context, headers=NOINDEX)


@router.post("/s/{token}", name="survey_answer")
async def survey_answer(token: str, request: Request, db: DB) -> Response:
    if limited(request, post=True):
        return _too_many(request)
    settings = request.app.state.settings
    try:
        invite_id = read_survey_token(str(settings.secret_key), token)
        with db.reading() as session:
            context = _survey_context(session, invite_id)
    except (LinkExpired, LinkInvalid, NotFound) as exc:
        return link_error_page(request, exc, TEMPLATE_ERROR)
    _as_customer(request, context)
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused_page(request, TEMPLATE_ERROR)
    _ = gettext(request)
    score_text, comment = field(form, "score"), field(form, "comment")
    score = int(score_text) if score_text.isdigit() and len(score_text) <= 2 else None

    def store(session: Session) -> None:
        if score is None:
            raise Invalid("choose a score", field="score")
        actions.do_answer_survey(
            session,
            invite_id,
            score,
            comment,
            base_url=settings.base_url,
            mail_domain=settings.mail_domain,
        )

    try:
        await awrite(db, store)
    except Conflict:
        with db.reading() as session:
            context = _survey_context(session, invite_id)
        context["already"] = True
        return render(request, "surveys/thanks.html", context, status_code=409, headers=NOINDEX)
    except Invalid:
        low, high = SCALES[context["invite"].kind]
        context.update(
            values={"score": score_text, "comment": comment},
            error=_(
                "Choose a score from %(low)s to %(high)s; the comment has at most %(max)s "
                "characters.",
                low=low,
                high=high,
                max=MAX_COMMENT,
            ),
        )
        return render(request, "surveys/answer.html", context, status_code=422, headers=NOINDEX)
    return redirect(f"/s/{token}")


@router.post("/s/{token}/opt-out", name="survey_opt_out")
async def survey_opt_out(token: str, request: Request, db: DB) -> Response:
    if limited(request, post=True):
        return _too_many(request)
    try:
        invite_id = read_survey_token(str(request.app.state.settings.secret_key), token)
        with db.reading() as session:
            context = _survey_context(session, invite_id)
    except (LinkExpired, LinkInvalid, NotFound) as exc:
        return link_error_page(request, exc, TEMPLATE_ERROR)
    _as_customer(request, context)
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused_page(request, TEMPLATE_ERROR)
    await awrite(db, lambda s: actions.do_opt_out(s, invite_id))
    return render(request, "surveys/opted_out.html", context, headers=NOINDEX)


# --- for managers: figures, comments and list sends -----------------------------------------


def _period(request: Request, since: str | None, until: str | None) -> tuple[Any, Any]:
    _ = gettext(request)
    try:
        return period(
            date.fromisoformat(since) if since else None,
            date.fromisoformat(until) if until else None,
        )
    except ValueError:
        flash(request, _("Dates are written as YYYY-MM-DD."), "error")
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
    return period(None, None)


@router.get("/surveys", name="surveys_page")
async def surveys_page(
    request: Request,
    user: CurrentUser,
    db: DB,
    since: str | None = Query(None, alias="from", max_length=10),
    until: str | None = Query(None, alias="to", max_length=10),
    group_by: str = Query("all", max_length=16),
) -> Response:
    require_role(user.actor, "manager", "see survey figures")
    group_by = group_by if group_by in queries.GROUPS else "all"
    start, end = _period(request, since, until)
    with db.reading() as session:
        groups = queries.results(session, start, end, group_by)
        comments = queries.list_responses(session, with_comment=True, limit=20)[:20]
        names = customer_names(session, [r.customer_id for r in comments])
        sends = queries.list_sends(session, limit=10)[:10]
        counts = queries.send_counts(session, [s.id for s in sends])
        owners = list_users(session, active_only=True)
    return render(
        request,
        "surveys/index.html",
        {
            "section": "surveys",
            "groups": groups,
            "group_by": group_by,
            "group_options": queries.GROUPS,
            "group_labels": GROUP_LABELS,
            "since": start.date().isoformat(),
            "until": end.date().fromordinal(end.date().toordinal() - 1).isoformat(),
            "comments": comments,
            "names": names,
            "sends": sends,
            "counts": counts,
            "kinds": KINDS,
            "kind_names": KIND_NAMES,
            "owners": owners,
            "status_labels": STATUS_LABELS,
            "languages_list": LANGUAGES,
        },
    )


async def _audience(form: FormData) -> Audience | None:
    """The recipients a form names: an uploaded CSV, pasted addresses or a filter."""
    upload = form.get("file")
    text = field(form, "emails")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise Invalid("the file is too large", field="file")
        text = (text + "\n" + decode_upload(data)).strip()
    if text:
        return Audience(emails=emails_from_text(text))
    if field(form, "audience") == "filter":
        language = field(form, "language") or None
        return Audience.model_validate(
            {
                "filter": {
                    "language": language if language in LANGUAGES else None,
                    "owner_id": int_field(form, "owner_id"),
                    "q": field(form, "q")[:200] or None,
                }
            }
        )
    return None


def _summary_flash(request: Request, summary: Any) -> None:
    _ = gettext(request)
    flash(
        request,
        _(
            "Surveyed %(invited)s customers; %(already)s were already in this send, "
            "%(opted)s opted out, %(unknown)s addresses are not customers.",
            invited=summary.invited,
            already=summary.already_invited,
            opted=summary.opted_out,
            unknown=summary.unknown_count + summary.invalid_count,
        ),
    )


@router.post("/surveys/sends", name="survey_send_create")
async def create_send(request: Request, user: CurrentUser, db: DB, form: PostedForm) -> Response:
    _ = gettext(request)
    try:
        audience = await _audience(form)
        data = SendCreate.model_validate(
            {"name": field(form, "name"), "kind": field(form, "kind"), "audience": audience}
        )
    except (ValidationError, ProblemError):
        flash(
            request,
            _("Give the send a name, a kind, and a list of e-mail addresses or a filter."),
            "error",
        )
        return redirect("/surveys#new-send")

    def run(s: Session) -> tuple[int, Any]:
        send, summary = actions.do_create_send(s, user.actor, data)
        return send.id, summary

    try:
        send_id, summary = await awrite(db, run)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect("/surveys#new-send")
    if summary is not None:
        _summary_flash(request, summary)
    return redirect(f"/surveys/sends/{send_id}")


@router.get("/surveys/sends/{send_id}", name="survey_send_page")
async def send_page(send_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    with db.reading() as session:
        send = queries.access_send(session, user.actor, send_id)
        counts = queries.send_counts(session, [send.id])[send.id]
        invites = queries.list_invites(session, send_id=send.id, limit=200)[:200]
        names = customer_names(session, [i.customer_id for i in invites])
        owners = list_users(session, active_only=True)
    return render(
        request,
        "surveys/send.html",
        {
            "section": "surveys",
            "send": send,
            "counts": counts,
            "invites": invites,
            "names": names,
            "kind_names": KIND_NAMES,
            "status_labels": STATUS_LABELS,
            "owners": owners,
            "languages_list": LANGUAGES,
        },
    )


@router.post("/surveys/sends/{send_id}/recipients", name="survey_send_recipients")
async def add_recipients(
    send_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    try:
        audience = await _audience(form)
    except (ValidationError, ProblemError):
        audience = None
    if audience is None:
        flash(request, _("Give a list of e-mail addresses or a filter."), "error")
        return redirect(f"/surveys/sends/{send_id}")

    def run(s: Session) -> Any:
        send = queries.access_send(s, user.actor, send_id)
        return actions.do_add_recipients(s, user.actor, send, audience)

    try:
        summary = await awrite(db, run)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(f"/surveys/sends/{send_id}")
    _summary_flash(request, summary)
    return redirect(f"/surveys/sends/{send_id}")


# --- for managers: settings and question texts ----------------------------------------------


@router.get("/surveys/settings", name="survey_settings_page")
async def settings_page(request: Request, user: CurrentUser, db: DB) -> Response:
    require_role(user.actor, "manager", "change the survey settings")
    with db.reading() as session:
        current = queries.survey_settings(session)
        texts = queries.all_question_texts(session, LANGUAGES)
    return render(
        request,
        "surveys/settings.html",
        {
            "section": "surveys",
            "settings": current,
            "texts": texts,
            "kinds": KINDS,
            "kind_names": KIND_NAMES,
        },
    )


SETTING_INTS = ("delay_days", "link_days", "quiet_days", "csat_low", "nps_low", "ces_high")


@router.post("/surveys/settings", name="survey_settings_save")
async def save_settings(request: Request, user: CurrentUser, db: DB, form: PostedForm) -> Response:
    _ = gettext(request)
    values: dict[str, Any] = {
        "after_case": field(form, "after_case") == "on",
        "after_case_kind": field(form, "after_case_kind"),
    }
    for name in SETTING_INTS:
        values[name] = field(form, name)
    try:
        data = SurveySettingsUpdate.model_validate(values)
        await awrite(db, lambda s: actions.do_update_survey_settings(s, user.actor, data))
    except ValidationError:
        flash(
            request, _("Some of the values are not valid. Check the form and try again."), "error"
        )
        return redirect("/surveys/settings")
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect("/surveys/settings")
    flash(request, _("Survey settings saved."))
    return redirect("/surveys/settings")


@router.post("/surveys/questions", name="survey_questions_save")
async def save_question(request: Request, user: CurrentUser, db: DB, form: PostedForm) -> Response:
    _ = gettext(request)
    kind, language = field(form, "kind"), field(form, "language")
    reset = field(form, "reset") == "1"
    try:
        if reset:
            await awrite(
                db, lambda s: actions.do_reset_question_text(s, user.actor, kind, language)
            )
        else:
            data = QuestionTextUpdate.model_validate(
                {
                    "question": field(form, "question"),
                    "comment_question": field(form, "comment_question"),
                }
            )
            await awrite(
                db, lambda s: actions.do_set_question_text(s, user.actor, kind, language, data)
            )
    except ValidationError:
        flash(request, _("Write both questions, each in at most 300 characters."), "error")
        return redirect("/surveys/settings#questions")
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect("/surveys/settings#questions")
    flash(request, _("Survey questions saved."))
    return redirect("/surveys/settings#questions")


# --- the case-page panel --------------------------------------------------------------------


def panel_context(session: Session, user: Any, case: Any) -> dict[str, Any]:
    return {
        "surveys": queries.case_surveys(session, case.id)[:3],
        "opened_by": queries.response_that_opened(session, case.id),
        "kind_names": KIND_NAMES,
        "status_labels": STATUS_LABELS,
        "scales": SCALES,
    }


case_panel(
    CasePanel(
        name="surveys",
        template="surveys/_case_panel.html",
        context=panel_context,
        area="sidebar",
        order=35,
    )
)
