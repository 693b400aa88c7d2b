from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import Organisation, Team, User
from meaculpa.core.audit import Actor
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


def least_loaded_agent(session: Session) -> int | None:
    """The active agent with the fewest open cases (ties: lowest id), for a new customer."""
    from meaculpa.cases.models import Case  # cases depend on accounts, not the reverse

    open_count = (
        select(func.count(Case.id))
        .where(Case.owner_id == User.id, Case.status.in_(OPEN_STATUSES))
        .correlate(User)
        .scalar_subquery()
    )
    return session.scalar(
        select(User.id)
        .where(User.is_active.is_(True), User.role == "agent")
        .order_by(open_count, User.id)
        .limit(1)
    )
