"""The inbox sorts by anger, the API analyses texts, the case page shows and corrects labels,
and the reply coach reads the draft as the agent types."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.core.audit import AuditEvent
from meaculpa.insights.models import LabelCorrection
from meaculpa.jobs.runner import Runner
from tests.conftest import audit_verbs
from tests.insights.conftest import ANGRY_ES, CALM_ES, counting, inbound
from tests.web.helpers import csrf_from


def seed_two(client, agent) -> tuple[dict, dict]:
    calm = client.post(
        "/api/v1/messages",
        json=inbound(CALM_ES, "calma@example.es", "Carmen Calma"),
        headers=agent.headers,
    ).json()
    angry = client.post(
        "/api/v1/messages",
        json=inbound(ANGRY_ES, "furia@example.es", "Fernando Furia", subject="Sin luz"),
        headers=agent.headers,
    ).json()
    return calm, angry


def test_inbox_sorted_by_anger_puts_the_angry_customer_first(signed_in, db, settings, agent):
    calm, angry = seed_two(signed_in, agent)
    page = signed_in.get("/?sort=anger").text
    assert "—" in page  # not analysed yet
    Runner(db, settings=settings).run_pending()

    with counting(db) as statements:
        page = signed_in.get("/?sort=anger").text
    assert len(statements) <= 3  # the user, the organisation, one inbox query
    assert page.index(angry["case_reference"]) < page.index(calm["case_reference"])
    assert "Enfadado" in page and "Riesgo de escalada: " in page and "OMIC" in page
    assert 'value="anger" selected' in page
    oldest = signed_in.get("/").text
    assert oldest.index(calm["case_reference"]) < oldest.index(angry["case_reference"])
    negative = signed_in.get("/?sort=negative&lang=en").text
    assert negative.index(angry["case_reference"]) < negative.index(calm["case_reference"])
    assert "Angriest first" in negative and "Angry" in negative


def test_analyze_api(client, agent):
    r = client.post(
        "/api/v1/analyze", json={"texts": [ANGRY_ES, CALM_ES, ""]}, headers=agent.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "inbound" and body["analyzer"] == "inbound"
    assert body["version"].startswith("language=") and body["analyzers"]["sentiment"]
    first = body["results"][0]
    assert first["sentiment"]["label"] == "negative" and first["anger"]["angry"]
    assert first["sentiment"]["analyzer"] == "sentiment" and first["sentiment"]["version"]
    assert "empty text" in body["results"][2]["notes"]

    reply = client.post(
        "/api/v1/analyze",
        json={"text": "Eso lo lleva otro departamento.", "kind": "reply", "language": "es"},
        headers=agent.headers,
    )
    assert reply.status_code == 200
    coach = reply.json()["results"][0]
    assert reply.json()["analyzer"] == "reply_coach"
    assert "not_my_department" in [a["kind"] for a in coach["anti_patterns"]]


def test_analyze_api_refuses_bad_requests(client, agent):
    assert client.post("/api/v1/analyze", json={"texts": ["hola"]}).status_code == 401
    bad = [
        {},
        {"texts": []},
        {"texts": ["x"] * 101},
        {"texts": ["x"], "text": "y"},
        {"text": "x" * 100_001},
        {"texts": ["x" * 100_001]},
        {"text": "hola", "kind": "tweet"},
        {"texts": ["hola"], "kind": "reply"},
        {"texts": [3]},
        {"text": "hola", "unknown": 1},
    ]
    for body in bad:
        r = client.post("/api/v1/analyze", json=body, headers=agent.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_message_analysis_api(client, db, settings, agent):
    msg = client.post(
        "/api/v1/messages", json=inbound(ANGRY_ES, "api@example.es"), headers=agent.headers
    ).json()["message"]
    url = f"/api/v1/messages/{msg['id']}/analysis"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=agent.headers).json() == {
        "message_id": msg["id"],
        "status": "pending",
        "analyzer": None,
        "version": None,
        "language": None,
        "result": None,
        "error": None,
        "created_at": None,
    }
    Runner(db, settings=settings).run_pending()
    body = client.get(url, headers=agent.headers).json()
    assert body["status"] == "done" and body["analyzer"] == "inbound"
    assert body["language"] == "es" and body["result"]["anger"]["angry"] is True
    assert client.get("/api/v1/messages/999999/analysis", headers=agent.headers).status_code == 404


def test_case_panel_shows_the_analysis_and_a_correction_is_stored_with_audit(
    signed_in, db, settings, agent
):
    _, angry = seed_two(signed_in, agent)
    here = f"/cases/{angry['case_id']}"
    assert "se está analizando" in signed_in.get(here).text
    Runner(db, settings=settings).run_pending()
    page = signed_in.get(here).text
    assert "Cómo se siente el cliente" in page and "Negativo" in page
    assert "Señales de escalada" in page and "«OMIC»" in page and "Organismo" in page
    assert 'id="reply-coach"' in page and 'hx-post="/cases/' in page

    form = {
        "csrf_token": csrf_from(page),
        "message_id": str(angry["message"]["id"]),
        "sentiment": "neutral",
        "anger": "calm",
    }
    refused = signed_in.post(f"{here}/labels", data={**form, "csrf_token": "nope"})
    assert refused.status_code == 403
    r = signed_in.post(f"{here}/labels", data=form)
    assert r.status_code == 200 and "la corrección enseñará" in r.text
    with db.reading() as s:
        rows = list(s.scalars(select(LabelCorrection).order_by(LabelCorrection.id)))
        assert [(c.field, c.value, c.previous, c.user_id) for c in rows] == [
            ("sentiment", "neutral", "negative", agent.id),
            ("anger", "calm", "angry", agent.id),
        ]
        event = s.scalars(select(AuditEvent).where(AuditEvent.verb == "label.correct")).first()
        assert event.actor_id == agent.id and event.after["sentiment"] == "neutral"
    assert audit_verbs(db, "message").count("label.correct") == 2
    # The form now shows the agent's labels.
    page = signed_in.get(here).text
    assert '<option value="neutral" selected' in page and '<option value="calm" selected' in page
    bad = signed_in.post(f"{here}/labels", data={**form, "sentiment": "furious"})
    assert "no son válidos" in bad.text


def test_reply_coach_fragment_flags_not_my_department(signed_in, db, agent):
    _, angry = seed_two(signed_in, agent)
    here = f"/cases/{angry['case_id']}"
    token = csrf_from(signed_in.get(here).text)
    draft = "Hola Fernando, eso lo lleva otro departamento, le contestarán pronto."
    r = signed_in.post(
        f"{here}/coach",
        data={"text": draft, "direction": "outbound"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    html = r.text
    assert "<html" not in html and "Entrenador de respuestas" in html
    assert "No es mi departamento" in html and "«eso lo lleva otro departamento»" in html
    assert "→" in html and "Puntuación" in html and "Pide perdón" in html
    english = signed_in.post(
        f"{here}/coach?lang=en",
        data={"text": "That is handled by another department.", "direction": "outbound"},
        headers={"X-CSRF-Token": token},
    ).text
    assert "Not my department" in english and "Score" in english
    # An internal note is not coached; a request without the token is refused.
    note = signed_in.post(
        f"{here}/coach", data={"text": draft, "direction": "note"}, headers={"X-CSRF-Token": token}
    )
    assert note.status_code == 200 and "Entrenador" not in note.text
    assert signed_in.post(f"{here}/coach", data={"text": draft}).status_code == 403
