"""Writes of the apologies domain.

Sending at scale is set-based: the "send" click marks the campaign and enqueues one job
(``apologies.enqueue``) that walks the affected customers in chunks of :data:`CHUNK`,
each chunk one ``INSERT ... SELECT`` of apology rows (the unique key ``(error_id,
customer_id)`` and a ``NOT EXISTS`` make a second pass insert nothing) and one delivery job
per chunk, scheduled so the channel's rate is kept over all workers together. A delivery
job renders its chunk, stores the e-mails in one insert, sends them over one SMTP
connection and marks each apology ``sent`` right after the server accepted it. A worker
that dies mid-chunk leaves its apologies ``sending`` with their e-mail rows; the job is
claimed again and sends exactly those, with the same Message-ID, and nothing already marked.
"""

from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from meaculpa.apologies import texts
from meaculpa.apologies.importer import _audit
from meaculpa.apologies.models import (
    Apology,
    ApologyCampaign,
    ErrorCaseLink,
    ErrorPost,
    PostNotice,
)
from meaculpa.apologies.schemas import CampaignIn, CustomerFilter, PostIn
from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.db import Database
from meaculpa.core.exceptions import Conflict, Forbidden, Invalid
from meaculpa.core.prepared import Prepared
from meaculpa.customers.models import Customer, CustomerIdentity
from meaculpa.errors.actions import check_can_edit_error
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.jobs.models import Job
from meaculpa.jobs.queue import enqueue, enqueue_once
from meaculpa.notifications.actions import (
    Recipient,
    do_mark_email,
    do_queue_email,
    do_store_emails,
    mark_emails_sent,
)
from meaculpa.notifications.mailer import connect, plain_message_bytes
from meaculpa.notifications.models import OutboundEmail
from meaculpa.remedies import money
from meaculpa.remedies.queries import load_policy
from meaculpa.settings import Settings

# Apologies per delivery job (one SMTP connection), and affected customers per enqueue step.
CHUNK = 500
ENQUEUE_CHUNK = 10_000
CAMPAIGN_FIELDS = (
    "status",
    "subject_es",
    "body_es",
    "subject_en",
    "body_en",
    "remedy_kind",
    "remedy_amount_minor",
    "currency",
    "promised_by",
)
# A bounce storm: this many bounces, making up this share of what was delivered, pauses it.
STORM_MIN_BOUNCES = 20
STORM_SHARE = 0.3
SMTP_NOT_CONFIGURED = "no SMTP server is configured (set MEACULPA_SMTP_HOST)"


def _rowcount(result: Any) -> int:
    return int(cast("CursorResult[Any]", result).rowcount or 0)


# --- the campaign -----------------------------------------------------------------------------


def get_campaign(session: Session, error_id: int) -> ApologyCampaign | None:
    return session.scalar(select(ApologyCampaign).where(ApologyCampaign.error_id == error_id))


def do_save_campaign(
    session: Session, actor: Actor, error: Error, data: CampaignIn
) -> ApologyCampaign:
    """Create or change the apology of ``error`` while it is a draft."""
    check_can_edit_error(actor, error)
    campaign = get_campaign(session, error.id)
    before = snapshot(campaign, CAMPAIGN_FIELDS) if campaign is not None else None
    if campaign is not None and campaign.status != "draft":
        raise Conflict("the apology was already sent; its wording can no longer change")
    if campaign is None:
        campaign = ApologyCampaign(
            error_id=error.id,
            status="draft",
            subject_es=texts.DEFAULTS["es"][0],
            body_es=texts.DEFAULTS["es"][1],
            subject_en=texts.DEFAULTS["en"][0],
            body_en=texts.DEFAULTS["en"][1],
            created_by_id=actor.id,
        )
        session.add(campaign)
    given = data.model_dump(exclude_unset=True)
    for name in ("subject_es", "body_es", "subject_en", "body_en"):
        if given.get(name):
            setattr(campaign, name, given[name])
    if "remedy_kind" in given:
        campaign.remedy_kind = data.remedy_kind.value if data.remedy_kind else None
    if "remedy_amount" in given or "currency" in given:
        if data.remedy_amount is None:
            campaign.remedy_amount_minor = None
            campaign.currency = None
        else:
            currency = (data.currency or load_policy(session).currency).upper()
            try:
                currency = money.check_currency(currency)
                campaign.remedy_amount_minor = money.to_minor(data.remedy_amount, currency)
            except ValueError as exc:
                raise Invalid(str(exc), field="remedy_amount") from exc
            campaign.currency = currency
    if campaign.remedy_kind is None:
        campaign.remedy_amount_minor = None
        campaign.currency = None
    if "promised_by" in given:
        if data.promised_by is not None and data.promised_by <= utcnow():
            raise Invalid("the promised resolution date is in the past", field="promised_by")
        campaign.promised_by = data.promised_by
    session.flush()
    record(
        session,
        actor,
        "apology.campaign.save",
        "error",
        error.id,
        before=before,
        after=snapshot(campaign, CAMPAIGN_FIELDS),
    )
    return campaign


def check_can_send(session: Session, actor: Actor, error: Error, campaign: ApologyCampaign) -> None:
    check_can_edit_error(actor, error)
    if campaign.remedy_amount_minor is not None and campaign.currency is not None:
        limit = load_policy(session).limit_for(actor.role, campaign.currency)
        if limit is not None and campaign.remedy_amount_minor > limit:
            raise Forbidden(
                f"a {actor.role} may offer at most "
                f"{money.from_minor(limit, campaign.currency)} {campaign.currency} per customer; "
                "ask someone whose remedy limit covers this one"
            )


@dataclass(frozen=True)
class SendOutcome:
    status: str
    enqueue_job: bool


def do_send_campaign(
    session: Session, actor: Actor, error: Error, campaign: ApologyCampaign
) -> SendOutcome:
    """Send the apology to every affected customer not yet apologised to.

    A second click finds the enqueue job already waiting (or running) and adds nothing; a
    click after more customers were added reaches just those.
    """
    check_can_send(session, actor, error, campaign)
    if campaign.status == "paused":
        raise Conflict(
            "the apology is paused after many bounces; check the addresses, then resume it"
        )
    before = {"status": campaign.status}
    claimed = _rowcount(
        session.execute(
            update(ApologyCampaign)
            .where(ApologyCampaign.id == campaign.id, ApologyCampaign.status == "draft")
            .values(status="sending", sent_at=utcnow(), sent_by_id=actor.id)
            .execution_options(synchronize_session=False)
        )
    )
    job = enqueue_once(
        session, "apologies.enqueue", f"apologies.enqueue:{error.id}", {"error_id": error.id}
    )
    session.refresh(campaign)
    if claimed or job is not None:
        record(
            session,
            actor,
            "apology.send",
            "error",
            error.id,
            before=before,
            after={"status": campaign.status, "enqueued": job is not None},
        )
    return SendOutcome(status=campaign.status, enqueue_job=job is not None)


def do_resume_campaign(
    session: Session, actor: Actor, error: Error, campaign: ApologyCampaign
) -> ApologyCampaign:
    check_can_send(session, actor, error, campaign)
    if campaign.status != "paused":
        raise Conflict("the apology is not paused")
    campaign.status = "sending"
    campaign.paused_reason = None
    enqueue_once(
        session, "apologies.enqueue", f"apologies.enqueue:{error.id}", {"error_id": error.id}
    )
    jobs = requeue_pending(session, error.id)
    record(
        session,
        actor,
        "apology.resume",
        "error",
        error.id,
        after={"status": "sending", "delivery_jobs": jobs},
    )
    return campaign


def requeue_pending(session: Session, error_id: int) -> int:
    """Delivery jobs for the apologies a pause left waiting (queued or half sent), walked in
    pages of :data:`CHUNK` customer ids; returns how many jobs were added."""
    last = 0
    jobs = 0
    while True:
        ids = list(
            session.scalars(
                select(Apology.customer_id)
                .where(
                    Apology.error_id == error_id,
                    Apology.state.in_(("queued", "sending")),
                    Apology.customer_id > last,
                )
                .order_by(Apology.customer_id)
                .limit(CHUNK)
            )
        )
        if not ids:
            return jobs
        enqueue(
            session,
            "apologies.deliver",
            {"error_id": error_id, "low": ids[0], "high": ids[-1]},
            max_attempts=20,
        )
        jobs += 1
        last = ids[-1]


# --- enqueueing, set-based ---------------------------------------------------------------------


def _email_of(customer_id: Any) -> Any:
    return (
        select(func.min(CustomerIdentity.value))
        .where(CustomerIdentity.customer_id == customer_id, CustomerIdentity.kind == "email")
        .scalar_subquery()
    )


@dataclass(frozen=True)
class DeliveryPart:
    """What one delivery job covers: ``size`` apologies queued to send, to the customers with
    ids from ``low`` to ``high``."""

    low: int
    high: int
    size: int


def enqueue_chunk(
    session: Session, campaign: ApologyCampaign, low: int, high: int | None, now: datetime
) -> list[DeliveryPart]:
    """Apology rows for the affected customers with ids from ``low`` to ``high`` (to the end
    when None) who have none yet, in one ``INSERT ... SELECT``; returns the rows it queued to
    send (those skipped left out) cut into runs of :data:`CHUNK` by customer id, ascending.
    """
    a = AffectedCustomer

    def within(column: Any) -> list[Any]:
        return [column >= low] if high is None else [column >= low, column <= high]

    # Every table is bounded by the chunk's range, not only through the joins: PostgreSQL
    # does not carry a range across an equality, and without it the plan may read all of
    # ``customer`` and hash all of ``apology`` for each chunk (quadratic in N).
    in_range = [a.error_id == campaign.error_id, *within(a.customer_id), *within(Customer.id)]
    emails_in = [CustomerIdentity.kind == "email", *within(CustomerIdentity.customer_id)]
    # Each customer's first e-mail address, for the whole chunk in one grouped read.
    emails = (
        select(
            CustomerIdentity.customer_id.label("customer_id"),
            func.min(CustomerIdentity.value).label("address"),
        )
        .where(*emails_in)
        .group_by(CustomerIdentity.customer_id)
        .subquery()
    )
    skip_reason = case(
        (Customer.opt_out.is_(True), literal("opt_out")),
        (emails.c.address.is_(None), literal("no_email")),
        else_=literal(None),
    )
    state = case(
        (Customer.opt_out.is_(True), literal("skipped")),
        (emails.c.address.is_(None), literal("skipped")),
        else_=literal("queued"),
    )
    # A date still ahead is a promise to each customer queued to receive it.
    promised = campaign.promised_by if campaign.promised_by and campaign.promised_by > now else None
    due_type = Apology.__table__.c.promise_due_at.type
    promise_state: Any = literal(None, type_=String(8))
    due: Any = literal(None, type_=due_type)
    if promised is not None:
        promise_state = case((state == literal("queued"), literal("pending")), else_=literal(None))
        due = case((state == literal("queued"), literal(promised, type_=due_type)), else_=None)
    rows = (
        select(
            literal(campaign.id),
            literal(campaign.error_id),
            a.customer_id,
            state,
            skip_reason,
            literal("email"),
            emails.c.address,
            Customer.language,
            literal(now),
            due,
            promise_state,
        )
        .join(Customer, Customer.id == a.customer_id)
        .outerjoin(emails, emails.c.customer_id == a.customer_id)
        .where(
            *in_range,
            ~exists().where(
                Apology.error_id == campaign.error_id,
                Apology.customer_id == a.customer_id,
                *within(Apology.customer_id),
            ),
        )
    )
    inserting = (
        insert(Apology)
        .from_select(
            [
                "campaign_id",
                "error_id",
                "customer_id",
                "state",
                "skip_reason",
                "channel",
                "to_address",
                "language",
                "queued_at",
                "promise_due_at",
                "promise_state",
            ],
            rows,
        )
        .returning(Apology.customer_id, Apology.state)
    )
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no INSERT in a WITH: the rows come back and are cut here.
        queued = sorted(cid for cid, st in session.execute(inserting) if st == "queued")
        return [
            DeliveryPart(part[0], part[-1], len(part))
            for part in (queued[i : i + CHUNK] for i in range(0, len(queued), CHUNK))
        ]
    # PostgreSQL cuts them in the same statement: only the parts (one row per delivery job)
    # come back, not a row per customer.
    inserted = inserting.cte("inserted")
    numbered = (
        select(
            inserted.c.customer_id,
            (func.row_number().over(order_by=inserted.c.customer_id) - 1).label("n"),
        )
        .where(inserted.c.state == "queued")
        .subquery()
    )
    first = func.min(numbered.c.customer_id)
    parts = (
        select(first, func.max(numbered.c.customer_id), func.count())
        .group_by(numbered.c.n // CHUNK)
        .order_by(first)
    )
    return [DeliveryPart(*row) for row in session.execute(parts)]


_JOB = insert(cast(Table, Job.__table__))


def enqueue_apologies(db: Database, error_id: int, settings: Settings) -> int:
    """Walk the error's affected customers in chunks; return how many apologies were queued.

    Each chunk of :data:`ENQUEUE_CHUNK` customers commits on its own (memory stays flat; a
    crash resumes where it stopped, as the job runs again and skips the customers who already
    have an apology row) and adds one delivery job per :data:`CHUNK` queued apologies, in
    one multi-row insert, each due when the channel's rate allows.
    """
    actor = Actor.system("apologies")
    rate = max(settings.outreach_rates.get("email", 20.0), 0.001)
    start = utcnow()
    offset = 0.0
    low = 0
    total = 0
    while True:
        with db.transaction() as session:
            if not db.is_sqlite:
                # The chunk's commit need not wait for its WAL to reach the disk. A crash of
                # the database server (not of this worker) can lose only the last chunks
                # committed, each whole, with their delivery jobs and maybe the campaign's
                # "sent" mark; never a chunk some later synchronous commit depends on (that
                # commit flushes all the WAL before it), so this job is not yet marked done:
                # it runs again and, as after any crash, inserts just what is missing.
                session.execute(text("SET LOCAL synchronous_commit = off"))
            campaign = get_campaign(session, error_id)
            if campaign is None or campaign.status not in ("sending", "sent"):
                return total
            # The last customer id of this chunk (None: the chunk runs to the end).
            high = session.scalar(
                select(AffectedCustomer.customer_id)
                .where(AffectedCustomer.error_id == error_id, AffectedCustomer.customer_id >= low)
                .order_by(AffectedCustomer.customer_id)
                .offset(ENQUEUE_CHUNK - 1)
                .limit(1)
            )
            now = utcnow()
            parts = enqueue_chunk(session, campaign, low, high, now)
            jobs = []
            for part in parts:
                jobs.append(
                    {
                        "kind": "apologies.deliver",
                        "payload": {"error_id": error_id, "low": part.low, "high": part.high},
                        "status": "queued",
                        "attempts": 0,
                        "max_attempts": 20,
                        "run_after": start + timedelta(seconds=offset),
                        "created_at": now,
                    }
                )
                offset += part.size / rate
            queued = sum(part.size for part in parts)
            if jobs:
                session.execute(_JOB, jobs)
            if queued:
                _audit(
                    session,
                    actor,
                    "apology.enqueue",
                    "error",
                    [(error_id, {"customers": [low, high], "queued": queued})],
                    now,
                )
            total += queued
            if high is None:
                campaign.status = "sent"
                break
            low = high + 1
    if not db.is_sqlite:
        # A mass insert leaves the planner's statistics behind; the delivery jobs' reads by
        # customer range need them right (autovacuum would get there, later).
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE apology")
    return total


# --- delivery ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outgoing:
    apology_id: int
    customer_id: int
    email_id: int


def _prepare_batch(
    db: Database, error_id: int, low: int, high: int, settings: Settings
) -> list[_Outgoing] | None:
    """Render the chunk's apologies and store their e-mails (``sending``); None if paused."""
    with db.transaction() as session:
        campaign = get_campaign(session, error_id)
        error = session.get(Error, error_id)
        if campaign is None or error is None:
            return []
        if campaign.status == "paused":
            return None
        rows = session.execute(
            select(
                Apology.id,
                Apology.customer_id,
                Apology.email_id,
                Apology.to_address,
                Apology.language,
                Customer.name,
                Customer.timezone,
                AffectedCustomer.details,
            )
            .join(Customer, Customer.id == Apology.customer_id)
            .join(
                AffectedCustomer,
                and_(
                    AffectedCustomer.error_id == Apology.error_id,
                    AffectedCustomer.customer_id == Apology.customer_id,
                ),
            )
            .where(
                Apology.error_id == error_id,
                Apology.customer_id.between(low, high),
                Apology.state.in_(("queued", "sending")),
            )
            .order_by(Apology.customer_id)
        ).all()
        out: list[_Outgoing] = []
        fresh: list[tuple[Any, dict[str, Any]]] = []
        for row in rows:
            if row.email_id is not None:
                out.append(_Outgoing(row.id, row.customer_id, row.email_id))
                continue
            lang = texts.language_of(row.language)
            values = texts.apology_values(
                language=lang,
                customer_name=row.name,
                customer_timezone=row.timezone,
                error_title=error.title,
                error_summary=error.public_summary,
                remedy_kind=campaign.remedy_kind,
                remedy_amount_minor=campaign.remedy_amount_minor,
                currency=campaign.currency,
                promised_by=campaign.promised_by,
                details=row.details or {},
            )
            subject = getattr(campaign, f"subject_{lang}")
            body = getattr(campaign, f"body_{lang}")
            fresh.append(
                (
                    row,
                    {
                        "kind": "apology",
                        "to_address": row.to_address,
                        "to_name": row.name,
                        "subject": texts.render(subject, values),
                        "text": texts.with_opt_out(
                            texts.tidy(texts.render(body, values)),
                            lang,
                            texts.opt_out_url(
                                settings.base_url, settings.secret_key, row.customer_id
                            ),
                        ),
                        "language": lang,
                        "customer_id": row.customer_id,
                        # The same Message-ID however often the delivery is retried.
                        "message_id": f"<apology-{row.id}.e{error_id}@{settings.mail_domain}>",
                    },
                )
            )
        if fresh:
            ids = do_store_emails(
                session,
                Actor.system("apologies"),
                [item for _, item in fresh],
                verb="apology.render",
            )
            for (row, _), email_id in zip(fresh, ids, strict=True):
                out.append(_Outgoing(row.id, row.customer_id, email_id))
            session.execute(
                update(Apology),
                [
                    {"id": row.id, "email_id": email_id, "state": "sending"}
                    for (row, _), email_id in zip(fresh, ids, strict=True)
                ],
            )
        return out


_SENT = (
    update(cast(Table, Apology.__table__))
    .where(Apology.__table__.c.id == bindparam("aid"), Apology.__table__.c.state == "sending")
    .values(state="sent", sent_at=bindparam("at"))
)


class _SentMarks:
    """The one write per delivered apology, committed right after the server accepted it:
    what makes a retry skip it. The e-mail rows and affected states follow per chunk
    (:func:`_settle`). On PostgreSQL one connection is kept for the chunk, with asynchronous
    commit: durable against the worker dying (the server has it); only a crash of the
    database server itself could lose the last few marks. SQLite goes through the shared
    writer lock."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: Any = None

    def __enter__(self) -> _SentMarks:
        if not self.db.is_sqlite:
            self.conn = self.db.engine.connect()
            self.conn.exec_driver_sql("SET synchronous_commit TO OFF")
            self.conn.commit()
        return self

    def mark(self, item: _Outgoing) -> None:
        params = {"aid": item.apology_id, "at": utcnow()}
        if self.conn is None:
            with self.db.transaction() as session:
                session.connection().execute(_SENT, params)
            return
        self.conn.execute(_SENT, params)
        self.conn.commit()

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            try:
                self.conn.rollback()
                self.conn.exec_driver_sql("RESET synchronous_commit")
                self.conn.commit()
            finally:
                self.conn.close()


def _mark_bounced(db: Database, item: _Outgoing, error_id: int, error: str) -> None:
    with db.transaction() as session:
        session.execute(
            update(Apology)
            .where(Apology.id == item.apology_id, Apology.state == "sending")
            # An apology that never arrived carried no promise.
            .values(state="bounced", bounced_at=utcnow(), promise_state=None)
            .execution_options(synchronize_session=False)
        )
        do_mark_email(session, item.email_id, "bounced", error=error)
        check_bounce_storm(session, error_id)


def _settle(db: Database, error_id: int, low: int, high: int) -> None:
    """Mark the chunk's delivered e-mails sent and their customers apologised (idempotent:
    a job resumed after a crash settles what the dead worker delivered too)."""
    now = utcnow()
    delivered = select(Apology.email_id).where(
        Apology.error_id == error_id,
        Apology.customer_id.between(low, high),
        Apology.state.in_(("sent", "replied", "complained")),
    )
    with db.transaction() as session:
        mark_emails_sent(session, delivered)
        session.execute(
            update(AffectedCustomer)
            .where(
                AffectedCustomer.error_id == error_id,
                AffectedCustomer.customer_id.between(low, high),
                AffectedCustomer.state.in_(("identified", "contacted")),
                AffectedCustomer.customer_id.in_(
                    select(Apology.customer_id).where(
                        Apology.error_id == error_id,
                        Apology.customer_id.between(low, high),
                        Apology.sent_at.is_not(None),
                    )
                ),
            )
            .values(state="apologised", updated_at=now)
            .execution_options(synchronize_session=False)
        )


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def deliver_batch(db: Database, payload: dict[str, Any], settings: Settings) -> int:
    """Send one chunk of apologies; returns how many the server accepted."""
    if not settings.smtp_host:
        raise RuntimeError(SMTP_NOT_CONFIGURED)
    error_id, low, high = int(payload["error_id"]), int(payload["low"]), int(payload["high"])
    items = _prepare_batch(db, error_id, low, high, settings)
    if not items:
        return 0
    with db.reading() as session:
        emails = {
            e.id: e
            for e in session.scalars(
                select(OutboundEmail).where(OutboundEmail.id.in_([i.email_id for i in items]))
            )
        }
    rate = max(settings.outreach_rates.get("email", 20.0), 0.001)
    gap = 1.0 / rate
    sent = 0
    next_at = time.monotonic()
    sender = parseaddr(settings.mail_from)[1] or settings.mail_from
    server = connect(settings)
    try:
        with _SentMarks(db) as marks:
            for n, item in enumerate(items):
                email = emails.get(item.email_id)
                if email is None or email.status in ("sent", "bounced"):
                    continue
                if n and n % 100 == 0 and _paused(db, error_id):
                    return sent
                wait = next_at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                next_at = max(next_at + gap, time.monotonic() - 1.0)
                try:
                    server.sendmail(
                        sender, [email.to_address], plain_message_bytes(email, settings)
                    )
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                    if not _permanent(exc):
                        raise
                    _mark_bounced(db, item, error_id, f"refused: {exc}"[:2000])
                    continue
                marks.mark(item)
                sent += 1
    finally:
        _settle(db, error_id, low, high)
        try:
            server.quit()
        except smtplib.SMTPException:
            server.close()
    return sent


def _paused(db: Database, error_id: int) -> bool:
    with db.reading() as session:
        campaign = get_campaign(session, error_id)
        return campaign is not None and campaign.status == "paused"


def check_bounce_storm(session: Session, error_id: int) -> bool:
    """Pause the error's apology when its bounces pile up (a bad list, a blocked sender)."""
    counts = dict(
        session.execute(
            select(Apology.state, func.count(Apology.id))
            .where(Apology.error_id == error_id, Apology.state != "skipped")
            .group_by(Apology.state)
        ).all()
    )
    bounced = counts.get("bounced", 0)
    delivered = sum(v for k, v in counts.items() if k not in ("queued", "sending"))
    if bounced < STORM_MIN_BOUNCES or bounced < STORM_SHARE * delivered:
        return False
    campaign = get_campaign(session, error_id)
    if campaign is None or campaign.status == "paused":
        return False
    campaign.status = "paused"
    campaign.paused_reason = f"{bounced} of {delivered} apologies bounced"
    record(
        session,
        Actor.system("apologies"),
        "apology.pause",
        "error",
        error_id,
        after={"bounced": bounced, "delivered": delivered},
    )
    return True


def note_bounce(session: Session, actor: Actor, email_id: int) -> None:
    """A delivery report named an apology's e-mail: the apology bounced."""
    apology = session.scalar(select(Apology).where(Apology.email_id == email_id))
    if apology is None or apology.state == "bounced":
        return
    before = {"state": apology.state}
    apology.state = "bounced"
    apology.bounced_at = utcnow()
    # An apology that never arrived carried no promise (a settled one keeps its verdict).
    if apology.promise_state == "pending":
        apology.promise_state = None
    record(
        session,
        actor,
        "apology.bounce",
        "error",
        apology.error_id,
        before=before,
        after={"state": "bounced", "customer_id": apology.customer_id},
    )
    session.flush()
    check_bounce_storm(session, apology.error_id)


# --- affected customers by filter ---------------------------------------------------------------


def do_add_by_filter(
    session: Session, actor: Actor, error: Error, data: CustomerFilter
) -> tuple[int, int]:
    """Put the existing customers matching ``data`` on the error's list; (matched, added)."""
    check_can_edit_error(actor, error)
    conditions: list[Any] = []
    if data.language is not None:
        conditions.append(Customer.language == data.language.value)
    if data.created_from is not None:
        conditions.append(Customer.created_at >= data.created_from)
    if data.created_to is not None:
        conditions.append(Customer.created_at < data.created_to)
    if data.email_domain is not None:
        domain = data.email_domain.lower().lstrip("@")
        conditions.append(
            exists().where(
                CustomerIdentity.customer_id == Customer.id,
                CustomerIdentity.kind == "email",
                CustomerIdentity.value.like(
                    "%@" + domain.replace("%", "").replace("_", "\\_"), escape="\\"
                ),
            )
        )
    if data.case_opened_from is not None or data.case_opened_to is not None:
        window = [Case.customer_id == Customer.id]
        if data.case_opened_from is not None:
            window.append(Case.opened_at >= data.case_opened_from)
        if data.case_opened_to is not None:
            window.append(Case.opened_at < data.case_opened_to)
        conditions.append(exists().where(*window))
    matched = session.scalar(select(func.count(Customer.id)).where(*conditions)) or 0
    if data.dry_run:
        return matched, 0
    now = utcnow()
    new = (
        select(
            literal(error.id),
            Customer.id,
            literal("identified"),
            literal(data.details, type_=AffectedCustomer.__table__.c.details.type),
            literal(now),
            literal(now),
        )
        .where(*conditions)
        .where(
            ~exists().where(
                AffectedCustomer.error_id == error.id, AffectedCustomer.customer_id == Customer.id
            )
        )
    )
    before = error.affected_count
    added_ids = list(
        session.scalars(
            insert(AffectedCustomer)
            .from_select(
                ["error_id", "customer_id", "state", "details", "created_at", "updated_at"], new
            )
            .returning(AffectedCustomer.customer_id)
        )
    )
    added = len(added_ids)
    if added:
        for i in range(0, added, 1000):
            session.execute(
                update(Customer)
                .where(Customer.id.in_(added_ids[i : i + 1000]))
                .values(failures_count=Customer.failures_count + 1)
                .execution_options(synchronize_session=False)
            )
        error.affected_count = (
            session.scalar(
                select(func.count(AffectedCustomer.id)).where(AffectedCustomer.error_id == error.id)
            )
            or 0
        )
    record(
        session,
        actor,
        "error.affected.filter",
        "error",
        error.id,
        before={"affected_count": before},
        after={
            "affected_count": error.affected_count,
            "added": added,
            "filter": data.model_dump(mode="json", exclude={"dry_run"}),
        },
    )
    return matched, added


# --- no double explaining ----------------------------------------------------------------------


# Every inbound message asks this; almost always the answer is no, so it is one prebuilt
# statement on the connection before any ORM work.
_AFFECTED_BY_OPEN_ERROR = Prepared(
    select(AffectedCustomer.id)
    .join(Error, Error.id == AffectedCustomer.error_id)
    .where(AffectedCustomer.customer_id == bindparam("customer_id"), Error.status != "closed")
    .limit(1)
)


_HURT_BY_OPEN_ERRORS = (
    select(AffectedCustomer.customer_id)
    .join(Error, Error.id == AffectedCustomer.error_id)
    .where(
        AffectedCustomer.customer_id.in_(bindparam("ids", expanding=True)),
        Error.status != "closed",
    )
    .distinct()
)


def hurt_by_open_errors(session: Session, customer_ids: set[int]) -> set[int]:
    """Those of ``customer_ids`` that an error not yet closed affected, in one query."""
    if not customer_ids:
        return set()
    session.flush()
    if len(customer_ids) == 1:
        (only,) = customer_ids
        hit = _AFFECTED_BY_OPEN_ERROR.first(session.connection(), {"customer_id": only})
        return {only} if hit is not None else set()
    rows = session.connection().execute(_HURT_BY_OPEN_ERRORS, {"ids": sorted(customer_ids)})
    return {row[0] for row in rows}


def link_inbound(
    session: Session, actor: Actor, *, message_id: int, case_id: int, customer_id: int
) -> list[ErrorCaseLink]:
    """An affected customer wrote: link the case to the open errors that hurt them, note the
    reply on their apology, and turn the promised date into a commitment on the case."""
    session.flush()  # what an ORM query would do first: pending rows count
    if _AFFECTED_BY_OPEN_ERROR.first(session.connection(), {"customer_id": customer_id}) is None:
        return []
    rows = session.execute(
        select(AffectedCustomer, Error)
        .join(Error, Error.id == AffectedCustomer.error_id)
        .where(AffectedCustomer.customer_id == customer_id, Error.status != "closed")
    ).all()
    links: list[ErrorCaseLink] = []
    now = utcnow()
    for affected, error in rows:
        already = session.scalar(
            select(ErrorCaseLink.id).where(
                ErrorCaseLink.error_id == error.id, ErrorCaseLink.case_id == case_id
            )
        )
        apology = session.scalar(
            select(Apology).where(Apology.error_id == error.id, Apology.customer_id == customer_id)
        )
        apologised = apology is not None and apology.sent_at is not None
        if already is None:
            link = ErrorCaseLink(
                error_id=error.id,
                case_id=case_id,
                customer_id=customer_id,
                message_id=message_id,
                before_apology=not apologised,
            )
            session.add(link)
            links.append(link)
            record(
                session,
                actor,
                "error.case.link",
                "error",
                error.id,
                after={
                    "case_id": case_id,
                    "customer_id": customer_id,
                    "before_apology": not apologised,
                },
            )
            _promise_on_case(session, actor, error, case_id)
        if apologised and apology is not None and apology.replied_at is None:
            apology.state = "replied" if apology.state != "complained" else apology.state
            apology.replied_at = now
            apology.case_id = case_id
            enqueue(
                session,
                "apologies.classify_reply",
                {"apology_id": apology.id, "message_id": message_id},
            )
        elif not apologised and affected.state != "complained":
            # They complained before we apologised: the figure the issue wants to shrink.
            affected.state = "complained"
    session.flush()
    return links


def _promise_on_case(session: Session, actor: Actor, error: Error, case_id: int) -> None:
    campaign = get_campaign(session, error.id)
    if campaign is None or campaign.promised_by is None or campaign.promised_by <= utcnow():
        return
    from meaculpa.cases.queries import get_case
    from meaculpa.commitments.actions import do_create_commitment

    case_row = get_case(session, case_id)
    if case_row is None:
        return
    do_create_commitment(
        session,
        actor,
        case_row,
        kind="update",
        due_at=campaign.promised_by,
        description=f"E-{error.id}: {error.title}"[:2000],
    )


def classify_reply(session: Session, apology_id: int, text: str) -> bool:
    """A negative or angry reply to an apology is a complaint; returns whether it was."""
    from meaculpa.analysis.inbound import analyze_inbound

    apology = session.get(Apology, apology_id)
    if apology is None or not text.strip():
        return False
    [result] = analyze_inbound([text[:20_000]])
    complaint = (
        result.sentiment.label == "negative" or result.anger.angry or bool(result.escalation)
    )
    if not complaint or apology.state == "complained":
        return False
    apology.state = "complained"
    apology.complained_at = utcnow()
    session.execute(
        update(AffectedCustomer)
        .where(
            AffectedCustomer.error_id == apology.error_id,
            AffectedCustomer.customer_id == apology.customer_id,
        )
        .values(state="complained", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    record(
        session,
        Actor.system("apologies"),
        "apology.complaint",
        "error",
        apology.error_id,
        after={"customer_id": apology.customer_id, "sentiment": result.sentiment.label},
    )
    return True


# --- updates on an error ------------------------------------------------------------------------


def do_post_update(session: Session, actor: Actor, error: Error, data: PostIn) -> ErrorPost:
    check_can_edit_error(actor, error)
    post = ErrorPost(
        error_id=error.id,
        text_es=data.text_es,
        text_en=data.text_en,
        notify=data.notify,
        created_by_id=actor.id,
    )
    session.add(post)
    session.flush()
    if data.notify:
        enqueue(session, "apologies.notify_post", {"post_id": post.id})
    record(
        session,
        actor,
        "error.post",
        "error",
        error.id,
        after={"post_id": post.id, "notify": data.notify},
    )
    return post


def notify_post(session: Session, post_id: int, settings: Settings, *, limit: int = CHUNK) -> int:
    """Queue the update's e-mail to up to ``limit`` affected customers not yet told; returns
    how many were queued (the job enqueues itself again while some remain)."""
    post = session.get(ErrorPost, post_id)
    if post is None:
        return 0
    error = session.get(Error, post.error_id)
    assert error is not None
    email = _email_of(Customer.id)
    rows = session.execute(
        select(Customer.id, Customer.name, Customer.language, email.label("address"))
        .join(AffectedCustomer, AffectedCustomer.customer_id == Customer.id)
        .where(
            AffectedCustomer.error_id == error.id,
            Customer.opt_out.is_(False),
            ~exists().where(PostNotice.post_id == post.id, PostNotice.customer_id == Customer.id),
        )
        .order_by(Customer.id)
        .limit(limit)
    ).all()
    actor = Actor.system("apologies")
    status_url = f"{settings.base_url.rstrip('/')}/status#E-{error.id}"
    for row in rows:
        email_id = None
        if row.address is not None:
            lang = texts.language_of(row.language)
            text = (post.text_es if lang == "es" else post.text_en) or post.text_es or post.text_en
            values = {
                "customer_name": row.name,
                "error_title": error.title,
                "text": text,
                "status_url": status_url if error.public else "",
            }
            email_id = do_queue_email(
                session,
                actor,
                to=Recipient(row.address, row.name),
                subject=texts.render(texts.UPDATE_SUBJECT[lang], values),
                text=texts.with_opt_out(
                    texts.tidy(texts.render(texts.UPDATE_BODY[lang], values)),
                    lang,
                    texts.opt_out_url(settings.base_url, settings.secret_key, row.id),
                ),
                kind="update",
                mail_domain=settings.mail_domain,
                language=lang,
                customer_id=row.id,
            ).id
        session.add(PostNotice(post_id=post.id, customer_id=row.id, email_id=email_id))
    session.flush()
    if len(rows) == limit:
        enqueue(session, "apologies.notify_post", {"post_id": post.id})
    return len(rows)
