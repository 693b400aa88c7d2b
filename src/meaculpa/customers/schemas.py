from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from meaculpa.core.enums import IdentityKind, Language
from meaculpa.core.schemas import ReadModel, StrictModel, TimeZoneName
from meaculpa.customers.identity import IdentityError, normalise_identity


class IdentityIn(StrictModel):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320)

    @model_validator(mode="after")
    def _normalise(self) -> IdentityIn:
        try:
            _, self.value = normalise_identity(self.kind.value, self.value)
        except IdentityError as exc:
            raise ValueError(str(exc)) from exc
        return self


class IdentityRead(ReadModel):
    id: int
    kind: IdentityKind
    value: str


class CustomerRead(ReadModel):
    id: int
    name: str
    language: Language
    timezone: str
    owner_id: int | None
    failures_count: int
    email_opt_out: bool = False
    identities: list[IdentityRead]
    created_at: datetime
    updated_at: datetime


class CustomerCreate(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    language: Language | None = None
    timezone: TimeZoneName | None = None
    owner_id: int | None = None
    identities: list[IdentityIn] = Field(default_factory=list, max_length=20)


class CustomerUpdate(StrictModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    language: Language | None = None
    timezone: TimeZoneName | None = None
    owner_id: int | None = None
    failures_count: int | None = Field(default=None, ge=0)
    email_opt_out: bool | None = None
