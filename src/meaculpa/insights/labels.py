"""Human labels for the analysis codes, marked for translation (shown through ``_()``)."""

from __future__ import annotations

from meaculpa.core.i18n import N_

INSIGHT_LABELS: dict[str, dict[str, str]] = {
    "sentiment": {
        "negative": N_("Negative"),
        "neutral": N_("Neutral"),
        "positive": N_("Positive"),
    },
    "urgency": {
        "low": N_("Low"),
        "normal": N_("Normal"),
        "high": N_("High"),
        "critical": N_("Critical"),
    },
    "escalation": {
        "cancel_or_leave": N_("Wants to cancel or leave"),
        "regulator": N_("Regulator or consumer office"),
        "consumer_association": N_("Consumer association"),
        "lawyer": N_("Lawyer or court"),
        "press_or_social": N_("Press or social media"),
        "repeat_contact": N_("Has written before"),
        "profanity": N_("Profanity"),
        "shouting": N_("Shouting"),
    },
    "element": {
        "acknowledgement": N_("Acknowledge the problem"),
        "apology": N_("Apologise sincerely"),
        "empathy": N_("Show empathy"),
        "explanation": N_("Explain what happened"),
        "remedy": N_("Offer a remedy"),
        "concrete_time": N_("Give a concrete time"),
        "next_step": N_("Say what happens next"),
        "thanks": N_("Thank the customer"),
    },
    "anti_pattern": {
        "blame_shifting": N_("Blaming others"),
        "not_my_department": N_("Not my department"),
        "excuse": N_("Excuse"),
        "conditional_apology": N_("Conditional apology"),
        "vague_time": N_("Vague time"),
        "over_promise": N_("Over-promise"),
        "jargon": N_("Jargon"),
    },
    "language": {
        "es": N_("Spanish"),
        "en": N_("English"),
        "pt": N_("Portuguese"),
        "fr": N_("French"),
        "ca": N_("Catalan"),
        "und": N_("Undetermined"),
    },
}


def insight_label(kind: str, value: str | None) -> str:
    """The English msgid for ``value`` of ``kind`` (the value itself when unknown)."""
    if value is None:
        return ""
    return INSIGHT_LABELS.get(kind, {}).get(value, value)
