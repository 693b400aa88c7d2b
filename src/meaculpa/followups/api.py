"""JSON API of the followups domain (mounted under /api/v1)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from meaculpa.cases.queries import access_case
from meaculpa.core.api import Cursor, Limit, awrite, paged
from meaculpa.core.deps import DB, ApiActor, AppSettings, ReadSession
from meaculpa.core.exceptions import Invalid, NotFound
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.schemas import Page
from meaculpa.followups import actions, queries
from meaculpa.followups.schemas import (
    CaseFollowupRead,
    FollowupRead,
    FollowupSettingsRead,
    FollowupSettingsUpdate,
    GroupBy,
    SatisfactionRow,
    TrackingLinkRead,
)

router = APIRouter(tags=["followups"])
Status = Literal["scheduled", "sent", "answered", "cancelled", "skipped"]


@router.get("/cases/{case_id}/followup", response_model=CaseFollowupRead)
async def case_followup(case_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """The case's follow-ups (latest resolution first) and the state of the latest."""
    rows = queries.access_case_followups(session, actor, case_id)
    items = [FollowupRead.model_validate(r) for r in rows]
    return CaseFollowupRead(
        case_id=case_id,
        state=items[0].status if items else "none",  # type: ignore[arg-type]
        latest=items[0] if items else None,
        followups=items,
    )


@router.get("/cases/{case_id}/tracking-link", response_model=TrackingLinkRead)
async def case_tracking_link(
    case_id: int, actor: ApiActor, session: ReadSession, settings: AppSettings
) -> Any:
    """A signed link (no login) where the customer follows the case and can write to us."""
    case = access_case(session, actor, case_id)
    url, expires = actions.tracking_link(
        session, case, secret=settings.secret_key, base_url=settings.base_url
    )
    return TrackingLinkRead(case_id=case.id, url=url, expires_at=expires)


@router.get("/followups/settings", response_model=FollowupSettingsRead)
async def get_settings(actor: ApiActor, session: ReadSession) -> Any:
    """Days after resolution the question is sent (0: at once) and days links keep working."""
    return queries.followup_settings(session)


@router.put("/followups/settings", response_model=FollowupSettingsRead)
async def put_settings(data: FollowupSettingsUpdate, actor: ApiActor, db: DB) -> Any:
    """Change the follow-up settings (managers). New resolutions use them."""
    return await awrite(
        db,
        lambda s: FollowupSettingsRead.model_validate(
            actions.do_update_followup_settings(s, actor, data)
        ),
    )


@router.get("/followups/satisfaction", response_model=list[SatisfactionRow])
async def satisfaction(
    actor: ApiActor,
    session: ReadSession,
    since: AwareDatetime,
    until: AwareDatetime,
    group_by: GroupBy = "none",
) -> Any:
    """Satisfaction after recovery: answers to the follow-ups sent in ``[since, until)``."""
    if until <= since:
        raise Invalid("until must be after since", field="until")
    return queries.satisfaction_after_recovery(session, since, until, group_by)


@router.get("/followups", response_model=Page[FollowupRead])
async def list_followups(
    actor: ApiActor,
    session: ReadSession,
    answered: bool | None = Query(None, description="only answered (true) or unanswered"),
    solved: bool | None = Query(None, description="only answers saying solved (true) or not"),
    status: Status | None = None,
    case_id: int | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Follow-ups, newest first."""
    rows = queries.list_followups(
        session,
        answered=answered,
        solved=solved,
        status=status,
        case_id=case_id,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return paged(rows, limit, FollowupRead)


@router.get("/followups/{followup_id}", response_model=FollowupRead)
async def get_followup(followup_id: int, actor: ApiActor, session: ReadSession) -> Any:
    row = queries.get_followup(session, followup_id)
    if row is None:
        raise NotFound(f"follow-up {followup_id} does not exist")
    return row
