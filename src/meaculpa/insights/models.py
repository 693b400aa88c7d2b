"""Tables of the insights domain: analyses of messages, per-case figures, corrections, models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base


class MessageAnalysis(Base):
    """What an analyzer read from one message: its result, or the error it met."""

    __tablename__ = "message_analysis"
    __table_args__ = (
        UniqueConstraint(
            "message_id", "analyzer", "version", name="uq_message_analysis_message_analyzer"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    analyzer: Mapped[str] = mapped_column(String(32))
    # The pipeline's versions, e.g. "language=1.0.0,sentiment=1.1.0,...".
    version: Mapped[str] = mapped_column(String(160))
    # Detected language code (es, en, pt, fr, ca, und); None when analysis failed.
    language: Mapped[str | None] = mapped_column(String(8))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseInsight(Base):
    """The latest inbound analysis of a case, denormalised so the inbox can sort by it."""

    __tablename__ = "case_insight"
    __table_args__ = (
        Index("ix_case_insight_anger", "anger_score"),
        Index("ix_case_insight_negative", "negative_probability"),
    )

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), primary_key=True
    )
    # The inbound message these figures come from (the case's latest analysed one).
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    message_sent_at: Mapped[datetime | None]
    sentiment: Mapped[str] = mapped_column(String(16))
    negative_probability: Mapped[float] = mapped_column(Float)
    anger_score: Mapped[float] = mapped_column(Float)
    # Sticky: once any inbound message of the case carried an escalation signal.
    escalation: Mapped[bool] = mapped_column(default=False)
    # The escalation kinds and trigger words seen, for the inbox tooltip (capped).
    escalation_kinds: Mapped[list[Any]] = mapped_column(default=list)
    escalation_triggers: Mapped[list[Any]] = mapped_column(default=list)
    urgency: Mapped[str] = mapped_column(String(16))
    urgency_score: Mapped[float] = mapped_column(Float, default=0.0)
    language: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LabelCorrection(Base):
    """An agent's label for a message: the truth the organisation's model learns from."""

    __tablename__ = "label_correction"
    __table_args__ = (Index("ix_label_correction_message", "message_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    # "sentiment" (negative / neutral / positive) or "anger" ("angry" / "calm").
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(16))
    # What the analysis said before the correction (for reports).
    previous: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrgModel(Base):
    """The organisation's own sentiment/anger model, trained from corrections."""

    __tablename__ = "org_model"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    blob: Mapped[bytes] = mapped_column(LargeBinary)
