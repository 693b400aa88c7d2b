from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from meaculpa.core.api import Cursor, Limit, paged, write
from meaculpa.core.audit import jsonable
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.enums import Direction
from meaculpa.core.exceptions import Invalid
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.schemas import Page
from meaculpa.messages import actions, queries
from meaculpa.messages.models import IdempotencyRecord
from meaculpa.messages.schemas import InboundMessage, IngestResult, MessageRead

router = APIRouter(prefix="/messages", tags=["messages"])


def _ingest_body(outcome: actions.IngestOutcome) -> dict[str, Any]:
    return {
        "created": outcome.created,
        "message": jsonable(outcome.message),
        "case_id": outcome.case.id,
        "case_reference": outcome.case.reference,
        "case_status": outcome.case.status,
        "customer_id": outcome.customer.id,
        "customer_created": outcome.customer_created,
        "case_created": outcome.case_created,
    }


@router.post(
    "",
    response_model=IngestResult,
    status_code=201,
    responses={200: {"description": "already received: the stored message is returned"}},
)
async def ingest_message(
    request: Request,
    data: InboundMessage,
    actor: ApiActor,
    db: DB,
    idempotency_key: str | None = Header(None, max_length=200),
) -> JSONResponse:
    """Take an inbound customer message from any channel.

    The customer is found by any of the identities given (or created), the message joins the
    customer's open case (or opens one). Retries are safe: the same ``external_id`` on the same
    channel, or the same ``Idempotency-Key`` header, never creates a second message.
    """
    raw = await request.body()
    request_hash = hashlib.sha256(raw).hexdigest()

    def run(session: Session) -> tuple[int, dict[str, Any]]:
        if idempotency_key is not None:
            stored = session.get(IdempotencyRecord, idempotency_key)
            if stored is not None:
                if stored.request_hash != request_hash:
                    raise Invalid(
                        "this Idempotency-Key was already used with a different request",
                        field="Idempotency-Key",
                    )
                return stored.status_code, stored.response
        outcome = actions.do_ingest_message(session, actor, data)
        body = _ingest_body(outcome)
        code = 201 if outcome.created else 200
        if idempotency_key is not None:
            session.add(
                IdempotencyRecord(
                    key=idempotency_key, request_hash=request_hash, status_code=code, response=body
                )
            )
        return code, body

    from starlette.concurrency import run_in_threadpool

    code, body = await run_in_threadpool(write, db, run)
    return JSONResponse(body, status_code=code)


@router.get("", response_model=Page[MessageRead])
def list_messages(
    actor: ApiActor,
    session: ReadSession,
    case_id: int | None = None,
    customer_id: int | None = None,
    direction: Direction | None = None,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    rows = queries.list_messages(
        session,
        case_id=case_id,
        customer_id=customer_id,
        direction=direction.value if direction else None,
        after_id=decode_cursor(cursor),
        limit=limit,
    )
    return paged(rows, limit, MessageRead)


@router.get("/{message_id}", response_model=MessageRead)
def get_message(message_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_message(session, actor, message_id)
