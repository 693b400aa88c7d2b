"""Tables of the lessons domain.

A :class:`Lesson` says what went wrong and what to do now, with example cases
(:class:`LessonExample`); it may come from an improvement action, a company error or a
problem. It is assigned to agents (:class:`LessonAssignment`, one per lesson and agent), who
confirm they read it. A playbook revision can name the lesson behind it
(``playbook_revision.lesson_id``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base

MAX_EXAMPLES = 20


class Lesson(Base):
    __tablename__ = "lesson"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    what_went_wrong: Mapped[str] = mapped_column(Text)
    what_to_do: Mapped[str] = mapped_column(Text)
    # The language it is written in ("es" or "en").
    language: Mapped[str] = mapped_column(String(8), default="es")
    action_id: Mapped[int | None] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="SET NULL"), index=True
    )
    error_id: Mapped[int | None] = mapped_column(
        ForeignKey("company_error.id", ondelete="SET NULL"), index=True
    )
    problem_id: Mapped[int | None] = mapped_column(
        ForeignKey("problem.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LessonExample(Base):
    """A case that shows the lesson (what went wrong there)."""

    __tablename__ = "lesson_example"
    __table_args__ = (UniqueConstraint("lesson_id", "case_id", name="uq_lesson_example"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))


class LessonAssignment(Base):
    """A lesson given to an agent, and when they confirmed they read it."""

    __tablename__ = "lesson_assignment"
    __table_args__ = (
        UniqueConstraint("lesson_id", "user_id", name="uq_lesson_assignment"),
        Index("ix_lesson_assignment_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    assigned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
