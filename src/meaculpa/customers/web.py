"""Pages: a customer with their identities, cases and the errors that hurt them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meaculpa.accounts.queries import users_by_id
from meaculpa.cases.queries import list_cases
from meaculpa.core.deps import DB
from meaculpa.customers.queries import access_customer
from meaculpa.errors.queries import errors_for_customer
from meaculpa.web.pages import CurrentUser, render

router = APIRouter(include_in_schema=False)

CASES_SHOWN = 50


@router.get("/customers/{customer_id}", name="customer")
async def customer_page(customer_id: int, request: Request, user: CurrentUser, db: DB) -> Response:
    with db.reading() as session:
        customer = access_customer(session, user.actor, customer_id)
        cases = list_cases(session, customer_id=customer.id, limit=CASES_SHOWN)
        errors = errors_for_customer(session, customer.id)
        owner_ids = {c.owner_id for c in cases if c.owner_id is not None}
        if customer.owner_id is not None:
            owner_ids.add(customer.owner_id)
        people = users_by_id(session, owner_ids)
    return render(
        request,
        "customers/customer.html",
        {
            "customer": customer,
            "cases": cases[:CASES_SHOWN],
            "more_cases": len(cases) > CASES_SHOWN,
            "errors": errors,
            "people": people,
        },
    )
