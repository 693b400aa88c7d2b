"""Tables of the commitments domain: promises, their reminders, progress updates, settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base

KINDS = ("call_back", "write", "refund", "deliver", "visit", "update", "investigate")
STATES = ("open", "kept", "broken", "cancelled")
SOURCES = ("manual", "extracted")
UPDATE_MODES = ("remind_owner", "auto_update")
DEFAULT_REMINDER_MINUTES: list[Any] = [120, 30]

_OPEN = text("state = 'open'")


class Commitment(Base):
    """A promise made to a customer: what, by when, by whom, and whether it was kept."""

    __tablename__ = "commitment"
    __table_args__ = (
        Index("ix_commitment_case", "case_id", "id"),
        Index("ix_commitment_owner_state_due", "owner_id", "state", "due_at"),
        # The scan reads open promises by due time.
        Index("ix_commitment_open_due", "due_at", sqlite_where=_OPEN, postgresql_where=_OPEN),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    # Aware UTC; None for a promise with no date ("we'll keep you posted"): shown, never
    # reminded or marked broken until someone gives it a date.
    due_at: Mapped[datetime | None]
    due_text: Mapped[str | None] = mapped_column(String(200))
    depends_on_customer: Mapped[bool] = mapped_column(default=False)
    condition: Mapped[str | None] = mapped_column(String(500))
    # "manual" or "extracted" (from the outbound message ``message_id``).
    source: Mapped[str] = mapped_column(String(16), default="manual")
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL"), index=True
    )
    # open -> kept | broken | cancelled
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    kept_at: Mapped[datetime | None]
    kept_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    kept_note: Mapped[str | None] = mapped_column(Text)
    broken_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def is_overdue(self, now: datetime) -> bool:
        return self.state == "open" and self.due_at is not None and self.due_at <= now


class CommitmentNotice(Base):
    """A reminder before the due time, or the alert after a miss: sent once each.

    ``kind`` is "reminder" (``minutes_before`` > 0) or "alert" (``minutes_before`` = 0).
    The unique key makes the scan idempotent: a second run finds the row and sends nothing.
    """

    __tablename__ = "commitment_notice"
    __table_args__ = (
        UniqueConstraint(
            "commitment_id", "kind", "minutes_before", name="uq_commitment_notice_once"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    minutes_before: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    # The e-mail queued for it (notifications.OutboundEmail), when the owner has an address.
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProgressUpdate(Base):
    """An update the customer was due while the case stayed open: sent, or asked of the owner.

    ``due_at`` is the moment it fell due (interval after the last customer-facing contact);
    unique per case, so the scan records each one once.
    """

    __tablename__ = "progress_update"
    __table_args__ = (
        UniqueConstraint("case_id", "due_at", name="uq_progress_update_case_due"),
        Index("ix_progress_update_case_sent", "case_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    # "auto_update" (an e-mail to the customer) or "remind_owner" (an e-mail to the owner).
    mode: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_due_at: Mapped[datetime | None]
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    to_address: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="es")


class CommitmentSettings(Base):
    """The organisation's reminder and progress-update rules (one row; defaults when absent)."""

    __tablename__ = "commitment_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Minutes before the due time at which the owner is reminded, e.g. [120, 30].
    reminder_minutes: Mapped[list[Any]] = mapped_column(
        default=lambda: list(DEFAULT_REMINDER_MINUTES)
    )
    # Progress updates: every ``update_interval_hours`` business hours without contact.
    updates_enabled: Mapped[bool] = mapped_column(default=True)
    update_interval_hours: Mapped[float] = mapped_column(default=9.0)
    update_mode: Mapped[str] = mapped_column(String(16), default="remind_owner")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
