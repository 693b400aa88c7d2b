"""The words of the problems domain: cause categories, trends and the alert e-mail.

English msgids translated through the ``problems.po`` catalogs, so each manager reads the
alert in their own language.
"""

from __future__ import annotations

from meaculpa.core.i18n import LANGUAGES, N_, gettext_for, normalise_language

CATEGORY_LABELS: dict[str, str] = {
    "people": N_("People"),
    "process": N_("Process"),
    "product": N_("Product"),
    "partner": N_("Partner"),
    "policy": N_("Policy"),
    "system": N_("System"),
}

TREND_LABELS: dict[str, str] = {
    "rising": N_("Rising"),
    "falling": N_("Falling"),
    "steady": N_("Steady"),
}

STATUS_LABELS: dict[str, str] = {
    "open": N_("Open"),
    "merged": N_("Merged"),
    "archived": N_("Archived"),
}

SOURCE_LABELS: dict[str, str] = {
    "case": N_("Case"),
    "message": N_("Message"),
    "survey": N_("Survey"),
    "mention": N_("Mention"),
}


def jump_email(
    *, language: str, name: str, label: str, count: int, baseline: float, link: str
) -> tuple[str, str]:
    """Subject and text of the alert about a problem whose weekly count jumped."""
    _ = gettext_for(normalise_language(language) or LANGUAGES[0])
    before = f"{baseline:g}"
    subject = _("A problem is rising: %(label)s", label=label)
    lines = [
        _("Hello %(name)s,", name=name),
        "",
        _(
            'The problem "%(label)s" was reported %(count)s times this week, against '
            "%(baseline)s a week on average in the weeks before.",
            label=label,
            count=count,
            baseline=before,
        ),
        "",
        _("See who reported it, link it to an error or start an action:"),
        link,
    ]
    return subject, "\n".join(lines)
