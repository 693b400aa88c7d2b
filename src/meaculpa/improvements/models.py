"""Tables of the improvements domain.

An :class:`ImprovementAction` is a corrective or preventive change (a playbook revision, staff
training, a policy change, a process or product fix) with an owner, a due date and a status
(planned → in progress → done, or cancelled). It is linked to the problems it should cure
(:class:`ActionProblem`) and to the company errors behind it (:class:`ActionError`).

Once done, each linked problem's report rate before and after is compared
(:class:`ActionEvaluation`, one row per action and problem, refreshed by a periodic job until
the after-window has passed). Reminders before the due date and the overdue alert are sent once
each (:class:`ActionNotice`), and every customer who reported a linked problem is told once what
changed (:class:`CustomerNotice`, unique per action and customer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base

PURPOSES = ("corrective", "preventive")
KINDS = ("playbook_revision", "staff_training", "policy_change", "process_fix", "product_fix")
STATUSES = ("planned", "in_progress", "done", "cancelled")
OPEN_STATUSES = ("planned", "in_progress")
# Allowed moves of the lifecycle; done and cancelled are final.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "planned": ("in_progress", "done", "cancelled"),
    "in_progress": ("done", "cancelled"),
    "done": (),
    "cancelled": (),
}
VERDICTS = ("pending", "effective", "not_effective", "not_enough_data")
DEFAULT_WINDOW_DAYS = 28
# Hours before the due date at which the owner is reminded (once each).
REMINDER_HOURS = (72, 24)

_OPEN = text("status IN ('planned', 'in_progress')")


class ImprovementAction(Base):
    __tablename__ = "improvement_action"
    __table_args__ = (
        Index("ix_improvement_action_owner_status", "owner_id", "status"),
        Index(
            "ix_improvement_action_open_due", "due_at", sqlite_where=_OPEN, postgresql_where=_OPEN
        ),
        Index("ix_improvement_action_done", "status", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(String(16), default="corrective")
    kind: Mapped[str] = mapped_column(String(24))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="planned")
    # What changed, told to the customers who reported the linked problems: {"es": ..., "en": ...}
    customer_summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Days of each side of the before/after comparison.
    window_days: Mapped[int] = mapped_column(default=DEFAULT_WINDOW_DAYS)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    done_note: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The overall verdict over the linked problems (None until done).
    verdict: Mapped[str | None] = mapped_column(String(16))
    # True once every after-window has passed and the verdict is final.
    evaluation_final: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def is_overdue(self, now: datetime) -> bool:
        return self.status in OPEN_STATUSES and self.due_at is not None and self.due_at <= now


class ActionProblem(Base):
    __tablename__ = "improvement_action_problem"
    __table_args__ = (
        UniqueConstraint("action_id", "problem_id", name="uq_improvement_action_problem"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="CASCADE"), index=True
    )
    problem_id: Mapped[int] = mapped_column(
        ForeignKey("problem.id", ondelete="CASCADE"), index=True
    )


class ActionError(Base):
    __tablename__ = "improvement_action_error"
    __table_args__ = (
        UniqueConstraint("action_id", "error_id", name="uq_improvement_action_error"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="CASCADE"), index=True
    )
    error_id: Mapped[int] = mapped_column(
        ForeignKey("company_error.id", ondelete="CASCADE"), index=True
    )


class ActionEvaluation(Base):
    """One linked problem's rate before and after the action was done, and the test's answer.

    Rates are reports of the problem per 1,000 cases opened in the same window (the exposure);
    ``p_value`` is the one-sided exact conditional test of "the rate fell".
    """

    __tablename__ = "improvement_evaluation"
    __table_args__ = (
        UniqueConstraint("action_id", "problem_id", name="uq_improvement_evaluation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="CASCADE"), index=True
    )
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"))
    window_days: Mapped[int]
    before_start: Mapped[datetime]
    pivot_at: Mapped[datetime]
    # The end of the after-window observed so far (``after_end`` is its planned end).
    observed_until: Mapped[datetime]
    after_end: Mapped[datetime]
    before_reports: Mapped[int] = mapped_column(default=0)
    before_cases: Mapped[int] = mapped_column(default=0)
    after_reports: Mapped[int] = mapped_column(default=0)
    after_cases: Mapped[int] = mapped_column(default=0)
    before_rate: Mapped[float | None]
    after_rate: Mapped[float | None]
    p_value: Mapped[float | None]
    verdict: Mapped[str] = mapped_column(String(16), default="pending")
    final: Mapped[bool] = mapped_column(default=False)
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionNotice(Base):
    """A reminder before the due date (``hours_before`` > 0) or the overdue alert (0): once."""

    __tablename__ = "improvement_notice"
    __table_args__ = (
        UniqueConstraint("action_id", "kind", "hours_before", name="uq_improvement_notice_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("improvement_action.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    hours_before: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerNotice(Base):
    """ "You said, we did": one customer told what changed because of an action, once.

    ``outcome`` is "sent" (an e-mail was queued), "opted_out", "no_address" or "no_text".
    """

    __tablename__ = "improvement_customer_notice"
    __table_args__ = (
        UniqueConstraint("action_id", "customer_id", name="uq_improvement_customer_notice"),
        Index("ix_improvement_customer_notice_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("improvement_action.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problem.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="es")
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
