"""Helpers for the survey tests: customers, resolved cases, the link in an e-mail, events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from meaculpa.core.audit import Actor
from meaculpa.core.db import Database
from meaculpa.core.events import _subscribers, subscribe
from meaculpa.customers.actions import do_create_customer
from meaculpa.customers.schemas import CustomerCreate
from meaculpa.surveys.models import SurveyInvite, SurveyResponse

SURVEY_LINK = re.compile(r"https?://[^/\s]+(/s/[A-Za-z0-9_.\-]+)")
SYSTEM = Actor.system("test")


def survey_path(text: str) -> str:
    match = SURVEY_LINK.search(text)
    assert match, text
    return match.group(1)


def make_customer(
    db: Database,
    name: str,
    email: str | None,
    language: str = "es",
    owner_id: int | None = None,
) -> int:
    payload: dict[str, Any] = {"name": name, "language": language, "owner_id": owner_id}
    payload["identities"] = [{"kind": "email", "value": email}] if email else []
    with db.transaction() as s:
        return do_create_customer(s, SYSTEM, CustomerCreate.model_validate(payload)).id


def invites(db: Database) -> list[SurveyInvite]:
    with db.reading() as s:
        return list(s.scalars(select(SurveyInvite).order_by(SurveyInvite.id)))


def responses(db: Database) -> list[SurveyResponse]:
    with db.reading() as s:
        return list(s.scalars(select(SurveyResponse).order_by(SurveyResponse.id)))


@pytest.fixture
def answered_events() -> Iterator[list[dict[str, Any]]]:
    """Every ``survey.answered`` published during the test, as its keyword arguments."""
    seen: list[dict[str, Any]] = []

    def listener(**kwargs: Any) -> None:
        seen.append({k: v for k, v in kwargs.items() if k not in ("session", "actor")})

    subscribe("survey.answered")(listener)
    try:
        yield seen
    finally:
        _subscribers["survey.answered"].remove(listener)
