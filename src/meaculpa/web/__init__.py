"""Server-rendered pages (Jinja2 + htmx, no JavaScript build step).

:func:`install` is called by :func:`meaculpa.app.create_app`: it adds the session cookie,
the security headers, ``/static`` and every domain's page router, and returns the renderer
that turns errors on page paths into HTML pages (401 becomes a redirect to ``/login``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from meaculpa.settings import Settings
from meaculpa.web.labels import STATUS_DETAILS, STATUS_TITLES
from meaculpa.web.pages import PageError, build_templates, gettext, render
from meaculpa.web.security import LoginThrottle, PageSessions, SecurityHeaders

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Page routers of the recovery domains; each module has a ``router``.
PAGE_MODULES = (
    "meaculpa.playbooks.web",
    "meaculpa.remedies.web",
    "meaculpa.commitments.web",
    "meaculpa.followups.web",
    "meaculpa.mail.web",
    "meaculpa.insights.web",
    "meaculpa.analytics.web",
    "meaculpa.apologies.web",
    "meaculpa.surveys.web",
    "meaculpa.problems.web",
    "meaculpa.improvements.web",
    "meaculpa.lessons.web",
)
SESSION_COOKIE = "meaculpa_session"

HtmlError = Callable[[Request, int, str, str], Awaitable[Response]]


def _login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    location = "/login" if target == "/" else f"/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        # An htmx request would swap the login page into a fragment; send the browser instead.
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def _error_page(request: Request, status: int, detail_msgid: str, **params: object) -> Response:
    _ = gettext(request)
    title = STATUS_TITLES.get(status) or STATUS_TITLES[400 if status < 500 else 500]
    headers = {"Retry-After": "900"} if status == 429 else None
    return render(
        request,
        "web/error.html",
        {"status": status, "title": _(title), "detail": _(detail_msgid, **params)},
        status_code=status,
        headers=headers,
    )


async def html_error(request: Request, status: int, title: str, detail: str) -> Response:
    """Errors on page paths: sign-in redirect for 401, a translated page otherwise.

    ``title`` and ``detail`` come from the domain layer in English; the page shows a
    translated sentence chosen by status instead, so a Spanish page stays Spanish.
    """
    if status == 401:
        return _login_redirect(request)
    generic = STATUS_DETAILS.get(status) or STATUS_DETAILS[400 if status < 500 else 500]
    return _error_page(request, status, generic)


async def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    if request.url.path.startswith("/api/"):
        from meaculpa.core.http import problem_response

        return problem_response(exc.to_problem(request.url.path))
    return _error_page(request, exc.status, exc.message, **exc.params)


def install(app: FastAPI, settings: Settings) -> HtmlError:
    """Mount the pages and static files; return the HTML error renderer."""
    from meaculpa.accounts.web import router as accounts_pages
    from meaculpa.cases.web import router as cases_pages
    from meaculpa.customers.web import router as customers_pages
    from meaculpa.errors.web import router as errors_pages

    app.state.templates = build_templates()
    app.state.login_throttle = LoginThrottle()
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        PageSessions,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.base_url.startswith("https://"),
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in (accounts_pages, cases_pages, customers_pages, errors_pages):
        app.include_router(router)
    import importlib

    for module in PAGE_MODULES:
        app.include_router(importlib.import_module(module).router)
    app.add_exception_handler(PageError, _page_error)
    return html_error
