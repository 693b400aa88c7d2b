"""Complaints become problems: grouped by meaning across Spanish and English, in a job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from meaculpa.core.clock import utcnow
from meaculpa.jobs.models import Job
from meaculpa.problems.models import Problem, ProblemReport
from tests.conftest import audit_verbs

LUGGAGE = [
    ("Perdieron mi maleta en el vuelo de Madrid y nadie sabe dónde está mi equipaje.", "es"),
    ("You lost my suitcase on the flight from Madrid and nobody knows where my luggage is.",
     "en"),
    ("Mi equipaje no llegó a Barcelona, la maleta sigue perdida desde hace tres días.", "es"),
    ("My luggage never arrived in London, the bag has been lost for three days.", "en"),
]
BILLING = [
    ("Me habéis cobrado dos veces la misma factura este mes, quiero que me devolváis el "
     "cargo duplicado.", "es"),
    ("You charged my card twice for the same invoice this month, refund the duplicate "
     "charge.", "en"),
    ("Otra vez un cobro doble en la factura de la luz, me cobrasteis el recibo dos veces.",
     "es"),
]


def _problems(db: Any) -> list[Problem]:
    with db.reading() as s:
        return list(s.scalars(select(Problem).order_by(Problem.id)))


def _reports(db: Any) -> list[ProblemReport]:
    with db.reading() as s:
        return list(s.scalars(select(ProblemReport).order_by(ProblemReport.id)))


def test_complaints_grouped_by_meaning_across_languages(client, db, agent, manager, send, work):
    for i, (text, lang) in enumerate(LUGGAGE + BILLING):
        send(text, f"cliente{i}@example.com", language=lang)
    # Ingestion only queued the grouping: nothing is grouped before the worker runs.
    assert _reports(db) == []
    with db.reading() as s:
        queued = s.scalars(select(Job.kind).where(Job.kind == "problems.assign")).all()
    assert len(queued) == len(LUGGAGE) + len(BILLING)
    work()

    reports = _reports(db)
    assert len(reports) == len(LUGGAGE) + len(BILLING)
    by_text = {r.excerpt: r.problem_id for r in reports}
    luggage = {by_text[t] for t, _ in LUGGAGE}
    billing = {by_text[t] for t, _ in BILLING}
    assert len(luggage) == 1 and len(billing) == 1 and luggage != billing
    luggage_id, billing_id = luggage.pop(), billing.pop()

    res = client.get(f"/api/v1/problems/{luggage_id}", headers=manager.headers)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["size"] == len(LUGGAGE)
    assert body["language_mix"] == {"en": 2, "es": 2}
    assert body["customers"] == len(LUGGAGE)
    assert body["weekly_counts"][-1]["count"] == len(LUGGAGE)
    assert len(body["weekly_counts"]) == 12
    assert body["trend"] == "rising"
    assert body["key_terms"], body
    assert body["representative_text"] in {t for t, _ in LUGGAGE}
    # The label is made of the problem's key terms.
    assert body["label"].split(", ")[0] == body["key_terms"][0]

    listing = client.get("/api/v1/problems", headers=agent.headers).json()
    assert {p["id"] for p in listing["items"]} == {luggage_id, billing_id}
    reports_page = client.get(
        f"/api/v1/problems/{billing_id}/reports?limit=2", headers=agent.headers
    ).json()
    assert len(reports_page["items"]) == 2 and reports_page["next_cursor"]
    rest = client.get(
        f"/api/v1/problems/{billing_id}/reports?limit=2&cursor={reports_page['next_cursor']}",
        headers=agent.headers,
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert audit_verbs(db, "problem").count("problem.created") == 2


def test_praise_short_notes_and_replies_are_not_problems(client, db, agent, send, work):
    first = send(LUGGAGE[0][0], "ana@example.com")
    send("¡Muchas gracias, todo perfecto! Sois los mejores, un servicio estupendo.",
         "bea@example.com")
    send("ok vale", "carla@example.com")
    # The same customer writes again on the same case about the same thing: one complaint.
    again = send("Sigo sin noticias de mi maleta perdida, ¿dónde está mi equipaje?",
                 "ana@example.com")
    assert again["case_id"] == first["case_id"]
    client.post(
        f"/api/v1/cases/{first['case_id']}/replies",
        json={"text": "Lamentamos mucho la pérdida de su maleta, la estamos buscando."},
        headers=agent.headers,
    )
    work()
    reports = _reports(db)
    assert [r.case_id for r in reports] == [first["case_id"]]
    work()  # idempotent: running again groups nothing twice
    assert len(_reports(db)) == 1


def test_survey_comments_feed_problems(db, work):
    from meaculpa.core.audit import Actor
    from meaculpa.core.events import publish

    with db.transaction() as s:
        for i, (text, lang) in enumerate(BILLING):
            publish(
                "survey.answered", session=s, actor=Actor.system(), response_id=100 + i,
                customer_id=None, case_id=None, score=1, kind="csat", text=text, language=lang,
            )  # fmt: skip
        publish(
            "survey.answered", session=s, actor=Actor.system(), response_id=200,
            customer_id=None, case_id=None, score=5, kind="csat", text="", language="es",
        )  # fmt: skip
    work()
    reports = _reports(db)
    assert [(r.source_type, r.source_id) for r in reports] == [("survey", 100), ("survey", 101),
                                                               ("survey", 102)]
    assert len({r.problem_id for r in reports}) == 1
    assert {r.language for r in reports} == {"es", "en"}


def test_weekly_counts_and_trend(client, db, manager, send, work):
    now = utcnow()
    for i, (text, lang) in enumerate(LUGGAGE):
        send(text, f"old{i}@example.com", language=lang, sent_at=now - timedelta(days=7 * 6))
    work()
    [problem] = _problems(db)
    body = client.get(f"/api/v1/problems/{problem.id}?weeks=8", headers=manager.headers).json()
    counts = [w["count"] for w in body["weekly_counts"]]
    assert len(counts) == 8 and counts[1] == len(LUGGAGE) and sum(counts) == len(LUGGAGE)
    assert body["trend"] == "falling"
    res = client.get(f"/api/v1/problems/{problem.id}?weeks=0", headers=manager.headers)
    assert res.status_code == 422
    assert res.headers["content-type"].startswith("application/problem+json")


def test_a_mention_is_grouped_from_its_job_payload(db, work):
    from meaculpa.jobs.queue import enqueue

    with db.transaction() as s:
        enqueue(s, "problems.assign", {
            "source_type": "mention", "source_id": 77, "text": LUGGAGE[1][0],
            "customer_id": None, "reported_at": "2026-11-20T10:00:00+00:00",
        })  # fmt: skip
        enqueue(s, "problems.assign", {"source_type": "mention", "source_id": "x", "text": 5})
    work()
    [report] = _reports(db)
    assert (report.source_type, report.source_id, report.customer_id) == ("mention", 77, None)
    assert report.language == "en" and report.reported_at.isoformat().startswith("2026-11-20")
    with db.reading() as s:
        assert set(s.scalars(select(Job.status).where(Job.kind == "problems.assign"))) == {"done"}
