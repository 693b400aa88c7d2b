"""Writes of the surveys domain: settings and question texts, scheduling a survey after a
resolved case, list sends, sending, answering (and acting on a low score), opting out.
Each records its audit event in the caller's transaction."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from meaculpa.accounts.queries import get_user, organisation_or_default
from meaculpa.cases.actions import do_open_case
from meaculpa.cases.models import Case
from meaculpa.cases.queries import get_case
from meaculpa.core.audit import Actor, record, snapshot
from meaculpa.core.clock import as_utc, utcnow
from meaculpa.core.enums import CaseStatus, Direction
from meaculpa.core.events import publish
from meaculpa.core.exceptions import Conflict, Invalid, NotFound
from meaculpa.core.i18n import DEFAULT_LANGUAGE, LANGUAGES, format_date, gettext_for, zone
from meaculpa.core.permissions import require_role
from meaculpa.customers.actions import do_update_customer
from meaculpa.customers.identity import IdentityError, normalise_identity
from meaculpa.customers.models import Customer
from meaculpa.customers.queries import (
    customers_query,
    find_customers_by_identities,
    get_customer,
)
from meaculpa.customers.schemas import CustomerUpdate
from meaculpa.followups.queries import customer_email, followup_times_for_customer
from meaculpa.jobs.queue import enqueue
from meaculpa.messages.actions import do_add_reply
from meaculpa.messages.schemas import ReplyIn
from meaculpa.notifications.actions import Recipient, do_email_user, do_queue_email
from meaculpa.surveys import queries
from meaculpa.surveys.links import survey_token, survey_url
from meaculpa.surveys.models import (
    KINDS,
    SCALES,
    SurveyInvite,
    SurveyResponse,
    SurveySend,
    SurveySettings,
    SurveyText,
)
from meaculpa.surveys.schemas import (
    MAX_COMMENT,
    MAX_RECIPIENTS,
    Audience,
    CustomerFilter,
    QuestionTextUpdate,
    RecipientsSummary,
    SendCreate,
    SurveySettingsUpdate,
)
from meaculpa.surveys.texts import KIND_NAMES, SCALE_ENDS

SURVEY_ACTOR = Actor.system("surveys")
SEND_JOB = "surveys.send"
DONE_STATUSES = (CaseStatus.resolved.value, CaseStatus.closed.value)
UNKNOWN_SHOWN = 100


def _language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def _team_of(session: Session, user_id: int | None) -> int | None:
    user = get_user(session, user_id) if user_id is not None else None
    return user.team_id if user is not None else None


# --- settings and question texts ------------------------------------------------------------


def do_update_survey_settings(
    session: Session, actor: Actor, data: SurveySettingsUpdate
) -> SurveySettings:
    require_role(actor, "manager", "change the survey settings")
    row = queries.settings_row(session)
    if row is None:
        current = queries.survey_settings(session)
        row = SurveySettings(**{f: getattr(current, f) for f in queries.SETTING_FIELDS})
        session.add(row)
        session.flush()
    before = snapshot(row, queries.SETTING_FIELDS)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is None:
            raise Invalid(f"{name} cannot be empty", field=name)
        setattr(row, name, value)
    session.flush()
    after = snapshot(row, queries.SETTING_FIELDS)
    if after != before:
        record(
            session,
            actor,
            "survey.settings.update",
            "survey_settings",
            row.id,
            before=before,
            after=after,
        )
    return row


def _check_kind_language(kind: str, language: str) -> None:
    if kind not in KINDS:
        raise NotFound(f"there is no survey kind {kind!r}; use one of {', '.join(KINDS)}")
    if language not in LANGUAGES:
        raise NotFound(f"there is no language {language!r}; use one of {', '.join(LANGUAGES)}")


def do_set_question_text(
    session: Session, actor: Actor, kind: str, language: str, data: QuestionTextUpdate
) -> queries.QuestionText:
    """A manager's own wording of one kind's two questions in one language."""
    require_role(actor, "manager", "change the survey questions")
    _check_kind_language(kind, language)
    row = session.scalar(
        select(SurveyText).where(SurveyText.kind == kind, SurveyText.language == language)
    )
    before = snapshot(
        queries.question_text(session, kind, language), ("question", "comment_question")
    )
    if row is None:
        row = SurveyText(kind=kind, language=language, question="", comment_question="")
        session.add(row)
    row.question = data.question
    row.comment_question = data.comment_question
    session.flush()
    after = {"question": row.question, "comment_question": row.comment_question}
    if after != before:
        record(
            session,
            actor,
            "survey.text.update",
            "survey_text",
            f"{kind}:{language}",
            before=before,
            after=after,
        )
    return queries.question_text(session, kind, language)


def do_reset_question_text(
    session: Session, actor: Actor, kind: str, language: str
) -> queries.QuestionText:
    """Back to the default wording."""
    require_role(actor, "manager", "change the survey questions")
    _check_kind_language(kind, language)
    row = session.scalar(
        select(SurveyText).where(SurveyText.kind == kind, SurveyText.language == language)
    )
    if row is not None:
        before = {"question": row.question, "comment_question": row.comment_question}
        session.delete(row)
        session.flush()
        record(
            session,
            actor,
            "survey.text.reset",
            "survey_text",
            f"{kind}:{language}",
            before=before,
        )
    return queries.question_text(session, kind, language)


# --- after a resolved case ------------------------------------------------------------------


def do_schedule_case_survey(session: Session, actor: Actor, case: Case) -> SurveyInvite | None:
    """Schedule the survey of the case's current resolution (once per resolution)."""
    if case.status != CaseStatus.resolved.value or case.resolved_at is None:
        return None
    settings = queries.survey_settings(session)
    if not settings.after_case:
        return None
    round_ = case.reopened_count
    exists = session.scalar(
        select(SurveyInvite.id).where(
            SurveyInvite.case_id == case.id, SurveyInvite.case_round == round_
        )
    )
    if exists is not None:
        return None
    customer = get_customer(session, case.customer_id)
    invite = SurveyInvite(
        kind=settings.after_case_kind,
        source="case",
        customer_id=case.customer_id,
        case_id=case.id,
        case_round=round_,
        owner_id=case.owner_id,
        team_id=_team_of(session, case.owner_id),
        status="scheduled",
        language=_language(customer.language if customer else None),
        due_at=as_utc(case.resolved_at) + timedelta(days=settings.delay_days),
    )
    session.add(invite)
    session.flush()
    enqueue(session, SEND_JOB, {"invite_id": invite.id}, run_after=invite.due_at)
    record(
        session,
        actor,
        "survey.schedule",
        "survey",
        invite.id,
        after={"case_id": case.id, "kind": invite.kind, "due_at": invite.due_at.isoformat()},
    )
    return invite


def do_cancel_case_surveys(session: Session, actor: Actor, case_id: int, *, reason: str) -> int:
    """Cancel the case's surveys not sent yet (it was reopened); return how many."""
    pending = list(
        session.scalars(
            select(SurveyInvite).where(
                SurveyInvite.case_id == case_id, SurveyInvite.status == "scheduled"
            )
        )
    )
    for invite in pending:
        _close(session, actor, invite, "cancelled", reason)
    return len(pending)


def _close(session: Session, actor: Actor, invite: SurveyInvite, status: str, note: str) -> None:
    before = invite.status
    invite.status = status
    invite.status_note = note[:200]
    session.flush()
    record(
        session,
        actor,
        f"survey.{'cancel' if status == 'cancelled' else 'skip'}",
        "survey",
        invite.id,
        before={"status": before},
        after={"status": status, "reason": note},
    )


# --- list sends -----------------------------------------------------------------------------


def _customers_for(
    session: Session, audience: Audience, summary: RecipientsSummary
) -> list[Customer]:
    if audience.emails is not None:
        wanted: dict[str, None] = {}
        for raw in audience.emails:
            try:
                wanted[normalise_identity("email", raw)[1]] = None
            except IdentityError:
                summary.invalid_count += 1
        found = find_customers_by_identities(session, [("email", e) for e in wanted])
        by_email = {i.value: i.customer_id for i in found}
        unknown = [e for e in wanted if e not in by_email]
        summary.unknown_count = len(unknown)
        summary.unknown_emails = unknown[:UNKNOWN_SHOWN]
        ids = sorted(set(by_email.values()))
        if not ids:
            return []
        stmt = customers_query().where(Customer.id.in_(ids)).order_by(Customer.id)
        return list(session.scalars(stmt))
    flt = audience.filter or CustomerFilter()
    stmt = customers_query(
        q=flt.q,
        language=flt.language.value if flt.language else None,
        owner_id=flt.owner_id,
    )
    if flt.customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(flt.customer_ids))
    customers = list(session.scalars(stmt.order_by(Customer.id).limit(MAX_RECIPIENTS + 1)))
    if len(customers) > MAX_RECIPIENTS:
        raise Invalid(
            f"the filter matches more than {MAX_RECIPIENTS} customers; narrow it",
            field="filter",
        )
    return customers


def do_add_recipients(
    session: Session, actor: Actor, send: SurveySend, audience: Audience
) -> RecipientsSummary:
    """Survey these customers as part of ``send``, each exactly once (a customer already in
    the send is counted, not surveyed again; the unique constraint backs this up). Customers
    who opted out get a skipped invitation, so the send shows them."""
    require_role(actor, "manager", "send surveys")
    if (audience.emails is None) == (audience.filter is None):
        raise Invalid("give either emails or filter", field="emails")
    summary = RecipientsSummary()
    customers = _customers_for(session, audience, summary)
    already = set(
        session.scalars(select(SurveyInvite.customer_id).where(SurveyInvite.send_id == send.id))
    )
    now = utcnow()
    scheduled: list[SurveyInvite] = []
    for customer in customers:
        if customer.id in already:
            summary.already_invited += 1
            continue
        invite = SurveyInvite(
            kind=send.kind,
            source="list",
            customer_id=customer.id,
            send_id=send.id,
            owner_id=customer.owner_id,
            team_id=_team_of(session, customer.owner_id),
            status="scheduled",
            language=_language(customer.language),
            due_at=now,
        )
        if customer.opt_out:
            invite.status = "skipped"
            invite.status_note = "the customer opted out of surveys"
            summary.opted_out += 1
        else:
            summary.invited += 1
            scheduled.append(invite)
        session.add(invite)
        already.add(customer.id)
    session.flush()
    for invite in scheduled:
        enqueue(session, SEND_JOB, {"invite_id": invite.id}, run_after=now)
    record(
        session,
        actor,
        "survey_send.recipients",
        "survey_send",
        send.id,
        after=summary.model_dump(exclude={"unknown_emails"}),
    )
    return summary


def do_create_send(
    session: Session, actor: Actor, data: SendCreate
) -> tuple[SurveySend, RecipientsSummary | None]:
    require_role(actor, "manager", "send surveys")
    send = SurveySend(
        name=data.name,
        kind=data.kind,
        created_by_id=actor.id if actor.kind in ("user", "token") else None,
    )
    session.add(send)
    session.flush()
    record(
        session,
        actor,
        "survey_send.create",
        "survey_send",
        send.id,
        after={"name": send.name, "kind": send.kind},
    )
    summary = do_add_recipients(session, actor, send, data.audience) if data.audience else None
    return send, summary


# --- sending --------------------------------------------------------------------------------


def _survey_email(
    session: Session,
    invite: SurveyInvite,
    customer: Customer,
    case: Case | None,
    url: str,
    expires: datetime,
) -> tuple[str, str]:
    lang = _language(invite.language)
    _ = gettext_for(lang)
    org = organisation_or_default(session)
    texts = queries.question_text(session, invite.kind, lang)
    low, high = SCALES[invite.kind]
    low_text, high_text = SCALE_ENDS[invite.kind]
    if case is not None:
        subject = _("How did we do? (%(reference)s)", reference=case.reference)
        opening = _(
            "We recently solved your case %(reference)s (%(subject)s) and would like to know "
            "how it went for you.",
            reference=case.reference,
            subject=case.subject or _("(no subject)"),
        )
    else:
        subject = _("%(company)s would like your opinion", company=org.name)
        opening = _("We would like to know how we are doing for you.")
    lines = [
        _("Hello %(name)s,", name=customer.name),
        "",
        opening,
        "",
        texts.question,
        _(
            "(from %(low)s: %(low_text)s, to %(high)s: %(high_text)s)",
            low=low,
            low_text=_(low_text),
            high=high,
            high_text=_(high_text),
        ),
        "",
        _("Answer here, it takes a minute:"),
        url,
        "",
        _(
            "We read every answer and act on it. The link works until %(date)s. If you "
            "prefer not to receive surveys, you can say so on the same page.",
            date=format_date(expires, lang, org.timezone),
        ),
        "",
        _("Thank you,"),
        org.name,
    ]
    return subject, "\n".join(lines) + "\n"


def _same_day_followup(session: Session, customer_id: int, now: datetime) -> bool:
    """Whether the follow-up question went, or is due to go, to this customer today (in the
    organisation's time zone): one question a day is enough."""
    tz = zone(organisation_or_default(session).timezone)
    local = as_utc(now).astimezone(tz).date()
    start = datetime.combine(local, time(), tz)
    end = start + timedelta(days=1)
    return bool(followup_times_for_customer(session, customer_id, start, end))


def do_send_invite(
    session: Session, invite_id: int, *, secret: str, base_url: str, mail_domain: str
) -> str:
    """Send the survey now (the job calls this when it falls due); return its new status.

    Idempotent: an invitation that is not ``scheduled`` any more is left alone. Skipped when
    the customer opted out, has no e-mail address or had a survey in the quiet period;
    postponed a day when the customer gets the follow-up question that same day.
    """
    invite = session.get(SurveyInvite, invite_id)
    if invite is None:
        return "missing"
    if invite.status != "scheduled":
        return invite.status
    case = get_case(session, invite.case_id) if invite.case_id is not None else None
    if invite.source == "case" and (
        case is None or case.status not in DONE_STATUSES or case.reopened_count != invite.case_round
    ):
        _close(session, SURVEY_ACTOR, invite, "cancelled", "the case was reopened first")
        return "cancelled"
    customer = get_customer(session, invite.customer_id)
    if customer is None:
        return "missing"
    address = customer_email(customer)
    settings = queries.survey_settings(session)
    now = utcnow()
    reason = None
    if customer.opt_out:
        reason = "the customer opted out of surveys"
    elif address is None:
        reason = "the customer has no e-mail address"
    elif settings.quiet_days and queries.surveyed_since(
        session, customer.id, now - timedelta(days=settings.quiet_days), exclude_id=invite.id
    ):
        reason = f"the customer had a survey in the last {settings.quiet_days} days"
    if reason is not None:
        _close(session, SURVEY_ACTOR, invite, "skipped", reason)
        return "skipped"
    assert address is not None
    if _same_day_followup(session, customer.id, now):
        invite.due_at = now + timedelta(days=1)
        enqueue(session, SEND_JOB, {"invite_id": invite.id}, run_after=invite.due_at)
        record(
            session,
            SURVEY_ACTOR,
            "survey.postpone",
            "survey",
            invite.id,
            after={
                "due_at": invite.due_at.isoformat(),
                "reason": "the customer gets the follow-up question today",
            },
        )
        return "scheduled"
    lang = _language(customer.language)
    invite.language = lang
    token, expires = survey_token(secret, invite.id, settings.link_days)
    subject, text = _survey_email(
        session, invite, customer, case, survey_url(base_url, token), expires
    )
    email = do_queue_email(
        session,
        SURVEY_ACTOR,
        to=Recipient(address, customer.name),
        subject=subject,
        text=text,
        kind="survey",
        mail_domain=mail_domain,
        language=lang,
        case_id=invite.case_id,
        customer_id=customer.id,
    )
    invite.status = "sent"
    invite.sent_at = now
    invite.expires_at = expires
    invite.email_id = email.id
    record(
        session,
        SURVEY_ACTOR,
        "survey.send",
        "survey",
        invite.id,
        after={"status": "sent", "email_id": email.id, "language": lang},
    )
    return "sent"


# --- answering ------------------------------------------------------------------------------


def check_score(kind: str, score: int) -> None:
    low, high = SCALES[kind]
    if not low <= score <= high:
        raise Invalid(f"the score of a {kind} survey goes from {low} to {high}", field="score")


def _owner_language(session: Session, customer: Customer) -> str:
    owner = get_user(session, customer.owner_id) if customer.owner_id else None
    if owner is not None and owner.is_active:
        return _language(owner.language)
    return _language(organisation_or_default(session).default_language)


def _open_followup_case(
    session: Session,
    actor: Actor,
    invite: SurveyInvite,
    response: SurveyResponse,
    customer: Customer,
    *,
    base_url: str,
    mail_domain: str,
) -> Case:
    """A low score is acted on: a case with the customer's owner, and a note saying why."""
    lang = _owner_language(session, customer)
    _ = gettext_for(lang)
    low, high = SCALES[invite.kind]
    kind_name = _(KIND_NAMES[invite.kind])
    case = do_open_case(
        session,
        actor,
        customer,
        channel="web",
        language=invite.language,
        subject=_(
            "Survey answer to act on: %(kind)s %(score)s of %(high)s",
            kind=kind_name,
            score=response.score,
            high=high,
        ),
    )
    low_text, high_text = SCALE_ENDS[invite.kind]
    lines = [
        _(
            "%(customer)s answered a %(kind)s survey with %(score)s (from %(low)s: "
            "%(low_text)s, to %(high)s: %(high_text)s). That is low enough to act on.",
            customer=customer.name,
            kind=kind_name,
            score=response.score,
            low=low,
            low_text=_(low_text),
            high=high,
            high_text=_(high_text),
        ),
        _("Their comment: %(comment)s", comment=response.comment)
        if response.comment
        else _("They left no comment."),
    ]
    origin = get_case(session, invite.case_id) if invite.case_id is not None else None
    if origin is not None:
        lines.append(_("The survey followed case %(reference)s.", reference=origin.reference))
    lines.append(
        _("Contact them, find out what went wrong and put it right; then resolve this case.")
    )
    note = "\n".join(lines)
    do_add_reply(session, actor, case, ReplyIn(direction=Direction.note, text=note[:20000]))
    owner = get_user(session, case.owner_id) if case.owner_id is not None else None
    if owner is not None and owner.is_active:
        do_email_user(
            session,
            actor,
            owner,
            subject=_("Low survey score: %(reference)s opened", reference=case.reference),
            text=note + "\n\n" + f"{base_url.rstrip('/')}/cases/{case.id}\n",
            kind="alert",
            mail_domain=mail_domain,
            language=lang,
            case_id=case.id,
        )
    return case


def _thank(
    session: Session,
    actor: Actor,
    invite: SurveyInvite,
    response: SurveyResponse,
    customer: Customer,
    *,
    mail_domain: str,
) -> None:
    address = customer_email(customer)
    if address is None:
        return
    lang = _language(invite.language)
    _ = gettext_for(lang)
    org = organisation_or_default(session)
    if response.low:
        middle = _(
            "We are sorry we fell short. The person who looks after you will contact you soon "
            "to put it right."
        )
    else:
        middle = _("Your answer helps us do better, and we read every one.")
    text = "\n".join(
        [
            _("Hello %(name)s,", name=customer.name),
            "",
            _("Thank you for answering our survey."),
            middle,
            "",
            _("Thank you,"),
            org.name,
        ]
    )
    do_queue_email(
        session,
        actor,
        to=Recipient(address, customer.name),
        subject=_("Thank you for your answer"),
        text=text + "\n",
        kind="survey",
        mail_domain=mail_domain,
        language=lang,
        case_id=invite.case_id,
        customer_id=customer.id,
    )


def do_answer_survey(
    session: Session,
    invite_id: int,
    score: int,
    comment: str = "",
    *,
    base_url: str,
    mail_domain: str,
) -> SurveyResponse:
    """Store the customer's answer once, thank them, and act on a low score.

    A score outside the scale is :class:`Invalid` (422); a second answer is
    :class:`Conflict` (409). A low score opens a case with the customer's owner. Then
    ``survey.answered`` is published for the domains that learn from the comments.
    """
    invite = session.get(SurveyInvite, invite_id)
    if invite is None or invite.status not in ("sent", "answered"):
        raise NotFound("this link names no survey")
    if invite.status == "answered":
        raise Conflict("this survey was already answered; thank you")
    check_score(invite.kind, score)
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise Invalid(f"a comment has at most {MAX_COMMENT} characters", field="comment")
    if "\x00" in text:
        raise Invalid("a comment may not contain NUL characters", field="comment")
    now = utcnow()
    # One conditional UPDATE: of two answers sent at the same time only one is stored.
    result = session.execute(
        update(SurveyInvite)
        .where(SurveyInvite.id == invite_id, SurveyInvite.status == "sent")
        .values(status="answered", answered_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not cast("CursorResult[Any]", result).rowcount:
        raise Conflict("this survey was already answered; thank you")
    session.refresh(invite)
    customer = get_customer(session, invite.customer_id)
    if customer is None:
        raise NotFound("this link names no survey")
    settings = queries.survey_settings(session)
    response = SurveyResponse(
        invite_id=invite.id,
        kind=invite.kind,
        score=score,
        comment=text or None,
        language=invite.language,
        customer_id=invite.customer_id,
        case_id=invite.case_id,
        send_id=invite.send_id,
        team_id=invite.team_id,
        low=settings.is_low(invite.kind, score),
        answered_at=now,
    )
    session.add(response)
    session.flush()
    actor = Actor.system(f"survey answer (customer {customer.id})")
    record(
        session,
        actor,
        "survey.answer",
        "survey",
        invite.id,
        after={
            "response_id": response.id,
            "score": score,
            "comment": response.comment,
            "low": response.low,
        },
    )
    if response.low:
        case = _open_followup_case(
            session, actor, invite, response, customer, base_url=base_url, mail_domain=mail_domain
        )
        response.followup_case_id = case.id
        session.flush()
        record(
            session,
            actor,
            "survey.act",
            "survey",
            invite.id,
            after={"followup_case_id": case.id, "owner_id": case.owner_id},
        )
    _thank(session, actor, invite, response, customer, mail_domain=mail_domain)
    publish(
        "survey.answered",
        session=session,
        actor=actor,
        response_id=response.id,
        customer_id=response.customer_id,
        case_id=response.case_id,
        score=score,
        kind=response.kind,
        text=response.comment or "",
        language=response.language,
    )
    return response


def do_opt_out(session: Session, invite_id: int) -> Customer:
    """The customer, from their survey link, asks for no more surveys."""
    invite = session.get(SurveyInvite, invite_id)
    customer = get_customer(session, invite.customer_id) if invite is not None else None
    if invite is None or customer is None:
        raise NotFound("this link names no survey")
    if not customer.opt_out:
        actor = Actor.system(f"survey link (customer {customer.id})")
        do_update_customer(session, actor, customer, CustomerUpdate(opt_out=True))
    return customer
