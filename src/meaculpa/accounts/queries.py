from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import Organisation, Team, User
from meaculpa.core.audit import Actor
from meaculpa.core.cache import TTLCache, database_key
from meaculpa.core.enums import OPEN_STATUSES
from meaculpa.core.exceptions import NotFound
from meaculpa.core.security import verify_password


def get_organisation(session: Session) -> Organisation | None:
    return session.scalar(select(Organisation).order_by(Organisation.id).limit(1))


def organisation_or_default(session: Session) -> Organisation:
    """The stored organisation, or an unsaved one with the defaults."""
    org = get_organisation(session)
    if org is None:
        org = Organisation(name="meaculpa", default_language="es", timezone="Europe/Madrid")
        org.business_hours = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        org.holidays = []
    return org


_org_defaults: TTLCache[str, tuple[str, str]] = TTLCache(10.0, maxsize=64)


def forget_organisation_defaults() -> None:
    _org_defaults.clear()


def organisation_defaults(session: Session) -> tuple[str, str]:
    """``(default_language, timezone)`` of the organisation, cached briefly per process."""
    key = database_key(session)
    cached = _org_defaults.get(key)
    if cached is None:
        org = organisation_or_default(session)
        cached = (org.default_language, org.timezone)
        _org_defaults.put(key, cached)
    return cached


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def access_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def list_users(session: Session, *, active_only: bool = False) -> list[User]:
    stmt = select(User).order_by(User.name, User.id)
    if active_only:
        stmt = stmt.where(User.is_active.is_(True))
    return list(session.scalars(stmt))


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.name)))


def access_team(session: Session, actor: Actor, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    return team


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = get_user_by_email(session, email)
    if user is None or not user.is_active:
        return None
    return user if verify_password(user.password_hash, password) else None


# Open-case counts per agent, refreshed per process every few seconds: assigning a new
# customer must not count every open case on each request.
_AGENT_LOAD_SECONDS = 10.0
_agent_loads: TTLCache[str, dict[int, int]] = TTLCache(_AGENT_LOAD_SECONDS, maxsize=64)
_agent_lock = threading.Lock()


def forget_agent_loads() -> None:
    _agent_loads.clear()


def least_loaded_agent(session: Session) -> int | None:
    """The active agent with the fewest open cases (ties: lowest id), for a new customer.

    Counts are read at most every few seconds per process and kept up to date in between
    with the assignments this process makes.
    """
    from meaculpa.cases.models import Case  # cases depend on accounts, not the reverse

    key = database_key(session)
    loads = _agent_loads.get(key)
    if loads is None:
        agents = list(
            session.scalars(select(User.id).where(User.is_active.is_(True), User.role == "agent"))
        )
        loads = dict.fromkeys(agents, 0)
        if agents:
            counts = session.execute(
                select(Case.owner_id, func.count(Case.id))
                .where(Case.status.in_(OPEN_STATUSES), Case.owner_id.in_(agents))
                .group_by(Case.owner_id)
            )
            for owner_id, n in counts:
                if owner_id is not None:
                    loads[owner_id] = n
        _agent_loads.put(key, loads)
    if not loads:
        return None
    with _agent_lock:
        chosen = min(loads, key=lambda uid: (loads[uid], uid))
        loads[chosen] += 1
    return chosen


def users_by_id(session: Session, user_ids: set[int] | list[int]) -> dict[int, User]:
    """The users with these ids, in one query (for pages that show many authors)."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
