"""Pages: a customer with their identities, cases and the errors that hurt them; the public
page behind the opt-out link in every message a customer did not ask for."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from meaculpa.accounts.queries import users_by_id
from meaculpa.cases.queries import list_cases
from meaculpa.core.audit import Actor
from meaculpa.core.deps import DB
from meaculpa.core.signing import LinkExpired, LinkInvalid
from meaculpa.customers.actions import do_update_customer
from meaculpa.customers.optout import read_opt_out_token
from meaculpa.customers.queries import access_customer, get_customer
from meaculpa.customers.schemas import CustomerUpdate
from meaculpa.errors.queries import errors_for_customer
from meaculpa.web.pages import CurrentUser, PostedForm, page_language, render

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


# --- the opt-out link (public: the signed token is the permission) ---------------------------

NOINDEX = {"X-Robots-Tag": "noindex, nofollow"}


def _opt_out_customer(request: Request, token: str) -> int | None:
    try:
        return read_opt_out_token(str(request.app.state.settings.secret_key), token)
    except (LinkInvalid, LinkExpired):
        return None


def _link_not_valid(request: Request) -> Response:
    return render(
        request, "customers/opt_out.html", {"state": "invalid"}, status_code=404, headers=NOINDEX
    )


@router.get("/o/{token}", name="opt_out")
async def opt_out_page(token: str, request: Request, db: DB) -> Response:
    """Ask the customer to confirm they want no more messages they did not ask for."""
    customer_id = _opt_out_customer(request, token)
    if customer_id is None:
        return _link_not_valid(request)
    with db.reading() as session:
        customer = get_customer(session, customer_id)
    if customer is None:
        return _link_not_valid(request)
    page_language(request, customer.language)
    state = "done" if customer.opt_out else "ask"
    return render(request, "customers/opt_out.html", {"state": state}, headers=NOINDEX)


@router.post("/o/{token}", name="opt_out_confirm")
def opt_out_confirm(token: str, request: Request, db: DB, form: PostedForm) -> Response:
    customer_id = _opt_out_customer(request, token)
    if customer_id is None:
        return _link_not_valid(request)
    with db.transaction() as session:
        customer = get_customer(session, customer_id)
        if customer is None:
            return _link_not_valid(request)
        page_language(request, customer.language)
        if not customer.opt_out:
            do_update_customer(
                session,
                Actor.system("customer opt-out link"),
                customer,
                CustomerUpdate(opt_out=True),
            )
    return render(request, "customers/opt_out.html", {"state": "done"}, headers=NOINDEX)
