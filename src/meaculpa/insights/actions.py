"""Writes of the insights domain: analyses, the per-case figures, corrections, org models."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.analysis import SentimentModel, TrainingReport
from meaculpa.core.audit import Actor, record
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.exceptions import Invalid
from meaculpa.insights import queries
from meaculpa.insights.models import CaseInsight, LabelCorrection, MessageAnalysis, OrgModel
from meaculpa.insights.pipeline import (
    BATCH,
    INBOUND_ANALYZER,
    Outcome,
    analyze_safely,
    inbound_version,
    trigger_words,
)
from meaculpa.messages.models import Message

SENTIMENT_VALUES = ("negative", "neutral", "positive")
ANGER_VALUES = ("angry", "calm")
CORRECTION_VALUES = {"sentiment": SENTIMENT_VALUES, "anger": ANGER_VALUES}
MAX_TRIGGERS = 12


def _insert(session: Session) -> Any:
    """``INSERT`` with ``ON CONFLICT`` for the session's database (SQLite or PostgreSQL)."""
    from sqlalchemy.dialects import postgresql, sqlite

    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


def analysis_input(subject: str | None, text: str | None) -> str:
    """What is analysed: the message's text, or its subject when the text is empty."""
    return text if text and text.strip() else (subject or "")


PendingRow = tuple[int, int, str, str, datetime]


def pending_messages(
    session: Session, message_id: int, *, model: SentimentModel | None, batch: int = BATCH
) -> tuple[str, list[PendingRow]]:
    """The pipeline version and the messages to analyse: ``message_id`` unless already done,
    plus up to ``batch - 1`` newer inbound messages still waiting (their jobs come later)."""
    version = inbound_version(model)
    rows: list[PendingRow] = []
    own = queries.message_for_analysis(session, message_id, version)
    if own is not None:
        rows.append(own)
    if batch > 1:
        rows += queries.unanalysed_inbound(
            session, after_id=message_id, version=version, limit=batch - len(rows)
        )
    return version, rows


def do_store_analyses(
    session: Session, version: str, rows: list[PendingRow], outcomes: list[Outcome]
) -> None:
    """Store one :class:`MessageAnalysis` per message (a result or an error entry; a row
    another worker stored first is kept) and refresh each case's :class:`CaseInsight`."""
    if not rows:
        return
    now = utcnow()
    insert = _insert(session)
    values = [
        {
            "message_id": row[0],
            "analyzer": INBOUND_ANALYZER,
            "version": version,
            "language": outcome.language,
            "result": outcome.result or {},
            "error": outcome.error,
            "created_at": now,
        }
        for row, outcome in zip(rows, outcomes, strict=True)
    ]
    session.execute(
        insert(MessageAnalysis)
        .values(values)
        .on_conflict_do_nothing(index_elements=["message_id", "analyzer", "version"])
    )
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.result is not None:
            _update_case_insight(session, row[1], row[0], row[4], outcome.result, now)


def do_analyze_messages(
    session: Session,
    message_id: int,
    *,
    model: SentimentModel | None = None,
    batch: int = BATCH,
) -> int:
    """Analyse ``message_id`` and up to ``batch - 1`` newer inbound messages still waiting,
    in ``session``; return how many were analysed. Idempotent: a message already analysed
    in this pipeline version is left alone. (The job does the same in three steps so that no
    transaction is held while the models run.)"""
    if model is None:
        model = queries.current_org_model(session)
    version, rows = pending_messages(session, message_id, model=model, batch=batch)
    if not rows:
        return 0
    outcomes = analyze_safely([analysis_input(r[2], r[3]) for r in rows], model)
    do_store_analyses(session, version, rows, outcomes)
    return len(rows)


def _update_case_insight(
    session: Session,
    case_id: int,
    message_id: int,
    sent_at: datetime,
    result: dict[str, Any],
    now: datetime,
) -> None:
    insert = _insert(session)
    session.execute(
        insert(CaseInsight)
        .values(
            case_id=case_id,
            message_id=None,
            message_sent_at=None,
            sentiment="neutral",
            negative_probability=0.0,
            anger_score=0.0,
            escalation=False,
            escalation_kinds=[],
            escalation_triggers=[],
            urgency="low",
            urgency_score=0.0,
            language=None,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["case_id"])
    )
    stmt = select(CaseInsight).where(CaseInsight.case_id == case_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    insight = session.scalars(stmt.execution_options(populate_existing=True)).one()
    kinds = (result.get("escalation") or {}).get("kinds") or []
    if kinds:
        insight.escalation = True
        insight.escalation_kinds = sorted({*insight.escalation_kinds, *kinds})
        merged = list(dict.fromkeys([*insight.escalation_triggers, *trigger_words(result)]))
        insight.escalation_triggers = merged[:MAX_TRIGGERS]
    sent_at = as_utc(sent_at)
    newer = insight.message_sent_at is None or (sent_at, message_id) >= (
        as_utc(insight.message_sent_at),
        insight.message_id or 0,
    )
    if newer:
        probabilities = result["sentiment"]["probabilities"]
        insight.message_id = message_id
        insight.message_sent_at = sent_at
        insight.sentiment = result["sentiment"]["label"]
        insight.negative_probability = float(probabilities.get("negative", 0.0))
        insight.anger_score = float(result["anger"]["score"])
        insight.urgency = result["urgency"]["level"]
        insight.urgency_score = float(result["urgency"]["score"])
        insight.language = result["language"]["code"]
    insight.updated_at = now


def do_correct_label(
    session: Session, actor: Actor, message: Message, field: str, value: str
) -> LabelCorrection:
    """An agent says what a message really is (sentiment, or angry / calm)."""
    allowed = CORRECTION_VALUES.get(field)
    if allowed is None:
        raise Invalid("field must be sentiment or anger", field="field")
    if value not in allowed:
        raise Invalid(f"{field} must be one of {', '.join(allowed)}", field=field)
    if message.direction != "inbound":
        raise Invalid("only customers' messages are labelled", field="message_id")
    analysis = queries.latest_analysis(session, message.id)
    previous = None
    if analysis is not None and analysis.result:
        if field == "sentiment":
            previous = analysis.result["sentiment"]["label"]
        else:
            previous = "angry" if analysis.result["anger"]["angry"] else "calm"
    correction = LabelCorrection(
        message_id=message.id,
        field=field,
        value=value,
        previous=previous,
        user_id=actor.id if actor.kind != "system" else None,
        created_at=utcnow(),
    )
    session.add(correction)
    session.flush()
    record(
        session,
        actor,
        "label.correct",
        "message",
        message.id,
        before={field: previous},
        after={field: value, "correction_id": correction.id},
    )
    return correction


def do_store_org_model(
    session: Session, actor: Actor, model: SentimentModel, report: TrainingReport
) -> OrgModel:
    """Keep a trained model; from now on the analysis job uses it (newest wins)."""
    base = str(model.meta.get("base_version") or model.version).split("+")[0]
    blob = model.to_bytes()
    digest = hashlib.sha256(blob).hexdigest()[:12]
    version = f"{base}+org.{digest}"
    model.meta["base_version"] = base
    model.meta["version"] = version
    blob = model.to_bytes()
    row = OrgModel(version=version, created_at=utcnow(), report=report.to_dict(), blob=blob)
    summary = {k: v for k, v in report.to_dict().items() if k != "rejected"}
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "org_model.create",
        "org_model",
        row.id,
        after={"version": version, **summary},
    )
    return row
