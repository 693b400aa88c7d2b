from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base


class Error(Base):
    """A mistake the company made: the thing meaculpa owns first."""

    __tablename__ = "company_error"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    status: Mapped[str] = mapped_column(String(24), default="open")
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    root_cause: Mapped[str] = mapped_column(Text, default="")
    reported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    affected_count: Mapped[int] = mapped_column(default=0)
    # Shown on the public status page (with its updates and, once closed, the postmortem).
    public: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What customers read: plain language, no internal detail.
    public_summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    postmortem: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AffectedCustomer(Base):
    """A customer hurt by an error, with where their recovery stands."""

    __tablename__ = "error_affected_customer"
    __table_args__ = (
        UniqueConstraint("error_id", "customer_id", name="uq_error_affected_customer_pair"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[int] = mapped_column(ForeignKey("company_error.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(24), default="identified")
    # Per-customer facts such as an order number or an amount.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
