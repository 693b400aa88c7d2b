"""Tables of the surveys domain: settings, question texts, list sends, invitations, answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base

KINDS = ("csat", "nps", "ces")
# The scale of each kind: (lowest, highest).
SCALES: dict[str, tuple[int, int]] = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
# scheduled -> sent -> answered; scheduled -> cancelled (case reopened) | skipped (opt-out,
# no e-mail, surveyed recently)
INVITE_STATUSES = ("scheduled", "sent", "answered", "cancelled", "skipped")
SOURCES = ("case", "list")

DEFAULT_DELAY_DAYS = 5
DEFAULT_LINK_DAYS = 30
DEFAULT_QUIET_DAYS = 30
DEFAULT_CSAT_LOW = 2
DEFAULT_NPS_LOW = 6
DEFAULT_CES_HIGH = 5


class SurveySettings(Base):
    """The organisation's survey settings (one row; defaults when there is none)."""

    __tablename__ = "survey_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whether a resolved case is followed by a survey, of which kind, and how many days later.
    after_case: Mapped[bool] = mapped_column(default=True)
    after_case_kind: Mapped[str] = mapped_column(String(8), default="csat")
    delay_days: Mapped[int] = mapped_column(default=DEFAULT_DELAY_DAYS)
    # Days the answer link keeps working.
    link_days: Mapped[int] = mapped_column(default=DEFAULT_LINK_DAYS)
    # At most one survey per customer in this many days.
    quiet_days: Mapped[int] = mapped_column(default=DEFAULT_QUIET_DAYS)
    # Low scores open a follow-up case: CSAT <= csat_low, NPS <= nps_low, effort >= ces_high.
    csat_low: Mapped[int] = mapped_column(default=DEFAULT_CSAT_LOW)
    nps_low: Mapped[int] = mapped_column(default=DEFAULT_NPS_LOW)
    ces_high: Mapped[int] = mapped_column(default=DEFAULT_CES_HIGH)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SurveyText(Base):
    """A manager's wording of one kind's questions in one language (defaults otherwise)."""

    __tablename__ = "survey_text"
    __table_args__ = (UniqueConstraint("kind", "language", name="uq_survey_text_kind_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    language: Mapped[str] = mapped_column(String(8))
    question: Mapped[str] = mapped_column(String(300))
    comment_question: Mapped[str] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SurveySend(Base):
    """A survey sent to a list of customers (a CSV of e-mails or a filter)."""

    __tablename__ = "survey_send"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyInvite(Base):
    """One survey for one customer: after a resolved case, or as part of a list send."""

    __tablename__ = "survey_invite"
    __table_args__ = (
        # Exactly once per customer per list send...
        UniqueConstraint("send_id", "customer_id", name="uq_survey_invite_send_customer"),
        # ... and once per resolution of a case (``case_round`` is its reopened_count).
        UniqueConstraint("case_id", "case_round", name="uq_survey_invite_case_round"),
        Index("ix_survey_invite_customer_sent", "customer_id", "sent_at"),
        Index("ix_survey_invite_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(8))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    case_round: Mapped[int | None]
    send_id: Mapped[int | None] = mapped_column(ForeignKey("survey_send.id", ondelete="CASCADE"))
    # Who the customer deals with when the survey was made, for the figures by team.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    # Why it was skipped or cancelled, in English (for managers and the API).
    status_note: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8), default="es")
    due_at: Mapped[datetime]
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SurveyResponse(Base):
    """A customer's answer: one per invitation (the unique constraint keeps it so)."""

    __tablename__ = "survey_response"
    __table_args__ = (Index("ix_survey_response_answered_at", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invite_id: Mapped[int] = mapped_column(
        ForeignKey("survey_invite.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"))
    send_id: Mapped[int | None] = mapped_column(ForeignKey("survey_send.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    low: Mapped[bool] = mapped_column(default=False)
    # The case opened because the score was low.
    followup_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL")
    )
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
