from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from meaculpa.accounts import actions, queries
from meaculpa.accounts.schemas import (
    OrganisationRead,
    OrganisationUpdate,
    TeamCreate,
    TeamRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from meaculpa.core.api import awrite
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.core.permissions import require_role

router = APIRouter(tags=["accounts"])


@router.get("/organisation", response_model=OrganisationRead)
async def get_organisation(actor: ApiActor, session: ReadSession) -> Any:
    return queries.organisation_or_default(session)


@router.patch("/organisation", response_model=OrganisationRead)
async def update_organisation(data: OrganisationUpdate, actor: ApiActor, db: DB) -> Any:
    return await awrite(db, lambda s: actions.do_update_organisation(s, actor, data))


@router.get("/users", response_model=list[UserRead])
async def list_users(actor: ApiActor, session: ReadSession) -> Any:
    return queries.list_users(session)


@router.get("/users/me", response_model=UserRead)
async def me(actor: ApiActor, session: ReadSession) -> Any:
    assert actor.id is not None
    return queries.access_user(session, actor, actor.id)


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
async def create_user(data: UserCreate, actor: ApiActor, db: DB) -> Any:
    return await awrite(db, lambda s: actions.do_create_user(s, actor, data))


@router.get("/users/{user_id}", response_model=UserRead)
async def get_user(user_id: int, actor: ApiActor, session: ReadSession) -> Any:
    return queries.access_user(session, actor, user_id)


@router.patch("/users/{user_id}", response_model=UserRead)
async def update_user(user_id: int, data: UserUpdate, actor: ApiActor, db: DB) -> Any:
    return await awrite(
        db, lambda s: actions.do_update_user(s, actor, queries.access_user(s, actor, user_id), data)
    )


@router.get("/teams", response_model=list[TeamRead])
async def list_teams(actor: ApiActor, session: ReadSession) -> Any:
    return queries.list_teams(session)


@router.post("/teams", response_model=TeamRead, status_code=status.HTTP_201_CREATED)
async def create_team(data: TeamCreate, actor: ApiActor, db: DB) -> Any:
    require_role(actor, "manager", "create teams")
    return await awrite(db, lambda s: actions.do_create_team(s, actor, data))
