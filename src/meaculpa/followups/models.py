"""Tables of the followups domain: one follow-up per resolution, and its settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base

# scheduled -> sent -> answered; scheduled -> cancelled (reopened first) | skipped (no e-mail)
FOLLOWUP_STATUSES = ("scheduled", "sent", "answered", "cancelled", "skipped")
DEFAULT_DELAY_DAYS = 3
DEFAULT_LINK_DAYS = 30


class Followup(Base):
    """The question "is it really solved?" asked once after each resolution of a case."""

    __tablename__ = "followup"
    __table_args__ = (
        # ``round`` is the case's reopened_count when it was resolved: resolution 0, 1, 2...
        UniqueConstraint("case_id", "round", name="uq_followup_case_round"),
        Index("ix_followup_status_due", "status", "due_at"),
        Index("ix_followup_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    resolved_at: Mapped[datetime]
    due_at: Mapped[datetime]
    language: Mapped[str] = mapped_column(String(8), default="es")
    # Why it was cancelled or skipped, in English (for agents and the API).
    status_note: Mapped[str] = mapped_column(String(200), default="")
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    solved: Mapped[bool | None]
    rating: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    # Whether the answer reopened the case.
    reopened_case: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FollowupSettings(Base):
    """The organisation's follow-up settings (one row; defaults when there is none)."""

    __tablename__ = "followup_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Days after resolution the question is sent; 0 sends it at once.
    delay_days: Mapped[int] = mapped_column(default=DEFAULT_DELAY_DAYS)
    # Days the follow-up and tracking links keep working.
    link_days: Mapped[int] = mapped_column(default=DEFAULT_LINK_DAYS)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
