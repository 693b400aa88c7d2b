from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import ApiToken, Organisation, Team, User
from meaculpa.accounts.queries import (
    forget_agent_loads,
    get_organisation,
    get_user_by_email,
)
from meaculpa.accounts.schemas import OrganisationUpdate, TeamCreate, UserCreate, UserUpdate
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.deps import forget_cached_tokens
from meaculpa.core.exceptions import Conflict, Invalid, NotFound
from meaculpa.core.permissions import require_role
from meaculpa.core.security import hash_password, new_api_token

ORG_FIELDS = ("name", "default_language", "timezone", "business_hours", "holidays")
USER_FIELDS = ("email", "name", "role", "language", "team_id", "is_active")


def do_setup_organisation(
    session: Session,
    actor: Actor,
    *,
    name: str,
    language: str = "es",
    timezone: str = "Europe/Madrid",
) -> Organisation:
    org = get_organisation(session)
    if org is not None:
        return org
    require_role(actor, "admin", "set up the organisation")
    org = Organisation(name=name, default_language=language, timezone=timezone)
    session.add(org)
    session.flush()
    record(
        session,
        actor,
        "organisation.create",
        "organisation",
        org.id,
        after=snapshot(org, ORG_FIELDS),
    )
    return org


def do_update_organisation(
    session: Session, actor: Actor, data: OrganisationUpdate
) -> Organisation:
    require_role(actor, "admin", "change the organisation's settings")
    org = get_organisation(session)
    if org is None:
        org = do_setup_organisation(session, Actor.system(), name=data.name or "meaculpa")
    before = snapshot(org, ORG_FIELDS)
    changes = data.model_dump(exclude_unset=True, mode="json")
    for key, value in changes.items():
        if value is None:
            raise Invalid(f"{key} cannot be empty", field=key)
        setattr(org, key, value)
    session.flush()
    record(
        session,
        actor,
        "organisation.update",
        "organisation",
        org.id,
        before=before,
        after=snapshot(org, ORG_FIELDS),
    )
    return org


def _check_team(session: Session, team_id: int | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise Invalid(f"team {team_id} does not exist", field="team_id")


def do_create_user(session: Session, actor: Actor, data: UserCreate) -> User:
    require_role(actor, "admin", "create users")
    email = str(data.email).strip().lower()
    if get_user_by_email(session, email) is not None:
        raise Conflict(f"a user with e-mail {email} already exists", field="email")
    _check_team(session, data.team_id)
    user = User(
        email=email,
        name=data.name,
        role=data.role.value,
        language=data.language.value,
        team_id=data.team_id,
        password_hash=hash_password(data.password) if data.password else None,
    )
    session.add(user)
    session.flush()
    forget_agent_loads()
    record(session, actor, "user.create", "user", user.id, after=snapshot(user, USER_FIELDS))
    return user


def do_update_user(session: Session, actor: Actor, user: User, data: UserUpdate) -> User:
    changes = data.model_dump(exclude_unset=True)
    own_profile = actor.id == user.id and set(changes) <= {"name", "language", "password"}
    if not own_profile:
        require_role(actor, "admin", "change other users")
    if "team_id" in changes:
        _check_team(session, changes["team_id"])
    before = snapshot(user, USER_FIELDS)
    for key, value in changes.items():
        if key == "password":
            user.password_hash = hash_password(value)
        elif value is None and key not in ("team_id",):
            raise Invalid(f"{key} cannot be empty", field=key)
        else:
            setattr(user, key, value.value if hasattr(value, "value") else value)
    session.flush()
    if "is_active" in changes or "role" in changes:
        forget_cached_tokens()
        forget_agent_loads()
    after = snapshot(user, USER_FIELDS)
    if "password" in changes:
        after["password"] = "changed"  # noqa: S105 - records that it changed, not the value
    record(session, actor, "user.update", "user", user.id, before=before, after=after)
    return user


def do_record_login(session: Session, user: User) -> None:
    user.last_login_at = utcnow()
    record(
        session,
        Actor(kind="user", id=user.id, label=user.email, role=user.role),
        "user.login",
        "user",
        user.id,
    )


def do_create_team(session: Session, actor: Actor, data: TeamCreate) -> Team:
    require_role(actor, "manager", "create teams")
    if session.scalar(select(Team.id).where(Team.name == data.name)) is not None:
        raise Conflict(f"a team named {data.name!r} already exists", field="name")
    team = Team(name=data.name)
    session.add(team)
    session.flush()
    record(session, actor, "team.create", "team", team.id, after={"name": team.name})
    return team


def do_create_api_token(
    session: Session, actor: Actor, user: User, name: str
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; the plain token is returned once and never stored."""
    if actor.id != user.id:
        require_role(actor, "admin", "create tokens for other users")
    if not name.strip() or len(name) > 120:
        raise Invalid("a token needs a name of 1 to 120 characters", field="name")
    token, digest = new_api_token()
    row = ApiToken(user_id=user.id, name=name.strip(), digest=digest)
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "api_token.create",
        "api_token",
        row.id,
        after={"user_id": user.id, "name": row.name},
    )
    return row, token


def do_revoke_api_token(session: Session, actor: Actor, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"token {token_id} does not exist")
    if actor.id != row.user_id:
        require_role(actor, "admin", "revoke other users' tokens")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        forget_cached_tokens()
        record(session, actor, "api_token.revoke", "api_token", row.id)
    return row
