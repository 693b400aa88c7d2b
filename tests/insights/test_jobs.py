"""Every inbound message is analysed in a job; the case keeps the figures the inbox sorts by."""

from __future__ import annotations

from sqlalchemy import func, select

from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor
from meaculpa.core.clock import utcnow
from meaculpa.insights.actions import do_analyze_messages
from meaculpa.insights.models import CaseInsight, MessageAnalysis
from meaculpa.insights.pipeline import INBOUND_ANALYZER, analyze_safely, inbound_version
from meaculpa.jobs.models import Job
from meaculpa.jobs.runner import Runner
from meaculpa.messages.actions import do_ingest_message
from meaculpa.messages.models import Message
from meaculpa.messages.schemas import InboundMessage
from tests.insights.conftest import ANGRY_ES, CALM_ES, inbound


def ingest(db, text: str, email: str) -> dict:
    with db.transaction() as s:
        outcome = do_ingest_message(
            s, Actor.system(), InboundMessage.model_validate(inbound(text, email))
        )
        return {"message": outcome.message["id"], "case": outcome.case.id}


def test_ingestion_queues_the_analysis_and_the_worker_stores_it(db, settings, agent):
    ids = ingest(db, ANGRY_ES, "enfadado@example.es")
    with db.reading() as s:
        job = s.scalar(select(Job).where(Job.kind == "insights.analyze_message"))
        assert job is not None and job.payload == {"message_id": ids["message"]}
        assert s.scalar(select(func.count()).select_from(MessageAnalysis)) == 0

    assert Runner(db, settings=settings).run_pending() >= 1

    with db.reading() as s:
        row = s.scalars(select(MessageAnalysis)).one()
        assert row.message_id == ids["message"] and row.error is None
        assert row.analyzer == INBOUND_ANALYZER and row.version == inbound_version()
        assert "sentiment=1.3.0" in row.version and row.language == "es"
        assert row.result["sentiment"]["label"] == "negative"
        assert row.result["sentiment"]["analyzer"] == "sentiment"
        assert row.result["anger"]["angry"] is True
        assert {"regulator", "repeat_contact", "shouting"} <= set(row.result["escalation"]["kinds"])
        insight = s.get(CaseInsight, ids["case"])
        assert insight is not None and insight.message_id == ids["message"]
        assert insight.sentiment == "negative" and insight.anger_score >= 0.5
        assert insight.negative_probability > 0.5 and insight.escalation is True
        assert "OMIC" in insight.escalation_triggers and insight.language == "es"
        assert insight.urgency in ("high", "critical")
        assert s.scalar(select(Job.status).where(Job.kind == "insights.analyze_message")) == "done"


def test_one_job_analyses_the_waiting_messages_in_a_batch_and_is_idempotent(db, settings):
    first = ingest(db, CALM_ES, "a@example.es")
    ingest(db, ANGRY_ES, "b@example.es")
    ingest(db, "Thank you so much, the new router works perfectly!", "c@example.com")
    with db.transaction() as s:
        assert do_analyze_messages(s, first["message"]) == 3
    with db.transaction() as s:
        assert do_analyze_messages(s, first["message"]) == 0  # nothing left to do
    # Their jobs find them done (plus each message's problem-grouping job).
    assert Runner(db, settings=settings).run_pending() == 3 + 3
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(MessageAnalysis)) == 3
        assert s.scalar(select(func.count()).select_from(CaseInsight)) == 3


def test_the_case_keeps_the_latest_message_and_a_sticky_escalation(db, settings):
    angry = ingest(db, ANGRY_ES, "same@example.es")
    Runner(db, settings=settings).run_pending()
    calm = ingest(db, CALM_ES, "same@example.es")
    assert calm["case"] == angry["case"]
    Runner(db, settings=settings).run_pending()
    with db.reading() as s:
        insight = s.get(CaseInsight, angry["case"])
        assert insight.message_id == calm["message"] and insight.anger_score < 0.5
        assert insight.escalation is True and "OMIC" in insight.escalation_triggers


def test_bad_texts_never_crash_the_job(db, settings):
    """Empty, emoji only, 1 MB, replacement characters: each gets a stored result."""
    ids = ingest(db, CALM_ES, "bad@example.es")
    texts = ["", "   ", "😡😡😡🤬", "¡No! " * 200_000, "\ufffd\ufffd abc", "a"]
    now = utcnow()
    with db.transaction() as s:
        case = s.get(Case, ids["case"])
        for text in texts:
            s.add(
                Message(
                    case_id=case.id,
                    customer_id=case.customer_id,
                    direction="inbound",
                    channel="email",
                    subject="",
                    text=text,
                    sent_at=now,
                )
            )
    # One analysis job (plus the first message's problem-grouping job).
    assert Runner(db, settings=settings).run_pending() == 1 + 1
    with db.reading() as s:
        rows = list(s.scalars(select(MessageAnalysis).order_by(MessageAnalysis.message_id)))
        assert len(rows) == 1 + len(texts)
        assert all(r.error is None and r.result for r in rows)
        by_text = {len(t): r for t, r in zip([CALM_ES, *texts], rows, strict=True)}
        assert "empty text" in by_text[0].result["notes"]
        assert by_text[len("¡No! ") * 200_000].result["truncated"] is True


def test_unreadable_texts_get_an_error_entry_not_an_exception():
    """Bytes that are not UTF-8 or non-strings: an error entry, the good texts still analysed."""
    outcomes = analyze_safely(["Todo perfecto, gracias", b"\xff\xfe bad", 42, "\ud800 alone"])
    assert outcomes[0].result is not None and outcomes[0].error is None
    assert outcomes[1].result is None and "UTF-8" in outcomes[1].error
    assert outcomes[2].result is None and outcomes[2].error
    assert outcomes[3].result is not None  # a lone surrogate is replaced and noted
    assert any("replaced" in n for n in outcomes[3].result["notes"])


def test_a_job_for_a_missing_message_does_nothing(db, settings):
    from meaculpa.jobs.queue import enqueue

    with db.transaction() as s:
        enqueue(s, "insights.analyze_message", {"message_id": 999_999})
        enqueue(s, "insights.analyze_message", {"message_id": "x"})
    assert Runner(db, settings=settings).run_pending() == 2
    with db.reading() as s:
        assert set(s.scalars(select(Job.status))) == {"done"}
