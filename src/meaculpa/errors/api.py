from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from meaculpa.core.api import Cursor, Limit, awrite, paged
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.enums import AffectedState, ErrorStatus, ErrorType, Severity
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.schemas import Page
from meaculpa.errors import actions, queries
from meaculpa.errors.schemas import (
    AffectedIn,
    AffectedRead,
    AffectedUpdate,
    ErrorCreate,
    ErrorRead,
    ErrorUpdate,
)

router = APIRouter(prefix="/errors", tags=["errors"])


@router.get("", response_model=Page[ErrorRead])
async def list_errors(
    actor: ApiActor,
    session: ReadSession,
    status_: ErrorStatus | None = Query(None, alias="status"),
    type: ErrorType | None = None,
    severity: Severity | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    rows = queries.list_errors(
        session,
        after_id=decode_cursor(cursor),
        limit=limit,
        status=status_.value if status_ else None,
        type=type.value if type else None,
        severity=severity.value if severity else None,
    )
    return paged(rows, limit, ErrorRead)


@router.post("", response_model=ErrorRead, status_code=status.HTTP_201_CREATED)
async def create_error(data: ErrorCreate, actor: ApiActor, db: DB) -> Any:
    return await awrite(
        db, lambda s: ErrorRead.model_validate(actions.do_create_error(s, actor, data))
    )


@router.get("/{error_id}", response_model=ErrorRead)
async def get_error(error_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_error(session, actor, error_id)


@router.patch("/{error_id}", response_model=ErrorRead)
async def update_error(error_id: int, data: ErrorUpdate, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        error = queries.access_error(s, actor, error_id)
        return ErrorRead.model_validate(actions.do_update_error(s, actor, error, data))

    return await awrite(db, run)


@router.get("/{error_id}/affected", response_model=Page[AffectedRead])
async def list_affected(
    error_id: int,
    actor: ApiActor,
    session: ReadSession,
    state: AffectedState | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    queries.access_error(session, actor, error_id)
    rows = queries.list_affected(
        session,
        error_id,
        state=state.value if state else None,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return paged(rows, limit, AffectedRead)


@router.post(
    "/{error_id}/affected", response_model=AffectedRead, status_code=status.HTTP_201_CREATED
)
async def add_affected(error_id: int, data: AffectedIn, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        error = queries.access_error(s, actor, error_id)
        return AffectedRead.model_validate(actions.do_add_affected(s, actor, error, data))

    return await awrite(db, run)


@router.patch("/{error_id}/affected/{affected_id}", response_model=AffectedRead)
async def update_affected(
    error_id: int, affected_id: int, data: AffectedUpdate, actor: ApiActor, db: DB
) -> Any:
    def run(s: Any) -> Any:
        error = queries.access_error(s, actor, error_id)
        row = queries.access_affected(s, error, affected_id)
        return AffectedRead.model_validate(actions.do_update_affected(s, actor, error, row, data))

    return await awrite(db, run)
