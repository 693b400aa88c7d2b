"""Acceptance test of issue 3 in a real Chromium: the recovery journey through the web pages.

A complaint arrives by e-mail (raw RFC 822, over HTTP); the agent signs in, opens it from the
inbox, sees the playbook checklist, apologises with a promise in the reply box, sees the promise
in the Promises panel due at 12:00 the next day (the customer's time), and resolves the case.
The worker sends the follow-up e-mail to a real SMTP server on 127.0.0.1; the customer opens the
link from that e-mail in the browser and answers "not solved" with 2 stars; the agent reloads
the case and finds it reopened.

The pages run on uvicorn with the real clock (the server's thread is not the test's), so the
expected due time is computed from the time the reply was sent.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

import httpx
import pytest

from meaculpa.core.i18n import format_datetime
from meaculpa.jobs.runner import Runner
from tests.conftest import PASSWORD
from tests.web.helpers import CHROMIUM, CHROMIUM_ARGS, needs_chromium

pytestmark = [pytest.mark.browser, needs_chromium]

CUSTOMER = "lucia.fernandez@correo.example.es"
CUSTOMER_ZONE = "America/Bogota"
SUBJECT = "Me habéis cobrado dos veces el pedido 4411"
LINK = re.compile(r"https?://[^/\s]+(/f/[A-Za-z0-9_.\-]+)")
APOLOGY = (
    "Hola, Lucía:\n\n"
    "Tiene toda la razón y le pido disculpas: le cobramos dos veces el pedido 4411 por un "
    "error nuestro. Lo sentimos de verdad.\n\n"
    "Ya hemos pedido la devolución de los 89,90 €. Le llamaremos mañana antes de las 12 "
    "para confirmarle que la tiene."
)
COMPLAINT = f"""From: =?UTF-8?Q?Luc=C3=ADa_Fern=C3=A1ndez?= <{CUSTOMER}>
To: Atencion al cliente <atencion@olivar.example>
Subject: =?UTF-8?Q?Me_hab=C3=A9is_cobrado_dos_veces_el_pedido_4411?=
Date: Tue, 10 Mar 2026 03:55:00 -0500
Message-ID: <queja-4411.browser@correo.example.es>
Content-Language: es-CO
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

Buenos d=C3=ADas:

Me hab=C3=A9is cobrado dos veces el pedido 4411 (89,90 =E2=82=AC cada vez). Quiero
que me devolv=C3=A1is el dinero ya.

Luc=C3=ADa
""".replace("\n", "\r\n").encode("utf-8")


def noon_after(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), dtime(12, 0), zone)


def test_recovery_journey_in_the_browser(
    live_server, db, agent, manager, mail_settings, smtp_server, tmp_path, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("MEACULPA_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    _, _, mailbox = smtp_server
    zone = ZoneInfo(CUSTOMER_ZONE)

    # The complaint arrives by e-mail, over HTTP; the customer lives in Bogotá. The manager
    # has the follow-up sent as soon as a case is resolved.
    with httpx.Client(base_url=live_server, timeout=15) as http:
        r = http.post(
            "/api/v1/inbound/email",
            content=COMPLAINT,
            headers={**agent.headers, "Content-Type": "message/rfc822"},
        )
        assert r.status_code == 201, r.text
        case_id, customer_id = r.json()["case_id"], r.json()["customer_id"]
        r = http.patch(
            f"/api/v1/customers/{customer_id}",
            json={"timezone": CUSTOMER_ZONE},
            headers=agent.headers,
        )
        assert r.status_code == 200, r.text
        r = http.put("/api/v1/followups/settings", json={"delay_days": 0}, headers=manager.headers)
        assert r.status_code == 200, r.text
    reference = f"MC-{case_id}"
    case_url = f"{live_server}/cases/{case_id}"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            agent_page = browser.new_context(locale="es-ES").new_page()
            page = agent_page
            page.set_default_timeout(15_000)

            # Sign in as the agent.
            page.goto(live_server + "/")
            expect(page).to_have_url(live_server + "/login")
            page.get_by_label("Correo electrónico").fill(agent.email)
            page.get_by_label("Contraseña").fill(PASSWORD)
            page.get_by_role("button", name="Iniciar sesión").click()
            expect(page.get_by_role("heading", name="Bandeja de entrada")).to_be_visible()

            # Open the case from the inbox.
            row = page.locator("tr", has_text=SUBJECT)
            expect(row).to_contain_text("Lucía Fernández")
            row.get_by_role("link", name=SUBJECT).click()
            expect(page).to_have_url(case_url)
            expect(page.locator(".timeline .msg").first).to_contain_text(
                "Me habéis cobrado dos veces el pedido 4411"
            )

            # The playbook checklist: what to do, and by when.
            playbook = page.locator("#playbook")
            expect(
                playbook.get_by_role("heading", name="Protocolo de recuperación")
            ).to_be_visible()
            expect(playbook.locator("#step-acknowledge")).to_contain_text("Acusar recibo")
            apologise = playbook.locator("#step-apologise")
            expect(apologise).to_contain_text("Pedir disculpas")
            expect(apologise).not_to_have_attribute("data-state", "done")
            promises = page.locator("#commitments")
            expect(promises).to_contain_text("Promesas")
            expect(promises).to_contain_text("America/Bogota")
            expect(promises.locator("article.commitment")).to_have_count(0)

            # Type the apology with the promise and send it to the customer.
            page.locator("#reply-text").fill(APOLOGY)
            before = datetime.now(UTC)
            page.locator("#reply").get_by_role("button", name="Enviar").click()
            expect(page.get_by_text("Respuesta enviada al cliente.")).to_be_visible()
            after = datetime.now(UTC)
            expect(page.locator(".timeline .msg-outbound")).to_contain_text(
                "Le llamaremos mañana antes de las 12"
            )

            # The promise is in the Promises panel: a call back by 12:00 the next day in
            # the customer's zone (the next day as of when the reply was sent).
            expect(promises.locator("article.commitment")).to_have_count(1)
            promise = promises.locator("article.commitment").first
            expect(promise).to_contain_text("Le llamaremos mañana antes de las 12")
            expect(promise).to_contain_text("Pendiente")
            due_time = promise.locator("time")
            expect(due_time).to_contain_text("12:00")
            candidates = {
                noon_after(moment.astimezone(zone).date(), zone) for moment in (before, after)
            }
            shown = due_time.inner_text().strip()
            attr = datetime.fromisoformat(due_time.get_attribute("datetime"))
            assert attr in candidates, (attr, candidates)
            assert attr.astimezone(zone).hour == 12 and attr.astimezone(zone).minute == 0
            assert shown == format_datetime(attr, "es", CUSTOMER_ZONE, "short")

            # The apology step of the checklist is done.
            apologise.get_by_role("button", name="Marcar como hecho").click()
            expect(page.locator("#step-apologise")).to_have_attribute("data-state", "done")

            # Resolve the case through the page form.
            change = page.locator("form[action$='/update']")
            change.locator("#case-status").select_option("resolved")
            change.get_by_role("button", name="Guardar cambios").click()
            expect(page.get_by_text("Caso actualizado.")).to_be_visible()
            expect(page.locator(".head-badges .status")).to_have_text("Resuelto")

            # Outside the browser: the worker e-mails the reply and the follow-up question.
            Runner(db, name="browser-worker", settings=mail_settings).run_pending()
            mails = mailbox.to(CUSTOMER)
            subjects = [str(m["Subject"]) for m in mails]
            assert f"Re: {SUBJECT} [{reference}]" in subjects
            [question] = [m for m in mails if str(m["Subject"]).startswith("¿Está realmente")]
            assert question["Subject"] == f"¿Está realmente resuelto? ({reference})"
            match = LINK.search(question.get_content())
            assert match, question.get_content()

            # The customer opens the link from the e-mail (a browser of their own).
            customer = browser.new_context(locale="es-CO").new_page()
            customer.set_default_timeout(15_000)
            customer.goto(live_server + match.group(1))
            expect(
                customer.get_by_role("heading", name="¿Está realmente resuelto?")
            ).to_be_visible()
            expect(customer.locator("body")).to_contain_text(reference)
            customer.get_by_text("No, no está resuelto").click()
            customer.get_by_role("radio", name="2 de 5").check(force=True)
            expect(customer.get_by_role("radio", name="No, no está resuelto")).to_be_checked()
            expect(customer.get_by_role("radio", name="2 de 5")).to_be_checked()
            customer.get_by_label("¿Quiere contarnos algo más? (opcional)").fill(
                "Sigo viendo los dos cargos en el banco."
            )
            customer.get_by_role("button", name="Enviar mi respuesta").click()
            expect(customer.get_by_text("Gracias por su respuesta")).to_be_visible()

            # Back as the agent: the case is open again, more severe, with the answer.
            expect(page).to_have_url(case_url)
            page.reload()
            expect(page.locator(".head-badges .status")).to_have_text("En curso")
            expect(page.locator(".head-badges .sev")).to_have_text("Alta")
            expect(page.locator(".facts").first).to_contain_text("Reabierto")
            followup = page.locator("#followup-panel")
            expect(followup).to_contain_text("el caso se reabrió")
            expect(followup).to_contain_text("2 de 5")
            expect(followup).to_contain_text("Sigo viendo los dos cargos en el banco.")
            page.screenshot(path=str(tmp_path / "case-reopened.png"), full_page=True)
        finally:
            browser.close()

    assert (tmp_path / "case-reopened.png").stat().st_size > 0
    # The owner is alerted by e-mail.
    Runner(db, name="browser-worker", settings=mail_settings).run_pending()
    [alert] = [m for m in mailbox.to(agent.email) if "No resuelto" in str(m["Subject"])]
    assert alert["Subject"] == f"No resuelto: se ha reabierto {reference}"
