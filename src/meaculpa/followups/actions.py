"""Writes of the followups domain: schedule, cancel, send and answer follow-ups; settings;
the customer's reply from the tracking page. Each records its audit event."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import get_user, organisation_or_default
from meaculpa.cases.actions import do_reopen_case, do_update_case
from meaculpa.cases.models import Case
from meaculpa.cases.queries import get_case
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.enums import CaseStatus
from meaculpa.core.exceptions import Invalid, NotFound
from meaculpa.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, format_date, gettext_for
from meaculpa.core.permissions import require_role
from meaculpa.customers.models import Customer
from meaculpa.customers.queries import get_customer
from meaculpa.followups.links import followup_token, followup_url, tracking_token, tracking_url
from meaculpa.followups.models import Followup, FollowupSettings
from meaculpa.followups.queries import customer_email, followup_settings
from meaculpa.followups.schemas import AnswerIn, FollowupSettingsUpdate
from meaculpa.jobs.queue import enqueue
from meaculpa.messages.actions import IngestOutcome, do_ingest_message
from meaculpa.messages.schemas import InboundMessage
from meaculpa.notifications.actions import Recipient, do_email_user, do_queue_email

FOLLOWUP_ACTOR = Actor.system("follow-up")
SEND_JOB = "followups.send"
NEXT_SEVERITY = {"low": "medium", "medium": "high", "high": "critical", "critical": "critical"}
DONE_STATUSES = (CaseStatus.resolved.value, CaseStatus.closed.value)
MAX_REPLY = 5000
# do_ingest_message takes the case a message belongs to (when open) once the e-mail domain
# has added it; until then a reply lands on the customer's latest open case.
_THREAD_PARAM = next(
    (
        name
        for name in ("thread_case_id", "case_id")
        if name in inspect.signature(do_ingest_message).parameters
    ),
    None,
)


def _language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


# --- settings -------------------------------------------------------------------------------


def do_update_followup_settings(
    session: Session, actor: Actor, data: FollowupSettingsUpdate
) -> FollowupSettings:
    require_role(actor, "manager", "change the follow-up settings")
    row = session.scalar(select(FollowupSettings).order_by(FollowupSettings.id).limit(1))
    if row is None:
        current = followup_settings(session)
        row = FollowupSettings(delay_days=current.delay_days, link_days=current.link_days)
        session.add(row)
        session.flush()
    fields = ("delay_days", "link_days")
    before = snapshot(row, fields)
    if data.delay_days is not None:
        row.delay_days = data.delay_days
    if data.link_days is not None:
        row.link_days = data.link_days
    session.flush()
    after = snapshot(row, fields)
    if after != before:
        record(
            session,
            actor,
            "followup.settings.update",
            "followup_settings",
            row.id,
            before=before,
            after=after,
        )
    return row


# --- scheduling -----------------------------------------------------------------------------


def do_schedule_followup(session: Session, actor: Actor, case: Case) -> Followup | None:
    """Schedule the follow-up of the case's current resolution (once per resolution)."""
    if case.status != CaseStatus.resolved.value or case.resolved_at is None:
        return None
    round_ = case.reopened_count
    exists = session.scalar(
        select(Followup.id).where(Followup.case_id == case.id, Followup.round == round_)
    )
    if exists is not None:
        return None
    customer = get_customer(session, case.customer_id)
    delay = followup_settings(session).delay_days
    followup = Followup(
        case_id=case.id,
        customer_id=case.customer_id,
        round=round_,
        status="scheduled",
        resolved_at=case.resolved_at,
        due_at=case.resolved_at + timedelta(days=delay),
        language=_language(customer.language if customer else None),
    )
    session.add(followup)
    session.flush()
    enqueue(session, SEND_JOB, {"followup_id": followup.id}, run_after=followup.due_at)
    record(
        session,
        actor,
        "followup.schedule",
        "followup",
        followup.id,
        after={"case_id": case.id, "round": round_, "due_at": followup.due_at.isoformat()},
    )
    return followup


def do_cancel_followups(session: Session, actor: Actor, case_id: int, *, reason: str) -> int:
    """Cancel the case's follow-ups not sent yet; return how many."""
    pending = list(
        session.scalars(
            select(Followup).where(Followup.case_id == case_id, Followup.status == "scheduled")
        )
    )
    now = utcnow()
    for followup in pending:
        followup.status = "cancelled"
        followup.status_note = reason[:200]
        followup.cancelled_at = now
        record(
            session,
            actor,
            "followup.cancel",
            "followup",
            followup.id,
            before={"status": "scheduled"},
            after={"status": "cancelled", "reason": reason},
        )
    session.flush()
    return len(pending)


# --- sending --------------------------------------------------------------------------------


def _followup_email(
    customer: Customer, case: Case, lang: str, url: str, expires: str, company: str
) -> tuple[str, str]:
    _ = gettext_for(lang)
    subject = _("Is it really solved? (%(reference)s)", reference=case.reference)
    lines = [
        _("Hello %(name)s,", name=customer.name),
        "",
        _(
            "We marked your case %(reference)s (%(subject)s) as solved. Before we close it "
            "for good we want to be sure.",
            reference=case.reference,
            subject=case.subject or _("(no subject)"),
        ),
        "",
        _("Is it really solved? And how satisfied are you, from 1 to 5? It takes a minute:"),
        url,
        "",
        _(
            "If something is still wrong, tell us there and we will take it up again with "
            "priority. The link works until %(date)s.",
            date=expires,
        ),
        "",
        _("Thank you,"),
        company,
    ]
    return subject, "\n".join(lines) + "\n"


def do_send_followup(
    session: Session,
    followup_id: int,
    *,
    secret: str,
    base_url: str,
    mail_domain: str,
) -> str:
    """Send the question now (the job calls this when it falls due); return the new status.

    Idempotent: a follow-up that is not ``scheduled`` any more is left alone.
    """
    followup = session.get(Followup, followup_id)
    if followup is None:
        return "missing"
    if followup.status != "scheduled":
        return followup.status
    case = get_case(session, followup.case_id)
    if case is None or case.status not in DONE_STATUSES or case.reopened_count != followup.round:
        do_cancel_followups(
            session, FOLLOWUP_ACTOR, followup.case_id, reason="the case was reopened first"
        )
        return "cancelled"
    customer = get_customer(session, followup.customer_id)
    address = customer_email(customer) if customer is not None else None
    if customer is None or address is None:
        followup.status = "skipped"
        followup.status_note = "the customer has no e-mail address"
        record(
            session,
            FOLLOWUP_ACTOR,
            "followup.skip",
            "followup",
            followup.id,
            after={"status": "skipped", "reason": followup.status_note},
        )
        return "skipped"
    lang = _language(customer.language)
    org = organisation_or_default(session)
    days = followup_settings(session).link_days
    token, expires = followup_token(secret, followup.id, days)
    subject, text = _followup_email(
        customer,
        case,
        lang,
        followup_url(base_url, token),
        format_date(expires, lang, org.timezone),
        org.name,
    )
    email = do_queue_email(
        session,
        FOLLOWUP_ACTOR,
        to=Recipient(address, customer.name),
        subject=subject,
        text=text,
        kind="follow_up",
        mail_domain=mail_domain,
        language=lang,
        case_id=case.id,
        customer_id=customer.id,
    )
    followup.status = "sent"
    followup.language = lang
    followup.sent_at = utcnow()
    followup.expires_at = expires
    followup.email_id = email.id
    record(
        session,
        FOLLOWUP_ACTOR,
        "followup.send",
        "followup",
        followup.id,
        after={"status": "sent", "email_id": email.id, "language": lang},
    )
    return "sent"


# --- answering ------------------------------------------------------------------------------


def _alert_owner(
    session: Session, case: Case, followup: Followup, *, base_url: str, mail_domain: str
) -> int | None:
    """Tell the case's owner the customer says it is not solved; return the e-mail's id."""
    if case.owner_id is None:
        return None
    owner = get_user(session, case.owner_id)
    if owner is None or not owner.is_active:
        return None
    lang = _language(owner.language)
    _ = gettext_for(lang)
    customer = get_customer(session, case.customer_id)
    name = customer.name if customer else ""
    rating = str(followup.rating) if followup.rating else "—"
    text = "\n".join(
        [
            _(
                "%(customer)s answered the follow-up of %(reference)s: it is NOT solved.",
                customer=name,
                reference=case.reference,
            ),
            _(
                "The case was reopened with severity %(severity)s.",
                severity=_(_severity_label(case.severity)),
            ),
            _("Satisfaction: %(rating)s of 5", rating=rating),
            _("Comment: %(comment)s", comment=followup.comment or "—"),
            "",
            f"{base_url.rstrip('/')}/cases/{case.id}",
        ]
    )
    email = do_email_user(
        session,
        FOLLOWUP_ACTOR,
        owner,
        subject=_("Not solved: %(reference)s was reopened", reference=case.reference),
        text=text + "\n",
        kind="alert",
        mail_domain=mail_domain,
        language=lang,
        case_id=case.id,
    )
    return email.id


def _severity_label(value: str) -> str:
    from meaculpa.web.labels import label_id

    return label_id("severity", value)


def do_answer_followup(
    session: Session,
    followup_id: int,
    data: AnswerIn,
    *,
    base_url: str,
    mail_domain: str,
) -> tuple[Followup, bool]:
    """Store the customer's answer once; ``(followup, stored)``.

    "Not solved" reopens the case (when it is resolved or closed), raises its severity one
    level and alerts its owner. A second answer changes nothing (``stored`` is False).
    """
    followup = session.get(Followup, followup_id)
    if followup is None:
        raise NotFound(f"follow-up {followup_id} does not exist")
    now = utcnow()
    comment = data.comment.strip() or None
    # One conditional UPDATE: of two answers sent at the same time only one is stored.
    result = session.execute(
        update(Followup)
        .where(
            Followup.id == followup_id, Followup.status == "sent", Followup.answered_at.is_(None)
        )
        .values(
            status="answered",
            answered_at=now,
            solved=data.solved,
            rating=data.rating,
            comment=comment,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    stored = cast("CursorResult[Any]", result).rowcount
    session.refresh(followup)
    if not stored:
        return followup, False
    record(
        session,
        FOLLOWUP_ACTOR,
        "followup.answer",
        "followup",
        followup.id,
        after={"solved": data.solved, "rating": data.rating, "comment": comment},
    )
    case = get_case(session, followup.case_id)
    if case is not None and not data.solved:
        reason = "The customer answered the follow-up: not solved."
        if comment:
            reason = f"{reason} {comment}"
        if case.status in DONE_STATUSES:
            do_reopen_case(session, FOLLOWUP_ACTOR, case, reason=reason[:2000])
            followup.reopened_case = True
        raised = NEXT_SEVERITY.get(case.severity, case.severity)
        if raised != case.severity:
            do_update_case(session, FOLLOWUP_ACTOR, case, severity=raised)
        _alert_owner(session, case, followup, base_url=base_url, mail_domain=mail_domain)
        session.flush()
    return followup, True


# --- tracking -------------------------------------------------------------------------------


def tracking_link(session: Session, case: Case, *, secret: str, base_url: str) -> tuple[str, Any]:
    """A signed link to the case's tracking page and when it expires (nothing is stored)."""
    days = followup_settings(session).link_days
    token, expires = tracking_token(secret, case.id, case.customer_id, days)
    return tracking_url(base_url, token), expires


def do_reply_from_tracking(
    session: Session, case: Case, customer: Customer, text: str, *, nonce: str
) -> IngestOutcome:
    """The customer's reply on the tracking page: an inbound web message, as that customer.

    ``nonce`` comes from the form, so a double submit stores one message.
    """
    text = text.strip()
    if not text:
        raise Invalid("write a message before sending it", field="text")
    if len(text) > MAX_REPLY:
        raise Invalid(f"a message has at most {MAX_REPLY} characters", field="text")
    identities = sorted(customer.identities, key=lambda i: (i.kind != "email", i.id))
    if not identities:
        raise Invalid("this customer has no identity to write as", field="customer")
    identity = identities[0]
    data = InboundMessage.model_validate(
        {
            "channel": "web",
            "customer": {"identities": [{"kind": identity.kind, "value": identity.value}]},
            "text": text,
            "external_id": f"track:{case.id}:{nonce}"[:255],
        }
    )
    actor = Actor.system(f"tracking page (customer {customer.id})")
    kwargs: dict[str, Any] = {_THREAD_PARAM: case.id} if _THREAD_PARAM else {}
    return do_ingest_message(session, actor, data, **kwargs)
