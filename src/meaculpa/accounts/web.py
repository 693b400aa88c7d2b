"""Pages: sign in, sign out and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from meaculpa.accounts.actions import do_record_login
from meaculpa.accounts.queries import authenticate, get_user, organisation_or_default
from meaculpa.core.deps import DB, AppSettings
from meaculpa.core.i18n import N_, normalise_language
from meaculpa.core.security import new_csrf_secret
from meaculpa.web.pages import (
    LANG_COOKIE,
    PageError,
    PostedForm,
    field,
    flash,
    gettext,
    local_or,
    page_language,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def _throttle_key(request: Request, email: str) -> str:
    client = request.client.host if request.client else "unknown"
    return f"{email.strip().lower()}|{client}"


def _login_page(
    request: Request, db: DB, *, email: str = "", next_url: str = "/", error: str | None = None
) -> Response:
    with db.reading() as session:
        request.state.org_language = organisation_or_default(session).default_language
    page_language(request)
    return render(
        request,
        "accounts/login.html",
        {"email": email, "next_url": local_or(next_url), "error": error},
        status_code=400 if error else 200,
    )


@router.get("/login", name="login")
async def login_form(request: Request, db: DB, next: str = "/") -> Response:
    if isinstance(request.session.get("uid"), int):
        return redirect(local_or(next))
    return _login_page(request, db, next_url=next)


@router.post("/login")
def login(request: Request, db: DB, form: PostedForm) -> Response:
    email = field(form, "email")[:254]
    password = field(form, "password")[:1024]
    next_url = local_or(field(form, "next"))
    throttle = request.app.state.login_throttle
    key = _throttle_key(request, email)
    if throttle.blocked(key):
        raise PageError(
            429, N_("Too many failed sign-in attempts. Wait a few minutes and try again.")
        )
    with db.reading() as session:
        user = authenticate(session, email, password) if email and password else None
        user_id = user.id if user is not None else None
    if user_id is None:
        throttle.failed(key)
        _ = gettext(request)
        return _login_page(
            request,
            db,
            email=email,
            next_url=next_url,
            error=_("The e-mail or the password is not right."),
        )
    throttle.succeeded(key)
    with db.transaction() as session:
        row = get_user(session, user_id)
        if row is None or not row.is_active:
            raise PageError(403, N_("This account cannot sign in."))
        do_record_login(session, row)
    # A fresh session on sign-in: nothing from before survives, and a new CSRF secret.
    request.session.clear()
    request.session["uid"] = user_id
    request.session["csrf"] = new_csrf_secret()
    return redirect(next_url)


@router.post("/logout", name="logout")
def logout(request: Request, form: PostedForm) -> Response:
    request.session.clear()
    _ = gettext(request)
    flash(request, _("You have signed out."))
    return redirect("/login")


@router.post("/language", name="language")
def switch_language(request: Request, settings: AppSettings, form: PostedForm) -> Response:
    """Remember the chosen language in a cookie and go back to the same page."""
    language = normalise_language(field(form, "lang"))
    response: RedirectResponse = redirect(local_or(field(form, "next")))
    if language:
        response.set_cookie(
            LANG_COOKIE,
            language,
            max_age=LANG_COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=settings.base_url.startswith("https://"),
        )
    return response
