"""Surveys sent to lists: each customer exactly once per send, opt-outs respected."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from meaculpa.core.clock import utcnow
from meaculpa.surveys.models import SurveyInvite
from tests.conftest import audit_verbs
from tests.followups.conftest import run_worker_at
from tests.surveys.conftest import invites, make_customer, survey_path
from tests.web.helpers import csrf, login


@pytest.fixture
def people(db, agent):
    return {
        "ana": make_customer(db, "Ana Ruiz", "ana@example.es", "es", owner_id=agent.id),
        "john": make_customer(db, "John Smith", "john@example.com", "en", owner_id=agent.id),
        "olga": make_customer(db, "Olga Díaz", "olga@example.es", "es"),
        "phone": make_customer(db, "Pepe Sin Correo", None, "es"),
    }


def test_list_send_reaches_each_customer_once_and_respects_opt_out(
    client, db, manager, agent, people, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    opted = client.patch(
        f"/api/v1/customers/{people['olga']}", json={"opt_out": True}, headers=agent.headers
    )
    assert opted.status_code == 200 and opted.json()["opt_out"] is True
    audience = {
        "emails": [
            "ana@example.es",
            "ANA@example.es",
            "john@example.com",
            "olga@example.es",
            "stranger@example.org",
            "not an address",
        ]
    }
    refused = client.post(
        "/api/v1/surveys/sends",
        json={"name": "Otoño", "kind": "nps", "audience": audience},
        headers=agent.headers,
    )
    assert refused.status_code == 403
    created = client.post(
        "/api/v1/surveys/sends",
        json={"name": "Otoño", "kind": "nps", "audience": audience},
        headers=manager.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["recipients"] == {
        "invited": 2,
        "already_invited": 0,
        "opted_out": 1,
        "unknown_emails": ["stranger@example.org"],
        "unknown_count": 1,
        "invalid_count": 1,
    }
    send_id = body["send"]["id"]
    run_worker_at(db, mail_settings, utcnow())
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "Ana Ruiz <ana@example.es>",
        "John Smith <john@example.com>",
    ]
    [ana_mail] = mailbox.to("ana@example.es")
    assert ana_mail["Subject"] == "meaculpa quiere conocer su opinión"
    assert "¿Qué probabilidad hay de que nos recomiende" in ana_mail.get_content()
    [john_mail] = mailbox.to("john@example.com")
    assert "How likely are you to recommend us" in john_mail.get_content()
    assert client.get(survey_path(john_mail.get_content())).status_code == 200

    # The same list again, and a filter that matches them too: nobody is surveyed twice.
    again = client.post(
        f"/api/v1/surveys/sends/{send_id}/recipients", json=audience, headers=manager.headers
    )
    assert again.json()["invited"] == 0 and again.json()["already_invited"] == 3
    by_owner = client.post(
        f"/api/v1/surveys/sends/{send_id}/recipients",
        json={"filter": {"owner_id": agent.id}},
        headers=manager.headers,
    )
    assert by_owner.json()["invited"] == 0 and by_owner.json()["already_invited"] == 2
    run_worker_at(db, mail_settings, utcnow())
    assert len(mailbox.messages) == 2
    statuses = {i.customer_id: i.status for i in invites(db)}
    assert statuses == {people["ana"]: "sent", people["john"]: "sent", people["olga"]: "skipped"}
    send = client.get(f"/api/v1/surveys/sends/{send_id}", headers=manager.headers).json()
    assert send["counts"] == {"sent": 2, "skipped": 1}
    listed = client.get(f"/api/v1/surveys?send_id={send_id}", headers=agent.headers).json()
    assert len(listed["items"]) == 3
    # The database itself refuses a second invitation of a customer in a send.
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.add(
            SurveyInvite(
                kind="nps",
                source="list",
                customer_id=people["ana"],
                send_id=send_id,
                due_at=utcnow(),
            )
        )
    assert {"survey_send.create", "survey_send.recipients"} <= set(audit_verbs(db))


def test_filter_send_skips_opted_out_and_addressless(
    client, db, manager, people, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    with db.transaction() as s:
        from meaculpa.customers.models import Customer

        s.get(Customer, people["ana"]).opt_out = True
    created = client.post(
        "/api/v1/surveys/sends",
        json={
            "name": "Clientes en español",
            "kind": "ces",
            "audience": {"filter": {"language": "es"}},
        },
        headers=manager.headers,
    )
    assert created.json()["recipients"]["invited"] == 2  # Olga and Pepe
    assert created.json()["recipients"]["opted_out"] == 1
    run_worker_at(db, mail_settings, utcnow())
    assert [str(m["To"]) for m in mailbox.messages] == ["Olga Díaz <olga@example.es>"]
    notes = {i.customer_id: (i.status, i.status_note) for i in invites(db)}
    assert notes[people["phone"]] == ("skipped", "the customer has no e-mail address")
    assert notes[people["ana"]] == ("skipped", "the customer opted out of surveys")


def test_bad_sends_are_refused(client, manager):
    missing = client.post(
        "/api/v1/surveys/sends",
        json={"name": "x", "kind": "nps", "audience": {}},
        headers=manager.headers,
    )
    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/surveys/sends", headers=manager.headers).json()["items"] == []
    kind = client.post(
        "/api/v1/surveys/sends", json={"name": "x", "kind": "stars"}, headers=manager.headers
    )
    assert kind.status_code == 422
    too_many = client.post(
        "/api/v1/surveys/sends",
        json={
            "name": "x",
            "kind": "nps",
            "audience": {"emails": [f"p{i}@example.com" for i in range(5001)]},
        },
        headers=manager.headers,
    )
    assert too_many.status_code in (413, 422)
    assert client.get("/api/v1/surveys/sends/999", headers=manager.headers).status_code == 404


def test_manager_uploads_a_csv_on_the_page(
    client, db, manager, agent, people, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    login(client, agent)
    assert client.get("/surveys").status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    login(client, manager)
    page = client.get("/surveys")
    assert page.status_code == 200 and "Enviar una encuesta a una lista" in page.text
    csv_text = "name;email\nAna Ruiz;ana@example.es\nJohn;john@example.com\nAna;ana@example.es\n"
    done = client.post(
        "/surveys/sends",
        data={"csrf_token": csrf(client, "/surveys"), "name": "Lista <CSV>", "kind": "csat"},
        files={"file": ("clientes.csv", csv_text.encode(), "text/csv")},
    )
    assert done.status_code == 200 and "/surveys/sends/" in str(done.url)
    assert "Encuesta enviada a 2 clientes" in done.text
    assert "Lista &lt;CSV&gt;" in done.text and "Lista <CSV>" not in done.text
    run_worker_at(db, mail_settings, utcnow())
    assert len(mailbox.messages) == 2
    # Adding the same file on the send's page surveys nobody again.
    send_path = str(done.url).replace("http://127.0.0.1", "")
    again = client.post(
        f"{send_path}/recipients",
        data={"csrf_token": csrf(client, send_path)},
        files={"file": ("clientes.csv", csv_text.encode(), "text/csv")},
    )
    assert "Encuesta enviada a 0 clientes; 2 ya estaban en este envío" in again.text
    no_csrf = client.post("/surveys/sends", data={"name": "x", "kind": "csat", "emails": "a@b.es"})
    assert no_csrf.status_code == 403
    assert len([i for i in invites(db)]) == 2
