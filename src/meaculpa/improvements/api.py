"""JSON API of the improvements domain (mounted under /api/v1; full paths here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status

from meaculpa.core.api import Cursor, Limit, awrite
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.exceptions import Conflict, Invalid
from meaculpa.core.pagination import decode_cursor, page_of
from meaculpa.core.schemas import Page
from meaculpa.improvements import actions, queries
from meaculpa.improvements.schemas import (
    ActionCreate,
    ActionRead,
    ActionUpdate,
    CustomerNoticeRead,
    Status,
    StatusIn,
)

router = APIRouter(tags=["improvements"])


@router.post("/improvements", response_model=ActionRead, status_code=status.HTTP_201_CREATED)
async def create_action(data: ActionCreate, actor: ApiActor, db: DB) -> Any:
    """Plan a corrective or preventive action, linked to problems and errors. Managers only."""

    def run(s: Any) -> Any:
        return queries.to_reads(s, [actions.do_create_action(s, actor, data)])[0]

    return await awrite(db, run)


@router.get("/improvements", response_model=Page[ActionRead])
async def list_actions(
    actor: ApiActor,
    session: ReadSession,
    status: Status | None = None,
    owner_id: int | None = None,
    mine: bool = Query(False, description="only the caller's actions"),
    problem_id: int | None = None,
    error_id: int | None = None,
    overdue: bool = Query(False, description="only open actions past their due date"),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Improvement actions, newest first."""
    rows = queries.list_actions(
        session,
        status=status,
        owner_id=actor.id if mine else owner_id,
        problem_id=problem_id,
        error_id=error_id,
        overdue=overdue,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    items, next_cursor = page_of(rows, limit)
    return {"items": queries.to_reads(session, items), "next_cursor": next_cursor}


@router.get("/improvements/{action_id}", response_model=ActionRead)
async def get_action(action_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """One action, with its before/after evaluation per linked problem (rates per 1,000
    cases opened, p-value, verdict)."""
    return queries.to_reads(session, [queries.access_action(session, actor, action_id)])[0]


@router.patch("/improvements/{action_id}", response_model=ActionRead)
async def update_action(action_id: int, data: ActionUpdate, actor: ApiActor, db: DB) -> Any:
    """Change an open action. Managers only."""

    def run(s: Any) -> Any:
        action = queries.access_action(s, actor, action_id)
        return queries.to_reads(s, [actions.do_update_action(s, actor, action, data)])[0]

    return await awrite(db, run)


@router.post("/improvements/{action_id}/status", response_model=ActionRead)
async def change_status(action_id: int, data: StatusIn, actor: ApiActor, db: DB) -> Any:
    """Start, finish or cancel an action (its owner or a manager). Finishing it starts the
    before/after comparison and tells the customers who reported its problems."""

    def run(s: Any) -> Any:
        action = queries.access_action(s, actor, action_id)
        if data.status == "in_progress":
            actions.do_start_action(s, actor, action)
        elif data.status == "done":
            actions.do_complete_action(s, actor, action, note=data.note)
        else:
            if not (data.reason or "").strip():
                raise Invalid("say why the action is cancelled", field="reason")
            actions.do_cancel_action(s, actor, action, reason=data.reason or "")
        return queries.to_reads(s, [action])[0]

    return await awrite(db, run)


@router.post("/improvements/{action_id}/evaluate", response_model=ActionRead)
async def evaluate_action(action_id: int, actor: ApiActor, db: DB) -> Any:
    """Re-run the before/after comparison of a done action now. Managers only."""

    def run(s: Any) -> Any:
        actions.check_can_manage(actor)
        action = queries.access_action(s, actor, action_id)
        if action.status != "done":
            raise Conflict("only a done action can be evaluated", current_status=action.status)
        actions.do_evaluate_action(s, action)
        return queries.to_reads(s, [action])[0]

    return await awrite(db, run)


@router.get("/improvements/{action_id}/customer-notices", response_model=list[CustomerNoticeRead])
async def customer_notices(action_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """The customers told "you said, we did" about this action (or skipped, and why)."""
    actions.check_can_manage(actor)
    queries.access_action(session, actor, action_id)
    return queries.customer_notices_of(session, action_id)
