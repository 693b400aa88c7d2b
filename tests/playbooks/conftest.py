"""Shared pieces of the playbook tests: an organisation calendar, cases opened in the past."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import update

from meaculpa.accounts.models import Organisation
from meaculpa.cases.models import Case
from meaculpa.core.db import Database

ALL_WEEK = {d: [["00:00", "23:59:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OFFICE = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def make_org(db: Database, hours: dict[str, Any], holidays: list[str] | None = None) -> None:
    with db.transaction() as session:
        session.add(
            Organisation(
                name="Olivar Hogar",
                default_language="es",
                timezone="Europe/Madrid",
                business_hours=hours,
                holidays=holidays or [],
            )
        )


@pytest.fixture
def always_open(db: Database) -> None:
    """An organisation that works every hour of every day, so deadlines are wall-clock."""
    make_org(db, ALL_WEEK)


def set_opened(db: Database, case_id: int, opened_at: datetime) -> None:
    with db.transaction() as session:
        session.execute(update(Case).where(Case.id == case_id).values(opened_at=opened_at))
