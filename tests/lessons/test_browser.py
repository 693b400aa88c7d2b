"""A real Chromium: the navigation's unread-lessons count is loaded by htmx, and confirming
the lesson clears it."""

from __future__ import annotations

import pytest

from meaculpa.lessons.actions import do_create_lesson
from meaculpa.lessons.schemas import LessonCreate
from tests.conftest import PASSWORD
from tests.web.helpers import CHROMIUM, CHROMIUM_ARGS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]


def test_unread_lesson_badge_and_confirmation(live_server, db, manager, agent):
    from playwright.sync_api import expect, sync_playwright

    with db.transaction() as s:
        do_create_lesson(
            s,
            manager.actor,
            LessonCreate.model_validate(
                {
                    "title": "Nunca digas que es culpa de otro departamento",
                    "what_went_wrong": "El cliente oyó 'eso lo lleva otro departamento'.",
                    "what_to_do": "Quédate con el caso y coordina tú por dentro.",
                    "assign_to": [agent.id],
                }
            ),
        )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="es-ES")
            page.set_default_timeout(15_000)
            page.goto(live_server + "/login")
            page.get_by_label("Correo electrónico").fill(agent.email)
            page.get_by_label("Contraseña").fill(PASSWORD)
            page.get_by_role("button", name="Iniciar sesión").click()
            expect(page).to_have_url(live_server + "/")
            badge = page.locator(".mainnav .unread-lessons")
            expect(badge).to_have_text("1")
            page.locator(".mainnav").get_by_role("link", name="Lecciones").click()
            page.get_by_role("link", name="Nunca digas que es culpa de otro departamento").click()
            page.get_by_role("button", name="La he leído").click()
            expect(page).to_have_url(live_server + "/lessons")
            expect(page.locator(".flash")).to_contain_text("la lección queda marcada como leída")
            expect(page.locator(".mainnav .unread-lessons")).to_have_count(0)
        finally:
            browser.close()
