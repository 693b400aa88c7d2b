"""Fetching e-mail from an IMAP mailbox (``meaculpa mail fetch``).

Unseen messages are read with ``BODY.PEEK[]`` (which leaves them unseen), ingested one at a
time, each in its own transaction, and only then flagged ``\\Seen`` (and moved, if asked). A
crash in between leaves the message unseen: the next fetch reads it again and ingestion, being
idempotent by Message-ID, stores it once. An e-mail that cannot be taken (malformed MIME, no
usable sender) is reported and left unseen, untouched, for a person to look at.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from meaculpa.core.audit import Actor
from meaculpa.core.db import Database
from meaculpa.core.exceptions import ProblemError
from meaculpa.mail.actions import MailResult, receive_email
from meaculpa.mail.config import MailConfig
from meaculpa.mail.parse import MailError

log = logging.getLogger("meaculpa.mail")


class ImapError(RuntimeError):
    """The IMAP server refused a command; the message says which and why."""


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    use_ssl: bool = True
    starttls: bool = False
    move_to: str | None = None
    limit: int | None = None
    timeout: float = 30.0


@dataclass
class FetchReport:
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(response: tuple[str, Any], what: str) -> list[object]:
    status, data = response[0], list(response[1] or [])
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise ImapError(f"{what} failed: {detail or status}")
    return data


def _literal(data: list[object]) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def connect(account: ImapAccount) -> imaplib.IMAP4:
    if account.use_ssl:
        return imaplib.IMAP4_SSL(
            account.host,
            account.port,
            ssl_context=ssl.create_default_context(),
            timeout=account.timeout,
        )
    client = imaplib.IMAP4(account.host, account.port, timeout=account.timeout)
    if account.starttls:
        client.starttls(ssl_context=ssl.create_default_context())
    return client


def fetch_mailbox(
    db: Database,
    actor: Actor,
    account: ImapAccount,
    config: MailConfig,
    *,
    progress: Callable[[str, MailResult | None, str | None], None] | None = None,
) -> FetchReport:
    """Ingest the unseen messages of ``account.folder``; see the module's docstring."""
    report = FetchReport()
    client = connect(account)
    try:
        try:
            _ok(client.login(account.user, account.password), "LOGIN")
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"LOGIN failed: {exc}") from exc
        _ok(client.select(_quote(account.folder)), f"SELECT {account.folder}")
        data = _ok(client.uid("SEARCH", "UNSEEN"), "SEARCH UNSEEN")
        first = data[0] if data and isinstance(data[0], bytes) else b""
        uids = [u.decode() for u in first.split()]
        if account.limit is not None:
            uids = uids[: account.limit]
        can_move = "MOVE" in getattr(client, "capabilities", ())
        expunge = False
        for uid in uids:
            raw = _literal(_ok(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid}"))
            if raw is None:
                report.refused.append((uid, "the server sent no message body"))
                continue
            report.fetched += 1
            try:
                result = receive_email(db, actor, raw, config)
            except (MailError, ProblemError) as exc:
                reason = exc.detail if isinstance(exc, ProblemError) else str(exc)
                report.refused.append((uid, reason))
                log.warning("IMAP message %s refused: %s", uid, reason)
                if progress:
                    progress(uid, None, reason)
                continue
            if result.outcome is None:
                report.ignored += 1
            elif result.outcome.created:
                report.stored += 1
            else:
                report.duplicates += 1
            _ok(client.uid("STORE", uid, "+FLAGS", "(\\Seen)"), f"STORE {uid}")
            if account.move_to:
                if can_move:
                    _ok(client.uid("MOVE", uid, _quote(account.move_to)), f"MOVE {uid}")
                else:
                    _ok(client.uid("COPY", uid, _quote(account.move_to)), f"COPY {uid}")
                    _ok(client.uid("STORE", uid, "+FLAGS", "(\\Deleted)"), f"STORE {uid}")
                    expunge = True
            if progress:
                progress(uid, result, None)
        if expunge:
            _ok(client.expunge(), "EXPUNGE")
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            log.debug("IMAP logout failed", exc_info=True)
    return report
