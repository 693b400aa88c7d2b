"""Writes of the lessons domain; each ``do_*`` records its audit event in the same
transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.accounts.models import User
from meaculpa.accounts.queries import get_user
from meaculpa.cases.queries import get_case
from meaculpa.core.audit import Actor, jsonable, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.exceptions import Conflict, Invalid
from meaculpa.core.permissions import require_role
from meaculpa.errors.models import Error
from meaculpa.improvements.queries import get_action
from meaculpa.lessons import queries
from meaculpa.lessons.models import Lesson, LessonAssignment, LessonExample
from meaculpa.lessons.schemas import LessonCreate
from meaculpa.problems.queries import get_problem

FIELDS = (
    "title",
    "what_went_wrong",
    "what_to_do",
    "language",
    "action_id",
    "error_id",
    "problem_id",
)


def check_can_teach(actor: Actor) -> None:
    require_role(actor, "manager", "write or assign lessons")


def _agents(session: Session, user_ids: list[int], all_agents: bool) -> list[int]:
    ids = set(user_ids)
    for uid in user_ids:
        user = get_user(session, uid)
        if user is None or not user.is_active:
            raise Invalid(f"user {uid} is not an active user", field="user_ids")
    if all_agents:
        ids.update(
            session.scalars(select(User.id).where(User.is_active.is_(True), User.role == "agent"))
        )
    return sorted(ids)


def do_create_lesson(session: Session, actor: Actor, data: LessonCreate) -> Lesson:
    """Write a lesson learned with its example cases and give it to agents. Managers only."""
    check_can_teach(actor)
    if data.action_id is not None and get_action(session, data.action_id) is None:
        raise Invalid(f"improvement action {data.action_id} does not exist", field="action_id")
    if data.error_id is not None and session.get(Error, data.error_id) is None:
        raise Invalid(f"error {data.error_id} does not exist", field="error_id")
    if data.problem_id is not None and get_problem(session, data.problem_id) is None:
        raise Invalid(f"problem {data.problem_id} does not exist", field="problem_id")
    for case_id in data.example_case_ids:
        if get_case(session, case_id) is None:
            raise Invalid(f"case {case_id} does not exist", field="example_case_ids")
    users = _agents(session, data.assign_to, data.assign_all_agents)
    lesson = Lesson(
        title=data.title.strip(),
        what_went_wrong=data.what_went_wrong.strip(),
        what_to_do=data.what_to_do.strip(),
        language=data.language,
        action_id=data.action_id,
        error_id=data.error_id,
        problem_id=data.problem_id,
        created_by_id=actor.id if actor.kind in ("user", "token") else None,
        created_at=utcnow(),
    )
    session.add(lesson)
    session.flush()
    for case_id in data.example_case_ids:
        session.add(LessonExample(lesson_id=lesson.id, case_id=case_id))
    record(
        session,
        actor,
        "lesson.create",
        "lesson",
        lesson.id,
        after={**snapshot(lesson, FIELDS), "example_case_ids": data.example_case_ids},
    )
    _assign(session, actor, lesson, users)
    return lesson


def _assign(session: Session, actor: Actor, lesson: Lesson, user_ids: list[int]) -> list[int]:
    have = {a.user_id for a in queries.assignments_of(session, lesson.id)}
    new = [uid for uid in user_ids if uid not in have]
    now = utcnow()
    for uid in new:
        session.add(
            LessonAssignment(
                lesson_id=lesson.id,
                user_id=uid,
                assigned_by_id=actor.id if actor.kind in ("user", "token") else None,
                assigned_at=now,
            )
        )
    session.flush()
    if new:
        record(session, actor, "lesson.assign", "lesson", lesson.id, after={"user_ids": new})
    return new


def do_assign_lesson(
    session: Session, actor: Actor, lesson: Lesson, user_ids: list[int], *, all_agents: bool
) -> list[int]:
    """Give the lesson to more agents; returns those newly assigned."""
    check_can_teach(actor)
    users = _agents(session, user_ids, all_agents)
    if not users:
        raise Invalid("choose at least one agent", field="user_ids")
    return _assign(session, actor, lesson, users)


def do_confirm_read(session: Session, actor: Actor, lesson: Lesson) -> LessonAssignment:
    """The signed-in agent confirms they read a lesson assigned to them (once)."""
    if actor.id is None:
        raise Invalid("only a person can confirm reading a lesson")
    assignment = queries.get_assignment(session, lesson.id, actor.id)
    if assignment is None:
        raise Conflict(f"lesson {lesson.id} is not assigned to you")
    if assignment.read_at is not None:
        return assignment
    assignment.read_at = utcnow()
    record(
        session,
        actor,
        "lesson.read",
        "lesson",
        lesson.id,
        after={"user_id": actor.id, "read_at": jsonable(assignment.read_at)},
    )
    return assignment
