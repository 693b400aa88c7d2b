"""The words of the surveys: default questions and the labels of each scale, in English
msgids translated when shown (managers may replace the questions per language)."""

from __future__ import annotations

from meaculpa.core.i18n import N_

KIND_NAMES: dict[str, str] = {
    "csat": N_("Satisfaction (CSAT)"),
    "nps": N_("Recommendation (NPS)"),
    "ces": N_("Effort (CES)"),
}

DEFAULT_QUESTIONS: dict[str, tuple[str, str]] = {
    "csat": (
        N_("Overall, how satisfied are you with how we handled your request?"),
        N_("What is the main reason for your score?"),
    ),
    "nps": (
        N_("How likely are you to recommend us to a friend or colleague?"),
        N_("What is the main reason for your score?"),
    ),
    "ces": (
        N_("How much effort did you personally have to make to get your request handled?"),
        N_("What could we have made easier for you?"),
    ),
}

# What the two ends of each scale mean.
SCALE_ENDS: dict[str, tuple[str, str]] = {
    "csat": (N_("Very dissatisfied"), N_("Very satisfied")),
    "nps": (N_("Not at all likely"), N_("Extremely likely")),
    "ces": (N_("Very little effort"), N_("A great deal of effort")),
}
