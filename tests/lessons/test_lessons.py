"""Lessons learned: written by a manager, assigned to agents, confirmed as read; the unread
count in the navigation; the lesson behind a playbook revision."""

from __future__ import annotations

from meaculpa.core.audit import Actor
from tests.conftest import audit_verbs, make_person
from tests.web.helpers import csrf, csrf_from, login, seed_case

LESSON = {
    "title": "No prometas plazos de reembolso sin mirar el banco",
    "what_went_wrong": "Dijimos 24 h y el banco tarda 5 días.",
    "what_to_do": "Di 'hasta 5 días hábiles' y apúntalo como promesa.",
}


def test_lesson_assigned_read_and_counted(db, client, manager, agent, other_agent):
    case_ids = seed_case(db, owner_id=agent.id)
    inactive = make_person(db, "agent", "ivan@example.com", "Iván Inactivo")
    from meaculpa.accounts.models import User

    with db.transaction() as s:
        s.get(User, inactive.id).is_active = False
    r = client.post("/api/v1/lessons", headers=agent.headers, json=LESSON)
    assert r.status_code == 403
    r = client.post(
        "/api/v1/lessons",
        headers=manager.headers,
        json={**LESSON, "example_case_ids": [case_ids["case"]], "assign_all_agents": True},
    )
    assert r.status_code == 201, r.text
    lesson = r.json()
    assert lesson["example_case_ids"] == [case_ids["case"]]
    assert sorted(a["user_id"] for a in lesson["assignments"]) == sorted([agent.id, other_agent.id])
    lid = lesson["id"]

    unread = client.get("/api/v1/lessons/unread-count", headers=agent.headers).json()
    assert unread == {"unread": 1}
    mine = client.get("/api/v1/lessons", headers=agent.headers, params={"unread": True}).json()
    assert [item["id"] for item in mine["items"]] == [lid]
    assert mine["items"][0]["assigned_to_me"] is True

    r = client.post(f"/api/v1/lessons/{lid}/read", headers=agent.headers)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    # Confirming again changes nothing; a manager it was not given to gets a 409.
    assert client.post(f"/api/v1/lessons/{lid}/read", headers=agent.headers).status_code == 200
    assert client.post(f"/api/v1/lessons/{lid}/read", headers=manager.headers).status_code == 409
    assert client.get("/api/v1/lessons/unread-count", headers=agent.headers).json() == {"unread": 0}
    assert audit_verbs(db, "lesson") == ["lesson.create", "lesson.assign", "lesson.read"]

    # Assigning more: only active users; re-assigning the same agent adds nothing.
    r = client.post(
        f"/api/v1/lessons/{lid}/assign", headers=manager.headers, json={"user_ids": [inactive.id]}
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/lessons/{lid}/assign", headers=manager.headers, json={"user_ids": [agent.id]}
    )
    assert r.status_code == 200 and r.json() == {"assigned": []}


def test_bad_lessons_are_refused(db, client, manager):
    for body in (
        {**LESSON, "title": "x"},
        {**LESSON, "example_case_ids": [12345]},
        {**LESSON, "action_id": 9},
        {**LESSON, "problem_id": 9},
        {**LESSON, "language": "fr"},
        {**LESSON, "what_to_do": "y" * 10_001},
    ):
        r = client.post("/api/v1/lessons", headers=manager.headers, json=body)
        assert r.status_code == 422, body
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/lessons/77", headers=manager.headers).status_code == 404


def test_agent_sees_unread_lessons_in_the_navigation_and_confirms_on_the_page(
    db, client, manager, agent
):
    from meaculpa.lessons.actions import do_create_lesson
    from meaculpa.lessons.schemas import LessonCreate

    with db.transaction() as s:
        actor = Actor(kind="user", id=manager.id, label=manager.email, role="manager")
        lid = do_create_lesson(
            s, actor, LessonCreate.model_validate({**LESSON, "assign_to": [agent.id]})
        ).id
    login(client, agent)
    home = client.get("/lessons")
    assert home.status_code == 200
    assert 'hx-get="/lessons/unread-badge"' in home.text
    assert LESSON["title"] in home.text
    badge = client.get("/lessons/unread-badge", headers={"HX-Request": "true"})
    assert ">1</span>" in badge.text
    page = client.get(f"/lessons/{lid}")
    assert LESSON["what_to_do"].replace("'", "&#39;") in page.text
    # Without the CSRF token nothing is confirmed.
    r = client.post(f"/lessons/{lid}/read", data={})
    assert r.status_code == 403
    r = client.post(
        f"/lessons/{lid}/read", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.get("/lessons/unread-badge").text == ""
    assert "Confirmaste que la leíste" in client.get(f"/lessons/{lid}").text


def test_manager_writes_a_lesson_on_the_page_and_links_it_to_a_playbook_revision(
    db, client, manager, agent
):
    login(client, manager)
    token = csrf(client, "/lessons")
    r = client.post(
        "/lessons",
        data={**LESSON, "csrf_token": token, "language": "es", "assign_to": str(agent.id)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    lid = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/lessons/{lid}").text
    assert "Alberto Agente" in page and "Sin leer todavía" in page

    # The playbook revision records the lesson behind it (API).
    playbooks = client.get("/api/v1/playbooks", headers=manager.headers).json()["items"]
    playbook = playbooks[0]
    steps = [dict(s) for s in playbook["steps"]]
    steps[0] = {**steps[0], "hours": steps[0]["hours"] + 1}
    r = client.patch(
        f"/api/v1/playbooks/{playbook['id']}",
        headers=manager.headers,
        json={"steps": steps, "reason": "Lo aprendido con los reembolsos", "lesson_id": 999},
    )
    assert r.status_code == 422
    r = client.patch(
        f"/api/v1/playbooks/{playbook['id']}",
        headers=manager.headers,
        json={"steps": steps, "reason": "Lo aprendido con los reembolsos", "lesson_id": lid},
    )
    assert r.status_code == 200, r.text
    revisions = client.get(
        f"/api/v1/playbooks/{playbook['id']}/revisions", headers=manager.headers
    ).json()
    newest = max(revisions, key=lambda rev: rev["version"])
    assert newest["lesson_id"] == lid
    assert f'href="/lessons/{lid}"' in client.get(f"/playbooks/{playbook['id']}").text
