from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import Field

from meaculpa.cases import actions, queries
from meaculpa.cases.schemas import CaseCreate, CaseRead, CaseUpdate, TaskCreate, TaskRead
from meaculpa.core.api import Cursor, Limit, awrite, paged
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.enums import CaseStatus, Channel, Severity
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.schemas import Page, StrictModel
from meaculpa.customers.queries import access_customer
from meaculpa.messages import actions as message_actions
from meaculpa.messages.queries import list_messages
from meaculpa.messages.schemas import MessageRead, ReplyIn

router = APIRouter(prefix="/cases", tags=["cases"])


class ReopenIn(StrictModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.get("", response_model=Page[CaseRead])
async def list_cases(
    actor: ApiActor,
    session: ReadSession,
    status_: list[CaseStatus] | None = Query(None, alias="status"),
    open: bool = Query(False, description="only cases not yet resolved"),
    owner_id: int | None = None,
    customer_id: int | None = None,
    channel: Channel | None = None,
    severity: Severity | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    """Cases, newest first."""
    rows = queries.list_cases(
        session,
        after_id=decode_cursor(cursor),
        limit=limit,
        status=[s.value for s in status_] if status_ else None,
        open_only=open,
        owner_id=owner_id,
        customer_id=customer_id,
        channel=channel.value if channel else None,
        severity=severity.value if severity else None,
    )
    return paged(rows, limit, CaseRead)


@router.post("", response_model=CaseRead, status_code=status.HTTP_201_CREATED)
async def create_case(data: CaseCreate, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        customer = access_customer(s, actor, data.customer_id)
        case = actions.do_open_case(
            s,
            actor,
            customer,
            channel=data.channel.value,
            language=data.language.value if data.language else None,
            subject=data.subject,
            severity=data.severity.value,
            owner_id=data.owner_id,
        )
        return CaseRead.model_validate(case)

    return await awrite(db, run)


@router.get("/{case_id}", response_model=CaseRead)
async def get_case(case_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_case(session, actor, case_id)


@router.patch("/{case_id}", response_model=CaseRead)
async def update_case(case_id: int, data: CaseUpdate, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        case = queries.access_case(s, actor, case_id)
        case = actions.do_update_case(
            s,
            actor,
            case,
            subject=data.subject,
            severity=data.severity.value if data.severity else None,
            status=data.status.value if data.status else None,
            language=data.language.value if data.language else None,
            owner_id=data.owner_id,
            owner_set="owner_id" in data.model_fields_set,
            handover_note=data.handover_note,
        )
        return CaseRead.model_validate(case)

    return await awrite(db, run)


@router.post("/{case_id}/reopen", response_model=CaseRead)
async def reopen_case(case_id: int, data: ReopenIn, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        case = queries.access_case(s, actor, case_id)
        actions.check_can_change(actor, case)
        return CaseRead.model_validate(actions.do_reopen_case(s, actor, case, reason=data.reason))

    return await awrite(db, run)


@router.get("/{case_id}/messages", response_model=Page[MessageRead])
async def case_messages(
    case_id: int,
    actor: ApiActor,
    session: ReadSession,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    queries.access_case(session, actor, case_id)
    rows = list_messages(session, case_id=case_id, after_id=decode_cursor(cursor), limit=limit)
    return paged(rows, limit, MessageRead)


@router.post("/{case_id}/messages", response_model=MessageRead, status_code=status.HTTP_201_CREATED)
async def reply(case_id: int, data: ReplyIn, actor: ApiActor, db: DB) -> Any:
    """Write to the customer (outbound) or leave an internal note."""

    def run(s: Any) -> Any:
        case = queries.access_case(s, actor, case_id)
        return MessageRead.model_validate(message_actions.do_add_reply(s, actor, case, data))

    return await awrite(db, run)


@router.get("/{case_id}/tasks", response_model=list[TaskRead])
async def list_tasks(case_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """Internal tasks for other teams; they never change the case's owner."""
    queries.access_case(session, actor, case_id)
    return queries.list_tasks(session, case_id)


@router.post("/{case_id}/tasks", response_model=TaskRead, status_code=status.HTTP_201_CREATED)
async def create_task(case_id: int, data: TaskCreate, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        case = queries.access_case(s, actor, case_id)
        task = actions.do_create_task(
            s, actor, case, title=data.title, team_id=data.team_id, assignee_id=data.assignee_id
        )
        return TaskRead.model_validate(task)

    return await awrite(db, run)


@router.post("/tasks/{task_id}/done", response_model=TaskRead)
async def complete_task(task_id: int, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        task = queries.access_task(s, actor, task_id)
        return TaskRead.model_validate(actions.do_complete_task(s, actor, task))

    return await awrite(db, run)
