"""Tables of the problems domain: recurring problems, the reports they group, root causes.

A *problem* is a group of complaints that mean the same thing (lost luggage, a double charge),
found by the sentence encoder and kept up to date one report at a time. A *report* is one
complaint in a problem: an inbound case message, a survey comment or a social mention, with a
short excerpt, its language and the customer who made it (when known). A merged problem keeps
its row (``status = "merged"``, ``merged_into_id`` set) and hands its reports to the survivor.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from meaculpa.core.clock import utcnow
from meaculpa.core.db import Base


class Problem(Base):
    """A complaint that keeps coming back, with its readable label and its centroid."""

    __tablename__ = "problem"
    __table_args__ = (Index("ix_problem_status_last", "status", "last_reported_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    # True once a manager named it: automatic relabelling leaves the name alone.
    label_locked: Mapped[bool] = mapped_column(default=False)
    # The words that set it apart from the other problems, most telling first.
    key_terms: Mapped[list[Any]] = mapped_column(default=list)
    # The report closest to the centroid, shown as the problem's example.
    representative_text: Mapped[str] = mapped_column(Text, default="")
    representative_report_id: Mapped[int | None] = mapped_column(Integer)
    # open | merged | archived
    status: Mapped[str] = mapped_column(String(16), default="open")
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("problem.id", ondelete="SET NULL"), index=True
    )
    # Sum of the members' unit embeddings (float32 bytes) and their number: the centroid is
    # ``centroid_sum / size``, updated exactly as reports arrive, leave or move.
    centroid_sum: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(default=0)
    first_reported_at: Mapped[datetime | None]
    last_reported_at: Mapped[datetime | None]
    # Reports since the label was last computed (relabelled every so often, not every report).
    changes_since_label: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProblemReport(Base):
    """One complaint grouped into a problem, and where it came from."""

    __tablename__ = "problem_report"
    __table_args__ = (
        UniqueConstraint("source_type", "source_id", name="uq_problem_report_source"),
        Index("ix_problem_report_problem_at", "problem_id", "reported_at"),
        Index("ix_problem_report_case", "case_id"),
        CheckConstraint(
            "source_type IN ('case', 'message', 'survey', 'mention')", name="source_type"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"))
    # case | message | survey | mention, and that row's id in its own domain.
    source_type: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(8), default="und")
    excerpt: Mapped[str] = mapped_column(Text, default="")
    # The report's unit embedding (float16 bytes), kept so merges and splits are exact.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Cosine similarity to the problem's centroid when it was assigned (or moved).
    similarity: Mapped[float] = mapped_column(Float, default=0.0)
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProblemErrorLink(Base):
    """A problem traced to a company error (many to many)."""

    __tablename__ = "problem_error_link"
    __table_args__ = (
        UniqueConstraint("problem_id", "error_id", name="uq_problem_error_link_pair"),
        Index("ix_problem_error_link_error", "error_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"))
    error_id: Mapped[int] = mapped_column(ForeignKey("company_error.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProblemAlert(Base):
    """A week in which a problem's count jumped, and the manager it was sent to."""

    __tablename__ = "problem_alert"
    __table_args__ = (
        UniqueConstraint("problem_id", "week_start", "user_id", name="uq_problem_alert_week_user"),
        Index("ix_problem_alert_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"))
    week_start: Mapped[date]
    count: Mapped[int]
    # The mean weekly count of the weeks before, the figure the jump is measured against.
    baseline: Mapped[float] = mapped_column(Float)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_email.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProblemSettings(Base):
    """The organisation's grouping and alert settings (one row; defaults until saved)."""

    __tablename__ = "problem_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A complaint less similar than this to every problem's centroid starts a new problem.
    new_problem_threshold: Mapped[float] = mapped_column(Float, default=0.45)
    # A week raises an alert at this many reports or more ...
    alert_min_count: Mapped[int] = mapped_column(default=5)
    # ... and at least this many times the mean of the weeks before.
    alert_factor: Mapped[float] = mapped_column(Float, default=2.0)
    # How many weeks before make the baseline.
    alert_baseline_weeks: Mapped[int] = mapped_column(default=4)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RootCause(Base):
    """Why an error happened or a problem keeps happening: category, five whys, notes."""

    __tablename__ = "root_cause"
    __table_args__ = (
        CheckConstraint("(error_id IS NULL) <> (problem_id IS NULL)", name="one_subject"),
        CheckConstraint(
            "category IN ('people', 'process', 'product', 'partner', 'policy', 'system')",
            name="category",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    error_id: Mapped[int | None] = mapped_column(
        ForeignKey("company_error.id", ondelete="CASCADE"), unique=True
    )
    problem_id: Mapped[int | None] = mapped_column(
        ForeignKey("problem.id", ondelete="CASCADE"), unique=True
    )
    category: Mapped[str] = mapped_column(String(16))
    # Up to five answers to "why?", each one the cause of the one before.
    whys: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
