"""The apology and update e-mails: default wording per language and the personalisation.

A message is plain text with ``{name}`` placeholders. Only plain names are replaced (no
attribute access, no format specs, nothing evaluated). A known variable without a value
becomes empty; an unknown one stays visible as ``{name}`` so the preview shows it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from meaculpa.core.i18n import format_date
from meaculpa.remedies.money import format_money

VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]{0,59})\}")
LANGUAGES = ("es", "en")
BASE_VARIABLES = (
    "customer_name",
    "error_title",
    "error_summary",
    "remedy",
    "remedy_sentence",
    "due_date",
    "due_sentence",
)

DEFAULTS: dict[str, tuple[str, str]] = {
    "es": (
        "Te pedimos disculpas: {error_title}",
        "Hola, {customer_name}:\n\n"
        "Queremos pedirte disculpas antes de que tengas que escribirnos. Cometimos un error "
        "que te afecta: {error_title}.\n\n"
        "{error_summary}\n\n"
        "{remedy_sentence}{due_sentence}"
        "Si tienes cualquier pregunta, responde a este correo y te atenderá una persona.\n\n"
        "Un saludo",
    ),
    "en": (
        "We are sorry: {error_title}",
        "Hello {customer_name},\n\n"
        "We want to apologise before you have to write to us. We made a mistake that "
        "affects you: {error_title}.\n\n"
        "{error_summary}\n\n"
        "{remedy_sentence}{due_sentence}"
        "If you have any question, reply to this e-mail and a person will answer.\n\n"
        "Kind regards",
    ),
}

_REMEDY_NAMES: dict[str, dict[str, str]] = {
    "es": {
        "refund": "un reembolso",
        "credit": "un abono",
        "compensation": "una compensación",
        "replacement_or_redo": "rehacerlo o sustituirlo sin coste",
        "upgrade_or_better_service": "una mejora del servicio sin coste",
        "gift_or_surprise": "un detalle",
        "other": "una compensación",
    },
    "en": {
        "refund": "a refund",
        "credit": "a credit",
        "compensation": "a compensation",
        "replacement_or_redo": "redoing or replacing it at no cost",
        "upgrade_or_better_service": "a free upgrade",
        "gift_or_surprise": "a small gift",
        "other": "a compensation",
    },
}
_REMEDY_SENTENCE = {
    "es": "Para compensarte, te ofrecemos {remedy}.\n\n",
    "en": "To make up for it, we offer you {remedy}.\n\n",
}
_DUE_SENTENCE = {
    "es": "Nos comprometemos a tenerlo resuelto como tarde el {due_date}.\n\n",
    "en": "We promise to have it resolved by {due_date} at the latest.\n\n",
}
_APOLOGISED = {
    "es": "Te pedimos disculpas por iniciativa propia el {date}",
    "en": "We apologised to you proactively on {date}",
}
_OFFERED = {"es": " y te ofrecimos {remedy}", "en": " and offered you {remedy}"}


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else "es"


def remedy_text(kind: str | None, amount_minor: int | None, currency: str | None, lang: str) -> str:
    """``un abono de 10,00 €`` / ``a credit of €10.00``; empty without a remedy."""
    if not kind:
        return ""
    name = _REMEDY_NAMES[language_of(lang)].get(kind, kind)
    amount = format_money(amount_minor, currency, language_of(lang))
    if not amount:
        return name
    return f"{name} {'de' if language_of(lang) == 'es' else 'of'} {amount}"


def render(text: str, values: Mapping[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        return "" if value is None else str(value)

    return VARIABLE.sub(fill, text)


def unknown_variables(text: str, known: set[str]) -> list[str]:
    return sorted({m.group(1) for m in VARIABLE.finditer(text)} - known)


@lru_cache(maxsize=256)
def _shared_values(
    lang: str,
    timezone: str | None,
    remedy_kind: str | None,
    remedy_amount_minor: int | None,
    currency: str | None,
    promised_by: datetime | None,
) -> tuple[tuple[str, str], ...]:
    """The values every customer of a campaign shares (per language and time zone): the
    money and date formatting is the costly part of personalising, so it is done once."""
    remedy = remedy_text(remedy_kind, remedy_amount_minor, currency, lang)
    due = format_date(promised_by, lang, timezone) if promised_by else ""
    return (
        ("remedy", remedy),
        ("remedy_sentence", render(_REMEDY_SENTENCE[lang], {"remedy": remedy}) if remedy else ""),
        ("due_date", due),
        ("due_sentence", render(_DUE_SENTENCE[lang], {"due_date": due}) if due else ""),
    )


def apology_values(
    *,
    language: str,
    customer_name: str,
    customer_timezone: str | None,
    error_title: str,
    error_summary: str,
    remedy_kind: str | None,
    remedy_amount_minor: int | None,
    currency: str | None,
    promised_by: datetime | None,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    lang = language_of(language)
    values: dict[str, Any] = {str(k): v for k, v in details.items()}
    values["customer_name"] = customer_name
    values["error_title"] = error_title
    values["error_summary"] = error_summary
    values.update(
        _shared_values(
            lang, customer_timezone, remedy_kind, remedy_amount_minor, currency, promised_by
        )
    )
    return values


def tidy(text: str) -> str:
    """Collapse the blank lines an empty variable leaves behind."""
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def apologised_sentence(
    sent_at: datetime, remedy: str, language: str, timezone: str | None = None
) -> str:
    lang = language_of(language)
    text = _APOLOGISED[lang].format(date=format_date(sent_at, lang, timezone))
    if remedy:
        text += _OFFERED[lang].format(remedy=remedy)
    return text + "."


UPDATE_SUBJECT = {"es": "Novedades sobre {error_title}", "en": "News about {error_title}"}
UPDATE_BODY = {
    "es": "Hola, {customer_name}:\n\nTe contamos cómo va: {error_title}.\n\n{text}\n\n"
    "Puedes seguirlo en {status_url}\n\nUn saludo",
    "en": "Hello {customer_name},\n\nHere is where things stand: {error_title}.\n\n{text}\n\n"
    "You can follow it at {status_url}\n\nKind regards",
}

OPT_OUT_LINE = {
    "es": "\n--\nSi prefieres no recibir más mensajes como este: {url}\n",
    "en": "\n--\nIf you would rather not receive messages like this one: {url}\n",
}
def opt_out_url(base_url: str, secret: str, customer_id: int) -> str:
    from meaculpa.customers import optout

    return optout.opt_out_url(base_url, optout.opt_out_token(secret, customer_id))


def with_opt_out(text: str, lang: str, url: str) -> str:
    return text.rstrip("\n") + "\n" + OPT_OUT_LINE[language_of(lang)].format(url=url)
