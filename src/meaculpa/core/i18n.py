"""Translations (gettext catalogs read with Babel), language choice and locale formatting.

The catalogs live in ``meaculpa/locale/<lang>/LC_MESSAGES/messages.po``; msgids are English.
They are read straight from the ``.po`` files at runtime and compiled in memory, so no ``.mo``
file is ever committed or shipped. See ``docs/web.md`` for how to extract and update them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import TIMEDELTA_UNITS, format_timedelta
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from meaculpa.core.clock import as_utc, utcnow

LANGUAGES: tuple[str, ...] = ("es", "en")
DEFAULT_LANGUAGE = "es"
LANGUAGE_NAMES = {"es": "Español", "en": "English"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"

Gettext = Callable[..., str]


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (it is translated when shown)."""
    return message


def normalise_language(value: str | None) -> str | None:
    """``"es-ES"`` -> ``"es"``; ``None`` for a language meaculpa does not speak."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_paths(language: str) -> list[Path]:
    """Every ``.po`` file of ``language``: ``messages.po`` plus one per domain that keeps its
    own (``remedies.po``, ...), so domains add strings without touching each other's files."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    return sorted(folder.glob("*.po"), key=lambda p: (p.name != f"{DOMAIN}.po", p.name))


def _compile(path: Path, language: str) -> Translations:
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> Translations:
    """The catalogs for ``language``, compiled in memory from the ``.po`` files (cached)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    paths = catalog_paths(language)
    merged = _compile(paths[0], language)
    for path in paths[1:]:
        merged.merge(_compile(path, language))
    return merged


def gettext_for(language: str) -> Gettext:
    """A ``_(message, **params)`` function for ``language``; params fill ``%(name)s``."""
    catalog = translations(language)

    def _(message: str, **params: object) -> str:
        text = catalog.gettext(message)
        return text % params if params else text

    return _


def parse_accept_language(header: str | None) -> list[str]:
    """Supported languages from an ``Accept-Language`` header, best first."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = normalise_language(tag)
        if language and quality > 0:
            ranked.append((-quality, index, language))
    return list(dict.fromkeys(lang for _, _, lang in sorted(ranked)))


def choose_language(
    *,
    query: str | None = None,
    cookie: str | None = None,
    user: str | None = None,
    accept_language: str | None = None,
    default: str | None = None,
) -> str:
    """The first usable of: ``?lang=``, the ``lang`` cookie, the user's language,
    ``Accept-Language``, the organisation's default."""
    for candidate in (query, cookie, user):
        language = normalise_language(candidate)
        if language:
            return language
    accepted = parse_accept_language(accept_language)
    if accepted:
        return accepted[0]
    return normalise_language(default) or DEFAULT_LANGUAGE


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_datetime(
    value: datetime | None, language: str, timezone: str | None = None, fmt: str = "medium"
) -> str:
    """A timestamp in the reader's language, shown in the organisation's time zone."""
    if value is None:
        return ""
    return _formatted_datetime(as_utc(value), language, timezone, fmt)


@lru_cache(maxsize=4096)
def _formatted_datetime(value: datetime, language: str, timezone: str | None, fmt: str) -> str:
    # Pages list the same timestamps request after request (an inbox of 50 cases shows 100),
    # and Babel formats each in Python: remembered, they cost a dictionary lookup.
    return babel_format_datetime(value, fmt, tzinfo=zone(timezone), locale=language)


def format_date(value: datetime | None, language: str, timezone: str | None = None) -> str:
    if value is None:
        return ""
    local = as_utc(value).astimezone(zone(timezone))
    return babel_format_date(local.date(), "medium", locale=language)


def format_age(value: datetime | None, language: str, now: datetime | None = None) -> str:
    """How long ago ``value`` was, e.g. ``3 days`` / ``3 días`` (no direction words)."""
    if value is None:
        return ""
    delta = (now or utcnow()) - as_utc(value)
    if delta < timedelta(minutes=1):
        delta = timedelta(minutes=1) if delta > timedelta(0) else timedelta(0)
    return _duration(delta, language, add_direction=False)


def format_ago(value: datetime | None, language: str, now: datetime | None = None) -> str:
    """``3 days ago`` / ``hace 3 días``."""
    if value is None:
        return ""
    delta = as_utc(value) - (now or utcnow())
    return _duration(delta, language, add_direction=True)


# Texts of durations, by what decides them: Babel's format_timedelta rounds a duration to one
# unit and value, then picks a plural form by evaluating the language's plural rules, which
# costs more than the rest of an inbox row. The first duration met for a key is formatted by
# Babel; the others reuse its text.
_durations: dict[tuple[str, str, int, bool, bool], str] = {}
_DURATION_THRESHOLD = 0.85  # format_timedelta's default


def _duration(delta: timedelta, language: str, *, add_direction: bool) -> str:
    seconds = delta.total_seconds()
    key = None
    for unit, per_unit in TIMEDELTA_UNITS:  # the units in Babel's order, as it walks them
        value = abs(seconds) / per_unit
        if value >= _DURATION_THRESHOLD or unit == "minute":
            if unit == "minute" and value > 0:
                value = max(1, value)
            key = (language, unit, round(value), seconds >= 0, add_direction)
            break
    text = _durations.get(key) if key is not None else None
    if text is None:
        text = format_timedelta(
            delta,
            granularity="minute",
            locale=language,
            add_direction=add_direction,
            format="long",
        )
        if key is not None and len(_durations) < 20_000:
            _durations[key] = text
    return text


def locale_for(language: str) -> Locale:
    return Locale.parse(language)


def all_catalog_ids(languages: Iterable[str] = LANGUAGES) -> dict[str, set[str]]:
    """The (singular) msgids of each catalog, for the tests that keep the catalogs complete."""
    result: dict[str, set[str]] = {}
    for language in languages:
        ids: set[str] = set()
        for path in catalog_paths(language):
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=language, domain=DOMAIN)
            ids |= {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        result[language] = ids
    return result
