"""Pages of the followups domain.

Public pages, no login, reached through signed expiring links: the follow-up question
(``/f/{token}``) and the customer's tracking page (``/t/{token}``). Both speak the
customer's language (the switch still works), check CSRF, are rate-limited per client
address and carry ``X-Robots-Tag: noindex``. For agents: the case-page panel and
``/cases/{id}/tracking-link``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from meaculpa.accounts.queries import users_by_id
from meaculpa.cases.queries import access_case
from meaculpa.core.api import awrite
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import Invalid, NotFound
from meaculpa.core.i18n import N_
from meaculpa.core.signing import LinkExpired, LinkInvalid
from meaculpa.followups import actions, queries
from meaculpa.followups.links import (
    followup_token,
    followup_url,
    read_followup_token,
    read_tracking_token,
)
from meaculpa.followups.schemas import MAX_COMMENT, AnswerIn
from meaculpa.web.pages import (
    NOINDEX,
    CurrentUser,
    csrf_ok,
    csrf_refused_page,
    field,
    flash,
    gettext,
    link_error_page,
    page_language,
    public_error_page,
    redirect,
    render,
)
from meaculpa.web.panels import CasePanel, case_panel
from meaculpa.web.security import LoginThrottle

router = APIRouter(include_in_schema=False)

TEMPLATE_ERROR = "followups/public_error.html"
# Modest limits per client address: page views a minute, and answers or replies in 10 min.
VIEWS_PER_MINUTE = 60
POSTS_PER_WINDOW = 10
POST_WINDOW_SECONDS = 600
NONCE = re.compile(r"^[0-9a-f]{32}$")


# --- shared pieces of the public pages ------------------------------------------------------


def _throttles(request: Request) -> tuple[LoginThrottle, LoginThrottle]:
    state = request.app.state
    pair: tuple[LoginThrottle, LoginThrottle] | None = getattr(state, "followups_throttles", None)
    if pair is None:
        pair = (
            LoginThrottle(max_failures=VIEWS_PER_MINUTE, window_seconds=60),
            LoginThrottle(max_failures=POSTS_PER_WINDOW, window_seconds=POST_WINDOW_SECONDS),
        )
        state.followups_throttles = pair
    return pair


def _limited(request: Request, *, post: bool = False) -> Response | None:
    """Count this request; a 429 page once the client went over its limit."""
    views, posts = _throttles(request)
    key = request.client.host if request.client else "unknown"
    throttle = posts if post else views
    if throttle.blocked(key):
        return _public_error(
            request,
            429,
            N_("Too many attempts"),
            N_("Too many attempts in a short time. Wait a few minutes and try again."),
            headers={"Retry-After": "600" if post else "60"},
        )
    throttle.failed(key)  # a "failure" here is simply one more request in the window
    return None


def _public_error(
    request: Request,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> Response:
    return public_error_page(request, TEMPLATE_ERROR, status, title, detail, headers)


def _as_customer(request: Request, language: str, timezone: str | None) -> None:
    """Speak the customer's language (unless they chose another) and show their local time."""
    page_language(request, language)
    request.state.timezone = timezone


def _settings_secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key)


# --- the follow-up question -----------------------------------------------------------------


def _followup_context(session: Session, followup_id: int) -> dict[str, Any]:
    followup = queries.get_followup(session, followup_id)
    if followup is None or followup.status in ("scheduled", "cancelled", "skipped"):
        raise NotFound("this link names no follow-up")
    view = queries.public_case(session, followup.case_id, followup.customer_id)
    return {"followup": followup, "case": view.case, "customer": view.customer}


def _tracking_for(request: Request, session: Session, context: dict[str, Any]) -> str:
    settings = request.app.state.settings
    url, _expires = actions.tracking_link(
        session, context["case"], secret=settings.secret_key, base_url=settings.base_url
    )
    return url


@router.get("/f/{token}", name="followup_page")
async def followup_page(token: str, request: Request, db: DB) -> Response:
    refused = _limited(request)
    if refused is not None:
        return refused
    try:
        followup_id = read_followup_token(_settings_secret(request), token)
        with db.reading() as session:
            context = _followup_context(session, followup_id)
            if context["followup"].status == "answered":
                context["tracking_url"] = _tracking_for(request, session, context)
    except (LinkExpired, LinkInvalid, NotFound) as exc:
        return link_error_page(request, exc, TEMPLATE_ERROR)
    customer = context["customer"]
    _as_customer(request, context["followup"].language, customer.timezone)
    template = (
        "followups/thanks.html"
        if context["followup"].status == "answered"
        else "followups/question.html"
    )
    context.update(max_comment=MAX_COMMENT, values={}, error=None)
    return render(request, template, context, headers=NOINDEX)


def _parse_answer(form: FormData) -> AnswerIn | None:
    solved = field(form, "solved")
    rating = field(form, "rating")
    comment = field(form, "comment")
    if solved not in ("yes", "no") or (rating and rating not in {"1", "2", "3", "4", "5"}):
        return None
    if len(comment) > MAX_COMMENT:
        return None
    return AnswerIn(solved=solved == "yes", rating=int(rating) if rating else None, comment=comment)


@router.post("/f/{token}", name="followup_answer")
async def followup_answer(token: str, request: Request, db: DB) -> Response:
    refused = _limited(request, post=True)
    if refused is not None:
        return refused
    secret = _settings_secret(request)
    try:
        followup_id = read_followup_token(secret, token)
        with db.reading() as session:
            context = _followup_context(session, followup_id)
    except (LinkExpired, LinkInvalid, NotFound) as exc:
        return link_error_page(request, exc, TEMPLATE_ERROR)
    customer = context["customer"]
    _as_customer(request, context["followup"].language, customer.timezone)
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused_page(request, TEMPLATE_ERROR)
    if context["followup"].status == "answered":
        return redirect(f"/f/{token}")
    answer = _parse_answer(form)
    if answer is None:
        _ = gettext(request)
        context.update(
            max_comment=MAX_COMMENT,
            values={k: field(form, k) for k in ("solved", "rating", "comment")},
            error=_(
                "Tell us whether it is solved (yes or no); the stars go from 1 to 5 and "
                "the comment has at most %(max)s characters.",
                max=MAX_COMMENT,
            ),
        )
        return render(request, "followups/question.html", context, status_code=422, headers=NOINDEX)
    settings = request.app.state.settings

    def store(session: Session) -> None:
        actions.do_answer_followup(
            session,
            followup_id,
            answer,
            base_url=settings.base_url,
            mail_domain=settings.mail_domain,
        )

    await awrite(db, store)
    return redirect(f"/f/{token}")


# --- the tracking page ----------------------------------------------------------------------


@router.get("/t/{token}", name="tracking_page")
async def tracking_page(token: str, request: Request, db: DB) -> Response:
    refused = _limited(request)
    if refused is not None:
        return refused
    try:
        case_id, customer_id = read_tracking_token(_settings_secret(request), token)
        with db.reading() as session:
            view = queries.public_case(session, case_id, customer_id)
            people = users_by_id(
                session, {m.author_id for m in view.messages if m.author_id is not None}
            )
            settings = request.app.state.settings
            followup_link = None
            if view.followup is not None and view.followup.status == "sent":
                days = queries.followup_settings(session).link_days
                ftoken, _expires = followup_token(settings.secret_key, view.followup.id, days)
                followup_link = followup_url("", ftoken)
    except (LinkExpired, LinkInvalid, NotFound) as exc:
        return link_error_page(request, exc, TEMPLATE_ERROR)
    _as_customer(request, view.customer.language, view.customer.timezone)
    context = {
        "view": view,
        "case": view.case,
        "customer": view.customer,
        # Agents appear by first name only.
        "agents": {uid: (u.name.split() or [""])[0] for uid, u in people.items()},
        "nonce": secrets.token_hex(16),
        "token": token,
        "followup_link": followup_link,
        "max_reply": actions.MAX_REPLY,
    }
    return render(request, "followups/tracking.html", context, headers=NOINDEX)


@router.post("/t/{token}/reply", name="tracking_reply")
async def tracking_reply(token: str, request: Request, db: DB) -> Response:
    refused = _limited(request, post=True)
    if refused is not None:
        return refused
    try:
        case_id, customer_id = read_tracking_token(_settings_secret(request), token)
    except (LinkExpired, LinkInvalid) as exc:
        return link_error_page(request, exc, TEMPLATE_ERROR)
    form = await request.form()
    if not csrf_ok(request, form):
        return csrf_refused_page(request, TEMPLATE_ERROR)
    _ = gettext(request)
    text = field(form, "text")
    nonce = field(form, "nonce")
    if not NONCE.match(nonce):
        nonce = secrets.token_hex(16)

    def store(session: Session) -> None:
        view = queries.public_case(session, case_id, customer_id)
        actions.do_reply_from_tracking(session, view.case, view.customer, text, nonce=nonce)

    try:
        await awrite(db, store)
    except NotFound as exc:
        return link_error_page(request, exc, TEMPLATE_ERROR)
    except Invalid:
        flash(
            request,
            _(
                "Write a message of at most %(max)s characters before sending it.",
                max=actions.MAX_REPLY,
            ),
            "error",
        )
        return redirect(f"/t/{token}#reply")
    flash(request, _("Thank you. We have your message and will answer soon."))
    return redirect(f"/t/{token}#conversation")


# --- for agents: the tracking link and the case-page panel ----------------------------------


@router.get("/cases/{case_id}/tracking-link", name="case_tracking_link")
async def case_tracking_link(case_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    settings = request.app.state.settings
    with db.reading() as session:
        case = access_case(session, user.actor, case_id)
        url, expires = actions.tracking_link(
            session, case, secret=settings.secret_key, base_url=settings.base_url
        )
    partial = bool(request.headers.get("hx-request"))
    template = "followups/_tracking_link.html" if partial else "followups/tracking_link.html"
    return render(
        request, template, {"case": case, "url": url, "expires": expires}, partial=partial
    )


def panel_context(session: Session, user: Any, case: Any) -> dict[str, Any]:
    rows = queries.followups_for_case(session, case.id)
    return {
        "followup": rows[0] if rows else None,
        "earlier": rows[1:4],
        "settings": queries.followup_settings(session),
    }


case_panel(
    CasePanel(
        name="followups",
        template="followups/_case_panel.html",
        context=panel_context,
        area="sidebar",
        order=30,
    )
)
