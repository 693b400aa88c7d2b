"""Helpers for the page tests: sign in through the real form, read CSRF tokens, seed data."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from meaculpa.cases.actions import do_open_case
from meaculpa.core.audit import Actor
from meaculpa.core.db import Database
from meaculpa.customers.actions import do_create_customer
from meaculpa.customers.schemas import CustomerCreate
from meaculpa.messages.actions import do_ingest_message
from meaculpa.messages.schemas import InboundMessage
from tests.conftest import PASSWORD, Person

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def csrf(client: TestClient, path: str = "/login") -> str:
    return csrf_from(client.get(path).text)


def login(client: TestClient, person: Person, password: str = PASSWORD, **extra: str) -> Any:
    token = csrf(client)
    data = {"email": person.email, "password": password, "csrf_token": token, **extra}
    return client.post("/login", data=data)


def seed_case(
    db: Database,
    *,
    owner_id: int | None,
    name: str = "Lucía Fernández",
    email: str = "lucia@example.es",
    subject: str = "Cobro duplicado",
    text: str = "Me habéis cobrado dos veces el pedido 4411.",
    html: str | None = None,
    channel: str = "email",
    severity: str = "medium",
) -> dict[str, int]:
    """A customer with an open case (owned by ``owner_id``) and one inbound message."""
    actor = Actor.system()
    with db.transaction() as session:
        customer = do_create_customer(
            session,
            actor,
            CustomerCreate.model_validate(
                {"name": name, "identities": [{"kind": "email", "value": email}]}
            ),
        )
        case = do_open_case(
            session, actor, customer, channel=channel, subject=subject, severity=severity,
            owner_id=owner_id,
        )
        payload: dict[str, Any] = {
            "channel": channel,
            "customer": {"identities": [{"kind": "email", "value": email}]},
            "text": text,
        }
        if html is not None:
            payload["html"] = html
        outcome = do_ingest_message(session, actor, InboundMessage.model_validate(payload))
        assert outcome.case.id == case.id
        message = outcome.message
        message_id = message["id"] if isinstance(message, dict) else message.id
        return {"case": case.id, "customer": customer.id, "message": message_id}


# Debian's Chromium, launched as the machine allows (no sandbox as root, no network chatter).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Skipped on a machine without Chromium, but never in CI (CI=true), where it must run.
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium chromium-driver)",
)
