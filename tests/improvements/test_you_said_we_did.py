"""You said, we did: the customers who reported a problem hear what changed, in their
language, once, at a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from meaculpa.core.clock import override
from meaculpa.improvements.models import CustomerNotice
from meaculpa.notifications.models import OutboundEmail
from tests.conftest import audit_verbs
from tests.improvements.conftest import T0, add_reports, make_customer, make_problem, run_worker_at

SUMMARY = {
    "es": "Desde hoy embalamos la vajilla en cajas dobles con separadores.",
    "en": "From today we pack crockery in double boxes with dividers.",
}


def _action(client, manager, problem_ids, summary=SUMMARY):
    r = client.post(
        "/api/v1/improvements",
        headers=manager.headers,
        json={
            "title": "Cajas dobles para la vajilla",
            "kind": "process_fix",
            "owner_id": manager.id,
            "problem_ids": problem_ids,
            "customer_summary": summary,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_reporters_are_told_in_their_language_once(db, client, manager, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    broken = make_problem(db, "Vajilla rota")
    late = make_problem(db, "Llega tarde")
    lucia = make_customer(db, "Lucía Fernández", "lucia@example.es", "es")
    hannah = make_customer(db, "Hannah Brown", "hannah@example.com", "en")
    pablo = make_customer(db, "Pablo Ruiz", "pablo@example.es", "es")
    nomail = make_customer(db, "Sin Correo", None, "es")
    # Lucía reported both problems, twice: she is still told once.
    add_reports(db, broken, [T0 - timedelta(days=3), T0 - timedelta(days=2)], [lucia, lucia])
    add_reports(db, broken, [T0 - timedelta(days=2)], [hannah], language="en")
    add_reports(db, late, [T0 - timedelta(days=1)] * 3, [lucia, pablo, nomail])
    add_reports(db, broken, [T0 - timedelta(days=1)], [None])  # a mention with no identity
    # Pablo asked for no such e-mails (through the customers API).
    r = client.patch(
        f"/api/v1/customers/{pablo}", headers=manager.headers, json={"opt_out": True}
    )
    assert r.status_code == 200 and r.json()["opt_out"] is True

    action_id = _action(client, manager, [broken, late])
    with override(lambda: T0):
        r = client.post(
            f"/api/v1/improvements/{action_id}/status",
            headers=manager.headers,
            json={"status": "done"},
        )
    assert r.status_code == 200, r.text
    assert mailbox.messages == []  # nothing is sent inside the request
    run_worker_at(db, mail_settings, T0 + timedelta(minutes=1))
    run_worker_at(db, mail_settings, T0 + timedelta(minutes=10))

    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        "Hannah Brown <hannah@example.com>",
        "Lucía Fernández <lucia@example.es>",
    ]
    [es] = mailbox.to("lucia@example.es")
    assert es["Subject"] == "Nos lo dijo y lo hemos cambiado"
    body = es.get_content()
    assert "Hola, Lucía Fernández:" in body and SUMMARY["es"] in body
    assert SUMMARY["en"] not in body
    [en] = mailbox.to("hannah@example.com")
    assert en["Subject"] == "You told us, and we changed it"
    body = en.get_content()
    assert "Hello Hannah Brown," in body and SUMMARY["en"] in body

    with db.reading() as s:
        notices = {
            n.customer_id: n
            for n in s.scalars(select(CustomerNotice).where(CustomerNotice.action_id == action_id))
        }
        assert {c: n.outcome for c, n in notices.items()} == {
            lucia: "sent",
            hannah: "sent",
            pablo: "opted_out",
            nomail: "no_address",
        }
        assert notices[hannah].language == "en"
        email = s.get(OutboundEmail, notices[lucia].email_id)
        assert email.kind == "notice" and email.customer_id == lucia
    assert audit_verbs(db, "improvement_action").count("improvement.tell_customer") == 4

    # Running the job again tells nobody twice.
    from meaculpa.jobs.queue import enqueue

    with db.transaction() as s:
        enqueue(s, "improvements.tell_customers", {"action_id": action_id})
    run_worker_at(db, mail_settings, T0 + timedelta(minutes=20))
    assert len(mailbox.messages) == 2

    listed = client.get(
        f"/api/v1/improvements/{action_id}/customer-notices", headers=manager.headers
    ).json()
    assert len(listed) == 4
    assert (
        client.get(f"/api/v1/improvements/{action_id}", headers=manager.headers).json()[
            "customers_told"
        ]
        == 2
    )


def test_done_is_refused_without_text_in_a_reporters_language(db, client, manager, smtp_server):
    problem = make_problem(db, "Vajilla rota")
    hannah = make_customer(db, "Hannah Brown", "hannah@example.com", "en")
    add_reports(db, problem, [T0 - timedelta(days=1)], [hannah], language="en")
    action_id = _action(client, manager, [problem], summary={"es": SUMMARY["es"]})
    r = client.post(
        f"/api/v1/improvements/{action_id}/status",
        headers=manager.headers,
        json={"status": "done"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["languages"] == ["en"]
    body = client.get(f"/api/v1/improvements/{action_id}", headers=manager.headers).json()
    assert body["status"] == "planned" and body["done_at"] is None
    # With the English text it goes through.
    r = client.patch(
        f"/api/v1/improvements/{action_id}",
        headers=manager.headers,
        json={"customer_summary": SUMMARY},
    )
    assert r.status_code == 200
    r = client.post(
        f"/api/v1/improvements/{action_id}/status",
        headers=manager.headers,
        json={"status": "done"},
    )
    assert r.status_code == 200 and r.json()["status"] == "done"


def test_the_opt_out_link_in_the_e_mail_is_respected_next_time(
    db, client, manager, mail_settings, smtp_server
):
    import re

    from tests.web.helpers import csrf_from

    _, _, mailbox = smtp_server
    problem = make_problem(db, "Vajilla rota")
    lucia = make_customer(db, "Lucía Fernández", "lucia@example.es", "es")
    add_reports(db, problem, [T0 - timedelta(days=2)], [lucia])
    first = _action(client, manager, [problem])
    second = _action(client, manager, [problem])
    with override(lambda: T0):
        client.post(
            f"/api/v1/improvements/{first}/status", headers=manager.headers, json={"status": "done"}
        )
    run_worker_at(db, mail_settings, T0 + timedelta(minutes=1))
    [mail] = mailbox.to("lucia@example.es")
    body = mail.get_content()
    assert "Si prefiere no recibir correos como este:" in body
    path = re.search(r"http://127\.0\.0\.1:8000(/o/\S+)", body).group(1)

    # A tampered link is refused; the real one asks, then records the wish.
    assert client.get(path[:-3] + "xyz").status_code == 404
    page = client.get(path)
    assert page.status_code == 200 and "No quiero recibir estos mensajes" in page.text
    assert client.post(path, data={}).status_code == 403
    done = client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "no le enviaremos estos mensajes" in done.text
    customer = client.get(f"/api/v1/customers/{lucia}", headers=manager.headers).json()
    assert customer["opt_out"] is True
    assert "customer.update" in audit_verbs(db, "customer")

    with override(lambda: T0 + timedelta(minutes=2)):
        client.post(
            f"/api/v1/improvements/{second}/status",
            headers=manager.headers,
            json={"status": "done"},
        )
    run_worker_at(db, mail_settings, T0 + timedelta(minutes=5))
    assert len(mailbox.messages) == 1
    with db.reading() as s:
        outcome = s.scalar(select(CustomerNotice.outcome).where(CustomerNotice.action_id == second))
    assert outcome == "opted_out"


def test_many_reporters_are_told_in_batches(
    db, client, manager, mail_settings, smtp_server, monkeypatch
):
    from meaculpa.improvements import jobs

    monkeypatch.setattr(jobs, "TELL_BATCH", 2)
    _, _, mailbox = smtp_server
    problem = make_problem(db, "Vajilla rota")
    people = [make_customer(db, f"Cliente {i}", f"c{i}@example.es", "es") for i in range(5)]
    add_reports(db, problem, [T0 - timedelta(days=1)] * 5, people)
    action_id = _action(client, manager, [problem])
    with override(lambda: T0):
        client.post(
            f"/api/v1/improvements/{action_id}/status",
            headers=manager.headers,
            json={"status": "done"},
        )
    run_worker_at(db, mail_settings, T0 + timedelta(minutes=1))
    assert sorted(str(m["To"]) for m in mailbox.messages) == [
        f"Cliente {i} <c{i}@example.es>" for i in range(5)
    ]
    with db.reading() as s:
        from meaculpa.jobs.models import Job

        kinds = list(s.scalars(select(Job.kind).where(Job.kind == "improvements.tell_customers")))
    assert len(kinds) == 3
