"""Shared page helpers: the signed-in user, CSRF, flash messages, rendering, redirects.

Routes stay thin: a GET reads through ``queries`` and calls :func:`render`; a POST takes a
:data:`PostedForm` (CSRF already checked), writes through ``do_*`` actions inside
``db.transaction()`` and answers with :func:`redirect`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.datastructures import FormData

from meaculpa import __version__
from meaculpa.accounts.queries import get_user, organisation_or_default
from meaculpa.core.audit import Actor
from meaculpa.core.clock import utcnow
from meaculpa.core.deps import DB
from meaculpa.core.exceptions import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ProblemError,
    Unauthorized,
)
from meaculpa.core.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    Gettext,
    choose_language,
    format_age,
    format_ago,
    format_date,
    format_datetime,
    gettext_for,
    translations,
)
from meaculpa.core.security import csrf_token_matches, new_csrf_secret
from meaculpa.core.signing import LinkExpired
from meaculpa.web.labels import LABELS, label_id

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The shared layout first, then every domain's own ``<domain>/templates`` folder.
TEMPLATE_DIRS = [
    PACKAGE_DIR / "web" / "templates",
    *sorted(p for p in PACKAGE_DIR.glob("*/templates") if p.parent.name != "web"),
]
LANG_COOKIE = "lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# Public pages reached through a signed link stay out of search engines.
NOINDEX = {"X-Robots-Tag": "noindex, nofollow"}


@dataclass(frozen=True)
class PageUser:
    """The signed-in user as the pages see them."""

    id: int
    name: str
    email: str
    role: str
    language: str

    @property
    def actor(self) -> Actor:
        return Actor(kind="user", id=self.id, label=self.email, role=self.role)


class PageError(ProblemError):
    """An error raised by the pages themselves; ``message`` is an English msgid."""

    def __init__(self, status: int, message: str, **params: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.params = params


class CsrfRejected(PageError):
    def __init__(self) -> None:
        super().__init__(
            403,
            N_(
                "The form was not accepted: it expired or was not sent from this site. "
                "Reload the page and try again."
            ),
        )


# --- language ------------------------------------------------------------------------------


def page_language(request: Request, user_language: str | None = None) -> str:
    """The language of this request's page (decided once, then kept on ``request.state``)."""
    chosen: str | None = getattr(request.state, "lang", None)
    if chosen is not None and user_language is None:
        return chosen
    default = getattr(request.state, "org_language", None)
    chosen = choose_language(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(LANG_COOKIE),
        user=user_language,
        accept_language=request.headers.get("accept-language"),
        default=default,
    )
    request.state.lang = chosen
    return chosen


def gettext(request: Request) -> Gettext:
    return gettext_for(page_language(request))


# --- the signed-in user ----------------------------------------------------------------------


async def signed_in_user(request: Request, db: DB) -> PageUser:
    """The active user of this browser session, or a 401 (which pages turn into /login).

    Runs on the event loop: two indexed reads cost less than a hand-off to a thread.
    """
    user_id = request.session.get("uid")
    if not isinstance(user_id, int):
        raise Unauthorized("sign in to see this page")
    with db.reading() as session:
        user = get_user(session, user_id)
        org = organisation_or_default(session)
        if user is None or not user.is_active:
            request.session.clear()
            raise Unauthorized("sign in to see this page")
        page_user = PageUser(
            id=user.id, name=user.name, email=user.email, role=user.role, language=user.language
        )
        request.state.org_language = org.default_language
        request.state.timezone = org.timezone
    request.state.user = page_user
    page_language(request, page_user.language)
    return page_user


CurrentUser = Annotated[PageUser, Depends(signed_in_user)]


# --- CSRF and forms --------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = new_csrf_secret()
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, form: FormData) -> bool:
    """Whether the form's CSRF token (or the htmx header's) matches the session's."""
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str):
        given = request.headers.get(CSRF_HEADER)
    expected = request.session.get("csrf")
    return csrf_token_matches(expected if isinstance(expected, str) else None, given)


async def posted_form(request: Request) -> FormData:
    """The POSTed form, after checking its CSRF token against the session's."""
    form = await request.form()
    if not csrf_ok(request, form):
        raise CsrfRejected()
    return form


PostedForm = Annotated[FormData, Depends(posted_form)]


def field(form: FormData, name: str, default: str = "") -> str:
    """A text field of a form, stripped; files and missing fields give ``default``."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


def int_field(form: FormData, name: str) -> int | None:
    value = field(form, name)
    try:
        return int(value) if value else None
    except ValueError:
        return None


# --- flash messages --------------------------------------------------------------------------


def flash(request: Request, text: str, kind: str = "success") -> None:
    """Show ``text`` (already translated) on the next page this browser renders."""
    messages = list(request.session.get("flash") or [])
    messages.append({"kind": kind, "text": text})
    request.session["flash"] = messages[-5:]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    messages = request.session.pop("flash", None) or []
    return [m for m in messages if isinstance(m, dict)]


def problem_message(_: Gettext, exc: ProblemError) -> str:
    """A translated sentence for an error an action raised (its detail is English)."""
    field_name = None
    if getattr(exc, "errors", None):
        field_name = (exc.errors or [{}])[0].get("field")
    if isinstance(exc, PageError):
        return _(exc.message, **exc.params)
    if isinstance(exc, Invalid) and field_name == "status":
        allowed = exc.extra.get("allowed") or []
        names = ", ".join(_(label_id("case_status", s)) for s in allowed)
        return _(
            "That status change is not allowed. From here the case can go to: %(allowed)s.",
            allowed=names or "—",
        )
    if isinstance(exc, Invalid) and field_name == "owner_id":
        return _("Choose an active user as the owner.")
    if isinstance(exc, Invalid):
        return _("Some of the values are not valid. Check the form and try again.")
    if isinstance(exc, Forbidden):
        return _("You are not allowed to make this change. Ask its owner or a manager.")
    if isinstance(exc, Conflict) and "affected_id" in exc.extra:
        return _("This customer is already on the list.")
    if isinstance(exc, Conflict):
        return _("Someone changed this at the same time. Reload the page and try again.")
    if isinstance(exc, NotFound):
        return _("What you were changing no longer exists.")
    return _("The change could not be saved.")


# --- rendering -------------------------------------------------------------------------------


def _lang(context: Context) -> str:
    value = context.get("lang")
    return value if isinstance(value, str) and value in LANGUAGES else LANGUAGES[0]


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_lang(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_lang(context)).ngettext(singular, plural, n)


@pass_context
def _label(context: Context, kind: str, value: str | None) -> str:
    return translations(_lang(context)).gettext(label_id(kind, value))


@lru_cache(maxsize=len(LANGUAGES))
def _language_callables(lang: str) -> dict[str, Callable[..., str]]:
    """``_``, ``gettext``, ``ngettext`` and ``label`` bound to one language, for the pages of a
    request in that language.

    The environment's own (above) find the language in the template context, so Jinja passes
    them the context, and a call inside a loop first builds a derived context: on an inbox of
    50 rows that was a fifth of the page's time. These take no context and behave as Jinja's
    new-style gettext on an autoescaped page: the translation is markup, its ``%(name)s``
    values are escaped into it, and ``ngettext`` is given ``num``.
    """
    tr = translations(lang)

    def gettext(message: str, **variables: Any) -> str:
        return Markup(tr.gettext(message)) % variables  # noqa: S704 - our own catalogs

    def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        return Markup(tr.ngettext(singular, plural, num)) % variables  # noqa: S704 - ours

    def label(kind: str, value: str | None) -> str:
        return tr.gettext(label_id(kind, value))

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "label": label}


@pass_context
def _datetime(context: Context, value: Any, fmt: str = "medium") -> str:
    return format_datetime(value, _lang(context), context.get("timezone"), fmt)


@pass_context
def _date(context: Context, value: Any) -> str:
    return format_date(value, _lang(context), context.get("timezone"))


@pass_context
def _age(context: Context, value: Any) -> str:
    return format_age(value, _lang(context), context.get("now"))


@pass_context
def _ago(context: Context, value: Any) -> str:
    return format_ago(value, _lang(context), context.get("now"))


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(p) for p in TEMPLATE_DIRS]),
        autoescape=select_autoescape(["html"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates are part of the installed package: no file-time check at every render.
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True
    )
    env.filters.update(datetime=_datetime, date=_date, age=_age, ago=_ago, iso=_iso)
    env.globals.update(
        label=_label,
        labels=LABELS,
        languages=LANGUAGES,
        language_names=LANGUAGE_NAMES,
        version=__version__,
    )
    return env


def current_path(request: Request) -> str:
    """This page's path and query without ``lang`` (the switch's way back)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    partial: bool = False,
) -> HTMLResponse:
    """Render ``template`` with what every page needs; a ``partial`` keeps the flashes."""
    env: Environment = request.app.state.templates
    lang = page_language(request)
    values: dict[str, Any] = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "lang": lang,
        "timezone": getattr(request.state, "timezone", None) or "Europe/Madrid",
        "now": utcnow(),
        "csrf_token": csrf_token(request),
        "flashes": [] if partial else pop_flashes(request),
        "here": current_path(request),
    }
    if template.endswith(".html"):  # autoescaped, as _language_callables expects
        values.update(_language_callables(lang))
    values.update(context or {})
    html = env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def is_local_path(target: str | None) -> bool:
    """True for a path on this site (``/cases/1?x=y``), never ``//evil`` or ``https://...``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in ("\\", "\r", "\n", "\t")):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def local_or(target: str | None, fallback: str = "/") -> str:
    return target if target and is_local_path(target) else fallback


def redirect(url: str) -> RedirectResponse:
    """After a POST: 303, so the browser follows with a GET."""
    return RedirectResponse(local_or(url), status_code=303)


def public_error_page(
    request: Request,
    template: str,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """An error page for the public (signed-link) pages: ``title`` and ``detail`` are English
    msgids shown in the page's language; the answer carries ``X-Robots-Tag: noindex``."""
    _ = gettext(request)
    return render(
        request,
        template,
        {"status": status, "title": _(title), "detail": _(detail)},
        status_code=status,
        headers={**NOINDEX, **(headers or {})},
    )


def link_error_page(request: Request, exc: Exception, template: str) -> HTMLResponse:
    """The page for a signed link that expired (410) or is not valid (404)."""
    if isinstance(exc, LinkExpired):
        return public_error_page(
            request,
            template,
            410,
            N_("This link has expired"),
            N_(
                "For your security our links work for a limited time. Write to us, or answer "
                "any of our e-mails, and we will send you a new one."
            ),
        )
    return public_error_page(
        request,
        template,
        404,
        N_("This link is not valid"),
        N_(
            "The link may be incomplete: copy it again from the e-mail, whole. If it still "
            "does not work, write to us."
        ),
    )


def csrf_refused_page(request: Request, template: str) -> HTMLResponse:
    """The 403 page of a public form whose CSRF token did not match."""
    return public_error_page(
        request,
        template,
        403,
        N_("Not allowed"),
        N_(
            "The form was not accepted: it expired or was not sent from this site. "
            "Reload the page and try again."
        ),
    )
