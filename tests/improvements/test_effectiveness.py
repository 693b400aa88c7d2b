"""Proof it worked: the before/after rate test, over HTTP, with the periodic job."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from meaculpa.core.clock import override
from meaculpa.improvements.stats import binomial_cdf, compare, overall, rate_fell_p_value
from tests.conftest import audit_verbs
from tests.improvements.conftest import (
    T0,
    add_reports,
    make_problem,
    open_cases,
    run_worker_at,
    spread,
)

WINDOW = timedelta(days=28)


def _plan_and_finish(client, manager, problem_id, *, title="Embalaje reforzado"):
    with override(lambda: T0 - timedelta(days=40)):
        r = client.post(
            "/api/v1/improvements",
            headers=manager.headers,
            json={
                "title": title,
                "kind": "process_fix",
                "purpose": "corrective",
                "owner_id": manager.id,
                "problem_ids": [problem_id],
            },
        )
    assert r.status_code == 201, r.text
    action_id = r.json()["id"]
    with override(lambda: T0):
        r = client.post(
            f"/api/v1/improvements/{action_id}/status",
            headers=manager.headers,
            json={"status": "done", "note": "cajas nuevas desde hoy"},
        )
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "pending"
    return action_id


def _seed(db, owner_id, problem_id, before_reports, after_reports, cases_each_side=200):
    before = list(spread(T0 - WINDOW, T0, cases_each_side))
    after = list(spread(T0, T0 + WINDOW, cases_each_side))
    open_cases(db, owner_id, before + after)
    add_reports(db, problem_id, list(spread(T0 - WINDOW, T0, before_reports)))
    add_reports(db, problem_id, list(spread(T0, T0 + WINDOW, after_reports)))


def test_an_action_that_cuts_the_rate_is_effective(db, client, manager, agent, settings):
    problem_id = make_problem(db, "Pedidos que llegan rotos")
    _seed(db, agent.id, problem_id, before_reports=40, after_reports=8)
    action_id = _plan_and_finish(client, manager, problem_id)

    # Halfway through the after-window: figures so far, no verdict yet.
    run_worker_at(db, settings, T0 + timedelta(days=14))
    body = client.get(f"/api/v1/improvements/{action_id}", headers=manager.headers).json()
    [e] = body["evaluations"]
    assert body["verdict"] == "pending" and e["final"] is False
    assert e["before_reports"] == 40 and e["before_cases"] == 200
    assert 0 < e["after_cases"] < 200

    # The window has passed: the hourly job gives the final verdict.
    run_worker_at(db, settings, T0 + WINDOW + timedelta(hours=2))
    body = client.get(f"/api/v1/improvements/{action_id}", headers=manager.headers).json()
    [e] = body["evaluations"]
    assert body["verdict"] == "effective" and body["evaluation_final"] is True
    assert (e["before_reports"], e["before_cases"]) == (40, 200)
    assert (e["after_reports"], e["after_cases"]) == (8, 200)
    assert e["before_rate"] == pytest.approx(200.0)
    assert e["after_rate"] == pytest.approx(40.0)
    assert e["p_value"] == pytest.approx(binomial_cdf(8, 48, 0.5))
    assert e["p_value"] < 0.001

    # The page shows the same numbers.
    from tests.web.helpers import login

    login(client, manager)
    page = client.get(f"/improvements/{action_id}").text
    assert "200.0 → 40.0" in page and f"{e['p_value']:.4f}" in page
    assert "Eficaz" in page or "Effective" in page
    assert "improvement.evaluate" in audit_verbs(db, "improvement_action")

    # A final verdict is not evaluated again.
    before = audit_verbs(db, "improvement_action").count("improvement.evaluate")
    run_worker_at(db, settings, T0 + WINDOW + timedelta(days=3))
    assert audit_verbs(db, "improvement_action").count("improvement.evaluate") == before


def test_an_action_that_does_not_cut_the_rate_is_not_effective(
    db, client, manager, agent, settings
):
    problem_id = make_problem(db, "Retrasos en la entrega")
    _seed(db, agent.id, problem_id, before_reports=24, after_reports=21)
    action_id = _plan_and_finish(client, manager, problem_id, title="Formación de repartidores")
    run_worker_at(db, settings, T0 + WINDOW + timedelta(hours=2))
    body = client.get(f"/api/v1/improvements/{action_id}", headers=manager.headers).json()
    [e] = body["evaluations"]
    assert body["verdict"] == "not_effective"
    assert e["before_rate"] == pytest.approx(120.0) and e["after_rate"] == pytest.approx(105.0)
    assert e["p_value"] > 0.05
    listed = client.get(
        "/api/v1/improvements", headers=manager.headers, params={"problem_id": problem_id}
    ).json()
    assert [a["id"] for a in listed["items"]] == [action_id]


def test_too_few_reports_is_not_enough_data(db, client, manager, agent, settings):
    problem_id = make_problem(db, "Factura con el nombre mal")
    _seed(db, agent.id, problem_id, before_reports=4, after_reports=0, cases_each_side=50)
    action_id = _plan_and_finish(client, manager, problem_id, title="Revisar plantilla")
    run_worker_at(db, settings, T0 + WINDOW + timedelta(hours=2))
    body = client.get(f"/api/v1/improvements/{action_id}", headers=manager.headers).json()
    assert body["verdict"] == "not_enough_data"
    assert body["evaluations"][0]["p_value"] == pytest.approx(0.5**4)


def test_the_window_is_configurable_and_exposure_normalises(db, client, manager, agent, settings):
    """Twice the cases after the change with the same reports is half the rate."""
    problem_id = make_problem(db, "Cobro duplicado")
    week = timedelta(days=7)
    open_cases(db, agent.id, list(spread(T0 - week, T0, 100)) + list(spread(T0, T0 + week, 400)))
    add_reports(db, problem_id, list(spread(T0 - week, T0, 30)))
    add_reports(db, problem_id, list(spread(T0, T0 + week, 30)))
    with override(lambda: T0 - timedelta(days=10)):
        action_id = client.post(
            "/api/v1/improvements",
            headers=manager.headers,
            json={
                "title": "Bloqueo de doble cobro",
                "kind": "product_fix",
                "window_days": 7,
                "problem_ids": [problem_id],
            },
        ).json()["id"]
    with override(lambda: T0):
        client.post(
            f"/api/v1/improvements/{action_id}/status",
            headers=manager.headers,
            json={"status": "done"},
        )
    run_worker_at(db, settings, T0 + week + timedelta(hours=1))
    body = client.get(f"/api/v1/improvements/{action_id}", headers=manager.headers).json()
    [e] = body["evaluations"]
    assert e["window_days"] == 7
    assert e["before_rate"] == pytest.approx(300.0) and e["after_rate"] == pytest.approx(75.0)
    assert body["verdict"] == "effective"


def test_binomial_cdf_matches_the_sum_of_terms():
    for n, p in ((10, 0.3), (48, 0.5), (120, 0.8), (0, 0.4)):
        for k in range(0, n + 1, max(1, n // 7)):
            exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))
            assert binomial_cdf(k, n, p) == pytest.approx(exact, rel=1e-9, abs=1e-15)


def test_comparison_rules():
    assert rate_fell_p_value(0, 100, 0, 100) is None
    assert rate_fell_p_value(5, 0, 1, 100) is None
    with pytest.raises(ValueError):
        rate_fell_p_value(-1, 10, 1, 10)
    assert compare(40, 200, 8, 200, complete=False).verdict == "pending"
    assert compare(40, 200, 8, 200, complete=True).verdict == "effective"
    # A rate that went up is never effective, however small its p-value for "fell" is not.
    assert compare(8, 200, 40, 200, complete=True).verdict == "not_effective"
    assert compare(3, 200, 1, 200, complete=True).verdict == "not_enough_data"
    assert overall(["effective", "pending"]) == "pending"
    assert overall(["effective", "not_effective"]) == "not_effective"
    assert overall(["effective", "not_enough_data"]) == "effective"
    assert overall([]) == "not_enough_data"
