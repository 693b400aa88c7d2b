from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import EmailStr, Field, field_validator

from meaculpa.core.enums import Language, Role
from meaculpa.core.schemas import ReadModel, StrictModel, TimeZoneName

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def check_business_hours(value: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    for day, spans in value.items():
        if day not in DAYS:
            raise ValueError(f"unknown day {day!r}; use {', '.join(DAYS)}")
        for span in spans:
            if len(span) != 2 or not all(_HHMM.match(t) for t in span):
                raise ValueError(f'{day}: each span is ["HH:MM", "HH:MM"]')
            if span[0] >= span[1]:
                raise ValueError(f"{day}: a span must end after it starts")
    return value


class OrganisationRead(ReadModel):
    name: str
    default_language: Language
    timezone: str
    business_hours: dict[str, list[list[str]]]
    holidays: list[date]
    # None until the settings are first saved (the defaults are shown until then).
    updated_at: datetime | None = None


class OrganisationUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    default_language: Language | None = None
    timezone: TimeZoneName | None = None
    business_hours: dict[str, list[list[str]]] | None = None
    holidays: list[date] | None = Field(default=None, max_length=400)

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, v: dict[str, list[list[str]]] | None) -> dict[str, list[list[str]]] | None:
        return None if v is None else check_business_hours(v)


class TeamRead(ReadModel):
    id: int
    name: str
    created_at: datetime


class TeamCreate(StrictModel):
    name: str = Field(min_length=1, max_length=120)


class UserRead(ReadModel):
    id: int
    email: str
    name: str
    role: Role
    language: Language
    team_id: int | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserCreate(StrictModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.agent
    language: Language = Language.es
    team_id: int | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)


class UserUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    language: Language | None = None
    team_id: int | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=200)
