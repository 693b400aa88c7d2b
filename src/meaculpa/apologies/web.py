"""Pages: affected customers in bulk and by filter, the apology (edit, preview, send), updates,
the error's public status, the case panel, and the public status page with its feeds."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from meaculpa.accounts.queries import organisation_or_default
from meaculpa.apologies import actions, queries, texts
from meaculpa.apologies.importer import ImportRefused, import_affected
from meaculpa.apologies.schemas import CampaignIn, CustomerFilter, PostIn
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import ProblemError
from meaculpa.customers.queries import customer_names
from meaculpa.errors.actions import check_can_edit_error, do_update_error
from meaculpa.errors.queries import access_error
from meaculpa.errors.schemas import ErrorUpdate
from meaculpa.remedies.schemas import RemedyKind
from meaculpa.remedies.web import KIND_LABELS
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
from meaculpa.web.panels import CasePanel, case_panel

router = APIRouter(include_in_schema=False)

# Uploads through the page: the request body limit applies (MEACULPA_MAX_BODY_BYTES); larger
# files go through `meaculpa error affected import`.
REJECTIONS_SHOWN = 200
APOLOGIES_SHOWN = 100


def error_context(session: Session, error: Any) -> dict[str, Any]:
    """What the error page shows of this domain (the error page includes our template)."""
    campaign = queries.get_campaign(session, error.id)
    return {
        "campaign": campaign,
        "counts": queries.apology_counts(session, error.id),
        "posts": queries.list_posts(session, error.id),
        "figures": queries.figures(session, error),
    }


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime.combine(day, time(), tzinfo=UTC)


@router.post("/errors/{error_id}/affected/import", name="error_import_affected")
async def import_page(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/errors/{error_id}"
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        flash(request, _("Choose a CSV file to upload."), "error")
        return redirect(here + "#affected")
    data = await upload.read()
    try:
        with db.reading() as session:
            error = access_error(session, user.actor, error_id)
            check_can_edit_error(user.actor, error)
        summary = await run_in_threadpool(
            import_affected, db, error_id, io.BytesIO(data), actor=user.actor
        )
    except ImportRefused as exc:
        flash(request, _("The file was not imported: %(reason)s", reason=str(exc)), "error")
        return redirect(here + "#affected")
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here + "#affected")
    return render(
        request,
        "apologies/import_result.html",
        {
            "error_id": error_id,
            "summary": summary,
            "rejected": summary.rejected[:REJECTIONS_SHOWN],
            "filename": upload.filename,
        },
    )


@router.post("/errors/{error_id}/affected/filter", name="error_filter_affected")
def filter_page(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/errors/{error_id}#affected"
    try:
        data = CustomerFilter(
            language=field(form, "language") or None,  # type: ignore[arg-type]
            email_domain=field(form, "email_domain") or None,
            case_opened_from=_date(field(form, "case_opened_from")),
            case_opened_to=_date(field(form, "case_opened_to")),
            dry_run=field(form, "dry_run") == "1",
        )
    except ValidationError:
        flash(request, _("Give at least one condition: language, e-mail domain or dates."), "error")
        return redirect(here)
    try:
        with db.transaction() as session:
            error = access_error(session, user.actor, error_id)
            matched, added = actions.do_add_by_filter(session, user.actor, error, data)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    if data.dry_run:
        flash(request, _("%(num)s customers match.", num=matched))
    else:
        flash(request, _("%(added)s of the %(num)s matching customers added.", added=added,
                         num=matched))
    return redirect(here)


@router.get("/errors/{error_id}/apology", name="error_apology")
async def apology_page(error_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    with db.reading() as session:
        error = access_error(session, user.actor, error_id)
        campaign = queries.get_campaign(session, error.id)
        previews = []
        if campaign is not None:
            previews = [queries.preview(session, error, campaign, lang) for lang in texts.LANGUAGES]
        rows = queries.list_apologies(session, error.id, limit=APOLOGIES_SHOWN)
        names = customer_names(session, [a.customer_id for a in rows])
        context = {
            "error": error,
            "campaign": campaign,
            "defaults": texts.DEFAULTS,
            "previews": previews,
            "apologies": rows[:APOLOGIES_SHOWN],
            "names": names,
            "counts": queries.apology_counts(session, error.id),
            "figures": queries.figures(session, error, language=user.language),
            "remedy_kinds": [k.value for k in RemedyKind],
            "kind_labels": {str(k): v for k, v in KIND_LABELS.items()},
            "variables": texts.BASE_VARIABLES,
        }
    return render(request, "apologies/apology.html", context)


@router.post("/errors/{error_id}/apology", name="error_apology_save")
def apology_save(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/errors/{error_id}/apology"
    amount: Decimal | None = None
    if field(form, "remedy_amount"):
        try:
            amount = Decimal(field(form, "remedy_amount").replace(",", "."))
        except InvalidOperation:
            flash(request, _("The amount is not a number."), "error")
            return redirect(here)
    try:
        data = CampaignIn(
            subject_es=field(form, "subject_es") or None,
            body_es=field(form, "body_es") or None,
            subject_en=field(form, "subject_en") or None,
            body_en=field(form, "body_en") or None,
            remedy_kind=field(form, "remedy_kind") or None,  # type: ignore[arg-type]
            remedy_amount=amount,
            currency=field(form, "currency") or None,
            promised_by=_date(field(form, "promised_by")),
        )
    except ValidationError:
        flash(request, _("Some of the values are not valid. Check the form and try again."),
              "error")
        return redirect(here)
    try:
        with db.transaction() as session:
            error = access_error(session, user.actor, error_id)
            actions.do_save_campaign(session, user.actor, error, data)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Apology saved. Check the preview before sending it."))
    return redirect(here)


@router.post("/errors/{error_id}/apology/send", name="error_apology_send")
def apology_send(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/errors/{error_id}/apology"
    try:
        with db.transaction() as session:
            error = access_error(session, user.actor, error_id)
            campaign = queries.access_campaign(session, error)
            if field(form, "resume") == "1":
                actions.do_resume_campaign(session, user.actor, error, campaign)
                outcome = None
            else:
                outcome = actions.do_send_campaign(session, user.actor, error, campaign)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    if outcome is not None and not outcome.enqueue_job:
        flash(request, _("The apology is already on its way; nothing was sent twice."))
    else:
        flash(request, _("The apology is on its way to every affected customer."))
    return redirect(here)


@router.post("/errors/{error_id}/posts", name="error_post_update")
def post_update(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/errors/{error_id}#updates"
    try:
        data = PostIn(
            text_es=field(form, "text_es"),
            text_en=field(form, "text_en"),
            notify=field(form, "notify") == "1",
        )
    except ValidationError:
        flash(request, _("Write the update in Spanish, English or both."), "error")
        return redirect(here)
    try:
        with db.transaction() as session:
            error = access_error(session, user.actor, error_id)
            actions.do_post_update(session, user.actor, error, data)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Update posted."))
    return redirect(here)


@router.post("/errors/{error_id}/public", name="error_public")
def error_public(
    error_id: int, request: Request, user: CurrentUser, db: DB, form: PostedForm
) -> Response:
    _ = gettext(request)
    here = f"/errors/{error_id}#public"
    try:
        data = ErrorUpdate(
            public=field(form, "public") == "1",
            public_summary=field(form, "public_summary"),
            postmortem=field(form, "postmortem"),
        )
    except ValidationError:
        flash(request, _("Some of the values are not valid. Check the form and try again."),
              "error")
        return redirect(here)
    try:
        with db.transaction() as session:
            error = access_error(session, user.actor, error_id)
            do_update_error(session, user.actor, error, data)
    except ProblemError as exc:
        flash(request, problem_message(_, exc), "error")
        return redirect(here)
    flash(request, _("Error updated."))
    return redirect(here)


# --- the public status page (no login) ----------------------------------------------------------


def _public(db: Any) -> tuple[Any, list[tuple[Any, list[Any]]]]:
    with db.reading() as session:
        org = organisation_or_default(session)
        return org, queries.public_errors(session)


@router.get("/status", name="status_page")
async def status_page(request: Request, db: DB) -> Response:
    org, errors = _public(db)
    return render(request, "apologies/status.html", {"org": org, "errors": errors})


def _post_text(post: Any, lang: str) -> str:
    return str((post.text_es if lang == "es" else post.text_en) or post.text_es or post.text_en)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@router.get("/status.json", name="status_json")
async def status_json(request: Request, db: DB) -> Response:
    org, errors = _public(db)
    lang = request.query_params.get("lang", "es") if request.query_params.get("lang") in (
        "es", "en") else "es"
    return JSONResponse(
        {
            "organisation": org.name,
            "errors": [
                {
                    "id": error.id,
                    "title": error.title,
                    "status": error.status,
                    "summary": error.public_summary,
                    "detected_at": _iso(error.detected_at),
                    "updated_at": _iso(error.updated_at),
                    "postmortem": error.postmortem if error.status == "closed" else None,
                    "updates": [
                        {"at": _iso(p.created_at), "text": _post_text(p, lang)} for p in posts
                    ],
                }
                for error, posts in errors
            ],
        }
    )


@router.get("/status.atom", name="status_atom")
async def status_atom(request: Request, db: DB) -> Response:
    org, errors = _public(db)
    lang = request.query_params.get("lang") if request.query_params.get("lang") in (
        "es", "en") else "es"
    base = str(request.base_url).rstrip("/")
    entries = []
    newest = datetime(2000, 1, 1, tzinfo=UTC)
    for error, posts in errors:
        items = [(p.created_at, _post_text(p, str(lang)), f"post-{p.id}") for p in posts]
        items.append((error.detected_at, error.public_summary or error.title, "detected"))
        if error.status == "closed" and error.postmortem:
            items.append((error.updated_at, error.postmortem, "postmortem"))
        for at, text, key in items:
            newest = max(newest, at)
            entries.append(
                "<entry>"
                f"<id>{escape(base)}/status#E-{error.id}-{key}</id>"
                f"<title>{escape(error.title)}</title>"
                f"<updated>{_iso(at)}</updated>"
                f'<link href="{escape(base)}/status#E-{error.id}"/>'
                f'<content type="text">{escape(text)}</content>'
                "</entry>"
            )
    feed = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{escape(base)}/status</id>"
        f"<title>{escape(org.name)}</title>"
        f"<updated>{_iso(newest)}</updated>"
        f'<link rel="self" href="{escape(base)}/status.atom"/>'
        + "".join(entries)
        + "</feed>"
    )
    return Response(feed, media_type="application/atom+xml; charset=utf-8")


# --- the case panel: no double explaining -------------------------------------------------------


def panel_context(session: Session, user: Any, case: Any) -> dict[str, Any]:
    lang = getattr(user, "language", "es")
    return {"errors": queries.errors_of_case(session, case.id, lang)}


case_panel(
    CasePanel(
        name="apologies",
        template="apologies/_case_panel.html",
        area="sidebar",
        order=5,
        context=panel_context,
    )
)
