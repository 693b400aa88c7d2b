"""Writes of the commitments domain. Each ``do_*`` records its audit event in the caller's
transaction and queues its e-mails there too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import get_user, organisation_or_default
from meaculpa.cases.actions import check_can_change
from meaculpa.cases.models import Case
from meaculpa.cases.queries import get_case
from meaculpa.commitments import queries
from meaculpa.commitments.models import (
    KINDS,
    Commitment,
    CommitmentNotice,
    CommitmentSettings,
    ProgressUpdate,
)
from meaculpa.commitments.schemas import SettingsUpdate
from meaculpa.commitments.texts import (
    alert_email,
    customer_update_email,
    owner_update_email,
    reminder_email,
)
from meaculpa.core.audit import Actor, jsonable, record, snapshot
from meaculpa.core.clock import utcnow
from meaculpa.core.enums import IdentityKind
from meaculpa.core.exceptions import Conflict, Forbidden, Invalid
from meaculpa.core.permissions import has_role, require_role
from meaculpa.customers.queries import access_customer, get_customer
from meaculpa.notifications.actions import Recipient, do_email_user, do_queue_email

FIELDS = (
    "case_id",
    "owner_id",
    "kind",
    "description",
    "due_at",
    "depends_on_customer",
    "condition",
    "source",
    "message_id",
    "state",
)
SETTINGS_FIELDS = ("reminder_minutes", "updates_enabled", "update_interval_hours", "update_mode")


@dataclass(frozen=True)
class MailContext:
    """What the e-mails need from the worker's settings."""

    mail_domain: str
    base_url: str

    def case_link(self, case_id: int) -> str:
        return f"{self.base_url.rstrip('/')}/cases/{case_id}"


def _person(actor: Actor) -> int | None:
    return actor.id if actor.kind in ("user", "token") else None


def do_create_commitment(
    session: Session,
    actor: Actor,
    case: Case,
    *,
    kind: str,
    due_at: datetime | None,
    description: str = "",
    depends_on_customer: bool = False,
    condition: str | None = None,
    source: str = "manual",
    message_id: int | None = None,
    due_text: str | None = None,
) -> Commitment:
    """Record a promise on ``case``; its owner is the case's owner (else the actor).

    A promise made by hand must be due in the future; one read from a reply is stored as
    the reply made it.
    """
    if source == "manual":
        check_can_change(actor, case)
    if kind not in KINDS:
        raise Invalid(f"unknown kind of promise {kind!r}", field="kind")
    if due_at is not None and due_at.tzinfo is None:
        raise Invalid("the due time needs its time zone offset", field="due_at")
    if source == "manual" and (due_at is None or due_at <= utcnow()):
        raise Invalid("a promise cannot be due in the past", field="due_at")
    commitment = Commitment(
        case_id=case.id,
        customer_id=case.customer_id,
        owner_id=case.owner_id if case.owner_id is not None else _person(actor),
        kind=kind,
        description=description.strip()[:2000],
        due_at=due_at,
        due_text=(due_text or None) and due_text[:200],
        depends_on_customer=depends_on_customer,
        condition=(condition or None) and condition[:500],
        source=source,
        message_id=message_id,
        state="open",
        created_by_id=_person(actor),
        created_at=utcnow(),
    )
    session.add(commitment)
    session.flush()
    record(
        session,
        actor,
        "commitment.create",
        "commitment",
        commitment.id,
        after=snapshot(commitment, FIELDS),
    )
    return commitment


def check_can_change_commitment(session: Session, actor: Actor, commitment: Commitment) -> None:
    """The promise's owner, whoever may change its case, and managers."""
    if has_role(actor, "manager") or (actor.id is not None and actor.id == commitment.owner_id):
        return
    case = get_case(session, commitment.case_id)
    if case is None:
        raise Forbidden("the case of this promise no longer exists")
    check_can_change(actor, case)


def _require_open(commitment: Commitment) -> None:
    if commitment.state != "open":
        raise Conflict(
            f"commitment {commitment.id} is already {commitment.state}", state=commitment.state
        )


def do_keep_commitment(
    session: Session, actor: Actor, commitment: Commitment, *, note: str | None = None
) -> Commitment:
    """The promise was fulfilled: by the actor, now."""
    check_can_change_commitment(session, actor, commitment)
    _require_open(commitment)
    before = snapshot(commitment, ("state",))
    commitment.state = "kept"
    commitment.kept_at = utcnow()
    commitment.kept_by_id = _person(actor)
    commitment.kept_note = (note or "").strip() or None
    record(
        session,
        actor,
        "commitment.keep",
        "commitment",
        commitment.id,
        before=before,
        after={**snapshot(commitment, ("state", "kept_at")), "note": commitment.kept_note},
    )
    return commitment


def do_cancel_commitment(
    session: Session, actor: Actor, commitment: Commitment, *, reason: str
) -> Commitment:
    """Withdraw a promise (it no longer applies), with the reason; not counted in the rate."""
    if actor.kind != "system":
        check_can_change_commitment(session, actor, commitment)
    _require_open(commitment)
    reason = reason.strip()
    if not reason:
        raise Invalid("say why the promise is cancelled", field="reason")
    before = snapshot(commitment, ("state",))
    commitment.state = "cancelled"
    commitment.cancelled_at = utcnow()
    commitment.cancelled_by_id = _person(actor)
    commitment.cancel_reason = reason[:2000]
    record(
        session,
        actor,
        "commitment.cancel",
        "commitment",
        commitment.id,
        before=before,
        after={"state": "cancelled", "reason": commitment.cancel_reason},
    )
    return commitment


def do_reassign_open_commitments(
    session: Session, actor: Actor, case_id: int, owner_id: int | None
) -> int:
    """A handover moves the case's open promises to its new owner."""
    moved = 0
    for commitment in queries.list_commitments(session, case_id=case_id, state="open", limit=1000):
        if commitment.owner_id == owner_id:
            continue
        before = {"owner_id": commitment.owner_id}
        commitment.owner_id = owner_id
        record(
            session,
            actor,
            "commitment.reassign",
            "commitment",
            commitment.id,
            before=before,
            after={"owner_id": owner_id},
        )
        moved += 1
    return moved


def do_update_settings(session: Session, actor: Actor, data: SettingsUpdate) -> CommitmentSettings:
    require_role(actor, "manager", "change the reminder and update rules")
    row = queries.get_settings(session)
    if row.id is None:
        session.add(row)
    before = snapshot(row, SETTINGS_FIELDS)
    for name in data.model_fields_set:
        value = getattr(data, name)
        if value is not None:
            setattr(row, name, value)
    session.flush()
    record(
        session,
        actor,
        "commitment_settings.update",
        "commitment_settings",
        row.id,
        before=before,
        after=snapshot(row, SETTINGS_FIELDS),
    )
    return row


# --- the scan: reminders, misses, progress updates -------------------------------------------


def _notice(
    session: Session,
    commitment: Commitment,
    kind: str,
    minutes_before: int,
    email_id: int | None,
) -> CommitmentNotice:
    notice = CommitmentNotice(
        commitment_id=commitment.id,
        kind=kind,
        minutes_before=minutes_before,
        user_id=commitment.owner_id,
        email_id=email_id,
        created_at=utcnow(),
    )
    session.add(notice)
    return notice


def do_send_reminder(
    session: Session,
    commitment: Commitment,
    minutes: list[int],
    mail: MailContext,
) -> CommitmentNotice | None:
    """Remind the owner once for the reminder offsets in ``minutes`` (one e-mail for all)."""
    if not minutes or commitment.due_at is None:
        return None
    actor = Actor.system("commitments")
    owner = get_user(session, commitment.owner_id) if commitment.owner_id else None
    customer = get_customer(session, commitment.customer_id)
    org = organisation_or_default(session)
    email_id = None
    if owner is not None and owner.is_active and customer is not None:
        minutes_left = int((commitment.due_at - utcnow()).total_seconds() // 60)
        subject, text = reminder_email(
            language=owner.language,
            owner_name=owner.name,
            customer_name=customer.name,
            kind=commitment.kind,
            description=commitment.description,
            due_at=commitment.due_at,
            customer_timezone=customer.timezone,
            org_timezone=org.timezone,
            minutes_left=minutes_left,
            reference=f"MC-{commitment.case_id}",
            link=mail.case_link(commitment.case_id),
        )
        email = do_email_user(
            session,
            actor,
            owner,
            subject=subject,
            text=text,
            kind="reminder",
            mail_domain=mail.mail_domain,
            case_id=commitment.case_id,
        )
        email_id = email.id
    notices = [_notice(session, commitment, "reminder", m, email_id) for m in sorted(minutes)]
    record(
        session,
        actor,
        "commitment.remind",
        "commitment",
        commitment.id,
        after={"minutes_before": sorted(minutes), "email_id": email_id},
    )
    return notices[0]


def do_mark_broken(session: Session, commitment: Commitment, mail: MailContext) -> Commitment:
    """The due time passed and nobody marked the promise kept: broken, and its owner alerted."""
    _require_open(commitment)
    actor = Actor.system("commitments")
    commitment.state = "broken"
    commitment.broken_at = utcnow()
    record(
        session,
        actor,
        "commitment.break",
        "commitment",
        commitment.id,
        before={"state": "open"},
        after={"state": "broken", "due_at": jsonable(commitment.due_at)},
    )
    owner = get_user(session, commitment.owner_id) if commitment.owner_id else None
    customer = get_customer(session, commitment.customer_id)
    org = organisation_or_default(session)
    email_id = None
    if owner is not None and owner.is_active and customer is not None and commitment.due_at:
        subject, text = alert_email(
            language=owner.language,
            owner_name=owner.name,
            customer_name=customer.name,
            kind=commitment.kind,
            description=commitment.description,
            due_at=commitment.due_at,
            customer_timezone=customer.timezone,
            org_timezone=org.timezone,
            reference=f"MC-{commitment.case_id}",
            link=mail.case_link(commitment.case_id),
        )
        email_id = do_email_user(
            session,
            actor,
            owner,
            subject=subject,
            text=text,
            kind="alert",
            mail_domain=mail.mail_domain,
            case_id=commitment.case_id,
        ).id
    _notice(session, commitment, "alert", 0, email_id)
    return commitment


def _email_identity(session: Session, customer_id: int) -> str | None:
    customer = access_customer(session, Actor.system(), customer_id)
    for identity in customer.identities:
        if identity.kind == IdentityKind.email.value:
            return identity.value
    return None


def do_progress_update(
    session: Session,
    candidate: queries.UpdateCandidate,
    *,
    due_at: datetime,
    next_at: datetime,
    mode: str,
    mail: MailContext,
) -> ProgressUpdate | None:
    """The customer is due an update: send it (``auto_update``, when they have an e-mail
    address) or ask the owner to write (``remind_owner``). Recorded once per due time."""
    exists = session.scalar(
        select(ProgressUpdate.id).where(
            ProgressUpdate.case_id == candidate.case_id, ProgressUpdate.due_at == due_at
        )
    )
    if exists is not None:
        return None
    actor = Actor.system("commitments")
    customer = get_customer(session, candidate.customer_id)
    if customer is None:
        return None
    owner = get_user(session, candidate.owner_id) if candidate.owner_id else None
    org = organisation_or_default(session)
    reference = f"MC-{candidate.case_id}"
    address = _email_identity(session, customer.id) if mode == "auto_update" else None
    email_id = None
    to_address = None
    language = customer.language
    used_mode = "auto_update" if address else "remind_owner"
    if address:
        case = get_case(session, candidate.case_id)
        promises = [
            (c.kind, c.description, c.due_at)
            for c in queries.list_case_commitments(session, candidate.case_id)
            if c.state == "open"
        ]
        language = candidate.language or customer.language
        subject, text = customer_update_email(
            language=language,
            customer_name=customer.name,
            reference=reference,
            subject_line=candidate.subject,
            status=case.status if case is not None else "in_progress",
            promises=promises,
            next_at=next_at,
            customer_timezone=customer.timezone,
            owner_name=owner.name if owner is not None else None,
            company=org.name,
        )
        email = do_queue_email(
            session,
            actor,
            to=Recipient(address, customer.name),
            subject=subject,
            text=text,
            kind="update",
            mail_domain=mail.mail_domain,
            language=language,
            case_id=candidate.case_id,
            customer_id=customer.id,
        )
        email_id, to_address = email.id, address
    elif owner is not None and owner.is_active:
        language = owner.language
        subject, text = owner_update_email(
            language=owner.language,
            owner_name=owner.name,
            customer_name=customer.name,
            reference=reference,
            subject_line=candidate.subject,
            last_contact_at=candidate.last_contact_at,
            org_timezone=org.timezone,
            link=mail.case_link(candidate.case_id),
        )
        email = do_email_user(
            session,
            actor,
            owner,
            subject=subject,
            text=text,
            kind="reminder",
            mail_domain=mail.mail_domain,
            case_id=candidate.case_id,
        )
        email_id, to_address = email.id, owner.email
    update = ProgressUpdate(
        case_id=candidate.case_id,
        mode=used_mode,
        due_at=due_at,
        sent_at=utcnow(),
        next_due_at=next_at,
        email_id=email_id,
        to_address=to_address,
        language=language,
    )
    session.add(update)
    session.flush()
    record(
        session,
        actor,
        "progress_update.send" if used_mode == "auto_update" else "progress_update.remind",
        "case",
        candidate.case_id,
        after={"mode": used_mode, "email_id": email_id, "due_at": jsonable(due_at)},
    )
    return update
