"""The problem pages walked by a manager in a browser session: list, rename, split, merge,
link an error, root causes, and the alerts section; agents read but cannot change."""

from __future__ import annotations

from sqlalchemy import select

from meaculpa.problems.models import Problem, ProblemReport, RootCause
from tests.conftest import audit_verbs
from tests.problems.test_grouping_api import BILLING, LUGGAGE
from tests.web.helpers import csrf, login


def _ids(db):
    with db.reading() as s:
        rows = s.execute(select(ProblemReport.excerpt, ProblemReport.problem_id)).all()
    return dict(rows)


def test_manager_journey_through_the_pages(client, db, agent, manager, send, work):
    for i, (text, lang) in enumerate(LUGGAGE + BILLING):
        send(text, f"p{i}@example.com", language=lang)
    work()
    ids = _ids(db)
    luggage, billing = ids[LUGGAGE[0][0]], ids[BILLING[0][0]]
    assert login(client, manager).status_code == 200

    page = client.get("/problems")
    assert page.status_code == 200
    assert f'href="/problems/{luggage}"' in page.text and "<svg" in page.text
    page = client.get(f"/problems/{luggage}")
    assert page.status_code == 200 and "<svg" in page.text and "Dividir" in page.text

    token = csrf(client, f"/problems/{luggage}")
    # No CSRF token: refused, nothing changes.
    res = client.post(f"/problems/{luggage}/rename", data={"label": "<b>x</b>"})
    assert res.status_code == 403
    res = client.post(f"/problems/{luggage}/rename",
                      data={"label": "Maletas <perdidas>", "csrf_token": token})
    assert res.status_code == 200  # followed the redirect
    assert "Maletas &lt;perdidas&gt;" in res.text and "<perdidas>" not in res.text

    # Split off the English reports by ticking them.
    with db.reading() as s:
        english = s.scalars(
            select(ProblemReport.id).where(ProblemReport.problem_id == luggage,
                                           ProblemReport.language == "en")
        ).all()
    res = client.post(
        f"/problems/{luggage}/split",
        data={"report_id": [str(i) for i in english], "label": "Lost luggage", "csrf_token": token},
    )
    assert res.status_code == 200 and "Lost luggage" in res.text
    with db.reading() as s:
        new_id = s.scalar(select(Problem.id).where(Problem.label == "Lost luggage"))
    # ... and merge it back.
    res = client.post(f"/problems/{new_id}/merge", data={"into": str(luggage), "csrf_token": token})
    assert res.status_code == 200
    assert str(res.url).endswith(f"/problems/{luggage}")
    # An unknown target is a message, not a crash.
    res = client.post(f"/problems/{billing}/merge", data={"into": "999999", "csrf_token": token})
    assert res.status_code == 200 and 'class="flash flash-error' in res.text

    # Link to an error, and record the root cause on the problem and on the error.
    client.post("/api/v1/errors", json={"title": "Cinta de equipajes rota", "type": "delivery",
                                        "severity": "high"}, headers=manager.headers)
    error_id = client.get("/api/v1/errors", headers=manager.headers).json()["items"][0]["id"]
    res = client.post(f"/problems/{luggage}/errors",
                      data={"error_id": str(error_id), "csrf_token": token})
    assert f'href="/errors/{error_id}"' in res.text
    cause = {"category": "system", "why1": "La cinta se paró", "why2": "Sin mantenimiento",
             "notes": "Revisar cada mes", "csrf_token": token}
    res = client.post(f"/problems/{luggage}/root-cause", data=cause)
    assert "Sin mantenimiento" in res.text
    res = client.post(f"/errors/{error_id}/root-cause", data={**cause, "category": "partner"})
    assert res.status_code == 200 and "La cinta se paró" in res.text
    assert f'href="/problems/{luggage}"' in res.text
    res = client.post(f"/errors/{error_id}/root-cause", data={**cause, "category": "luck"})
    assert 'class="flash flash-error' in res.text
    with db.reading() as s:
        causes = s.scalars(select(RootCause).order_by(RootCause.id)).all()
    assert [(c.problem_id, c.error_id, c.category) for c in causes] == [
        (luggage, None, "system"), (None, error_id, "partner")]
    assert f'href="/errors/{error_id}/root-cause"' in client.get(f"/errors/{error_id}").text

    res = client.post(f"/problems/{luggage}/status", data={"status": "archived",
                                                           "csrf_token": token})
    assert res.status_code == 200
    assert "problem.archived" in audit_verbs(db, "problem")
    assert client.get("/problems/alerts").status_code == 200
    assert client.get("/problems/alerts/fragment").status_code == 200
    assert client.get("/problems/999999").status_code == 404


def test_agents_read_but_do_not_change(client, db, agent, send, work):
    cases = [send(text, f"a{i}@example.com", language=lang)["case_id"]
             for i, (text, lang) in enumerate(LUGGAGE)]
    work()
    [pid] = set(_ids(db).values())
    assert login(client, agent).status_code == 200
    # The case page says which recurring problem the complaint belongs to.
    case_page = client.get(f"/cases/{cases[0]}")
    assert case_page.status_code == 200 and f'href="/problems/{pid}"' in case_page.text
    page = client.get(f"/problems/{pid}")
    assert page.status_code == 200 and f'action="/problems/{pid}/rename"' not in page.text
    token = csrf(client, f"/problems/{pid}")
    res = client.post(f"/problems/{pid}/rename", data={"label": "Mío", "csrf_token": token})
    assert 'class="flash flash-error' in res.text
    with db.reading() as s:
        assert s.get(Problem, pid).label_locked is False


def test_an_old_problem_is_charted_up_to_its_last_report(client, db, manager, send, work):
    from datetime import timedelta

    from meaculpa.core.clock import utcnow

    for i, (text, lang) in enumerate(LUGGAGE):
        send(text, f"o{i}@example.com", language=lang, sent_at=utcnow() - timedelta(weeks=20))
    work()
    [pid] = set(_ids(db).values())
    assert login(client, manager).status_code == 200
    page = client.get(f"/problems/{pid}").text
    assert "Nadie lo ha notificado en las últimas 12 semanas" in page
    assert f">{len(LUGGAGE)}</text>" in page  # the column of the week they came in
