from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="es")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Madrid")
    # The one person this customer deals with; cases opened for them go to this owner.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    # How many company failures this customer has suffered.
    failures_count: Mapped[int] = mapped_column(default=0)
    # The customer asked for no e-mail beyond the replies about their own cases (for example
    # "you said, we did" news); respected by every domain that writes to them unprompted.
    email_opt_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    identities: Mapped[list[CustomerIdentity]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerIdentity.id"
    )


class CustomerIdentity(Base):
    """One way to recognise a customer: e-mail, phone, social handle, external id."""

    __tablename__ = "customer_identity"
    __table_args__ = (
        UniqueConstraint("kind", "value", name="uq_customer_identity_kind_value"),
        # Ingestion looks identities up by value first (any kind), then filters the kinds.
        Index("ix_customer_identity_value", "value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="identities")
