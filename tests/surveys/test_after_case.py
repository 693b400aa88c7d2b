"""A resolved case is followed by a survey in the customer's language; a low score is acted on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from meaculpa.cases.models import Case
from meaculpa.core.clock import utcnow
from meaculpa.messages.models import Message
from meaculpa.notifications.models import OutboundEmail
from meaculpa.surveys.links import survey_token
from tests.conftest import TEST_SECRET, audit_verbs
from tests.followups.conftest import reopen, resolve, run_worker_at, seed
from tests.surveys.conftest import invites, responses, survey_path
from tests.web.helpers import csrf_from, login


def deliver(db, settings, resolved_at):
    """Run the worker when the follow-up question falls due (day 3), then the survey (day 5)."""
    run_worker_at(db, settings, resolved_at + timedelta(days=3, minutes=1))
    run_worker_at(db, settings, resolved_at + timedelta(days=5, minutes=1))


def test_low_score_is_thanked_and_opens_a_case_with_the_owner(
    client, db, agent, mail_settings, smtp_server, answered_events
):
    _, _, mailbox = smtp_server
    ids = seed(
        db,
        agent.id,
        language="en",
        name="Hannah Brown",
        email="hannah@example.com",
        text="You charged me twice for order 4411.",
    )
    resolved_at = resolve(db, agent.actor, ids.case)
    [invite] = invites(db)
    assert (invite.status, invite.kind, invite.source) == ("scheduled", "csat", "case")
    assert invite.due_at == resolved_at + timedelta(days=5)
    # Day 3 brings the follow-up question only; day 5 the survey, in English.
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    assert [m["Subject"] for m in mailbox.messages] == [f"Is it really solved? (MC-{ids.case})"]
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=5, minutes=1))
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=6))
    survey_mail = mailbox.to("hannah@example.com")[1]
    assert survey_mail["Subject"] == f"How did we do? (MC-{ids.case})"
    body = survey_mail.get_content()
    assert "Hello Hannah Brown," in body
    assert "Overall, how satisfied are you with how we handled your request?" in body
    assert "(from 1: Very dissatisfied, to 5: Very satisfied)" in body
    [invite] = invites(db)
    assert invite.status == "sent" and invite.language == "en"

    path = survey_path(body)
    page = client.get(path)
    assert page.status_code == 200 and page.headers["x-robots-tag"].startswith("noindex")
    assert (
        '<html lang="en">' in page.text and "What is the main reason for your score?" in page.text
    )
    answer = {
        "csrf_token": csrf_from(page.text),
        "score": "1",
        "comment": "Still no refund <b>after</b> two weeks.",
    }
    thanks = client.post(path, data=answer)
    assert thanks.status_code == 200 and "Thank you for your answer" in thanks.text
    assert "The person who looks after you will contact you soon" in thanks.text
    assert "Still no refund &lt;b&gt;after&lt;/b&gt; two weeks." in thanks.text

    [response] = responses(db)
    assert (response.score, response.low, response.kind) == (1, True, "csat")
    assert response.followup_case_id is not None
    with db.reading() as s:
        followup_case = s.get(Case, response.followup_case_id)
        assert followup_case.customer_id == ids.customer
        assert followup_case.owner_id == agent.id and followup_case.status == "new"
        # The owner (Spanish) reads why in a note.
        assert followup_case.subject == "Encuesta para actuar: Satisfacción (CSAT) 1 de 5"
        [note] = s.scalars(select(Message).where(Message.case_id == followup_case.id)).all()
        assert note.direction == "note"
        assert "Still no refund <b>after</b> two weeks." in note.text
        assert f"MC-{ids.case}" in note.text
    assert answered_events == [
        {
            "response_id": response.id,
            "customer_id": ids.customer,
            "case_id": ids.case,
            "score": 1,
            "kind": "csat",
            "text": "Still no refund <b>after</b> two weeks.",
            "language": "en",
        }
    ]
    # The customer is thanked in English; the owner is alerted in Spanish.
    run_worker_at(db, mail_settings, utcnow())
    thank_you = mailbox.to("hannah@example.com")[-1]
    assert thank_you["Subject"] == "Thank you for your answer"
    assert "Thank you for answering our survey." in thank_you.get_content()
    [alert] = mailbox.to(agent.email)
    assert (
        alert["Subject"] == f"Puntuación baja en una encuesta: se ha abierto MC-{followup_case.id}"
    )
    with db.reading() as s:
        kinds = sorted(s.scalars(select(OutboundEmail.kind)))
    assert kinds == ["alert", "follow_up", "survey", "survey"]
    verbs = audit_verbs(db, "survey")
    assert verbs == ["survey.schedule", "survey.send", "survey.answer", "survey.act"]

    # A second answer changes nothing: 409 on the page and on the API.
    again = client.post(path, data={**answer, "score": "5"})
    assert again.status_code == 409 and "already answered" in again.text
    token = path.rsplit("/", 1)[1]
    api = client.post(f"/api/v1/surveys/answers/{token}", json={"score": 5})
    assert api.status_code == 409 and api.headers["content-type"] == "application/problem+json"
    assert [r.score for r in responses(db)] == [1]
    # The case page shows the answer on the original case and why the new case exists.
    login(client, agent)
    original = client.get(f"/cases/{ids.case}").text
    assert "Encuestas" in original and "Still no refund &lt;b&gt;after&lt;/b&gt;" in original
    opened = client.get(f"/cases/{followup_case.id}").text
    assert "Abierto por una puntuación baja en una encuesta: 1 de 5." in opened


def test_spanish_customer_good_score_opens_nothing(
    client, db, agent, mail_settings, smtp_server, answered_events
):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    deliver(db, mail_settings, resolved_at)
    survey_mail = next(m for m in mailbox.messages if "/s/" in m.get_content())
    assert survey_mail["Subject"] == f"¿Qué tal lo hicimos? (MC-{ids.case})"
    assert "Hola, Lucía Fernández:" in survey_mail.get_content()
    token = survey_path(survey_mail.get_content()).rsplit("/", 1)[1]
    answered = client.post(
        f"/api/v1/surveys/answers/{token}", json={"score": 4, "comment": "Bien, gracias"}
    )
    assert answered.status_code == 201
    assert answered.json()["score"] == 4 and answered.json()["kind"] == "csat"
    [response] = responses(db)
    assert response.low is False and response.followup_case_id is None
    with db.reading() as s:
        assert s.scalar(select(Case.id).where(Case.id != ids.case)) is None
    run_worker_at(db, mail_settings, utcnow())
    thanks = mailbox.to("lucia@example.es")[-1]
    assert thanks["Subject"] == "Gracias por su respuesta"
    assert answered_events[0]["language"] == "es" and answered_events[0]["text"] == "Bien, gracias"


def test_same_day_follow_up_postpones_the_survey_a_day(
    client, db, agent, manager, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    put = client.put("/api/v1/surveys/settings", json={"delay_days": 3}, headers=manager.headers)
    assert put.status_code == 200 and put.json()["delay_days"] == 3
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=3, minutes=1))
    assert len(mailbox.messages) == 1  # only the follow-up question
    [invite] = invites(db)
    assert invite.status == "scheduled"
    assert invite.due_at > resolved_at + timedelta(days=4)
    assert "survey.postpone" in audit_verbs(db, "survey")
    run_worker_at(db, mail_settings, resolved_at + timedelta(days=4, minutes=5))
    assert invites(db)[0].status == "sent" and len(mailbox.messages) == 2


def test_reopening_cancels_and_quiet_period_skips(db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolve(db, agent.actor, ids.case)
    reopen(db, agent.actor, ids.case)
    assert [i.status for i in invites(db)] == ["cancelled"]
    first = resolve(db, agent.actor, ids.case)
    deliver(db, mail_settings, first)
    assert [i.status for i in invites(db)] == ["cancelled", "sent"]
    # A new case of the same customer, resolved a week later: no second survey this month.
    with db.transaction() as s:
        from meaculpa.cases.actions import do_open_case
        from meaculpa.customers.models import Customer

        customer = s.get(Customer, ids.customer)
        second_case = do_open_case(s, agent.actor, customer, channel="email", owner_id=agent.id)
        second_id = second_case.id
    second = resolve(db, agent.actor, second_id)
    deliver(db, mail_settings, second)
    last = invites(db)[-1]
    assert last.status == "skipped" and "in the last 30 days" in last.status_note
    assert len([m for m in mailbox.messages if "/s/" in m.get_content()]) == 1


def test_after_case_surveys_can_be_turned_off_and_changed(
    client, db, agent, manager, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    refused = client.put(
        "/api/v1/surveys/settings", json={"after_case": False}, headers=agent.headers
    )
    assert refused.status_code == 403
    bad = client.put("/api/v1/surveys/settings", json={"nps_low": 11}, headers=manager.headers)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    ok = client.put(
        "/api/v1/surveys/settings",
        json={"after_case_kind": "nps", "nps_low": 5},
        headers=manager.headers,
    )
    assert ok.json()["after_case_kind"] == "nps" and ok.json()["nps_low"] == 5
    reworded = client.put(
        "/api/v1/surveys/questions/nps/es",
        json={"question": "¿Nos recomendaría a un amigo?", "comment_question": "¿Por qué?"},
        headers=manager.headers,
    )
    assert reworded.status_code == 200 and reworded.json()["customised"] is True
    unknown = client.put(
        "/api/v1/surveys/questions/stars/es",
        json={"question": "?", "comment_question": "?"},
        headers=manager.headers,
    )
    assert unknown.status_code == 404
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    deliver(db, mail_settings, resolved_at)
    body = next(m for m in mailbox.messages if "/s/" in m.get_content()).get_content()
    assert "¿Nos recomendaría a un amigo?" in body and "(de 0: Nada probable" in body
    page = client.get(survey_path(body))
    assert "¿Por qué?" in page.text and 'value="10"' in page.text
    # 6 is not low with the threshold at 5.
    token = survey_path(body).rsplit("/", 1)[1]
    assert client.post(f"/api/v1/surveys/answers/{token}", json={"score": 6}).status_code == 201
    assert responses(db)[0].low is False
    off = client.put(
        "/api/v1/surveys/settings", json={"after_case": False}, headers=manager.headers
    )
    assert off.json()["after_case"] is False
    reopen(db, agent.actor, ids.case)
    resolve(db, agent.actor, ids.case)
    assert len(invites(db)) == 1
    verbs = audit_verbs(db)
    assert "survey.settings.update" in verbs and "survey.text.update" in verbs


def test_bad_links_and_answers_store_nothing(client, db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    deliver(db, mail_settings, resolved_at)
    body = next(m for m in mailbox.messages if "/s/" in m.get_content()).get_content()
    path = survey_path(body)
    token = path.rsplit("/", 1)[1]
    invite_id = invites(db)[0].id

    out_of_range = client.post(f"/api/v1/surveys/answers/{token}", json={"score": 6})
    assert out_of_range.status_code == 422
    problem = out_of_range.json()
    assert problem["errors"][0]["field"] == "score" and "from 1 to 5" in problem["detail"]
    not_a_number = client.post(f"/api/v1/surveys/answers/{token}", json={"score": "many"})
    assert not_a_number.status_code == 422
    long_comment = client.post(
        f"/api/v1/surveys/answers/{token}", json={"score": 3, "comment": "x" * 2001}
    )
    assert long_comment.status_code == 422

    from meaculpa.core.clock import override

    past = utcnow() - timedelta(days=31)
    with override(lambda: past):
        old, _ = survey_token(TEST_SECRET, invite_id, 30)
    expired = client.post(f"/api/v1/surveys/answers/{old}", json={"score": 3})
    assert expired.status_code == 410 and expired.json()["type"].endswith("link-expired")
    assert client.get(f"/s/{old}").status_code == 410
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.post(f"/api/v1/surveys/answers/{tampered}", json={"score": 3}).status_code == 404
    page = client.get(f"/s/{tampered}")
    assert page.status_code == 404 and "Este enlace no es válido" in page.text
    # A follow-up link is not a survey link.
    from meaculpa.followups.links import followup_token

    other, _ = followup_token(TEST_SECRET, invite_id, 30)
    assert client.get(f"/s/{other}").status_code == 404

    form_page = client.get(path)
    csrf = csrf_from(form_page.text)
    assert client.post(path, data={"score": "3"}).status_code == 403
    bad = client.post(path, data={"csrf_token": csrf, "score": "9"})
    assert bad.status_code == 422 and "del 1 al 5" in bad.text
    assert responses(db) == [] and invites(db)[0].status == "sent"


def test_customer_opts_out_from_the_link(client, db, agent, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    ids = seed(db, agent.id)
    resolved_at = resolve(db, agent.actor, ids.case)
    deliver(db, mail_settings, resolved_at)
    path = survey_path(next(m for m in mailbox.messages if "/s/" in m.get_content()).get_content())
    csrf = csrf_from(client.get(path).text)
    done = client.post(f"{path}/opt-out", data={"csrf_token": csrf})
    assert done.status_code == 200 and "no le enviaremos más encuestas" in done.text
    customer = client.get(f"/api/v1/customers/{ids.customer}", headers=agent.headers).json()
    assert customer["opt_out"] is True
    assert "customer.update" in audit_verbs(db, "customer")
    login(client, agent)
    page = client.get(f"/customers/{ids.customer}").text
    assert "Solo respuestas sobre sus propios casos" in page


def test_public_answers_are_rate_limited(client):
    codes = [
        client.post("/api/v1/surveys/answers/not-a-token", json={"score": 3}).status_code
        for _ in range(11)
    ]
    assert codes == [404] * 10 + [429]
    assert client.get("/s/not-a-token").status_code == 404
