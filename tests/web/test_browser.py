"""A real Chromium, driven by Playwright, against uvicorn serving the test's database:
sign in, switch the language, open a case from the inbox and read its messages."""

from __future__ import annotations

import pytest

from meaculpa.cases.models import Case
from meaculpa.messages.actions import do_add_reply
from meaculpa.messages.schemas import ReplyIn
from tests.conftest import PASSWORD
from tests.web.helpers import CHROMIUM, CHROMIUM_ARGS, needs_chromium, seed_case

pytestmark = [pytest.mark.browser, needs_chromium]


def test_sign_in_switch_language_open_case_and_read_messages(live_server, db, agent):
    from playwright.sync_api import expect, sync_playwright

    ids = seed_case(
        db, owner_id=agent.id, subject="Cobro duplicado del pedido 4411",
        text="Me habéis cobrado dos veces. <script>window.pwned = 1</script>",
    )
    with db.transaction() as session:
        case = session.get(Case, ids["case"])
        do_add_reply(session, agent.actor, case, ReplyIn(
            text="Lo sentimos mucho, Lucía. Ya hemos devuelto el cargo duplicado."))
        do_add_reply(session, agent.actor, case,
                     ReplyIn(direction="note", text="Reembolso hecho en Stripe."))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="es-ES")
            page.set_default_timeout(15_000)

            # Signed out: the inbox sends us to the sign-in page, in Spanish.
            page.goto(live_server + "/")
            expect(page).to_have_url(live_server + "/login")
            expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
            page.get_by_label("Correo electrónico").fill(agent.email)
            page.get_by_label("Contraseña").fill(PASSWORD)
            page.get_by_role("button", name="Iniciar sesión").click()

            expect(page).to_have_url(live_server + "/")
            expect(page.get_by_role("heading", name="Bandeja de entrada")).to_be_visible()
            expect(page.locator(".whoami")).to_contain_text("Alberto Agente")

            # Switch to English: the same page, its text in English.
            page.get_by_role("button", name="English").click()
            expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
            expect(page.get_by_text("Bandeja de entrada")).to_have_count(0)
            expect(page).to_have_url(live_server + "/")

            # Open the case from the inbox.
            row = page.locator("tr", has_text="Cobro duplicado del pedido 4411")
            expect(row).to_contain_text("Lucía Fernández")
            expect(row).to_contain_text("E-mail")
            row.get_by_role("link", name="Cobro duplicado del pedido 4411").click()

            expect(page).to_have_url(live_server + f"/cases/{ids['case']}")
            expect(page.get_by_role("heading", name="Conversation")).to_be_visible()
            timeline = page.locator(".timeline .msg")
            expect(timeline).to_have_count(3)
            expect(timeline.nth(0)).to_contain_text("Me habéis cobrado dos veces.")
            expect(timeline.nth(0)).to_contain_text("<script>window.pwned = 1</script>")
            expect(timeline.nth(1)).to_contain_text("Lo sentimos mucho, Lucía.")
            expect(timeline.nth(2)).to_contain_text("Reembolso hecho en Stripe.")
            assert page.evaluate("window.pwned") is None  # shown as text, never run

            # And back to Spanish on the case page itself.
            page.get_by_role("button", name="Español").click()
            expect(page.get_by_role("heading", name="Conversación")).to_be_visible()
            expect(page).to_have_url(live_server + f"/cases/{ids['case']}")
        finally:
            browser.close()
