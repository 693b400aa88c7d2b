"""The words of the commitments domain: kind and state labels, and the e-mails it sends.

Every string is an English msgid translated through the ``commitments.po`` catalogs, so the
owner reads reminders in their own language and the customer reads updates in theirs.
"""

from __future__ import annotations

from datetime import datetime

from babel.dates import format_datetime as babel_format_datetime

from meaculpa.core.clock import as_utc
from meaculpa.core.i18n import LANGUAGES, N_, gettext_for, normalise_language, zone

KIND_LABELS: dict[str, str] = {
    "call_back": N_("Call back"),
    "write": N_("Write"),
    "refund": N_("Refund the customer"),
    "deliver": N_("Deliver"),
    "visit": N_("Visit"),
    "update": N_("Give an update"),
    "investigate": N_("Investigate"),
}

STATE_LABELS: dict[str, str] = {
    "open": N_("Pending"),
    "overdue": N_("Overdue"),
    "kept": N_("Kept"),
    "broken": N_("Broken"),
    "cancelled": N_("Cancelled"),
}

SOURCE_LABELS: dict[str, str] = {
    "manual": N_("Added by hand"),
    "extracted": N_("From a reply"),
}

# What the customer is told is happening, by the case's status.
STATUS_SENTENCES: dict[str, str] = {
    "new": N_("We have your message and the person in charge of your case is reviewing it."),
    "acknowledged": N_(
        "The person in charge of your case has it in hand and is working out how to put "
        "things right."
    ),
    "in_progress": N_("We are working on putting things right."),
}

# Day and time, spelled out: "miércoles, 11 de marzo, 12:00" / "Wednesday 11 March, 12:00".
_PATTERNS = {"es": "EEEE, d 'de' MMMM, HH:mm", "en": "EEEE d MMMM, HH:mm"}


def language_of(value: str | None) -> str:
    return normalise_language(value) or LANGUAGES[0]


def when(value: datetime | None, language: str, timezone: str | None) -> str:
    """``value`` in ``timezone``, spelled out for a reader of ``language``."""
    if value is None:
        return ""
    language = language_of(language)
    return babel_format_datetime(
        as_utc(value), _PATTERNS[language], tzinfo=zone(timezone), locale=language
    )


def kind_label(kind: str, language: str) -> str:
    return gettext_for(language_of(language))(KIND_LABELS.get(kind, kind))


def reminder_email(
    *,
    language: str,
    owner_name: str,
    customer_name: str,
    kind: str,
    description: str,
    due_at: datetime,
    customer_timezone: str,
    org_timezone: str,
    minutes_left: int,
    reference: str,
    link: str,
) -> tuple[str, str]:
    """Subject and text of a reminder to the promise's owner."""
    _ = gettext_for(language_of(language))
    hours, minutes = divmod(max(minutes_left, 0), 60)
    left = (
        _("%(hours)d h %(minutes)02d min", hours=hours, minutes=minutes)
        if hours
        else _("%(minutes)d min", minutes=minutes)
    )
    subject = _(
        "Reminder: promise to %(customer)s due in %(left)s (%(reference)s)",
        customer=customer_name,
        left=left,
        reference=reference,
    )
    lines = [
        _("Hello %(name)s,", name=owner_name),
        "",
        _("You promised %(customer)s:", customer=customer_name),
        f"  {kind_label(kind, language)}: {description}".rstrip(": "),
        "",
        _(
            "It is due %(customer_time)s in the customer's time (%(customer_zone)s), "
            "which is %(our_time)s for us.",
            customer_time=when(due_at, language, customer_timezone),
            customer_zone=customer_timezone,
            our_time=when(due_at, language, org_timezone),
        ),
        _("When you have done it, mark it as kept on the case page:"),
        link,
    ]
    return subject, "\n".join(lines) + "\n"


def alert_email(
    *,
    language: str,
    owner_name: str,
    customer_name: str,
    kind: str,
    description: str,
    due_at: datetime,
    customer_timezone: str,
    org_timezone: str,
    reference: str,
    link: str,
) -> tuple[str, str]:
    """Subject and text of the alert to the owner of a promise that was missed."""
    _ = gettext_for(language_of(language))
    subject = _(
        "Missed promise to %(customer)s (%(reference)s)",
        customer=customer_name,
        reference=reference,
    )
    lines = [
        _("Hello %(name)s,", name=owner_name),
        "",
        _(
            "The promise to %(customer)s was due %(customer_time)s in the customer's time "
            "(%(our_time)s for us) and was not marked as kept, so it now counts as broken:",
            customer=customer_name,
            customer_time=when(due_at, language, customer_timezone),
            our_time=when(due_at, language, org_timezone),
        ),
        f"  {kind_label(kind, language)}: {description}".rstrip(": "),
        "",
        _(
            "Contact the customer now: apologise for the delay, do what was promised, or give "
            "them a new time you can keep."
        ),
        link,
    ]
    return subject, "\n".join(lines) + "\n"


def owner_update_email(
    *,
    language: str,
    owner_name: str,
    customer_name: str,
    reference: str,
    subject_line: str,
    last_contact_at: datetime,
    org_timezone: str,
    link: str,
) -> tuple[str, str]:
    """Subject and text of the reminder that a customer is due a progress update."""
    _ = gettext_for(language_of(language))
    subject = _(
        "%(customer)s is due an update on %(reference)s",
        customer=customer_name,
        reference=reference,
    )
    lines = [
        _("Hello %(name)s,", name=owner_name),
        "",
        _(
            "%(customer)s has not heard from us about %(reference)s (%(subject)s) since %(last)s.",
            customer=customer_name,
            reference=reference,
            subject=subject_line or "—",
            last=when(last_contact_at, language, org_timezone),
        ),
        _(
            "Write to them today, even if there is no news yet: say what is happening and when "
            "they will hear from us next."
        ),
        link,
    ]
    return subject, "\n".join(lines) + "\n"


def customer_update_email(
    *,
    language: str,
    customer_name: str,
    reference: str,
    subject_line: str,
    status: str,
    promises: list[tuple[str, str, datetime | None]],
    next_at: datetime,
    customer_timezone: str,
    owner_name: str | None,
    company: str,
) -> tuple[str, str]:
    """Subject and text of the automatic progress update to the customer.

    ``promises`` are the open ``(kind, description, due_at)`` of the case.
    """
    _ = gettext_for(language_of(language))
    subject = _("Update on your case %(reference)s", reference=reference)
    lines = [
        _("Hello %(name)s,", name=customer_name),
        "",
        _(
            "We have not forgotten your case %(reference)s (%(subject)s), and we are sorry it "
            "is taking longer than it should.",
            reference=reference,
            subject=subject_line or "—",
        ),
        _(STATUS_SENTENCES.get(status, STATUS_SENTENCES["in_progress"])),
    ]
    if promises:
        lines += ["", _("What we have promised you:")]
        for kind, description, due_at in promises:
            item = description or kind_label(kind, language)
            if due_at is not None:
                item = _(
                    "%(what)s, by %(when)s",
                    what=item,
                    when=when(due_at, language, customer_timezone),
                )
            lines.append(f"  - {item}")
    lines += [
        "",
        _(
            "You will hear from us again by %(when)s at the latest, sooner if there is news.",
            when=when(next_at, language, customer_timezone),
        ),
        _(
            "If anything has changed on your side, just reply to this e-mail and it will reach "
            "%(owner)s.",
            owner=owner_name or _("the person in charge of your case"),
        ),
        "",
        _("Thank you for your patience."),
        company,
    ]
    return subject, "\n".join(lines) + "\n"
