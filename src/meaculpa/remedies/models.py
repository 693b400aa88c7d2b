"""Tables of the remedies domain: remedies, the organisation's remedy policy, second failures.

Money is stored as an integer number of minor units (cents for EUR, yen for JPY) next to its
ISO 4217 code, so SQLite and PostgreSQL add it up the same way and no float ever touches it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base


class Remedy(Base):
    """What the company gives a customer to make good a failure, and where it stands."""

    __tablename__ = "remedy"
    __table_args__ = (
        Index("ix_remedy_case", "case_id", "id"),
        Index("ix_remedy_state_delivered", "state", "delivered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    # The company error this remedy makes good for (the customer's latest one when proposed).
    error_id: Mapped[int | None] = mapped_column(
        ForeignKey("company_error.id", ondelete="SET NULL"), index=True
    )
    # The team of the case's owner, kept when proposed and again when delivered.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    reason: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None]
    delivered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    delivered_at: Mapped[datetime | None]
    # Who rejected or cancelled it, and when.
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RemedyPolicy(Base):
    """The organisation's remedy settings (one row; defaults apply until an admin saves)."""

    __tablename__ = "remedy_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A customer with another failure in this many months is a second failure.
    repeat_window_months: Mapped[int] = mapped_column(default=6)
    # The currency of suggested amounts.
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RemedyLimit(Base):
    """The most a role may approve in one remedy of a currency; ``None`` is no limit."""

    __tablename__ = "remedy_limit"
    __table_args__ = (UniqueConstraint("role", "currency", name="uq_remedy_limit_role_currency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    max_minor: Mapped[int | None] = mapped_column(BigInteger)


class SecondFailure(Base):
    """A case opened for a customer who had another failure in the policy's window."""

    __tablename__ = "remedy_second_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), unique=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    prior_cases: Mapped[int] = mapped_column(default=0)
    prior_errors: Mapped[int] = mapped_column(default=0)
    window_months: Mapped[int] = mapped_column(default=6)
    severity_before: Mapped[str] = mapped_column(String(16))
    severity_after: Mapped[str] = mapped_column(String(16))
    flagged_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def failures(self) -> int:
        """Earlier failures it was flagged for (see ``RepeatFailure.count``)."""
        return self.prior_cases + max(self.prior_errors - 1, 0)
