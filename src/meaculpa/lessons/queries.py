"""Reads of the lessons domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meaculpa.core.audit import Actor
from meaculpa.core.exceptions import NotFound
from meaculpa.lessons.models import Lesson, LessonAssignment, LessonExample
from meaculpa.lessons.schemas import AssignmentRead, LessonRead


def get_lesson(session: Session, lesson_id: int) -> Lesson | None:
    return session.get(Lesson, lesson_id)


def access_lesson(session: Session, actor: Actor, lesson_id: int) -> Lesson:
    """Any signed-in user may read a lesson (they are meant to be shared)."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound(f"lesson {lesson_id} does not exist")
    return lesson


def list_lessons(
    session: Session,
    *,
    user_id: int | None = None,
    unread: bool = False,
    action_id: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[Lesson]:
    """Lessons, newest first (``limit + 1`` rows); ``user_id``: only those assigned to them,
    ``unread``: only those they have not confirmed."""
    stmt = select(Lesson)
    if user_id is not None:
        mine = select(LessonAssignment.lesson_id).where(LessonAssignment.user_id == user_id)
        if unread:
            mine = mine.where(LessonAssignment.read_at.is_(None))
        stmt = stmt.where(Lesson.id.in_(mine))
    if action_id is not None:
        stmt = stmt.where(Lesson.action_id == action_id)
    if after_id is not None:
        stmt = stmt.where(Lesson.id < after_id)
    return list(session.scalars(stmt.order_by(Lesson.id.desc()).limit(limit + 1)))


def unread_count(session: Session, user_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(LessonAssignment.id)).where(
                LessonAssignment.user_id == user_id, LessonAssignment.read_at.is_(None)
            )
        )
        or 0
    )


def get_assignment(session: Session, lesson_id: int, user_id: int) -> LessonAssignment | None:
    return session.scalar(
        select(LessonAssignment).where(
            LessonAssignment.lesson_id == lesson_id, LessonAssignment.user_id == user_id
        )
    )


def assignments_of(session: Session, lesson_id: int) -> list[LessonAssignment]:
    return list(
        session.scalars(
            select(LessonAssignment)
            .where(LessonAssignment.lesson_id == lesson_id)
            .order_by(LessonAssignment.user_id)
        )
    )


def example_case_ids(session: Session, lesson_id: int) -> list[int]:
    return list(
        session.scalars(
            select(LessonExample.case_id)
            .where(LessonExample.lesson_id == lesson_id)
            .order_by(LessonExample.case_id)
        )
    )


def to_reads(session: Session, rows: Sequence[Lesson], user_id: int | None) -> list[LessonRead]:
    out = []
    for lesson in rows:
        read = LessonRead.model_validate(lesson)
        read.example_case_ids = example_case_ids(session, lesson.id)
        assignments = assignments_of(session, lesson.id)
        read.assignments = [AssignmentRead.model_validate(a) for a in assignments]
        for a in assignments:
            if a.user_id == user_id:
                read.assigned_to_me, read.read_at = True, a.read_at
        out.append(read)
    return out
