from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base

_OPEN = text("status IN ('new', 'acknowledged', 'in_progress', 'waiting_on_customer')")


def _open_index(name: str, *columns: str) -> Index:
    """An index over open cases only: the inbox reads them in these orders."""
    return Index(name, *columns, sqlite_where=_OPEN, postgresql_where=_OPEN)


class Case(Base):
    __tablename__ = "case_record"
    __table_args__ = (
        Index("ix_case_customer_status", "customer_id", "status"),
        Index("ix_case_status_last_message", "status", "last_message_at"),
        _open_index("ix_case_open_opened", "opened_at", "id"),
        _open_index("ix_case_open_activity", "last_message_at", "id"),
        _open_index("ix_case_open_owner", "owner_id", "opened_at"),
        # Cases opened in a period, whatever their status (the exposure of a problem's rate).
        Index("ix_case_opened", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(String(300), default="")
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    status: Mapped[str] = mapped_column(String(24), default="new")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(default=0)
    message_count: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def reference(self) -> str:
        return f"MC-{self.id}"


class CaseTask(Base):
    """Internal work another team does for a case. It never changes who the customer deals
    with: the case owner stays the customer's one contact."""

    __tablename__ = "case_task"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("team.id", ondelete="SET NULL"), index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
