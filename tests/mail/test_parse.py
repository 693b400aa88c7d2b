"""Reading raw e-mail: charsets, MIME shapes, auto-replies, bounces, hostile input."""

from __future__ import annotations

import pytest

from meaculpa.mail.parse import (
    MailError,
    clean_filename,
    decode_bytes,
    parse_email,
    strip_quoted_reply,
)
from tests.mail.conftest import crlf, make_email


def test_unknown_and_lying_charsets_never_crash():
    raw = crlf(
        "From: x@y.example\nSubject: =?x-klingon?Q?hola?= =?utf-8?B?w7E=?=\n"
        "Content-Type: text/plain; charset=x-klingon\n\nca\xf1a y \xe9xito"
    ).encode("latin-1")
    mail = parse_email(raw)
    assert mail.text == "caña y éxito"
    assert "ñ" in mail.subject
    assert decode_bytes(b"\xff\xfe\x00bad", "utf-8") == "\ufffd\ufffd\x00bad"
    assert decode_bytes("niño".encode(), "base64") == "niño"  # not a text codec: ignored
    assert decode_bytes("€".encode("cp1252"), "iso-8859-1") == "€"


def test_eight_bit_headers_without_encoding_are_read_as_utf8():
    raw = "From: José <jose@y.example>\r\nSubject: Pedido dañado\r\n\r\nhola".encode()
    mail = parse_email(raw)
    assert mail.subject == "Pedido dañado" and mail.from_name == "José"


def test_html_only_gives_sanitised_html_and_derived_text():
    raw = make_email(text=None, html="<div><p>Hola<br>el <b>pedido</b> &amp; la factura</p>"
                     "<iframe src='https://evil.example'></iframe><p onclick='x()'>fin</p></div>")
    mail = parse_email(raw)
    assert "<iframe" not in mail.html and "onclick" not in mail.html
    assert mail.text == "Hola\nel pedido & la factura\nfin"


def test_nested_multiparts_and_forwarded_message():
    inner = make_email(sender="otro@z.example", subject="Factura 12", text="adjunto")
    raw = crlf(
        "From: a@b.example\nSubject: Fwd\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="A"\n\n'
        '--A\nContent-Type: multipart/related; boundary="B"\n\n'
        '--B\nContent-Type: multipart/alternative; boundary="C"\n\n'
        "--C\nContent-Type: text/plain; charset=utf-8\n\nTexto plano\n"
        "--C\nContent-Type: text/html; charset=utf-8\n\n<p>Texto <i>html</i></p>\n--C--\n"
        "--B\nContent-Type: image/png\nContent-ID: <img1>\nContent-Transfer-Encoding: base64\n\n"
        "iVBORw0KGgo=\n--B--\n"
        "--A\nContent-Type: message/rfc822\n\n"
    ).encode() + inner + b"\r\n--A--\r\n"
    mail = parse_email(raw)
    assert mail.text == "Texto plano" and "<i>html</i>" in mail.html
    names = [(a.filename, a.content_type) for a in mail.attachments]
    assert names == [("attachment-1.png", "image/png"), ("Factura 12.eml", "message/rfc822")]
    assert b"Subject: Factura 12" in mail.attachments[1].data


def test_absurd_nesting_is_refused():
    raw = b"From: a@b.example\r\nSubject: x\r\n"
    body = b""
    for i in range(40):
        raw_part = f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
        body += raw_part
    body += b"Content-Type: text/plain\r\n\r\nhola\r\n"
    for i in reversed(range(40)):
        body += f"--b{i}--\r\n".encode()
    with pytest.raises(MailError, match="levels deep"):
        parse_email(raw + body)


def test_filenames_are_cleaned():
    assert clean_filename("../../etc/passwd", "text/plain", 1) == "passwd"
    assert clean_filename("C:\\Users\\x\\foto.jpg", "image/jpeg", 1) == "foto.jpg"
    assert clean_filename("..", "application/pdf", 2) == "attachment-2.pdf"
    assert clean_filename("a\x00b\x1fc.txt", "text/plain", 1) == "abc.txt"
    long = clean_filename("x" * 400 + ".pdf", "application/pdf", 1)
    assert len(long) == 255 and long.endswith(".pdf")


def test_quoted_replies_are_cut_only_at_the_end():
    gmail = ("Vale, gracias.\n\nOn Mon, 2 Mar 2026 at 10:00, Olivar Hogar <a@o.example>\n"
             "wrote:\n> Hola\n> Lucía")
    assert strip_quoted_reply(gmail) == "Vale, gracias."
    outlook = "Perfecto.\n\n-----Mensaje original-----\nDe: Olivar\nEnviado: lunes\n\nHola"
    assert strip_quoted_reply(outlook) == "Perfecto."
    outlook2 = "Ok\n________________________________\nFrom: Olivar\nSent: Monday\nHello"
    assert strip_quoted_reply(outlook2) == "Ok"
    inline = "> ¿Cuál es su pedido?\nEl 4411.\n> ¿Y la fecha?\nEl lunes."
    assert strip_quoted_reply(inline) == inline
    only_quote = "> todo citado\n> nada más"
    assert strip_quoted_reply(only_quote) == only_quote


def test_first_message_keeps_its_quotes():
    raw = make_email(text="Mirad lo que me enviasteis:\n> Su pedido llegará mañana")
    assert parse_email(raw).text.endswith("> Su pedido llegará mañana")


def test_subject_only_complaint_is_kept():
    raw = b"From: a@b.example\r\nSubject: No me ha llegado el pedido\r\n\r\n"
    assert parse_email(raw).text == "No me ha llegado el pedido"


def test_subjects_that_look_automatic_but_are_not():
    for subject in ("Ausencia de respuesta a mi queja", "De vacaciones y sin maleta",
                    "Re: automático no funciona"):
        assert parse_email(make_email(subject=subject)).kind == "message", subject


def test_plain_mailer_daemon_bounce_and_read_receipts():
    raw = crlf(
        "From: MAILER-DAEMON\nSubject: failure notice\n\n"
        "Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver your message\n"
        "<lucia@x.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
        "--- Below this line is a copy of the message.\n\n"
        "Message-ID: <abc@meaculpa.localhost>\nSubject: Sentimos\n"
    ).encode()
    mail = parse_email(raw)
    assert mail.kind == "bounce" and mail.bounce is not None
    assert mail.bounce.original_message_ids == ("<abc@meaculpa.localhost>",)
    assert "no mailbox" in mail.bounce.diagnostic and mail.bounce.failed

    receipt = crlf(
        "From: lucia@x.example\nSubject: Leído: Sentimos\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="R"\n\n'
        "--R\nContent-Type: text/plain\n\nLeído\n--R--\n"
    ).encode()
    assert parse_email(receipt).kind == "auto-reply"


def test_long_message_ids_are_digested_consistently():
    long_id = "<" + "a" * 300 + "@x.example>"
    raw = make_email(message_id=long_id, in_reply_to=long_id)
    mail = parse_email(raw)
    assert mail.message_id == mail.in_reply_to[0]
    assert len(mail.message_id) < 255 and mail.message_id.endswith("@long-id.invalid>")
