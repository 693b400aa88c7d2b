"""JSON API of the commitments domain (mounted under /api/v1; full paths here)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from meaculpa.cases.queries import access_case
from meaculpa.commitments import actions, queries
from meaculpa.commitments.schemas import (
    CancelIn,
    CommitmentCreate,
    CommitmentRead,
    KeepIn,
    ProgressUpdateRead,
    SettingsRead,
    SettingsUpdate,
    State,
    StatsRead,
)
from meaculpa.core.api import Cursor, Limit, awrite
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.pagination import decode_cursor, page_of
from meaculpa.core.schemas import Page

router = APIRouter(tags=["commitments"])


@router.post(
    "/cases/{case_id}/commitments",
    response_model=CommitmentRead,
    status_code=status.HTTP_201_CREATED,
)
async def create_commitment(case_id: int, data: CommitmentCreate, actor: ApiActor, db: DB) -> Any:
    """Record a promise made to the case's customer. It must be due in the future."""

    def run(s: Any) -> Any:
        case = access_case(s, actor, case_id)
        commitment = actions.do_create_commitment(
            s,
            actor,
            case,
            kind=data.kind,
            due_at=data.due_at,
            description=data.description,
            depends_on_customer=data.depends_on_customer,
            condition=data.condition,
        )
        return queries.to_reads(s, [commitment])[0]

    return await awrite(db, run)


@router.get("/cases/{case_id}/commitments", response_model=list[CommitmentRead])
async def case_commitments(case_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """The case's promises: open ones first, soonest due first."""
    access_case(session, actor, case_id)
    return queries.to_reads(session, queries.list_case_commitments(session, case_id))


@router.get("/cases/{case_id}/progress-updates", response_model=list[ProgressUpdateRead])
async def case_progress_updates(case_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """Progress updates the customer was due on this case, newest first."""
    access_case(session, actor, case_id)
    return queries.progress_updates_of(session, case_id)


@router.get("/commitments", response_model=Page[CommitmentRead])
async def list_commitments(
    actor: ApiActor,
    session: ReadSession,
    owner_id: int | None = None,
    mine: bool = Query(False, description="only the caller's promises"),
    state: State | None = None,
    overdue: bool = Query(False, description="only open promises past their due time"),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Promises, newest first."""
    rows = queries.list_commitments(
        session,
        owner_id=actor.id if mine else owner_id,
        state=state,
        overdue=overdue,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit)
    return {"items": queries.to_reads(session, items), "next_cursor": next_cursor}


@router.get("/commitments/stats", response_model=StatsRead)
async def commitment_stats(
    actor: ApiActor,
    session: ReadSession,
    since: AwareDatetime | None = Query(None, description="promises due from (inclusive)"),
    until: AwareDatetime | None = Query(None, description="promises due before"),
    owner_id: int | None = None,
    team_id: int | None = None,
    group_by: Literal["owner", "team", "none"] = "owner",
) -> Any:
    """The promise-keeping rate, kept / (kept + broken), of promises due in the period."""
    return queries.promise_stats(
        session, since=since, until=until, owner_id=owner_id, team_id=team_id, group_by=group_by
    )


@router.get("/commitments/settings", response_model=SettingsRead)
async def get_settings(actor: ApiActor, session: ReadSession) -> Any:
    """Reminder offsets and progress-update rules of the organisation."""
    return queries.get_settings(session)


@router.patch("/commitments/settings", response_model=SettingsRead)
async def update_settings(data: SettingsUpdate, actor: ApiActor, db: DB) -> Any:
    """Change the reminder offsets or the progress-update rules. Managers only."""

    def run(s: Any) -> Any:
        return SettingsRead.model_validate(actions.do_update_settings(s, actor, data))

    return await awrite(db, run)


@router.get("/commitments/{commitment_id}", response_model=CommitmentRead)
async def get_commitment(commitment_id: int, actor: ApiActor, session: ReadSession) -> Any:
    commitment = queries.access_commitment(session, actor, commitment_id)
    return queries.to_reads(session, [commitment])[0]


@router.post("/commitments/{commitment_id}/keep", response_model=CommitmentRead)
async def keep_commitment(
    commitment_id: int, actor: ApiActor, db: DB, data: KeepIn | None = None
) -> Any:
    """Mark a promise kept (by the caller, now)."""

    def run(s: Any) -> Any:
        commitment = queries.access_commitment(s, actor, commitment_id)
        actions.do_keep_commitment(s, actor, commitment, note=data.note if data else None)
        return queries.to_reads(s, [commitment])[0]

    return await awrite(db, run)


@router.post("/commitments/{commitment_id}/cancel", response_model=CommitmentRead)
async def cancel_commitment(commitment_id: int, data: CancelIn, actor: ApiActor, db: DB) -> Any:
    """Withdraw a promise that no longer applies, with the reason."""

    def run(s: Any) -> Any:
        commitment = queries.access_commitment(s, actor, commitment_id)
        actions.do_cancel_commitment(s, actor, commitment, reason=data.reason)
        return queries.to_reads(s, [commitment])[0]

    return await awrite(db, run)
