"""Background jobs of the insights domain."""

from __future__ import annotations

from typing import Any

from meaculpa.core.db import Database
from meaculpa.insights import queries
from meaculpa.insights.actions import analysis_input, do_store_analyses, pending_messages
from meaculpa.insights.pipeline import analyze_safely
from meaculpa.jobs.registry import job_handler

ANALYZE_MESSAGE = "insights.analyze_message"


@job_handler(ANALYZE_MESSAGE, own_transactions=True)
def analyze_message(db: Database, payload: dict[str, Any]) -> None:
    """Analyse an inbound message (and the newer ones still waiting, in one batch).

    Reads, then runs the models outside any transaction (the first run in a process loads
    them, about 2 s, which must not hold SQLite's write lock), then stores in a short one.
    """
    message_id = payload.get("message_id")
    if not isinstance(message_id, int):
        return  # a malformed payload is nothing to retry
    with db.reading() as session:
        model = queries.current_org_model(session)
        version, rows = pending_messages(session, message_id, model=model)
    if not rows:
        return
    outcomes = analyze_safely([analysis_input(r[2], r[3]) for r in rows], model)
    with db.transaction() as session:
        do_store_analyses(session, version, rows, outcomes)
