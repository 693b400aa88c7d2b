"""Tables of the apologies domain: the apology campaign of an error, one apology per affected
customer, the cases an error is linked to, the updates posted on an error and who was told."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base

# queued -> sending -> sent -> replied | complained; sending -> bounced; skipped (opted out or
# no e-mail address) never leaves; queued rows of a paused campaign wait.
APOLOGY_STATES = ("queued", "sending", "sent", "bounced", "replied", "complained", "skipped")
CAMPAIGN_STATES = ("draft", "sending", "paused", "sent")
# The promise an apology carried: pending -> kept | broken (None: no date promised, or the
# apology never reached the customer before the date).
PROMISE_STATES = ("pending", "kept", "broken")
_HAS_EMAIL = text("email_id IS NOT NULL")
_HAS_PROMISE = text("promise_state IS NOT NULL")


class ApologyCampaign(Base):
    """The proactive apology of one error: the message per language, the remedy offered,
    the promised resolution date, and whether it was sent."""

    __tablename__ = "apology_campaign"
    __table_args__ = (
        # What an apology refers to: its campaign and that campaign's error, as one key.
        Index("uq_apology_campaign_id_error", "id", "error_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[int] = mapped_column(
        ForeignKey("company_error.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="draft")
    subject_es: Mapped[str] = mapped_column(String(300))
    body_es: Mapped[str] = mapped_column(Text)
    subject_en: Mapped[str] = mapped_column(String(300))
    body_en: Mapped[str] = mapped_column(Text)
    # The remedy offered to every affected customer (a kind of the remedies domain).
    remedy_kind: Mapped[str | None] = mapped_column(String(32))
    remedy_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    # When the company promises the error will be resolved (each customer's promise).
    promised_by: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The first "send" and who pressed it.
    sent_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # The promise to each customer: when its reporter and the managers were reminded before
    # the date (once) and alerted that promises were broken (once).
    promise_reminded_at: Mapped[datetime | None]
    promise_alerted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Apology(Base):
    """The apology to one affected customer. The unique key is the guarantee that nobody is
    apologised to twice for the same error, whatever the code above it does."""

    __tablename__ = "apology"
    __table_args__ = (
        # Also the index of every look-up by error and customer.
        UniqueConstraint("error_id", "customer_id", name="uq_apology_error_customer"),
        # One key checked per row inserted (a million rows check it a million times), not one
        # for the campaign and another for the error, and the error cannot differ from the
        # campaign's. Deleting the error deletes its campaign, and so its apologies.
        ForeignKeyConstraint(
            ["campaign_id", "error_id"],
            ["apology_campaign.id", "apology_campaign.error_id"],
            ondelete="CASCADE",
        ),
        Index("ix_apology_error_state", "error_id", "state"),
        # A bounce finds its apology by e-mail; the promise scan (which errors still have
        # pending promises) and its counts read rows with a promise. Both indexes hold only
        # such rows, so the mass insert of apologies (no e-mail yet; no promise unless a date
        # was promised, and none for those skipped) adds little or nothing to them.
        Index(
            "ix_apology_email_id", "email_id", sqlite_where=_HAS_EMAIL, postgresql_where=_HAS_EMAIL
        ),
        Index(
            "ix_apology_promise",
            "promise_state",
            "error_id",
            sqlite_where=_HAS_PROMISE,
            postgresql_where=_HAS_PROMISE,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int]
    error_id: Mapped[int]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # Why a skipped apology was not sent: "opt_out" or "no_email".
    skip_reason: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default="email")
    to_address: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="es")
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    bounced_at: Mapped[datetime | None]
    # The first message from the customer after the apology, and whether it was a complaint.
    replied_at: Mapped[datetime | None]
    complained_at: Mapped[datetime | None]
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL")
    )
    # The promised resolution date carried by this apology: a promise to this customer,
    # pending until the error is resolved and they are told (kept) or the date passes (broken).
    promise_due_at: Mapped[datetime | None]
    promise_state: Mapped[str | None] = mapped_column(String(8))


class ErrorCaseLink(Base):
    """A case that is about an error: linked when an affected customer writes in."""

    __tablename__ = "error_case_link"
    __table_args__ = (UniqueConstraint("error_id", "case_id", name="uq_error_case_link"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[int] = mapped_column(ForeignKey("company_error.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    # The inbound message that made the link.
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    # True when the customer complained before being apologised to.
    before_apology: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ErrorPost(Base):
    """An update on an error: what is being done. Affected customers are told, and a public
    error shows it on the status page."""

    __tablename__ = "error_post"
    __table_args__ = (Index("ix_error_post_error", "error_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[int] = mapped_column(ForeignKey("company_error.id", ondelete="CASCADE"))
    text_es: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    notify: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PostNotice(Base):
    """One affected customer told about one update: at most once (unique key)."""

    __tablename__ = "error_post_notice"
    __table_args__ = (
        UniqueConstraint("post_id", "customer_id", name="uq_error_post_notice_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("error_post.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
