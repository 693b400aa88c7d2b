"""Reading an inbound e-mail (RFC 5322 / MIME bytes) into what meaculpa keeps. Pure: no database.

:func:`parse_email` never stores anything; it either returns a :class:`ParsedMail` or raises
:class:`MailError` with a sentence saying what is wrong (the API answers 422 with it).

- Text: the ``text/plain`` body is preferred; an HTML body is sanitised (``core.html``) and,
  when there is no plain text, the text is derived from it. Quoted earlier messages at the end
  of a reply ("On ... wrote:" / "El ... escribió:" followed by ``>`` lines, Outlook's
  "Original Message" block) are cut from the text; the HTML is kept whole.
- Charsets: a declared charset Python does not know, or none, is read as UTF-8 and else as
  Windows-1252; undecodable bytes become U+FFFD. ISO-8859-1 is read as Windows-1252, as
  browsers do. Nothing here raises on a charset.
- Malformed MIME (a multipart without its boundary, undecodable base64, absurd nesting) and
  HTML above a limit raise :class:`MailError`.
- ``kind`` says what the e-mail is: ``message`` (a person wrote), ``auto-reply`` (RFC 3834
  headers, ``Precedence: bulk|junk|auto_reply``, out-of-office subjects in Spanish and English,
  read receipts) or ``bounce`` (``multipart/report; report-type=delivery-status``, or sent by
  MAILER-DAEMON / postmaster). Only ``message`` becomes a case.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import errors as email_errors
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any, Literal

from meaculpa.core.clock import utcnow
from meaculpa.core.html import html_to_text, sanitise_html
from meaculpa.core.i18n import normalise_language
from meaculpa.customers.identity import IdentityError, normalise_identity

MAX_TEXT_CHARS = 100_000  # what a message may hold (messages.schemas.MAX_TEXT)
MAX_SANITISED_HTML_CHARS = 500_000
MAX_PARTS = 500
MAX_DEPTH = 25
MAX_REFERENCES = 50

Kind = Literal["message", "auto-reply", "bounce"]


class MailError(ValueError):
    """An e-mail that cannot be taken; the message says why, in a sentence."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Bounce:
    """What a delivery report says: which of our e-mails failed, and why."""

    original_message_ids: tuple[str, ...]
    diagnostic: str
    # False for reports that only say "delayed" (or "delivered"): nothing failed yet.
    failed: bool = True


@dataclass(frozen=True)
class ParsedMail:
    kind: Kind
    from_address: str
    from_name: str
    subject: str
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    language: str | None
    sent_at: datetime | None
    reason: str = ""  # why it is an auto-reply or a bounce
    bounce: Bounce | None = None
    digest: str = ""  # SHA-256 of the raw bytes: the identity of an e-mail without Message-ID

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this e-mail answers, nearest first (In-Reply-To, then References)."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))


# --- small helpers -------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MSGID = re.compile(r"<([^<>\s]{1,998})>")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_LATIN1 = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "latin_1"}


def _clean(value: str) -> str:
    """Text safe to store: raw 8-bit bytes read as UTF-8, no NUL or control characters."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    value = value.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", value)


def _header(msg: Message, name: str) -> str:
    """A header as clean text (RFC 2047 decoded), ``""`` when absent or unreadable."""
    try:
        value = msg.get(name)
    except Exception:  # the header parser can fail on hostile input; treat as absent
        return ""
    if value is None:
        return ""
    try:
        text = str(value)
    except Exception:
        return ""
    return " ".join(_clean(text).split())


def normalise_message_id(token: str) -> str:
    """``<id@host>``; ids too long for a column are replaced by a digest of themselves."""
    token = token.strip().strip("<>").strip()
    if len(token) > 240:
        token = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest() + "@long-id.invalid"
    return f"<{token}>"


def message_ids(value: str) -> list[str]:
    return [normalise_message_id(m) for m in _MSGID.findall(value)]


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode ``data`` in ``charset``, never raising: unknown charsets fall back to UTF-8, then
    Windows-1252; bytes that do not decode become U+FFFD."""
    name = (charset or "").strip().strip('"').lower()
    if name in _LATIN1:
        # Mail that says ISO-8859-1 (or nothing) is often UTF-8 or Windows-1252 in fact.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")
    try:
        info = codecs.lookup(name) if name else None
    except LookupError:
        info = None
    if info is not None and getattr(info, "_is_text_encoding", True):
        with contextlib.suppress(Exception):  # a codec that fails in spite of "replace"
            return data.decode(info.name, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _sent_at(msg: Message) -> datetime | None:
    value = _header(msg, "Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    now = utcnow()
    if when > now + timedelta(days=1) or when.year < 1990:
        return None  # a wrong clock; the time it arrived is better
    return when


def _sender(msg: Message) -> tuple[str, str]:
    """``(name, address)`` of the From header, as written (not yet validated)."""
    with contextlib.suppress(Exception):  # hostile input: fall back to the lenient parser
        header: Any = msg.get("From")
        if header is not None and getattr(header, "addresses", None):
            addr = header.addresses[0]
            return _clean(addr.display_name or ""), _clean(addr.addr_spec or "")
    raw = _header(msg, "From")
    pairs = getaddresses([raw]) if raw else []
    if pairs:
        return _clean(pairs[0][0]), _clean(pairs[0][1])
    return "", ""


# --- auto-replies and bounces ----------------------------------------------------------------

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:"
    r"auto(?:matic)?[\s_-]*(?:reply|response|answer)|autoreply|auto:|"
    r"out\s+of\s+(?:the\s+)?office|ooo\s*:|vacation\s+reply|"
    r"respuesta\s+autom[aá]tica|autorrespuesta|auto-?respuesta|"
    r"fuera\s+de\s+(?:la\s+)?oficina"
    r")",
    re.IGNORECASE,
)
_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}
_PRECEDENCE_AUTO = {"auto_reply", "bulk", "junk"}


def _auto_reply_reason(msg: Message, subject: str) -> str | None:
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        value = _header(msg, name).lower()
        if msg.get(name) is not None and value not in ("no", "false", "0"):
            return f"{name}: {value or 'yes'}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in _PRECEDENCE_AUTO:
        return f"Precedence: {precedence}"
    if subject and _AUTO_SUBJECT.match(subject):
        return f"subject: {subject[:80]}"
    return None


_REPORTED_ID = re.compile(r"^\s*(?:Message-ID|Original-Message-ID)\s*:\s*(<[^<>\s]+>)", re.I | re.M)


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status`` part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [HeaderParser(policy=policy.default).parsestr(b) for b in re.split(r"\n\s*\n", text)]


def _bounce_details(msg: Message) -> Bounce:
    ids: list[str] = []
    diagnostics: list[str] = []
    actions: list[str] = []
    texts: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for block in _blocks(part):
                action = _header(block, "Action").lower()
                if action:
                    actions.append(action)
                bits = [
                    f"{name}: {value}"
                    for name in ("Final-Recipient", "Action", "Status", "Diagnostic-Code")
                    if (value := _header(block, name))
                ]
                if bits and ("Status" in "".join(bits) or "Diagnostic" in "".join(bits)):
                    diagnostics.append("; ".join(bits))
        elif ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(inner_msg, Message):
                ids.extend(message_ids(_header(inner_msg, "Message-ID")))
        elif ctype in ("text/rfc822-headers", "text/plain", "message/global-headers"):
            try:
                data = part.get_payload(decode=True)
            except Exception:
                data = None
            if isinstance(data, bytes):
                text = decode_bytes(data, part.get_content_charset())
                texts.append(text)
                ids.extend(normalise_message_id(m) for m in _REPORTED_ID.findall(text))
    ids.extend(message_ids(_header(msg, "In-Reply-To")))
    ids.extend(message_ids(_header(msg, "References")))
    if diagnostics:
        diagnostic = " | ".join(diagnostics)
    else:
        first = next((t for t in texts if t.strip()), "")
        diagnostic = " ".join(first.split())[:500] or "delivery failed (no details given)"
    failed = not actions or any(a.startswith("failed") for a in actions)
    return Bounce(tuple(dict.fromkeys(ids)), diagnostic[:2000], failed)


# --- bodies and attachments ----------------------------------------------------------------

_FATAL_DEFECTS: tuple[type[email_errors.MessageDefect], ...] = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.InvalidBase64LengthDefect,
)


@dataclass
class _Walk:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    parts: int = 0


def _describe(defect: email_errors.MessageDefect) -> str:
    names = {
        email_errors.NoBoundaryInMultipartDefect: "a multipart part declares no boundary",
        email_errors.StartBoundaryNotFoundDefect: "a multipart boundary never appears",
        email_errors.CloseBoundaryNotFoundDefect: "a multipart part is not closed (truncated?)",
        email_errors.MultipartInvariantViolationDefect: "a multipart part has no parts",
        email_errors.InvalidBase64LengthDefect: "a part's base64 cannot be decoded",
    }
    for kind, text in names.items():
        if isinstance(defect, kind):
            return text
    return type(defect).__name__


def _check_defects(part: Message) -> None:
    for defect in getattr(part, "defects", ()):
        if isinstance(defect, _FATAL_DEFECTS):
            raise MailError(f"malformed MIME: {_describe(defect)}")


def clean_filename(name: str | None, content_type: str, index: int) -> str:
    """A file name without paths or control characters, at most 255 characters."""
    cleaned = _clean(name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    cleaned = "".join(ch for ch in cleaned if ch.isprintable())
    if cleaned in ("", ".", ".."):
        extension = mimetypes.guess_extension(content_type) or ".bin"
        cleaned = f"attachment-{index}{extension}"
    if len(cleaned) > 255:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            cleaned = stem[: 254 - len(extension)] + "." + extension
        else:
            cleaned = cleaned[:255]
    return cleaned


def _content_type(part: Message) -> str:
    ctype = part.get_content_type()
    return ctype if _CONTENT_TYPE.match(ctype) else "application/octet-stream"


def _part_bytes(part: Message) -> bytes:
    ctype = part.get_content_type()
    if ctype.startswith("message/"):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            try:
                return inner.as_bytes(policy=policy.SMTP)
            except Exception:
                return _clean(inner.as_string()).encode("utf-8")
        return _clean(str(payload)).encode("utf-8")
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _filename(part: Message) -> str | None:
    try:
        return part.get_filename()
    except Exception:
        return None


def _walk(part: Message, state: _Walk, depth: int = 0) -> None:
    state.parts += 1
    if state.parts > MAX_PARTS:
        raise MailError(f"the e-mail has more than {MAX_PARTS} MIME parts")
    if depth > MAX_DEPTH:
        raise MailError(f"the e-mail nests its MIME parts more than {MAX_DEPTH} levels deep")
    _check_defects(part)
    ctype = part.get_content_type()
    filename = _filename(part)
    disposition = part.get_content_disposition()
    if ctype.startswith("message/"):
        inner = part.get_payload()
        if isinstance(inner, list):
            for sub in inner:
                if isinstance(sub, Message):
                    _check_defects(sub)
        subject = ""
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            subject = _header(inner[0], "Subject")
        name = filename or (f"{subject[:100]}.eml" if subject else "message.eml")
        state.attachments.append(
            Attachment(
                clean_filename(name, ctype, len(state.attachments) + 1),
                "message/rfc822",
                _part_bytes(part),
            )
        )
        return
    if part.is_multipart():
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else []:
            if isinstance(child, Message):
                _walk(child, state, depth + 1)
        return
    is_body = ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename
    if is_body:
        data = part.get_payload(decode=True)
        text = decode_bytes(data if isinstance(data, bytes) else b"", part.get_content_charset())
        (state.plain if ctype == "text/plain" else state.html).append(text)
        return
    content_type = _content_type(part)
    state.attachments.append(
        Attachment(
            clean_filename(filename, content_type, len(state.attachments) + 1),
            content_type,
            _part_bytes(part),
        )
    )


# --- quoted replies ----------------------------------------------------------------------

_WROTE = re.compile(r"(?:wrote|escribió|escribio)\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^\s*(?:On|El)\s", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Mensaje original|Forwarded message|Mensaje reenviado)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")
_OUTLOOK_FROM = re.compile(r"^\s*(?:From|De)\s*:", re.IGNORECASE)


def strip_quoted_reply(text: str) -> str:
    """Cut the quoted previous message off the end of a reply; keep everything when unsure."""
    lines = text.splitlines()
    cut = len(lines)
    for i, line in enumerate(lines):
        is_rule = _OUTLOOK_RULE.match(line) and i + 1 < len(lines)
        if _ORIGINAL.match(line) or (is_rule and _OUTLOOK_FROM.match(lines[i + 1])):
            cut = i
            break
    i = cut
    while i > 0 and (not lines[i - 1].strip() or lines[i - 1].lstrip().startswith(">")):
        i -= 1
    if any(line.lstrip().startswith(">") for line in lines[i:cut]):
        j = i - 1
        if j >= 0 and _WROTE.search(lines[j]):
            i = j
            starts = _ATTRIBUTION_START.match(lines[j])
            if not starts and j > 0 and _ATTRIBUTION_START.match(lines[j - 1]):
                i = j - 1
        cut = i
    kept = "\n".join(lines[:cut]).rstrip()
    return kept if kept.strip() else text


# --- the entry point -------------------------------------------------------------------------


def parse_email(raw: bytes, *, max_html_chars: int = 1_000_000) -> ParsedMail:
    """Read ``raw`` (the bytes of one RFC 5322 e-mail); raise :class:`MailError` if it cannot be
    taken."""
    if not isinstance(raw, bytes | bytearray):
        raise MailError("an e-mail is bytes")
    if not raw.strip():
        raise MailError("the e-mail is empty")
    try:
        msg = BytesParser(policy=policy.default, _class=EmailMessage).parsebytes(bytes(raw))
    except Exception as exc:  # the parser is lenient; this is truly unreadable input
        raise MailError(f"the e-mail could not be read as MIME: {exc}") from exc
    if not any(k.lower() in ("from", "subject", "message-id", "date") for k in msg):
        raise MailError("the e-mail has no headers (From, Subject, Date...)")

    from_name, from_raw = _sender(msg)
    subject = _header(msg, "Subject")[:300]
    message_id_list = message_ids(_header(msg, "Message-ID"))
    message_id = message_id_list[0] if message_id_list else None
    in_reply_to = tuple(message_ids(_header(msg, "In-Reply-To"))[:MAX_REFERENCES])
    references = tuple(message_ids(_header(msg, "References"))[-MAX_REFERENCES:])
    language_header = _header(msg, "Content-Language").split(",")[0]
    language = normalise_language(language_header)
    sent_at = _sent_at(msg)
    base: dict[str, Any] = {
        "from_name": from_name[:200],
        "subject": subject,
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": references,
        "language": language,
        "sent_at": sent_at,
        "digest": hashlib.sha256(raw).hexdigest(),
    }

    local_part = from_raw.split("@", 1)[0].strip().lower()
    ctype = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "") or "").lower()
    if (ctype == "multipart/report" and report_type == "delivery-status") or (
        local_part in _DAEMONS
    ):
        bounce = _bounce_details(msg)
        return ParsedMail(
            kind="bounce",
            from_address=from_raw.lower(),
            text="",
            html=None,
            attachments=(),
            reason=f"delivery report from {from_raw or 'the mail system'}",
            bounce=bounce,
            **base,
        )
    reason = _auto_reply_reason(msg, subject)
    if reason is None and ctype == "multipart/report":
        reason = f"report ({report_type or 'unknown type'})"
    if reason is not None:
        return ParsedMail(
            kind="auto-reply",
            from_address=from_raw.lower(),
            text="",
            html=None,
            attachments=(),
            reason=reason,
            **base,
        )

    if not from_raw:
        raise MailError("the e-mail has no From address")
    try:
        _, from_address = normalise_identity("email", from_raw)
    except IdentityError as exc:
        raise MailError(f"the From address is not usable: {exc}") from exc

    state = _Walk()
    _walk(msg, state)
    html: str | None = None
    raw_html = "\n".join(h for h in state.html if h.strip())
    if raw_html:
        if len(raw_html) > max_html_chars:
            raise MailError(
                f"the HTML body has {len(raw_html)} characters; at most {max_html_chars} are taken"
            )
        html = _clean(sanitise_html(raw_html)).strip() or None
        if html is not None and len(html) > MAX_SANITISED_HTML_CHARS:
            raise MailError(
                f"the HTML body is still {len(html)} characters after sanitising; "
                f"at most {MAX_SANITISED_HTML_CHARS} are kept"
            )
    plain = "\n\n".join(p.strip("\n") for p in state.plain if p.strip())
    text = _clean(plain) if plain else (html_to_text(html) if html else "")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if in_reply_to or references:
        text = strip_quoted_reply(text)
    if not text and not html and subject:
        text = subject  # a complaint written in the subject line alone
    if len(text) > MAX_TEXT_CHARS:
        raise MailError(
            f"the text of the e-mail has {len(text)} characters; at most {MAX_TEXT_CHARS} are taken"
        )
    if not text and not html and not state.attachments:
        raise MailError("the e-mail has no text, no HTML and no attachment")
    return ParsedMail(
        kind="message",
        from_address=from_address,
        text=text,
        html=html,
        attachments=tuple(state.attachments),
        **base,
    )
