"""Building and sending an e-mail over SMTP (plain, STARTTLS or implicit TLS)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

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
