"""JSON API of the insights domain: analyse texts, read a message's analysis."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from meaculpa.analysis import ANALYZER_VERSIONS, SentimentModel, coach_reply
from meaculpa.core.deps import DB, ApiActor, ReadSession
from meaculpa.insights import queries
from meaculpa.insights.pipeline import INBOUND_ANALYZER, analyze_safely, inbound_version
from meaculpa.insights.schemas import AnalyzeRequest, AnalyzeResponse, MessageAnalysisRead
from meaculpa.messages.queries import access_message

router = APIRouter(tags=["insights"])


def _org_model(db: Any) -> SentimentModel | None:
    with db.reading() as session:
        return queries.current_org_model(session)


def _analyze(db: Any, data: AnalyzeRequest) -> dict[str, Any]:
    if data.kind == "reply":
        report = coach_reply(data.text or "", data.language)
        return {
            "kind": "reply",
            "analyzer": report.analyzer,
            "version": report.version,
            "analyzers": dict(ANALYZER_VERSIONS),
            "results": [report.to_dict()],
        }
    model = _org_model(db)
    texts = data.texts if data.texts is not None else [data.text or ""]
    results = [
        o.result if o.result is not None else {"error": o.error}
        for o in analyze_safely(texts, model)
    ]
    return {
        "kind": "inbound",
        "analyzer": INBOUND_ANALYZER,
        "version": inbound_version(model),
        "analyzers": dict(ANALYZER_VERSIONS),
        "results": results,
    }


@router.post("/analyze", response_model=AnalyzeResponse)
async def analyze(data: AnalyzeRequest, actor: ApiActor, db: DB) -> Any:
    """Analyse texts without storing anything.

    ``{"texts": [...]}`` (up to 100 inbound messages): language, sentiment, anger, escalation
    signals and urgency for each. ``{"text": ..., "kind": "reply", "language": "es"}``: the
    reply coach (protocol elements present and missing, anti-patterns with rewrites, score).
    Every result names its analyzers and versions.
    """
    return await run_in_threadpool(_analyze, db, data)


@router.get("/messages/{message_id}/analysis", response_model=MessageAnalysisRead)
async def message_analysis(message_id: int, actor: ApiActor, session: ReadSession) -> Any:
    """The newest stored analysis of a message; ``status`` is ``pending`` until its job ran."""
    message = access_message(session, actor, message_id)
    return _read(session, message.id)


def _read(session: Session, message_id: int) -> dict[str, Any]:
    row = queries.latest_analysis(session, message_id)
    if row is None:
        return {"message_id": message_id, "status": "pending"}
    return {
        "message_id": message_id,
        "status": "error" if row.error else "done",
        "analyzer": row.analyzer,
        "version": row.version,
        "language": row.language,
        "result": row.result or None,
        "error": row.error,
        "created_at": row.created_at,
    }
