"""The application factory. Nothing runs at import time."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from meaculpa import __version__
from meaculpa.core.db import Database
from meaculpa.core.http import BodySizeLimit, install_error_handlers
from meaculpa.settings import Settings

API_PREFIX = "/api/v1"


def api_routers() -> list[APIRouter]:
    """The JSON routers, each included in the app under :data:`API_PREFIX`.

    Each is included directly rather than through one ``/api/v1`` router: FastAPI looks over
    an included router's whole tree of routes for changes on every request it routes through
    it, and the nesting cost the ingestion endpoint about a tenth of its HTTP handling.
    """
    import importlib

    from meaculpa.accounts.api import router as accounts
    from meaculpa.cases.api import router as cases
    from meaculpa.core.api import router as audit
    from meaculpa.customers.api import router as customers
    from meaculpa.errors.api import router as errors
    from meaculpa.jobs.api import router as jobs
    from meaculpa.messages.api import router as messages

    routers = [messages, customers, cases, errors, accounts, audit, jobs]
    routers += [importlib.import_module(module).router for module in API_MODULES]
    return routers


# JSON routers of the recovery domains; each module has a ``router``.
API_MODULES = (
    "meaculpa.playbooks.api",
    "meaculpa.remedies.api",
    "meaculpa.commitments.api",
    "meaculpa.followups.api",
    "meaculpa.mail.api",
    "meaculpa.insights.api",
    "meaculpa.analytics.api",
    "meaculpa.apologies.api",
    "meaculpa.surveys.api",
    "meaculpa.problems.api",
    "meaculpa.improvements.api",
    "meaculpa.lessons.api",
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the embedded job worker thread, if this process runs one."""
    settings: Settings = app.state.settings
    db: Database = app.state.db
    run_worker = settings.embedded_worker
    if run_worker is None:
        run_worker = db.is_sqlite
    stop = threading.Event()
    thread = None
    if run_worker:
        from meaculpa.jobs.runner import Runner

        runner = Runner(db, settings=settings)
        thread = threading.Thread(
            target=runner.run_forever,
            args=(stop,),
            kwargs={"poll_seconds": settings.worker_poll_seconds},
            name="meaculpa-worker",
            daemon=True,
        )
        thread.start()
    try:
        yield
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=10)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        lifespan=lifespan,
        title="meaculpa",
        version=__version__,
        description="Service recovery with a learning loop. Errors are RFC 9457 problem+json.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db or Database(
        settings.database_url, pool_size=settings.pool_size, echo=settings.sql_echo
    )
    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)

    from meaculpa.web import install as install_web

    html_error = install_web(app, settings)
    install_error_handlers(app, html_error)
    # Raw e-mail carries attachments: that endpoint checks its own, larger limit.
    app.add_middleware(
        BodySizeLimit, max_bytes=settings.max_body_bytes, own_limits=("/api/v1/inbound/email",)
    )
    return app
