"""Reads of the insights domain."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.analysis import SentimentModel
from meaculpa.insights.models import CaseInsight, LabelCorrection, MessageAnalysis, OrgModel
from meaculpa.insights.pipeline import INBOUND_ANALYZER
from meaculpa.messages.models import Message


def get_case_insight(session: Session, case_id: int) -> CaseInsight | None:
    return session.get(CaseInsight, case_id)


def latest_analysis(session: Session, message_id: int) -> MessageAnalysis | None:
    """The newest inbound analysis of a message (any version), or None."""
    return session.scalar(
        select(MessageAnalysis)
        .where(
            MessageAnalysis.message_id == message_id,
            MessageAnalysis.analyzer == INBOUND_ANALYZER,
        )
        .order_by(MessageAnalysis.id.desc())
        .limit(1)
    )


def latest_case_analysis(
    session: Session, case_id: int
) -> tuple[Message, MessageAnalysis | None] | None:
    """The case's latest inbound message and its newest analysis (None until the job ran)."""
    message = session.scalar(
        select(Message)
        .where(Message.case_id == case_id, Message.direction == "inbound")
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
    )
    if message is None:
        return None
    return message, latest_analysis(session, message.id)


def corrections_for(session: Session, message_id: int) -> list[LabelCorrection]:
    return list(
        session.scalars(
            select(LabelCorrection)
            .where(LabelCorrection.message_id == message_id)
            .order_by(LabelCorrection.id)
        )
    )


def training_examples(session: Session) -> tuple[list[dict[str, Any]], int]:
    """One example per corrected message: its text, the latest sentiment correction and the
    latest anger correction. Messages corrected for anger only are skipped (counted)."""
    rows = session.execute(
        select(
            LabelCorrection.message_id,
            LabelCorrection.field,
            LabelCorrection.value,
            Message.text,
        )
        .join(Message, Message.id == LabelCorrection.message_id)
        .order_by(LabelCorrection.id)
    )
    examples: dict[int, dict[str, Any]] = {}
    for message_id, field, value, text in rows:
        example = examples.setdefault(message_id, {"message_id": message_id, "text": text})
        if field == "sentiment":
            example["sentiment"] = value
        elif field == "anger":
            example["anger"] = value == "angry"
    usable = [e for e in examples.values() if "sentiment" in e]
    return usable, len(examples) - len(usable)


def latest_org_model_row(session: Session) -> tuple[int, str] | None:
    row = session.execute(
        select(OrgModel.id, OrgModel.version).order_by(OrgModel.id.desc()).limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


_model_lock = threading.Lock()
_model_cache: dict[str, Any] = {"id": None, "model": None}


def current_org_model(session: Session) -> SentimentModel | None:
    """The organisation's newest model, or None to use the shipped one.

    One small query per call; the model's bytes are read and decoded only when a newer
    model appeared (kept per process)."""
    latest = latest_org_model_row(session)
    if latest is None:
        return None
    model_id, version = latest
    # Keyed by version, which names the blob's digest (ids repeat across databases).
    with _model_lock:
        if _model_cache["id"] == version:
            cached: SentimentModel = _model_cache["model"]
            return cached
    blob = session.scalar(select(OrgModel.blob).where(OrgModel.id == model_id))
    if blob is None:
        return None
    model = SentimentModel.from_bytes(bytes(blob))
    with _model_lock:
        _model_cache.update(id=version, model=model)
    return model


def forget_org_model() -> None:
    with _model_lock:
        _model_cache.update(id=None, model=None)


def unanalysed_inbound(
    session: Session, *, after_id: int, version: str, limit: int
) -> list[tuple[int, int, str, str, Any]]:
    """Inbound messages newer than ``after_id`` without an analysis of ``version``:
    ``(id, case_id, subject, text, sent_at)``, oldest first (a job takes them along)."""
    done = (
        select(MessageAnalysis.id)
        .where(
            MessageAnalysis.message_id == Message.id,
            MessageAnalysis.analyzer == INBOUND_ANALYZER,
            MessageAnalysis.version == version,
        )
        .exists()
    )
    rows = session.execute(
        select(Message.id, Message.case_id, Message.subject, Message.text, Message.sent_at)
        .where(Message.id > after_id, Message.direction == "inbound", ~done)
        .order_by(Message.id)
        .limit(limit)
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def message_for_analysis(
    session: Session, message_id: int, version: str
) -> tuple[int, int, str, str, Any] | None:
    """``(id, case_id, subject, text, sent_at)`` of a message not yet analysed in ``version``."""
    exists = session.scalar(
        select(MessageAnalysis.id).where(
            MessageAnalysis.message_id == message_id,
            MessageAnalysis.analyzer == INBOUND_ANALYZER,
            MessageAnalysis.version == version,
        )
    )
    if exists is not None:
        return None
    row = session.execute(
        select(Message.id, Message.case_id, Message.subject, Message.text, Message.sent_at).where(
            Message.id == message_id
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2], row[3], row[4])
