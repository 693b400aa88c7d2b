"""Typed FastAPI dependencies: the database session and the acting user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from meaculpa.accounts.models import ApiToken, User
from meaculpa.core.audit import Actor
from meaculpa.core.cache import TTLCache
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.db import Database
from meaculpa.core.exceptions import Unauthorized
from meaculpa.core.security import token_digest
from meaculpa.settings import Settings

TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)


# Both are ``async`` although they do not wait: FastAPI runs a plain ``def`` dependency on a
# worker thread, a hand-off that costs more than the attribute read.
async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def read_session(db: Annotated[Database, Depends(get_database)]) -> AsyncIterator[Session]:
    """A read session for the request, used on the event loop.

    Reads are short (well under a millisecond on SQLite and on a nearby PostgreSQL), while
    each hand-off to a worker thread costs 0.2 to 0.4 ms on a small virtual machine; so API
    reads run on the loop and only writes go to a thread (:func:`meaculpa.core.api.awrite`).
    """
    session = db.session()
    try:
        yield session
    finally:
        session.close()


DB = Annotated[Database, Depends(get_database)]
ReadSession = Annotated[Session, Depends(read_session)]
AppSettings = Annotated[Settings, Depends(get_settings)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# Token look-ups are cached briefly per process: a revoked token or deactivated user stops
# working on every process within TOKEN_CACHE_SECONDS (at once on the process that revoked it).
TOKEN_CACHE_SECONDS = 10.0
_token_cache: TTLCache[str, Actor] = TTLCache(TOKEN_CACHE_SECONDS, maxsize=4096)


def forget_cached_tokens() -> None:
    _token_cache.clear()


def _actor_for_digest(db: Database, digest: str) -> Actor | None:
    with db.reading() as session:
        row = session.execute(
            select(ApiToken.id, ApiToken.last_used_at, User.id, User.email, User.role)
            .join(User, User.id == ApiToken.user_id)
            .where(
                ApiToken.digest == digest,
                ApiToken.revoked_at.is_(None),
                User.is_active.is_(True),
            )
        ).first()
    if row is None:
        return None
    token_id, last_used, user_id, email, role = row
    now = utcnow()
    if last_used is None or now - as_utc(last_used) > TOKEN_TOUCH_INTERVAL:
        with db.transaction() as session:
            token_row = session.get(ApiToken, token_id)
            if token_row is not None:
                token_row.last_used_at = now
    return Actor(kind="token", id=user_id, label=email, role=role)


async def api_actor(request: Request, db: DB) -> Actor:
    """The user behind the request's bearer token, as an :class:`Actor`."""
    token = _bearer(request)
    if token is None:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    digest = token_digest(token)
    actor = _token_cache.get(digest)
    if actor is None:
        actor = await run_in_threadpool(_actor_for_digest, db, digest)
        if actor is None:
            raise Unauthorized("the API token is unknown or revoked")
        _token_cache.put(digest, actor)
    return actor


ApiActor = Annotated[Actor, Depends(api_actor)]
