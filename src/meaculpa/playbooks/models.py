"""Tables of the playbooks domain.

A playbook is the protocol for one (error type, severity): its ordered steps live in
``steps`` as JSON (``[{"key", "hours", "templates": {"es", "en"}}]``), and every version of
them is kept in :class:`PlaybookRevision` with the reason it changed. A case's checklist is
computed from its playbook and the case's opening time; only the steps someone marked done
are stored (:class:`CaseStep`), and each overdue step alerts the case's owner once
(:class:`StepAlert`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base


class Playbook(Base):
    __tablename__ = "playbook"
    __table_args__ = (UniqueConstraint("error_type", "severity", name="uq_playbook_type_severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    error_type: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(16))
    # [{"key": "acknowledge", "hours": 1.0, "templates": {"es": "...", "en": "..."}}, ...]
    steps: Mapped[list[Any]] = mapped_column(default=list)
    # Raised by one on every edit; the revision with this number holds the same steps.
    version: Mapped[int] = mapped_column(default=1)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlaybookRevision(Base):
    """One version of a playbook, with who changed it, when and why."""

    __tablename__ = "playbook_revision"
    __table_args__ = (
        UniqueConstraint("playbook_id", "version", name="uq_playbook_revision_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbook.id", ondelete="CASCADE"))
    version: Mapped[int]
    # {"error_type", "severity", "steps": [...]} exactly as saved.
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str] = mapped_column(Text)
    # The lesson learned behind this change, when there is one (lessons domain).
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lesson.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    author_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseStep(Base):
    """A playbook step someone marked done on a case (due and overdue are computed)."""

    __tablename__ = "playbook_case_step"
    __table_args__ = (UniqueConstraint("case_id", "step", name="uq_playbook_case_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    done_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class StepAlert(Base):
    """The one alert a case's owner got for a step that went past its deadline."""

    __tablename__ = "playbook_step_alert"
    __table_args__ = (
        UniqueConstraint("case_id", "step", name="uq_playbook_step_alert"),
        Index("ix_playbook_step_alert_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    due_at: Mapped[datetime]
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
