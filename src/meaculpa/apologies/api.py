"""JSON routes: affected customers in bulk, the apology, its delivery, updates, figures."""

from __future__ import annotations

import io
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from meaculpa.apologies import actions, queries
from meaculpa.apologies.importer import ImportRefused, import_affected
from meaculpa.apologies.schemas import (
    ApologyRead,
    CampaignIn,
    CampaignRead,
    CustomerFilter,
    FigureSet,
    FilterResult,
    PostIn,
    PostRead,
    PreviewRead,
    SendResult,
)
from meaculpa.core.api import Cursor, Limit, awrite, paged
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.exceptions import Invalid
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.schemas import Page
from meaculpa.errors.actions import check_can_edit_error
from meaculpa.errors.queries import access_error

router = APIRouter(prefix="/errors", tags=["apologies"])

ApologyState = Literal["queued", "sending", "sent", "bounced", "replied", "complained", "skipped"]


@router.post("/{error_id}/affected/import")
async def import_affected_csv(error_id: int, request: Request, actor: ApiActor, db: DB) -> Any:
    """Attach the customers listed in a CSV body (``Content-Type: text/csv``); returns the
    counts and every rejected row with its line number. Larger files: the CLI."""
    with db.reading() as session:
        error = access_error(session, actor, error_id)
        check_can_edit_error(actor, error)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("text/csv", "application/csv"):
        raise Invalid("send the file as the request body with Content-Type: text/csv")
    body = await request.body()
    if not body.strip():
        raise Invalid("the file is empty")
    try:
        summary = await run_in_threadpool(
            import_affected, db, error_id, io.BytesIO(body), actor=actor
        )
    except ImportRefused as exc:
        raise Invalid(f"{exc}; nothing was imported") from exc
    return summary.to_dict()


@router.post("/{error_id}/affected/filter", response_model=FilterResult)
async def add_by_filter(error_id: int, data: CustomerFilter, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        error = access_error(s, actor, error_id)
        matched, added = actions.do_add_by_filter(s, actor, error, data)
        return FilterResult(matched=matched, added=added, dry_run=data.dry_run)

    return await awrite(db, run)


@router.get("/{error_id}/apology", response_model=CampaignRead)
async def get_apology(error_id: int, actor: ApiActor, session: ReadSession) -> Any:
    error = access_error(session, actor, error_id)
    return queries.access_campaign(session, error)


@router.put("/{error_id}/apology", response_model=CampaignRead)
async def save_apology(error_id: int, data: CampaignIn, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        error = access_error(s, actor, error_id)
        return CampaignRead.model_validate(actions.do_save_campaign(s, actor, error, data))

    return await awrite(db, run)


@router.get("/{error_id}/apology/preview", response_model=PreviewRead)
async def preview_apology(
    error_id: int,
    actor: ApiActor,
    session: ReadSession,
    language: Literal["es", "en"] = "es",
    customer_id: int | None = Query(None, ge=1),
) -> Any:
    error = access_error(session, actor, error_id)
    campaign = queries.access_campaign(session, error)
    p = queries.preview(session, error, campaign, language, customer_id)
    return PreviewRead(
        language=p.language,  # type: ignore[arg-type]
        customer_id=p.customer_id,
        customer_name=p.customer_name,
        subject=p.subject,
        text=p.text,
        unknown_variables=p.unknown_variables,
    )


@router.post(
    "/{error_id}/apology/send", response_model=SendResult, status_code=status.HTTP_202_ACCEPTED
)
async def send_apology(error_id: int, actor: ApiActor, db: DB) -> Any:
    """Queue the apology for every affected customer who has none; a repeat does nothing."""

    def run(s: Any) -> Any:
        error = access_error(s, actor, error_id)
        campaign = queries.access_campaign(s, error)
        outcome = actions.do_send_campaign(s, actor, error, campaign)
        return SendResult(status=outcome.status, enqueue_job=outcome.enqueue_job)

    return await awrite(db, run)


@router.post("/{error_id}/apology/resume", response_model=CampaignRead)
async def resume_apology(error_id: int, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        error = access_error(s, actor, error_id)
        campaign = queries.access_campaign(s, error)
        return CampaignRead.model_validate(actions.do_resume_campaign(s, actor, error, campaign))

    return await awrite(db, run)


@router.get("/{error_id}/apologies", response_model=Page[ApologyRead])
async def list_apologies(
    error_id: int,
    actor: ApiActor,
    session: ReadSession,
    state: ApologyState | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    access_error(session, actor, error_id)
    rows = queries.list_apologies(
        session, error_id, state=state, after_id=decode_cursor(cursor), limit=limit
    )
    return paged(rows, limit, ApologyRead)


@router.get("/{error_id}/updates", response_model=list[PostRead])
async def list_updates(error_id: int, actor: ApiActor, session: ReadSession) -> Any:
    access_error(session, actor, error_id)
    return queries.list_posts(session, error_id)


@router.post("/{error_id}/updates", response_model=PostRead, status_code=status.HTTP_201_CREATED)
async def post_update(error_id: int, data: PostIn, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        error = access_error(s, actor, error_id)
        return PostRead.model_validate(actions.do_post_update(s, actor, error, data))

    return await awrite(db, run)


@router.get("/{error_id}/figures", response_model=FigureSet)
async def error_figures(error_id: int, actor: ApiActor, session: ReadSession) -> Any:
    error = access_error(session, actor, error_id)
    f = queries.figures(session, error)
    return FigureSet.model_validate(f, from_attributes=True)
