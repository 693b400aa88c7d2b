"""``meaculpa improvements list`` and ``evaluate`` against the test database."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner

from meaculpa.cli import main
from meaculpa.core.clock import override
from tests.improvements.conftest import T0, add_reports, make_problem, open_cases, spread


def test_list_and_evaluate(db, client, manager, agent, database_url):
    problem = make_problem(db, "Vajilla rota")
    window = timedelta(days=28)
    open_cases(
        db, agent.id, list(spread(T0 - window, T0, 100)) + list(spread(T0, T0 + window, 100))
    )
    add_reports(db, problem, list(spread(T0 - window, T0, 30)))
    add_reports(db, problem, list(spread(T0, T0 + window, 5)))
    with override(lambda: T0 - timedelta(days=30)):
        aid = client.post(
            "/api/v1/improvements",
            headers=manager.headers,
            json={"title": "Cajas dobles", "kind": "process_fix", "problem_ids": [problem]},
        ).json()["id"]
        planned = client.post(
            "/api/v1/improvements",
            headers=manager.headers,
            json={"title": "Formación", "kind": "staff_training"},
        ).json()["id"]
    with override(lambda: T0):
        client.post(
            f"/api/v1/improvements/{aid}/status", headers=manager.headers, json={"status": "done"}
        )
    runner = CliRunner()
    env = {"MEACULPA_DATABASE_URL": database_url}
    with override(lambda: T0 + window + timedelta(days=1)):
        result = runner.invoke(main, ["improvements", "evaluate", str(aid), "--json"], env=env)
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["verdict"] == "effective"
    assert row["before_rate"] == 300.0 and row["after_rate"] == 50.0 and row["p_value"] < 0.05

    result = runner.invoke(main, ["improvements", "list"], env=env)
    assert result.exit_code == 0
    assert f"{aid} | done | effective | 300.0 → 50.0 |" in result.output
    assert f"{planned} | planned | — |" in result.output

    result = runner.invoke(main, ["improvements", "evaluate", str(planned)], env=env)
    assert result.exit_code != 0 and "only done ones are measured" in result.output
    result = runner.invoke(main, ["improvements", "evaluate", "999"], env=env)
    assert result.exit_code != 0 and "does not exist" in result.output
