from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.core.api import Cursor, GroupWork, Limit, agroup_write, awrite, paged
from meaculpa.core.audit import Actor
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.enums import Direction
from meaculpa.core.exceptions import Conflict, Invalid
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.schemas import Page, StrictModel
from meaculpa.messages import actions, queries
from meaculpa.messages.models import IdempotencyRecord
from meaculpa.messages.schemas import InboundMessage, IngestResult, MessageRead

router = APIRouter(prefix="/messages", tags=["messages"])
MAX_BATCH = 100


def _message_json(message: dict[str, Any]) -> dict[str, Any]:
    """The message as stored, for JSON: its two timestamps in ISO 8601, the rest as it is
    (numbers, text, and attachments already JSON)."""
    body = dict(message)
    for key in ("sent_at", "created_at"):
        value = body[key]
        if isinstance(value, datetime):
            body[key] = value.isoformat()
    return body


def _ingest_body(outcome: actions.IngestOutcome) -> dict[str, Any]:
    return {
        "created": outcome.created,
        "message": _message_json(outcome.message),
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

    # Concurrent deliveries share a transaction and their statements: see core.api.GroupWriter.
    key = idempotency_key
    request_hash = await _request_hash(request) if key is not None else ""
    code, body = await agroup_write(db, _Ingest(actor, data, key, request_hash))
    return JSONResponse(body, status_code=code)


class _Ingest(GroupWork[tuple[int, dict[str, Any]]]):
    """One ``POST /messages`` request, taken with the others that arrive at the same time."""

    def __init__(
        self, actor: Actor, data: InboundMessage, key: str | None, request_hash: str
    ) -> None:
        self.actor, self.data, self.key, self.request_hash = actor, data, key, request_hash

    @classmethod
    def run_group(cls, session: Session, works: list[Any]) -> list[tuple[int, dict[str, Any]]]:
        answers: list[tuple[int, dict[str, Any]] | None] = [None] * len(works)
        keys = [w.key for w in works if w.key is not None]
        if len(set(keys)) < len(keys):
            # The same key twice at once: one of them must wait for the other's answer.
            raise Conflict("this Idempotency-Key is in use by a request still running")
        if keys:
            stored = {
                r.key: r
                for r in session.scalars(
                    select(IdempotencyRecord).where(IdempotencyRecord.key.in_(keys))
                )
            }
            for i, work in enumerate(works):
                record = stored.get(work.key) if work.key is not None else None
                if record is not None:
                    answers[i] = _replayed(record, work.request_hash)
        todo = [i for i, answer in enumerate(answers) if answer is None]
        outcomes = actions.do_ingest_messages(
            session, [actions.IngestItem(works[i].actor, works[i].data) for i in todo]
        )
        for i, outcome in zip(todo, outcomes, strict=True):
            answer = answers[i] = (201 if outcome.created else 200), _ingest_body(outcome)
            if works[i].key is not None:
                _remember(session, works[i].key, works[i].request_hash, answer)
        return [a for a in answers if a is not None]


async def _request_hash(request: Request) -> str:
    return hashlib.sha256(await request.body()).hexdigest()


def _remember(
    session: Session, key: str, request_hash: str, answer: tuple[int, dict[str, Any]]
) -> None:
    """Store the answer given to the request sent with this ``Idempotency-Key``."""
    code, body = answer
    session.add(
        IdempotencyRecord(key=key, request_hash=request_hash, status_code=code, response=body)
    )


def _replayed(stored: IdempotencyRecord, request_hash: str) -> tuple[int, dict[str, Any]]:
    if stored.request_hash != request_hash:
        raise Invalid(
            "this Idempotency-Key was already used with a different request",
            field="Idempotency-Key",
        )
    return stored.status_code, stored.response


async def _idempotent(
    request: Request,
    key: str | None,
    work: Callable[[Session], tuple[int, dict[str, Any]]],
) -> Callable[[Session], tuple[int, dict[str, Any]]]:
    """Wrap ``work`` so a request repeated with the same ``Idempotency-Key`` gets the first
    answer, and the key reused for another request body is refused."""
    if key is None:
        return work
    request_hash = await _request_hash(request)

    def run(session: Session) -> tuple[int, dict[str, Any]]:
        stored = session.get(IdempotencyRecord, key)
        if stored is not None:
            return _replayed(stored, request_hash)
        answer = work(session)
        _remember(session, key, request_hash, answer)
        return answer

    return run


class InboundBatch(StrictModel):
    messages: list[InboundMessage] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResult(BaseModel):
    created: int
    duplicates: int
    results: list[IngestResult]


@router.post("/batch", response_model=BatchResult, status_code=200)
async def ingest_batch(
    request: Request,
    data: InboundBatch,
    actor: ApiActor,
    db: DB,
    idempotency_key: str | None = Header(None, max_length=200),
) -> JSONResponse:
    """Take up to 100 inbound messages at once, for connectors that deliver bursts.

    The batch is validated whole (an invalid message refuses the batch, naming it, and nothing
    is stored), then stored in one transaction. Each message is handled exactly as by
    ``POST /api/v1/messages`` and is idempotent by its ``external_id``; results come back in
    the order sent.
    """

    # Rows are locked in the order of each message's first identity, so two batches that
    # share customers queue behind each other instead of deadlocking.
    order = sorted(
        range(len(data.messages)),
        key=lambda i: min((x.kind.value, x.value) for x in data.messages[i].customer.identities),
    )

    def ingest(session: Session) -> tuple[int, dict[str, Any]]:
        # A retry after a lost race (another batch created the same new customer) locks the
        # batch's identities first: see actions.do_ingest_messages.
        items = [actions.IngestItem(actor, data.messages[i]) for i in order]
        outcomes = actions.do_ingest_messages(session, items)
        by_position = {i: _ingest_body(o) for i, o in zip(order, outcomes, strict=True)}
        results = [by_position[i] for i in range(len(data.messages))]
        created = sum(1 for r in results if r["created"])
        body = {"created": created, "duplicates": len(results) - created, "results": results}
        return 200, body

    code, body = await awrite(db, await _idempotent(request, idempotency_key, ingest))
    return JSONResponse(body, status_code=code)


@router.get("", response_model=Page[MessageRead])
async def list_messages(
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
async def get_message(message_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_message(session, actor, message_id)
