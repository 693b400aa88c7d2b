"""Human labels for the stored codes (statuses, channels...), marked for translation."""

from __future__ import annotations

from meaculpa.core.i18n import N_

LABELS: dict[str, dict[str, str]] = {
    "severity": {
        "low": N_("Low"),
        "medium": N_("Medium"),
        "high": N_("High"),
        "critical": N_("Critical"),
    },
    "case_status": {
        "new": N_("New"),
        "acknowledged": N_("Acknowledged"),
        "in_progress": N_("In progress"),
        "waiting_on_customer": N_("Waiting on customer"),
        "resolved": N_("Resolved"),
        "closed": N_("Closed"),
    },
    "channel": {
        "email": N_("E-mail"),
        "web": N_("Web form"),
        "api": N_("API"),
        "phone": N_("Phone"),
        "chat": N_("Chat"),
        "twitter": N_("Twitter"),
        "facebook": N_("Facebook"),
        "instagram": N_("Instagram"),
        "whatsapp": N_("WhatsApp"),
        "other": N_("Other"),
    },
    "direction": {
        "inbound": N_("Customer"),
        "outbound": N_("Reply"),
        "note": N_("Internal note"),
    },
    "error_type": {
        "concept": N_("Concept"),
        "calculation": N_("Calculation"),
        "measurement": N_("Measurement"),
        "judgement": N_("Judgement"),
        "process": N_("Process"),
        "product": N_("Product"),
        "delivery": N_("Delivery"),
        "communication": N_("Communication"),
        "other": N_("Other"),
    },
    "error_status": {
        "open": N_("Open"),
        "investigating": N_("Investigating"),
        "fixing": N_("Fixing"),
        "fixed": N_("Fixed"),
        "closed": N_("Closed"),
    },
    "affected_state": {
        "identified": N_("Identified"),
        "contacted": N_("Contacted"),
        "apologised": N_("Apologised"),
        "remedied": N_("Remedied"),
        "resolved": N_("Resolved"),
        "complained": N_("Complained"),
    },
    "identity": {
        "email": N_("E-mail"),
        "phone": N_("Phone"),
        "twitter": N_("Twitter"),
        "facebook": N_("Facebook"),
        "instagram": N_("Instagram"),
        "whatsapp": N_("WhatsApp"),
        "external": N_("External id"),
    },
    "language": {
        "es": N_("Spanish"),
        "en": N_("English"),
    },
    "role": {
        "agent": N_("Agent"),
        "manager": N_("Manager"),
        "admin": N_("Administrator"),
    },
    "recovery_group": {
        "all": N_("All cases"),
        "team": N_("Team"),
        "error_type": N_("Error type"),
        "month": N_("Month"),
        "week": N_("Week"),
    },
}

STATUS_TITLES: dict[int, str] = {
    400: N_("The request could not be used"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    413: N_("Too large"),
    422: N_("Some values are not valid"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
}

STATUS_DETAILS: dict[int, str] = {
    400: N_("The page could not use what was sent. Go back and try again."),
    403: N_("You are not allowed to see or do this."),
    404: N_("This page does not exist, or what it showed was removed."),
    405: N_("This address does not accept that kind of request."),
    413: N_("What you sent is larger than this installation accepts."),
    422: N_("The address or the form has a value this page cannot use."),
    429: N_("Too many attempts in a short time. Wait a few minutes and try again."),
    500: N_("Something went wrong on our side. Try again in a moment."),
}


def label_id(kind: str, value: str | None) -> str:
    """The English msgid for ``value`` of ``kind`` (the value itself when unknown)."""
    if value is None:
        return ""
    return LABELS.get(kind, {}).get(value, value)
