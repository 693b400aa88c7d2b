from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response, status

from meaculpa.core.api import Cursor, Limit, awrite, paged
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.enums import Language
from meaculpa.core.exceptions import Invalid
from meaculpa.core.pagination import decode_cursor
from meaculpa.core.schemas import Page
from meaculpa.customers import actions, queries
from meaculpa.customers.identity import IdentityError, normalise_identity
from meaculpa.customers.schemas import (
    CustomerCreate,
    CustomerRead,
    CustomerUpdate,
    IdentityIn,
    IdentityRead,
)

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("", response_model=Page[CustomerRead])
async def list_customers(
    actor: ApiActor,
    session: ReadSession,
    q: str | None = Query(None, max_length=200, description="part of the name"),
    language: Language | None = None,
    owner_id: int | None = None,
    identity: str | None = Query(
        None, max_length=340, description="kind:value, e.g. email:ana@x.es"
    ),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> Any:
    ident = None
    if identity is not None:
        kind, sep, value = identity.partition(":")
        if not sep:
            raise Invalid("identity filters look like kind:value", field="identity")
        try:
            ident = normalise_identity(kind, value)
        except IdentityError as exc:
            raise Invalid(str(exc), field="identity") from exc
    rows = queries.list_customers(
        session,
        after_id=decode_cursor(cursor),
        limit=limit,
        q=q,
        language=language.value if language else None,
        owner_id=owner_id,
        identity=ident,
    )
    return paged(rows, limit, CustomerRead)


@router.post("", response_model=CustomerRead, status_code=status.HTTP_201_CREATED)
async def create_customer(data: CustomerCreate, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        customer = actions.do_create_customer(s, actor, data)
        return CustomerRead.model_validate(customer)

    return await awrite(db, run)


@router.get("/{customer_id}", response_model=CustomerRead)
async def get_customer(customer_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_customer(session, actor, customer_id)


@router.patch("/{customer_id}", response_model=CustomerRead)
async def update_customer(customer_id: int, data: CustomerUpdate, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        customer = queries.access_customer(s, actor, customer_id)
        return CustomerRead.model_validate(actions.do_update_customer(s, actor, customer, data))

    return await awrite(db, run)


@router.post(
    "/{customer_id}/identities", response_model=IdentityRead, status_code=status.HTTP_201_CREATED
)
async def add_identity(customer_id: int, data: IdentityIn, actor: ApiActor, db: DB) -> Any:
    def run(s: Any) -> Any:
        customer = queries.access_customer(s, actor, customer_id)
        ident = actions.do_add_identity(s, actor, customer, data.kind.value, data.value)
        return IdentityRead.model_validate(ident)

    return await awrite(db, run)


@router.delete("/{customer_id}/identities/{identity_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_identity(customer_id: int, identity_id: int, actor: ApiActor, db: DB) -> Response:
    def run(s: Any) -> None:
        customer = queries.access_customer(s, actor, customer_id)
        actions.do_remove_identity(s, actor, customer, identity_id)

    await awrite(db, run)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
