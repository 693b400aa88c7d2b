"""Building and sending an e-mail over SMTP (plain, STARTTLS or implicit TLS)."""

from __future__ import annotations

import base64
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from meaculpa.core.clock import utcnow
from meaculpa.notifications.models import OutboundEmail
from meaculpa.settings import Settings


def build_message(email: OutboundEmail, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = formataddr((email.to_name, email.to_address)) if email.to_name else email.to_address
    msg["Subject"] = email.subject
    msg["Message-ID"] = email.message_id
    msg["Date"] = format_datetime(utcnow())
    # Tell well-behaved auto-responders not to answer (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated" if email.kind != "reply" else "no"
    if email.in_reply_to:
        msg["In-Reply-To"] = email.in_reply_to
    if email.references:
        msg["References"] = " ".join(email.references)
    msg.set_content(email.text)
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    # After the body: set_content() would drop a Content-Language set earlier.
    msg["Content-Language"] = email.language
    return msg


def _header_text(value: str) -> str:
    """A header value as ASCII: kept as is when it is, else RFC 2047 base64 words."""
    value = " ".join(value.split())
    if value.isascii():
        return value
    words, chunk = [], ""
    for ch in value:
        if len((chunk + ch).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += ch
    words.append(chunk)
    return "\r\n ".join(
        "=?utf-8?b?" + base64.b64encode(w.encode()).decode("ascii") + "?=" for w in words
    )


def _address(value: str) -> str:
    name, address = parseaddr(value)
    if not name or name.isascii():
        return formataddr((name, address)) if address else value
    return f"{_header_text(name)} <{address}>"


def plain_message_bytes(email: OutboundEmail, settings: Settings) -> bytes:
    """A plain-text e-mail as bytes, written directly: the headers of :func:`build_message`
    at a fraction of its cost, for senders of many e-mails (the proactive apologies)."""
    if email.to_name and email.to_name.isascii():
        to = formataddr((email.to_name, email.to_address))
    elif email.to_name:
        # An encoded word is an atom: quotes, commas and angle brackets need no escaping.
        to = f"{_header_text(email.to_name)} <{email.to_address}>"
    else:
        to = email.to_address
    body = base64.encodebytes(email.text.encode("utf-8")).replace(b"\n", b"\r\n")
    head = (
        f"From: {_address(settings.mail_from)}\r\n"
        f"To: {to}\r\n"
        f"Subject: {_header_text(email.subject)}\r\n"
        f"Message-ID: {email.message_id}\r\n"
        f"Date: {format_datetime(utcnow())}\r\n"
        "Auto-Submitted: auto-generated\r\n"
        f"Content-Language: {email.language}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head.encode("ascii") + body


def connect(settings: Settings) -> smtplib.SMTP:
    """An open, authenticated connection to the configured SMTP server (the caller quits it)."""
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        if settings.smtp_security == "starttls":
            server.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            server.login(settings.smtp_username, settings.smtp_password)
    except BaseException:
        server.close()
        raise
    return server


def send(msg: EmailMessage, settings: Settings) -> None:
    """Hand ``msg`` to the configured SMTP server; raises on any refusal."""
    with connect(settings) as server:
        server.send_message(msg)
