"""A manager owns an error: imports who it hurt, previews and sends the apology, and the
agent sees it when one of them writes in. Real HTTP, a real database, a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from meaculpa.apologies.models import Apology, ErrorCaseLink
from meaculpa.commitments.models import Commitment
from meaculpa.core.clock import utcnow
from meaculpa.customers.models import Customer
from meaculpa.errors.models import AffectedCustomer
from meaculpa.jobs.runner import Runner
from tests.conftest import audit_verbs

CSV = (
    "email,name,language,order_number,amount\n"
    "lucia@example.es,Lucía Fernández,es,A-1001,129.90\n"
    "john@example.com,John Smith,en,A-1002,45.00\n"
    "LUCIA@example.es,,,A-1003,1\n"  # the same customer as line 2
    "not-an-address,,,A-1004,2\n"
    ",Nobody,,A-1005,3\n"
    "ana@example.es,Ana,xx,A-1006,4\n"
    "pedro@example.es,Pedro,es,A-1007,5\n"
)


def make_error(client, person) -> int:
    r = client.post(
        "/api/v1/errors",
        json={"title": "Cobro duplicado en pedidos de marzo", "type": "calculation",
              "severity": "high"},
        headers=person.headers,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def upload(client, person, error_id: int, body: bytes | str):
    return client.post(
        f"/api/v1/errors/{error_id}/affected/import",
        content=body if isinstance(body, bytes) else body.encode(),
        headers={**person.headers, "Content-Type": "text/csv"},
    )


def test_import_reports_bad_rows_with_lines_and_keeps_the_good(client, db, manager):
    error_id = make_error(client, manager)
    r = upload(client, manager, error_id, CSV)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["added"] == 3 and got["customers_created"] == 3 and got["rows"] == 7
    lines = {(x["line"], x["field"]) for x in got["rejected"]}
    assert {x["line"] for x in got["rejected"]} == {4, 5, 6, 7}
    assert (5, "email") in lines and (7, "language") in lines
    dup = next(x for x in got["rejected"] if x["line"] == 4)
    assert "line 2" in dup["reason"]
    with db.reading() as s:
        rows = s.scalars(select(AffectedCustomer).order_by(AffectedCustomer.id)).all()
        assert [r.details["order_number"] for r in rows] == ["A-1001", "A-1002", "A-1007"]
        john = s.scalar(select(Customer).where(Customer.name == "John Smith"))
        assert john.language == "en" and john.failures_count == 1
    # The same file again adds nobody and says so.
    again = upload(client, manager, error_id, CSV).json()
    assert again["added"] == 0 and again["already"] == 3
    assert client.get(f"/api/v1/errors/{error_id}", headers=manager.headers).json()[
        "affected_count"] == 3
    assert "error.affected.import" in audit_verbs(db)


def test_unusable_files_are_refused_whole(client, db, manager):
    error_id = make_error(client, manager)
    r = upload(client, manager, error_id, "email,shoe_size\na@example.es,42\n")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "shoe_size" in r.json()["detail"]
    bad = b"email,name\n" + "b@example.es,Jos\xe9\n".encode("latin-1")
    r = upload(client, manager, error_id, bad + b"c@example.es,Carla\n")
    assert r.status_code == 200
    assert r.json()["added"] == 1
    assert r.json()["rejected"][0]["line"] == 2 and "UTF-8" in r.json()["rejected"][0]["reason"]
    assert upload(client, manager, 999, "email\na@b.es\n").status_code == 404
    with db.reading() as s:
        assert s.scalar(select(func.count(AffectedCustomer.id))) == 1


def test_apology_preview_send_once_and_the_reply_links_the_case(
    client, db, manager, mail_settings, smtp_server
):
    _, _, mailbox = smtp_server
    error_id = make_error(client, manager)
    upload(client, manager, error_id, CSV)
    # One customer asked not to be contacted.
    with db.reading() as s:
        pedro = s.scalar(select(Customer.id).where(Customer.name == "Pedro"))
    r = client.patch(f"/api/v1/customers/{pedro}", json={"opt_out": True},
                     headers=manager.headers)
    assert r.status_code == 200 and r.json()["opt_out"] is True
    promised = (utcnow() + timedelta(days=10)).isoformat()
    r = client.put(
        f"/api/v1/errors/{error_id}/apology",
        json={"remedy_kind": "credit", "remedy_amount": "10", "currency": "EUR",
              "promised_by": promised,
              "body_es": "Hola, {customer_name}: tu pedido {order_number} se cobró dos veces. "
                         "{remedy_sentence}{due_sentence}"},
        headers=manager.headers,
    )
    assert r.status_code == 200, r.text
    es = client.get(f"/api/v1/errors/{error_id}/apology/preview?language=es",
                    headers=manager.headers).json()
    assert "Lucía Fernández" in es["text"] and "A-1001" in es["text"]
    assert "10,00" in es["text"] and es["unknown_variables"] == []
    en = client.get(f"/api/v1/errors/{error_id}/apology/preview?language=en",
                    headers=manager.headers).json()
    assert "John Smith" in en["text"] and "€10.00" in en["text"]
    assert en["subject"].startswith("We are sorry")

    first = client.post(f"/api/v1/errors/{error_id}/apology/send", headers=manager.headers)
    second = client.post(f"/api/v1/errors/{error_id}/apology/send", headers=manager.headers)
    assert first.status_code == 202 and first.json()["enqueue_job"] is True
    assert second.json()["enqueue_job"] is False
    fast = mail_settings.model_copy(update={"outreach_rates": {"email": 1000.0}})
    runner = Runner(db, name="w1", settings=fast)
    runner.run_pending()
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "John Smith <john@example.com>", "Lucía Fernández <lucia@example.es>"]
    # A third click and more work find nothing to send.
    client.post(f"/api/v1/errors/{error_id}/apology/send", headers=manager.headers)
    runner.run_pending()
    assert len(mailbox.messages) == 2
    states = client.get(f"/api/v1/errors/{error_id}/apologies", headers=manager.headers).json()
    assert sorted((a["state"], a["skip_reason"]) for a in states["items"]) == [
        ("sent", None), ("sent", None), ("skipped", "opt_out")]

    # Lucía writes in, angry: her case is linked to the error, not explained again.
    r = client.post(
        "/api/v1/messages",
        json={"channel": "email",
              "customer": {"identities": [{"kind": "email", "value": "lucia@example.es"}]},
              "text": "Es la segunda vez que me pasa, es una vergüenza. Exijo mi dinero ya o "
                      "iré a la OCU."},
        headers=manager.headers,
    )
    assert r.status_code in (200, 201), r.text
    case_id = r.json()["case_id"]
    runner.run_pending()
    with db.reading() as s:
        link = s.scalar(select(ErrorCaseLink))
        assert (link.error_id, link.case_id, link.before_apology) == (error_id, case_id, False)
        apology = s.scalar(select(Apology).where(Apology.case_id == case_id))
        assert apology.state == "complained" and apology.replied_at is not None
        commitment = s.scalar(select(Commitment).where(Commitment.case_id == case_id))
        assert commitment is not None and commitment.due_at is not None
    figures = client.get(f"/api/v1/errors/{error_id}/figures", headers=manager.headers).json()
    assert figures["apologised"] == 2 and figures["complaints_after_apology"] == 1
    assert figures["skipped_opt_out"] == 1
    assert figures["share_apologised_before_complaint"] == 0.6667
    assert figures["remedy_offered_minor"] == {"EUR": 2000}

    assert "apology.send" in audit_verbs(db)
    # The reply templates know it.
    from meaculpa.cases.models import Case
    from meaculpa.playbooks.queries import case_checklist, render_template, template_values

    with db.reading() as s:
        case = s.get(Case, case_id)
        values = template_values(s, case, case_checklist(s, case))
    assert values["remedy"] == "un abono de 10,00\xa0€"
    assert values["proactive_apology"].startswith("Te pedimos disculpas por iniciativa propia el ")
    assert "un abono de 10,00" in render_template("{proactive_apology}", values)
