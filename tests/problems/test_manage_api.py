"""Managers rename, merge, split and link problems, and record root causes; each change is
audited, and bad input gets a problem+json answer without touching stored data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from meaculpa.problems import queries
from meaculpa.problems.models import Problem, ProblemReport
from tests.conftest import audit_verbs
from tests.problems.test_grouping_api import BILLING, LUGGAGE


def _grouped(db: Any, send: Any, work: Any) -> tuple[int, int]:
    for i, (text, lang) in enumerate(LUGGAGE + BILLING):
        send(text, f"c{i}@example.com", language=lang)
    work()
    with db.reading() as s:
        rows = s.execute(select(ProblemReport.excerpt, ProblemReport.problem_id)).all()
    ids = dict(rows)
    return ids[LUGGAGE[0][0]], ids[BILLING[0][0]]


def _problem_json(res: Any) -> dict[str, Any]:
    assert res.headers["content-type"].startswith("application/problem+json"), res.text
    return dict(res.json())


def test_rename_merge_split_and_link(client, db, agent, manager, send, work):
    luggage, billing = _grouped(db, send, work)
    url = f"/api/v1/problems/{luggage}"

    # Agents read problems but do not change them.
    res = client.patch(url, json={"label": "Maletas"}, headers=agent.headers)
    assert res.status_code == 403 and _problem_json(res)

    res = client.patch(url, json={"label": "  Lost   luggage "}, headers=manager.headers)
    assert res.status_code == 200 and res.json()["label"] == "Lost luggage"
    assert res.json()["label_locked"] is True

    # Linking to a company error (an unknown one is a 404, a repeat is a 200).
    err = client.post(
        "/api/v1/errors",
        json={"title": "Baggage belt broken at MAD", "type": "delivery", "severity": "high"},
        headers=manager.headers,
    )
    assert err.status_code == 201, err.text
    error_id = err.json()["id"]
    assert client.post(f"{url}/errors", json={"error_id": 999999},
                       headers=manager.headers).status_code == 404
    res = client.post(f"{url}/errors", json={"error_id": error_id}, headers=manager.headers)
    assert res.status_code == 201 and res.json()["error_ids"] == [error_id]
    assert client.post(f"{url}/errors", json={"error_id": error_id},
                       headers=manager.headers).status_code == 200
    linked = client.get(f"/api/v1/errors/{error_id}/problems", headers=agent.headers).json()
    assert [p["id"] for p in linked] == [luggage]

    # Split: the named reports move to a new problem.
    reports = client.get(f"{url}/reports", headers=manager.headers).json()["items"]
    english = [r["id"] for r in reports if r["language"] == "en"]
    res = client.post(f"{url}/split", json={"report_ids": english, "label": "Luggage (EN)"},
                      headers=manager.headers)
    assert res.status_code == 201, res.text
    new = res.json()
    assert new["size"] == len(english) and new["label"] == "Luggage (EN)"
    assert client.get(url, headers=manager.headers).json()["size"] == len(LUGGAGE) - len(english)
    # Reports of another problem cannot be split off this one.
    bad = client.post(f"{url}/split", json={"report_ids": [999999]}, headers=manager.headers)
    assert bad.status_code == 422 and _problem_json(bad)

    # Merge it back: reports, counts and the error link follow; the old one points on.
    res = client.post(f"/api/v1/problems/{new['id']}/merge", json={"into": luggage},
                      headers=manager.headers)
    assert res.status_code == 200, res.text
    merged = res.json()
    assert merged["id"] == luggage and merged["size"] == len(LUGGAGE)
    old = client.get(f"/api/v1/problems/{new['id']}", headers=manager.headers).json()
    assert old["status"] == "merged" and old["merged_into_id"] == luggage
    with db.reading() as s:
        # The queries the actions domain uses follow the merge.
        assert queries.resolve_problem_id(s, new["id"]) == luggage
        assert len(queries.reporter_customer_ids(s, new["id"])) == len(LUGGAGE)
    # A merged problem takes no more changes; merging into itself is refused.
    res = client.patch(f"/api/v1/problems/{new['id']}", json={"label": "x"},
                       headers=manager.headers)
    assert res.status_code == 409 and _problem_json(res)
    res = client.post(f"{url}/merge", json={"into": luggage}, headers=manager.headers)
    assert res.status_code == 422

    # Automatic split by meaning of the mixed problem, after merging billing in.
    client.post(f"/api/v1/problems/{billing}/merge", json={"into": luggage},
                headers=manager.headers)
    res = client.post(f"{url}/split", json={}, headers=manager.headers)
    assert res.status_code == 201, res.text
    with db.reading() as s:
        rows = s.execute(select(ProblemReport.excerpt, ProblemReport.problem_id)).all()
    sides = {pid for text, pid in rows if text in {t for t, _ in BILLING}}
    assert sides == {res.json()["id"]}

    # Archive, then unlink the error.
    res = client.patch(url, json={"status": "archived"}, headers=manager.headers)
    assert res.json()["status"] == "archived"
    assert client.delete(f"{url}/errors/{error_id}", headers=manager.headers).status_code == 204
    assert client.delete(f"{url}/errors/{error_id}", headers=manager.headers).status_code == 404

    verbs = audit_verbs(db, "problem")
    for verb in ("problem.renamed", "problem.error_linked", "problem.split", "problem.merged",
                 "problem.absorbed", "problem.archived", "problem.error_unlinked"):
        assert verb in verbs, verb


def test_root_cause_on_a_problem_and_on_an_error(client, db, agent, manager, send, work):
    luggage, _ = _grouped(db, send, work)
    err = client.post(
        "/api/v1/errors",
        json={"title": "Wrong tariff applied", "type": "calculation", "severity": "medium"},
        headers=manager.headers,
    ).json()
    body = {
        "category": "process",
        "whys": [
            "Bags missed the connection",
            "The transfer took 25 minutes",
            "The minimum connection time was set for another terminal",
        ],
        "notes": "Review the connection times every season.",
    }
    for url in (f"/api/v1/problems/{luggage}/root-cause", f"/api/v1/errors/{err['id']}/root-cause"):
        assert client.get(url, headers=agent.headers).status_code == 404
        assert client.put(url, json=body, headers=agent.headers).status_code == 403
        res = client.put(url, json=body, headers=manager.headers)
        assert res.status_code == 200, res.text
        assert res.json()["whys"] == body["whys"] and res.json()["category"] == "process"
        # Bad input: an unknown category, six whys, a gap.
        for bad in (
            {**body, "category": "weather"},
            {**body, "whys": ["a"] * 6},
            {**body, "whys": ["a", "", "c"]},
        ):
            res = client.put(url, json=bad, headers=manager.headers)
            assert res.status_code == 422, res.text
            assert res.headers["content-type"].startswith("application/problem+json")
        # ... and the stored record is untouched.
        assert client.get(url, headers=agent.headers).json()["whys"] == body["whys"]
        res = client.put(url, json={**body, "category": "system"}, headers=manager.headers)
        assert res.json()["category"] == "system"
    assert client.put("/api/v1/problems/999999/root-cause", json=body,
                      headers=manager.headers).status_code == 404
    assert client.delete(f"/api/v1/errors/{err['id']}/root-cause",
                         headers=manager.headers).status_code == 204
    assert audit_verbs(db, "error").count("root_cause.set") == 2
    assert "root_cause.removed" in audit_verbs(db, "error")
    assert audit_verbs(db, "problem").count("root_cause.set") == 2


def test_settings_threshold_changes_grouping(client, db, admin, manager, send, work):
    res = client.get("/api/v1/problem-settings", headers=manager.headers)
    assert res.json()["new_problem_threshold"] == 0.45 and res.json()["saved"] is False
    assert client.put("/api/v1/problem-settings", json={"new_problem_threshold": 0.9},
                      headers=manager.headers).status_code == 403
    assert client.put("/api/v1/problem-settings", json={"new_problem_threshold": 5},
                      headers=admin.headers).status_code == 422
    res = client.put("/api/v1/problem-settings", json={"new_problem_threshold": 0.95},
                     headers=admin.headers)
    assert res.status_code == 200 and res.json()["saved"] is True
    for i, (text, lang) in enumerate(LUGGAGE):
        send(text, f"x{i}@example.com", language=lang)
    work()
    with db.reading() as s:
        # At 0.95 no two different sentences are "the same problem".
        assert len(s.scalars(select(Problem)).all()) == len(LUGGAGE)
    assert "problem_settings.updated" in audit_verbs(db)


def test_the_centroid_cache_follows_every_change(db, manager):
    """Grouping reads centroids from a per-process cache; merges, splits and new reports made
    through any path must be seen by the next assignment."""
    import numpy as np

    from meaculpa.analysis.grouping import normalise
    from meaculpa.core.clock import utcnow
    from meaculpa.problems.actions import ReportInput, _open_centroids, do_assign_report

    rng = np.random.default_rng(3)
    a, b = normalise(rng.normal(size=(2, 512)).astype(np.float32))

    def assign(i: int, v):
        with db.transaction() as s:
            return do_assign_report(
                s, ReportInput("survey", i, f"text {i}", utcnow()), v, threshold=0.8
            ).problem.id

    pa, pb = assign(1, a), assign(2, b)
    assert pa != pb and assign(3, a) == pa
    with db.reading() as s:
        ids, units = _open_centroids(s)
    assert ids == [pa, pb] and np.allclose(units[0], a, atol=1e-3)
    with db.transaction() as s:
        from meaculpa.problems import actions

        actions.do_merge_problems(s, manager.actor, s.get(Problem, pb), s.get(Problem, pa))
    with db.reading() as s:
        ids, units = _open_centroids(s)
    assert ids == [pa]
    # The merged centroid lies between both: b alone no longer reaches 0.8, a new problem.
    assert assign(4, b) not in (pa, pb)
