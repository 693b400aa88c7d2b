"""Managers change playbooks (API and page); every version is kept with its reason."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.playbooks.models import Playbook, PlaybookRevision
from tests.conftest import audit_verbs
from tests.web.helpers import csrf, login


def _playbook(client, person, error_type="delivery", severity="high"):
    listing = client.get("/api/v1/playbooks", headers=person.headers)
    assert listing.status_code == 200
    items = listing.json()["items"]
    assert len(items) == 36
    return next(p for p in items if (p["error_type"], p["severity"]) == (error_type, severity))


def _changed_steps(playbook):
    steps = [dict(s) for s in playbook["steps"]]
    steps[0] = {**steps[0], "hours": 0.5}
    steps[1] = {
        **steps[1],
        "templates": {
            "es": "Lo sentimos, {customer_name}.",
            "en": "We are sorry, {customer_name}.",
        },
    }
    return steps


def test_manager_edit_keeps_a_revision_with_the_reason(client, db, manager):
    playbook = _playbook(client, manager)
    body = {
        "steps": _changed_steps(playbook),
        "reason": "Customers told us we were slow",
        "version": playbook["version"],
    }
    response = client.patch(
        f"/api/v1/playbooks/{playbook['id']}", json=body, headers=manager.headers
    )
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["version"] == 2 and saved["steps"][0]["hours"] == 0.5
    assert saved["updated_by_id"] == manager.id
    history = client.get(
        f"/api/v1/playbooks/{playbook['id']}/revisions", headers=manager.headers
    ).json()
    assert [r["version"] for r in history] == [2, 1]
    assert history[0]["reason"] == "Customers told us we were slow"
    assert history[0]["author_id"] == manager.id and history[0]["author_label"] == manager.email
    assert history[0]["snapshot"]["steps"][1]["templates"]["es"] == "Lo sentimos, {customer_name}."
    assert history[1]["snapshot"]["steps"] == playbook["steps"]
    assert "playbook.update" in audit_verbs(db, "playbook")
    # Editing from the old version now conflicts instead of overwriting.
    stale = client.patch(f"/api/v1/playbooks/{playbook['id']}", json=body, headers=manager.headers)
    assert stale.status_code == 409
    assert stale.headers["content-type"].startswith("application/problem+json")


def test_agents_cannot_edit_and_a_reason_is_required(client, db, agent, manager):
    playbook = _playbook(client, agent)
    body = {"steps": _changed_steps(playbook), "reason": "I prefer it"}
    refused = client.patch(f"/api/v1/playbooks/{playbook['id']}", json=body, headers=agent.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    no_reason = client.patch(
        f"/api/v1/playbooks/{playbook['id']}",
        json={"steps": body["steps"]},
        headers=manager.headers,
    )
    assert no_reason.status_code == 422
    duplicated = client.patch(
        f"/api/v1/playbooks/{playbook['id']}",
        json={"steps": [body["steps"][0], body["steps"][0]], "reason": "twice"},
        headers=manager.headers,
    )
    assert duplicated.status_code == 422
    with db.reading() as s:
        assert s.get(Playbook, playbook["id"]).version == 1
        revisions = s.scalars(
            select(PlaybookRevision).where(PlaybookRevision.playbook_id == playbook["id"])
        )
        assert len(list(revisions)) == 1


def _form(page_html, playbook, **changes):
    data = {"csrf_token": csrf_from_html(page_html), "version": str(playbook.version)}
    for position, step in enumerate(playbook.steps, start=1):
        key = step["key"]
        data.update(
            {
                f"use_{key}": "on",
                f"position_{key}": str(position),
                f"hours_{key}": str(step["hours"]),
                f"es_{key}": step["templates"]["es"],
                f"en_{key}": step["templates"]["en"],
            }
        )
    data.update(changes)
    return data


def csrf_from_html(html):
    from tests.web.helpers import csrf_from

    return csrf_from(html)


def test_edit_page_for_managers_and_403_for_agents(client, db, manager, agent):
    login(client, manager)
    listing = client.get("/playbooks")
    assert listing.status_code == 200 and "Protocolos" in listing.text
    with db.reading() as s:
        playbook = s.scalar(
            select(Playbook).where(Playbook.error_type == "product", Playbook.severity == "low")
        )
    assert f'href="/playbooks/{playbook.id}"' in listing.text
    page = client.get(f"/playbooks/{playbook.id}")
    assert page.status_code == 200 and "Guardar una versión nueva" in page.text
    assert "Protocolo por defecto incluido en meaculpa" in page.text  # revision 1, translated
    # Without a reason nothing is saved and the form comes back with the values typed.
    missing = client.post(
        f"/playbooks/{playbook.id}",
        data=_form(page.text, playbook, hours_acknowledge="3", reason=""),
    )
    assert missing.status_code == 422 and "Revisa el formulario" in missing.text
    saved = client.post(
        f"/playbooks/{playbook.id}",
        data=_form(
            page.text,
            playbook,
            hours_acknowledge="3",
            use_follow_up="",
            reason="Respuesta más rápida en productos",
        ),
    )
    assert saved.status_code == 200 and "Protocolo guardado" in saved.text
    assert "Respuesta más rápida en productos" in saved.text
    with db.reading() as s:
        stored = s.get(Playbook, playbook.id)
        assert stored.version == 2 and stored.steps[0]["hours"] == 3
        assert [st["key"] for st in stored.steps][-1] == "give_date"  # follow-up removed
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    login(client, agent)
    page = client.get(f"/playbooks/{playbook.id}")
    assert page.status_code == 200 and "Guardar una versión nueva" not in page.text
    refused = client.post(
        f"/playbooks/{playbook.id}",
        data=_form(page.text, playbook, hours_acknowledge="9", reason="Me parece mejor"),
    )
    assert refused.status_code == 403
    with db.reading() as s:
        assert s.get(Playbook, playbook.id).version == 2
