"""The pages: upload the CSV, write and send the apology, post an update, publish the error;
the public status page and its feeds without signing in; the case panel."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from sqlalchemy import select

from meaculpa.apologies.models import Apology, ErrorPost
from meaculpa.customers.models import Customer
from meaculpa.errors.models import AffectedCustomer
from meaculpa.jobs.runner import Runner
from tests.conftest import audit_verbs
from tests.web.helpers import csrf, csrf_from, login

CSV = (
    "email,name,language,order_number\n"
    "ana@example.es,Ana <b>Ruiz</b>,es,P-1\n"
    "bob@example.com,Bob,en,P-2\n"
    "bad,,,\n"
)


def test_owning_an_error_through_the_pages(client, db, manager, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    login(client, manager)
    client.follow_redirects = False
    token = csrf(client, "/errors/new")
    r = client.post("/errors", data={"csrf_token": token, "title": "Pedidos enviados tarde",
                                     "type": "delivery", "severity": "high"})
    assert r.status_code == 303
    error_url = r.headers["location"]
    error_id = int(error_url.rsplit("/", 1)[1])

    token = csrf(client, error_url)
    r = client.post(f"{error_url}/affected/import", data={"csrf_token": token},
                    files={"file": ("afectados.csv", CSV.encode(), "text/csv")})
    assert r.status_code == 200
    assert "afectados.csv" in r.text and "is not an e-mail address" in r.text
    # Output is escaped: a name with markup shows as text.
    page = client.get(error_url)
    assert "Ana &lt;b&gt;Ruiz&lt;/b&gt;" in page.text and "<b>Ruiz</b>" not in page.text

    # Without the CSRF token nothing is written.
    r = client.post(f"{error_url}/apology", data={"subject_es": "x"})
    assert r.status_code == 403
    token = csrf(client, f"{error_url}/apology")
    r = client.post(f"{error_url}/apology", data={
        "csrf_token": token, "remedy_kind": "credit", "remedy_amount": "5", "currency": "EUR",
        "subject_es": "Lo sentimos, {customer_name}", "subject_en": "Sorry, {customer_name}",
        "body_es": "Tu pedido {order_number} llegó tarde. {remedy_sentence}",
        "body_en": "Your order {order_number} was late. {remedy_sentence}{coupon}",
    })
    assert r.status_code == 303
    page = client.get(f"{error_url}/apology")
    assert "Tu pedido P-1 llegó tarde" in page.text and "Your order P-2 was late" in page.text
    assert "coupon" in page.text  # the unknown variable is pointed out
    for _ in range(2):  # a double click
        token = csrf(client, f"{error_url}/apology")
        r = client.post(f"{error_url}/apology/send", data={"csrf_token": token})
        assert r.status_code == 303
    Runner(db, name="w", settings=mail_settings.model_copy(
        update={"outreach_rates": {"email": 1000.0}})).run_pending()
    assert len(mailbox.messages) == 2
    assert audit_verbs(db).count("apology.send") == 1
    # Ana opts out through the link in her apology: no login, a confirmation, then done.
    ana_mail = next(m for m in mailbox.messages if "ana@example.es" in str(m["To"]))
    link = re.search(r"http://[^\s]+/o/[^\s]+", ana_mail.get_content()).group(0)
    path = link.split("http://127.0.0.1:8000", 1)[1]
    cookies = dict(client.cookies)
    client.cookies.clear()
    page = client.get(path)
    assert page.status_code == 200 and "No quiero recibir estos mensajes" in page.text
    r = client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert r.status_code == 200
    assert client.get(path[:-3] + "xyz").status_code == 404
    with db.reading() as s:
        assert s.scalar(select(Customer.opt_out).where(Customer.name.like("Ana%"))) is True
    assert "customer.update" in audit_verbs(db)
    client.cookies.update(cookies)

    token = csrf(client, error_url)
    r = client.post(f"{error_url}/posts", data={"csrf_token": token, "notify": "1",
                                                "text_es": "Ya hemos enviado todos los pedidos.",
                                                "text_en": "Every order has now shipped."})
    assert r.status_code == 303
    Runner(db, name="w", settings=mail_settings).run_pending()
    updates = [m for m in mailbox.messages if "Every order has now shipped" in m.get_content()
               or "Ya hemos enviado" in m.get_content()]
    assert [str(m["To"]) for m in updates] == ["Bob <bob@example.com>"]  # Ana opted out
    token = csrf(client, error_url)
    r = client.post(f"{error_url}/public", data={
        "csrf_token": token, "public": "1",
        "public_summary": "Algunos pedidos salieron <tarde>.", "postmortem": "Falló el turno."})
    assert r.status_code == 303
    with db.reading() as s:
        assert s.scalar(select(ErrorPost.error_id)) == error_id

    client.cookies.clear()
    status = client.get("/status")
    assert status.status_code == 200
    assert "Pedidos enviados tarde" in status.text and "salieron &lt;tarde&gt;" in status.text
    assert "Falló el turno" not in status.text  # the postmortem waits for the error to close
    feed = client.get("/status.atom?lang=en")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(feed.content)
    texts = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}content")]
    assert "Every order has now shipped." in texts
    data = client.get("/status.json").json()
    assert data["errors"][0]["updates"][0]["text"] == "Ya hemos enviado todos los pedidos."
    assert data["errors"][0]["postmortem"] is None

    # Bob writes in: his case shows that we already apologised.
    r = client.post("/api/v1/messages", headers=manager.headers, json={
        "channel": "email", "text": "Thanks for letting me know.",
        "customer": {"identities": [{"kind": "email", "value": "bob@example.com"}]}})
    case_id = r.json()["case_id"]
    login(client, manager)
    page = client.get(f"/cases/{case_id}")
    assert "Le pedimos disculpas por iniciativa propia el" in page.text
    assert "le ofrecimos un abono de 5,00" in page.text
    with db.reading() as s:
        assert s.scalar(select(Apology.state).where(Apology.case_id == case_id)) == "replied"
        assert s.scalar(select(AffectedCustomer.state).where(
            AffectedCustomer.customer_id == s.scalar(
                select(Apology.customer_id).where(Apology.case_id == case_id)))) == "apologised"
