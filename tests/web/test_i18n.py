"""Spanish and English: the switch, how the language is chosen, complete catalogs, formats."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from babel.dates import format_timedelta
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from meaculpa.core.i18n import (
    LANGUAGES,
    all_catalog_ids,
    catalog_paths,
    choose_language,
    format_age,
    format_ago,
    format_datetime,
    gettext_for,
    parse_accept_language,
)
from meaculpa.web.labels import LABELS, STATUS_DETAILS, STATUS_TITLES
from tests.web.helpers import csrf, login

ROOT = Path(__file__).resolve().parents[2]


def switch(client, lang: str, next_path: str):
    return client.post(
        "/language", data={"lang": lang, "next": next_path, "csrf_token": csrf(client, next_path)}
    )


def test_switch_changes_the_login_page_language(client):
    page = client.get("/login")
    assert "Iniciar sesión" in page.text and '<html lang="es">' in page.text
    response = switch(client, "en", "/login")
    assert str(response.url) == "http://127.0.0.1/login"
    assert "Sign in" in response.text and "Iniciar sesión" not in response.text
    assert '<html lang="en">' in response.text
    assert client.cookies.get("lang") == "en"
    back = switch(client, "es", "/login")
    assert "Iniciar sesión" in back.text


def test_switch_on_signed_in_pages_and_back(signed_in, db):
    inbox = signed_in.get("/")
    assert "Bandeja de entrada" in inbox.text and "Casos abiertos" in inbox.text
    english = switch(signed_in, "en", "/?sort=newest")
    assert str(english.url) == "http://127.0.0.1/?sort=newest"
    assert "Inbox" in english.text and "Bandeja de entrada" not in english.text
    assert "Open cases, waiting for someone to own them." in english.text
    errors = signed_in.get("/errors")
    assert "Our errors" in errors.text
    spanish = switch(signed_in, "es", "/errors")
    assert "Nuestros errores" in spanish.text


def test_switch_only_goes_back_to_local_pages(client):
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example",
                   "javascript:alert(1)", ""):
        response = client.post(
            "/language",
            data={"lang": "en", "next": target, "csrf_token": csrf(client)},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/", target


def test_switch_needs_csrf_and_ignores_unknown_languages(client):
    client.get("/login")
    refused = client.post("/language", data={"lang": "en", "next": "/login"})
    assert refused.status_code == 403 and "lang" not in client.cookies
    response = switch(client, "fr", "/login")
    assert "lang" not in client.cookies and "Iniciar sesión" in response.text


def test_language_order_query_cookie_user_header_default(client, db, other_agent):
    assert "Sign in" in client.get("/login?lang=en").text
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    assert "Iniciar sesión" in client.get("/login", headers={"Accept-Language": "fr, de"}).text
    # Olivia's profile says English: her pages are in English without a cookie...
    login(client, other_agent)
    assert "Inbox" in client.get("/").text
    # ...the switch's cookie wins over the profile, and ?lang= over the cookie.
    switch(client, "es", "/")
    assert "Bandeja de entrada" in client.get("/").text
    assert "Inbox" in client.get("/?lang=en").text


def test_choose_language_rules():
    assert choose_language(query="en", cookie="es", user="es") == "en"
    assert choose_language(query="xx", cookie="en", user="es") == "en"
    assert choose_language(user="en-US", accept_language="es") == "en"
    assert choose_language(accept_language="de, en-GB;q=0.7, es;q=0.9") == "es"
    assert choose_language(accept_language="de", default="en") == "en"
    assert choose_language() == "es"
    assert parse_accept_language("en;q=0, es-MX;q=0.5") == ["es"]
    assert parse_accept_language("en;q=bad, es") == ["es"]


def test_dates_and_ages_follow_the_language():
    now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    assert format_age(now - timedelta(days=3), "en", now) == "3 days"
    assert format_age(now - timedelta(days=3), "es", now) == "3 días"
    assert format_ago(now - timedelta(hours=5), "es", now) == "hace 5 horas"
    assert format_ago(now - timedelta(hours=5), "en", now) == "5 hours ago"
    assert "mar" in format_datetime(now, "es", "Europe/Madrid").lower()
    assert "13:00" in format_datetime(now, "es", "Europe/Madrid")  # shown in local time
    assert "Mar" in format_datetime(now, "en", "Europe/Madrid")


def test_remembered_durations_read_as_babel_writes_them():
    """Ages and "ago" texts are remembered by unit and rounded value: whatever the duration,
    the text is the one Babel's format_timedelta gives for it."""
    rnd = random.Random(7)
    now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    spans = (120, 7_200, 3 * 86_400, 400 * 86_400, 3_000 * 86_400)
    for language in ("es", "en"):
        for _ in range(1500):
            delta = timedelta(seconds=rnd.uniform(0, rnd.choice(spans)))
            assert format_ago(now - delta, language, now) == format_timedelta(
                -delta, granularity="minute", locale=language, add_direction=True, format="long"
            )
            assert format_ago(now + delta, language, now) == format_timedelta(
                delta, granularity="minute", locale=language, add_direction=True, format="long"
            )
            age = delta if delta >= timedelta(minutes=1) else timedelta(minutes=1)
            assert format_age(now - delta, language, now) == format_timedelta(
                age, granularity="minute", locale=language, format="long"
            )


def _extracted_ids() -> set[object]:
    keywords = dict(DEFAULT_KEYWORDS)
    keywords["N_"] = None
    method_map = [
        ("src/meaculpa/**/templates/**.html", "jinja2"),
        ("src/meaculpa/**.py", "python"),
    ]
    options = {"src/meaculpa/**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: set[object] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_every_string_on_the_pages_exists_in_both_languages():
    """The catalogs hold exactly the strings the code and templates use (run the extraction
    in docs/web.md when this fails)."""
    extracted = _extracted_ids()
    singular = {m if isinstance(m, str) else m[0] for m in extracted}
    catalogs = all_catalog_ids()
    for language in LANGUAGES:
        assert singular - catalogs[language] == set(), f"missing in {language}"
        assert catalogs[language] - singular == set(), f"stale in {language}"
    # Labels and error texts are shown through gettext too.
    for values in LABELS.values():
        assert set(values.values()) <= catalogs["es"]
    assert set(STATUS_TITLES.values()) | set(STATUS_DETAILS.values()) <= catalogs["es"]


def test_spanish_catalog_is_translated_and_not_fuzzy():
    for path in catalog_paths("es"):
        with path.open("rb") as fh:
            catalog = read_po(fh, locale="es")
        for message in catalog:
            if not message.id:
                continue
            assert not message.fuzzy, (path.name, message.id)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(s.strip() for s in strings), f"untranslated in {path.name}: {message.id!r}"
    _ = gettext_for("es")
    assert _("Inbox") == "Bandeja de entrada"
    assert _("Page %(page)s", page=2) == "Página 2"


def test_no_compiled_catalogs_are_shipped():
    assert not list((ROOT / "src" / "meaculpa" / "locale").rglob("*.mo"))


def test_a_string_has_one_translation_across_catalogs():
    """Domains keep their own .po files; the same msgid must mean the same everywhere,
    or whichever file loads last would silently win."""
    for language in LANGUAGES:
        seen: dict[str, tuple[str, str]] = {}
        for path in catalog_paths(language):
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=language)
            for message in catalog:
                if not message.id or not isinstance(message.id, str):
                    continue
                text = message.string if isinstance(message.string, str) else ""
                if message.id in seen:
                    first_file, first_text = seen[message.id]
                    assert first_text == text, (
                        f"{language}: {message.id!r} is {first_text!r} in {first_file} "
                        f"but {text!r} in {path.name}"
                    )
                else:
                    seen[message.id] = (path.name, text)
