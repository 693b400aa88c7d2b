"""POST /api/v1/inbound/email: complaints become cases, replies thread, junk is ignored."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import func, select

from meaculpa.cases.actions import do_update_case
from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor, AuditEvent
from meaculpa.core.clock import utcnow
from meaculpa.customers.models import Customer
from meaculpa.messages.models import Message
from meaculpa.notifications.actions import Recipient, do_queue_email
from meaculpa.notifications.models import OutboundEmail
from tests.conftest import audit_verbs
from tests.mail.conftest import PDF_BYTES, SPANISH_COMPLAINT, make_email, post_email
from tests.web.helpers import login


def count(db, model, *where) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_spanish_complaint_becomes_a_case_with_safe_html_and_its_attachment(
    client, db, agent, attachments_dir
):
    r = post_email(client, SPANISH_COMPLAINT, agent)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["case_created"] and body["customer_created"] and body["created"]
    message = body["message"]
    assert message["channel"] == "email"
    assert message["external_id"] == "<CAF4411.lucia@correo.example.es>"
    assert message["subject"] == "Cobro duplicado del pedido 4411 ¿qué ha pasado?"
    assert "Me habéis cobrado dos veces el pedido 4411 (89,90 € cada vez)" in message["text"]
    html = message["html"]
    assert "<b>dos veces</b>" in html
    for hostile in ("<script", "document.cookie", "onerror", "javascript:", "tracker.example",
                    "<style"):
        assert hostile not in html
    [attachment] = message["attachments"]
    sha = hashlib.sha256(PDF_BYTES).hexdigest()
    assert attachment == {
        "filename": "extracto bancaño.pdf",
        "content_type": "application/pdf",
        "size": len(PDF_BYTES),
        "sha256": sha,
        "url": f"/attachments/{sha}",
    }
    assert (attachments_dir / sha[:2] / sha).read_bytes() == PDF_BYTES
    with db.reading() as s:
        case = s.get(Case, body["case_id"])
        customer = s.get(Customer, body["customer_id"])
        assert case.channel == "email" and case.language == "es"
        assert case.subject == "Cobro duplicado del pedido 4411 ¿qué ha pasado?"
        assert customer.name == "Lucía Fernández"
        assert [i.value for i in customer.identities] == ["lucia.fernandez@correo.example.es"]
        stored = s.get(Message, message["id"])
        assert stored.sent_at.isoformat() == "2026-03-02T09:15:00+00:00"
    assert "message.create" in audit_verbs(db, "message")

    # The same e-mail again (a retry, or IMAP after the API): stored once.
    again = post_email(client, SPANISH_COMPLAINT, agent)
    assert again.status_code == 200 and again.json()["message"]["id"] == message["id"]
    assert count(db, Message) == 1


def test_attachment_download_needs_a_signed_in_user(client, db, agent):
    body = post_email(client, SPANISH_COMPLAINT, agent).json()
    url = body["message"]["attachments"][0]["url"]
    anonymous = client.get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    login(client, agent)
    r = client.get(url)
    assert r.status_code == 200 and r.content == PDF_BYTES
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "extracto" in r.headers["content-disposition"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/attachments/" + "0" * 64).status_code == 404
    assert client.get("/attachments/../../etc/passwd").status_code == 404


def test_html_attachment_is_served_as_bytes_not_as_a_page(client, db, agent):
    raw = make_email(attachments=[("page.html", "text/html", b"<script>alert(1)</script>")])
    body = post_email(client, raw, agent).json()
    [attachment] = body["message"]["attachments"]
    login(client, agent)
    r = client.get(attachment["url"])
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].startswith("attachment;")


def test_reply_with_in_reply_to_lands_on_the_same_case(client, db, agent):
    first = post_email(client, SPANISH_COMPLAINT, agent).json()
    reply = make_email(
        sender="lucia.fernandez@correo.example.es",
        subject="Re: Cobro duplicado del pedido 4411 ¿qué ha pasado?",
        text="Os adjunto también el ticket.\n\nEl lun, 2 mar 2026, Lucía escribió:\n> Me habéis "
        "cobrado dos veces\n> el pedido 4411",
        message_id="<reply-2@correo.example.es>",
        in_reply_to="<CAF4411.lucia@correo.example.es>",
        references="<CAF4411.lucia@correo.example.es>",
    )
    r = post_email(client, reply, agent)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["case_id"] == first["case_id"] and not body["case_created"]
    assert body["threaded_by"] == "headers"
    # The quoted earlier message is cut from the text.
    assert body["message"]["text"] == "Os adjunto también el ticket."


def test_in_reply_to_targets_the_thread_case_not_the_newest_open_one(client, db, agent):
    first = post_email(client, SPANISH_COMPLAINT, agent).json()
    with db.transaction() as s:
        customer = s.get(Customer, first["customer_id"])
        from meaculpa.cases.actions import do_open_case

        other = do_open_case(s, agent.actor, customer, channel="phone", subject="Llamada")
        other_id = other.id
    reply = make_email(
        sender="lucia.fernandez@correo.example.es",
        subject="Re: cobro",
        message_id="<reply-3@correo.example.es>",
        in_reply_to="<CAF4411.lucia@correo.example.es>",
    )
    body = post_email(client, reply, agent).json()
    assert body["case_id"] == first["case_id"] != other_id


def test_reply_to_our_outbound_email_threads_by_its_message_id(client, db, agent):
    first = post_email(client, SPANISH_COMPLAINT, agent).json()
    with db.transaction() as s:
        email = do_queue_email(
            s, Actor.system("t"), to=Recipient("lucia.fernandez@correo.example.es"),
            subject="Re: Cobro duplicado [MC-1]", text="Lo sentimos.", kind="reply",
            mail_domain="olivar.example", case_id=first["case_id"],
        )
        our_id = email.message_id
    # A mail client that drops the customer's own Message-ID from References.
    reply = make_email(sender="lucia.fernandez@correo.example.es", subject="Re: gracias",
                       message_id="<r4@correo.example.es>", in_reply_to=our_id)
    body = post_email(client, reply, agent).json()
    assert body["case_id"] == first["case_id"] and body["threaded_by"] == "headers"


def test_subject_reference_threads_only_into_the_senders_own_case(client, db, agent):
    lucia = post_email(client, SPANISH_COMPLAINT, agent).json()
    ref = lucia["case_reference"]
    # Another customer quotes Lucía's reference: never lands in her case.
    intruder = make_email(sender="pablo@otro.example", subject=f"Sobre el caso [{ref}]",
                          message_id="<p1@otro.example>")
    body = post_email(client, intruder, agent).json()
    assert body["case_id"] != lucia["case_id"] and body["case_created"]
    assert body["threaded_by"] is None
    with db.reading() as s:
        assert s.get(Case, lucia["case_id"]).message_count == 1

    # Lucía's own message with the reference (no threading headers) joins her case.
    own = make_email(sender="lucia.fernandez@correo.example.es",
                     subject=f"Otra cosa sobre {ref.lower()}", message_id="<l5@correo.example.es>")
    mine = post_email(client, own, agent).json()
    assert mine["case_id"] == lucia["case_id"] and mine["threaded_by"] == "subject"


def test_in_reply_to_someone_elses_thread_does_not_leak(client, db, agent):
    lucia = post_email(client, SPANISH_COMPLAINT, agent).json()
    forged = make_email(sender="mallory@otro.example", subject="Re: Cobro duplicado",
                        message_id="<x1@otro.example>",
                        in_reply_to="<CAF4411.lucia@correo.example.es>")
    body = post_email(client, forged, agent).json()
    assert body["case_id"] != lucia["case_id"] and body["customer_id"] != lucia["customer_id"]


def _resolve(db, case_id, agent, days_ago):
    with db.transaction() as s:
        case = s.get(Case, case_id)
        do_update_case(s, agent.actor, case, status="resolved")
        case.resolved_at = utcnow() - timedelta(days=days_ago)


def test_reply_to_a_recently_resolved_case_reopens_it(client, db, agent):
    first = post_email(client, SPANISH_COMPLAINT, agent).json()
    _resolve(db, first["case_id"], agent, days_ago=3)
    reply = make_email(sender="lucia.fernandez@correo.example.es", subject="Re: cobro",
                       text="Sigue sin llegar la devolución.", message_id="<r6@correo.example.es>",
                       in_reply_to="<CAF4411.lucia@correo.example.es>")
    body = post_email(client, reply, agent).json()
    assert body["case_id"] == first["case_id"] and body["reopened"]
    with db.reading() as s:
        case = s.get(Case, first["case_id"])
        assert case.status == "in_progress" and case.reopened_count == 1
        assert case.message_count == 2
        reopen = s.scalar(select(AuditEvent).where(AuditEvent.verb == "case.reopen"))
        assert reopen.after["reason"] == "the customer answered by e-mail"


def test_reply_long_after_resolution_opens_a_new_case(client, db, agent):
    first = post_email(client, SPANISH_COMPLAINT, agent).json()
    _resolve(db, first["case_id"], agent, days_ago=30)
    reply = make_email(sender="lucia.fernandez@correo.example.es", subject="Re: cobro",
                       message_id="<r7@correo.example.es>",
                       in_reply_to="<CAF4411.lucia@correo.example.es>")
    body = post_email(client, reply, agent).json()
    assert body["case_id"] != first["case_id"] and body["case_created"]
    assert not body["reopened"] and body["threaded_by"] is None
    with db.reading() as s:
        assert s.get(Case, first["case_id"]).status == "resolved"


def test_auto_replies_are_not_cases(client, db, agent):
    cases = [
        {"headers": {"Auto-Submitted": "auto-replied"}},
        {"headers": {"X-Autoreply": "yes"}},
        {"headers": {"X-Autorespond": "Out of office"}},
        {"headers": {"Precedence": "bulk"}},
        {"subject": "Fuera de la oficina: Re: su pedido"},
        {"subject": "Respuesta automática: Cobro duplicado"},
        {"subject": "Out of Office: back on Monday"},
        {"subject": "Automatic reply: your order"},
    ]
    for i, extra in enumerate(cases):
        raw = make_email(message_id=f"<auto{i}@correo.example.es>", **extra)
        r = post_email(client, raw, agent)
        assert r.status_code == 200, (extra, r.text)
        assert r.json()["ignored"] == "auto-reply", extra
    assert count(db, Message) == 0 and count(db, Case) == 0 and count(db, Customer) == 0
    # "Auto-Submitted: no" is a person.
    person = make_email(headers={"Auto-Submitted": "no"}, message_id="<human@correo.example.es>")
    assert post_email(client, person, agent).status_code == 201


def _bounce_for(message_id: str, action: str = "failed") -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.correo.example.es>\r\n"
        "To: atencion@olivar.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@mx.correo.example.es>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n"
        "--B\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is the mail system. Your message could not be delivered.\r\n"
        "--B\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.correo.example.es\r\n"
        "\r\n"
        "Final-Recipient: rfc822; lucia.fernandez@correo.example.es\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <lucia.fernandez@correo.example.es>: "
        "Recipient address rejected: User unknown\r\n"
        "--B\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        "From: Olivar Hogar <atencion@olivar.example>\r\n"
        "To: lucia.fernandez@correo.example.es\r\n"
        "Subject: Sentimos el cobro duplicado\r\n"
        f"Message-ID: {message_id}\r\n"
        "--B--\r\n"
    ).encode()


def test_bounce_marks_our_email_bounced_and_is_not_a_case(client, db, agent):
    with db.transaction() as s:
        email = do_queue_email(
            s, Actor.system("t"), to=Recipient("lucia.fernandez@correo.example.es"),
            subject="Sentimos el cobro duplicado", text="Lo sentimos.", kind="apology",
            mail_domain="olivar.example",
        )
        email.status = "sent"
        email_id, our_id = email.id, email.message_id
    r = post_email(client, _bounce_for(our_id), agent)
    assert r.status_code == 200, r.text
    assert r.json() == {"ignored": "bounce", "reason": r.json()["reason"],
                        "outbound_email_id": email_id}
    with db.reading() as s:
        email = s.get(OutboundEmail, email_id)
        assert email.status == "bounced"
        assert "5.1.1" in email.last_error and "User unknown" in email.last_error
    assert audit_verbs(db, "email")[-1] == "email.bounce"
    assert count(db, Message) == 0 and count(db, Customer) == 0
    # The same report again changes nothing more.
    post_email(client, _bounce_for(our_id), agent)
    assert audit_verbs(db, "email").count("email.bounce") == 1


def test_delay_report_does_not_mark_bounced(client, db, agent):
    with db.transaction() as s:
        email = do_queue_email(
            s, Actor.system("t"), to=Recipient("lucia.fernandez@correo.example.es"),
            subject="x", text="y", kind="notice", mail_domain="olivar.example",
        )
        email_id, our_id = email.id, email.message_id
    r = post_email(client, _bounce_for(our_id, action="delayed"), agent)
    assert r.json()["ignored"] == "bounce"
    with db.reading() as s:
        assert s.get(OutboundEmail, email_id).status == "queued"


def test_malformed_mime_is_422_and_nothing_is_stored(client, db, agent, attachments_dir):
    broken = [
        b"",
        b"\x00\xff\xfe not an e-mail at all",
        b"From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed\r\n\r\nno boundary",
        b"From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=ZZ\r\n\r\n"
        b"the boundary never comes",
        b"From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=ZZ\r\n\r\n"
        b"--ZZ\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"JVBERi0xLjQKJcOkw7zDtsOfCjIgMC\r\n--ZZ\r\nContent-Type: text/plain\r\n\r\ncut he",
        b"Subject: no sender\r\n\r\nhola",
        b"From: not an address\r\nSubject: x\r\n\r\nhola",
    ]
    for raw in broken:
        r = post_email(client, raw, agent)
        assert r.status_code == 422, (raw, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].endswith("/malformed-email") and r.json()["detail"]
    assert count(db, Message) == 0 and count(db, Customer) == 0 and count(db, Case) == 0
    assert not attachments_dir.exists() or not any(attachments_dir.rglob("*"))


def test_huge_html_is_refused(client, db, agent, monkeypatch):
    monkeypatch.setenv("MEACULPA_MAIL_MAX_HTML_CHARS", "5000")
    raw = make_email(text=None, html="<p>" + "<b>grito</b> " * 2000 + "</p>")
    r = post_email(client, raw, agent)
    assert r.status_code == 422 and "HTML" in r.json()["detail"]
    assert count(db, Message) == 0


def test_oversized_attachment_is_dropped_with_a_note(client, db, agent, monkeypatch,
                                                     attachments_dir):
    monkeypatch.setenv("MEACULPA_MAIL_MAX_ATTACHMENT_BYTES", "1000")
    monkeypatch.setenv("MEACULPA_MAIL_MAX_ATTACHMENTS_TOTAL_BYTES", "1500")
    small, big, third = b"a" * 800, b"b" * 5000, b"c" * 900
    raw = make_email(attachments=[("foto.jpg", "image/jpeg", small),
                                  ("video.mp4", "video/mp4", big),
                                  ("ticket.png", "image/png", third)])
    r = post_email(client, raw, agent)
    assert r.status_code == 201, r.text
    body = r.json()
    assert [a["filename"] for a in body["message"]["attachments"]] == ["foto.jpg"]
    assert body["dropped_attachments"] == [
        {"filename": "video.mp4", "size": 5000, "reason": "too_large"},
        {"filename": "ticket.png", "size": 900, "reason": "over_total"},
    ]
    text = body["message"]["text"]
    assert text.startswith("El pedido 4411 no ha llegado todavía.")
    assert "«video.mp4»" in text and "no guardado" in text and "«ticket.png»" in text
    files = [p for p in attachments_dir.rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in files] == [small]


def test_wrong_content_type_and_size_limit_and_token(client, db, agent, monkeypatch):
    r = client.post("/api/v1/inbound/email", content=SPANISH_COMPLAINT,
                    headers={**agent.headers, "Content-Type": "application/json"})
    assert r.status_code == 415
    r = client.post("/api/v1/inbound/email", content=SPANISH_COMPLAINT,
                    headers={"Content-Type": "message/rfc822"})
    assert r.status_code == 401
    monkeypatch.setenv("MEACULPA_MAIL_MAX_RAW_BYTES", "1024")
    r = post_email(client, SPANISH_COMPLAINT, agent)
    assert r.status_code == 413
    assert count(db, Message) == 0


def test_email_without_message_id_is_still_stored_once(client, db, agent):
    raw = make_email(message_id=None)
    first = post_email(client, raw, agent)
    second = post_email(client, raw, agent)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["message"]["external_id"].endswith("@no-message-id.invalid>")
    assert count(db, Message) == 1


def test_sent_at_in_the_future_is_replaced_by_arrival(client, db, agent):
    raw = make_email(message_id="<future@x.example>")
    raw = raw.replace(b"Date: ", b"Date: Thu, 01 Jan 2099 00:00:00 +0000\r\nX-Old-Date: ", 1)
    before = utcnow()
    body = post_email(client, raw, agent).json()
    assert body["message"]["sent_at"] >= before.isoformat()[:19]
    assert not body["message"]["sent_at"].startswith("2099")
