"""The improvement pages: plan an action with the form, the owner starts and finishes it,
the manager sees who was told; forms need CSRF and respect roles."""

from __future__ import annotations

from datetime import timedelta

from meaculpa.core.clock import override
from tests.improvements.conftest import T0, add_reports, make_customer, make_problem
from tests.web.helpers import csrf, csrf_from, login


def test_plan_start_finish_and_see_who_was_told(db, client, manager, agent, app):
    problem = make_problem(db, "Vajilla rota")
    lucia = make_customer(db, "Lucía Fernández", "lucia@example.es", "es")
    add_reports(db, problem, [T0 - timedelta(days=2)], [lucia])

    login(client, manager)
    listing = client.get("/improvements")
    assert listing.status_code == 200 and "Vajilla rota" in listing.text  # the problem list
    form = {
        "csrf_token": csrf_from(listing.text),
        "title": "Cajas dobles <b>ya</b>",
        "description": "Embalar la vajilla en cajas dobles.",
        "purpose": "corrective",
        "kind": "process_fix",
        "owner_id": str(agent.id),
        "due_date": "2030-03-01",
        "window_days": "21",
        "problem_ids": str(problem),
        "error_ids": "",
        "summary_es": "Ahora embalamos la vajilla en cajas dobles.",
        "summary_en": "",
    }
    r = client.post("/improvements", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    page = client.get(url).text
    assert "Cajas dobles &lt;b&gt;ya&lt;/b&gt;" in page and "<b>ya</b>" not in page
    assert "Arreglo de proceso" in page and "21 días" in page

    # A bad form keeps the data safe and says what is wrong.
    bad = {**form, "window_days": "abc", "csrf_token": csrf(client, "/improvements")}
    r = client.post("/improvements", data=bad)
    assert r.status_code == 200 and "no son válidos" in r.text
    assert client.post("/improvements", data={**form, "csrf_token": "x"}).status_code == 403

    # The agent owner sees it, cannot edit it, and moves it on.
    client.cookies.clear()
    login(client, agent)
    page = client.get(url).text
    assert 'action="' + url + '/edit"' not in page
    r = client.post(
        url + "/status",
        data={"csrf_token": csrf_from(page), "status": "in_progress"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(url).text
    assert "En curso" in page
    with override(lambda: T0):
        r = client.post(
            url + "/status",
            data={"csrf_token": csrf_from(page), "status": "done", "note": "hecho"},
        )
    assert "La acción está hecha" in r.text
    assert "¿Ha funcionado?" in r.text and "Midiendo" in r.text

    # The manager sees the customers to be told once the job has run.
    from meaculpa.jobs.runner import Runner

    with override(lambda: T0 + timedelta(minutes=1)):
        Runner(db, settings=app.state.settings).run_pending()
    client.cookies.clear()
    login(client, manager)
    page = client.get(url).text
    assert "Nos lo dijiste, lo hicimos" in page
    assert "Lucía Fernández" in page and "Avisado por correo" in page


def test_done_without_text_in_a_reporters_language_is_explained(db, client, manager):
    problem = make_problem(db, "Tarde")
    hannah = make_customer(db, "Hannah Brown", "hannah@example.com", "en")
    add_reports(db, problem, [T0 - timedelta(days=2)], [hannah], language="en")
    login(client, manager)
    r = client.post(
        "/improvements",
        data={
            "csrf_token": csrf(client, "/improvements"),
            "title": "Repartos por la mañana",
            "kind": "process_fix",
            "problem_ids": str(problem),
            "summary_es": "Repartimos por la mañana.",
        },
        follow_redirects=False,
    )
    url = r.headers["location"]
    r = client.post(url + "/status", data={"csrf_token": csrf(client, url), "status": "done"})
    assert "escribe qué ha cambiado para los clientes en: en" in r.text
    assert "Prevista" in r.text


def test_a_lesson_written_from_an_action_shows_on_its_page(db, client, manager, agent):
    login(client, manager)
    r = client.post(
        "/improvements",
        data={
            "csrf_token": csrf(client, "/improvements"),
            "title": "Formación sobre reembolsos",
            "kind": "staff_training",
        },
        follow_redirects=False,
    )
    url = r.headers["location"]
    action_id = int(url.rsplit("/", 1)[1])
    page = client.get(url).text
    link = f"/lessons?action_id={action_id}#new-lesson"
    assert link in page
    form_page = client.get(link.split("#")[0]).text
    assert f'name="action_id" inputmode="numeric" maxlength="12" value="{action_id}"' in form_page
    r = client.post(
        "/lessons",
        data={
            "csrf_token": csrf_from(form_page),
            "title": "Los reembolsos tardan 5 días",
            "what_went_wrong": "Prometimos 24 horas.",
            "what_to_do": "Decir hasta 5 días hábiles.",
            "action_id": str(action_id),
            "assign_to": str(agent.id),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Los reembolsos tardan 5 días" in client.get(url).text


def test_the_error_page_lists_the_actions_linked_to_it(db, client, manager):
    r = client.post(
        "/api/v1/errors",
        headers=manager.headers,
        json={"title": "Lote de vajilla mal embalado", "type": "delivery"},
    )
    assert r.status_code == 201, r.text
    error_id = r.json()["id"]
    r = client.post(
        "/api/v1/improvements",
        headers=manager.headers,
        json={"title": "Revisar el embalaje", "kind": "process_fix", "error_ids": [error_id]},
    )
    assert r.json()["error_ids"] == [error_id]
    listed = client.get(
        "/api/v1/improvements", headers=manager.headers, params={"error_id": error_id}
    ).json()["items"]
    assert [a["title"] for a in listed] == ["Revisar el embalaje"]
    login(client, manager)
    page = client.get(f"/errors/{error_id}").text
    assert f'href="/improvements/{r.json()["id"]}"' in page and "Revisar el embalaje" in page
