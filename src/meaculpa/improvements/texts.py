"""The words of the improvements domain: labels, and the e-mails it sends.

Every string is an English msgid translated through the ``improvements.po`` catalogs: the
owner reads reminders in their language, each customer reads "you said, we did" in theirs.
"""

from __future__ import annotations

from datetime import datetime

from meaculpa.core.i18n import LANGUAGES, N_, format_date, gettext_for, normalise_language

PURPOSE_LABELS: dict[str, str] = {
    "corrective": N_("Corrective"),
    "preventive": N_("Preventive"),
}
KIND_LABELS: dict[str, str] = {
    "playbook_revision": N_("Playbook revision"),
    "staff_training": N_("Staff training"),
    "policy_change": N_("Policy change"),
    "process_fix": N_("Process fix"),
    "product_fix": N_("Product fix"),
}
STATUS_LABELS: dict[str, str] = {
    "planned": N_("Planned"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
    "overdue": N_("Overdue"),
}
VERDICT_LABELS: dict[str, str] = {
    "pending": N_("Measuring: the after-window is still running"),
    "effective": N_("Effective"),
    "not_effective": N_("Not effective"),
    "not_enough_data": N_("Not enough data"),
}
OUTCOME_LABELS: dict[str, str] = {
    "sent": N_("Told by e-mail"),
    "opted_out": N_("Opted out of such e-mails"),
    "no_address": N_("No e-mail address"),
    "no_text": N_("No text in their language"),
}


def language_of(value: str | None) -> str:
    return normalise_language(value) or LANGUAGES[0]


def reminder_email(
    *, language: str, owner_name: str, title: str, due_at: datetime, timezone: str, link: str
) -> tuple[str, str]:
    """Subject and text of a reminder to the action's owner before its due date."""
    _ = gettext_for(language_of(language))
    due = format_date(due_at, language_of(language), timezone)
    subject = _("Reminder: improvement action due on %(date)s: %(title)s", date=due, title=title)
    lines = [
        _("Hello %(name)s,", name=owner_name),
        "",
        _(
            "The improvement action \u201c%(title)s\u201d you own is due on %(date)s.",
            title=title,
            date=due,
        ),
        _("When it is done, mark it done on its page:"),
        link,
    ]
    return subject, "\n".join(lines) + "\n"


def overdue_email(
    *, language: str, owner_name: str, title: str, due_at: datetime, timezone: str, link: str
) -> tuple[str, str]:
    """Subject and text of the alert to the owner of an action past its due date."""
    _ = gettext_for(language_of(language))
    due = format_date(due_at, language_of(language), timezone)
    subject = _("Overdue improvement action: %(title)s", title=title)
    lines = [
        _("Hello %(name)s,", name=owner_name),
        "",
        _(
            "The improvement action \u201c%(title)s\u201d was due on %(date)s and is not done.",
            title=title,
            date=due,
        ),
        _("Finish it, or give it a new due date or cancel it with the reason, on its page:"),
        link,
    ]
    return subject, "\n".join(lines) + "\n"


def you_said_we_did_email(
    *, language: str, customer_name: str, summary: str, company: str, opt_out_link: str
) -> tuple[str, str]:
    """Subject and text of the "you said, we did" e-mail to a customer who reported a problem."""
    _ = gettext_for(language_of(language))
    subject = _("You told us, and we changed it")
    lines = [
        _("Hello %(name)s,", name=customer_name),
        "",
        _(
            "Some time ago you told us about a problem you had with us. Because you and other "
            "customers told us, we have changed this:"
        ),
        "",
        summary,
        "",
        _("Thank you for telling us: it helps us do better."),
        "",
        company,
        "",
        "--",
        _("If you would rather not receive e-mails like this one:"),
        opt_out_link,
    ]
    return subject, "\n".join(lines) + "\n"
