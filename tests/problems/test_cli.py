"""``meaculpa problems list`` and ``meaculpa problems review`` against the test database."""

from __future__ import annotations

import json

from click.testing import CliRunner

from meaculpa.cli import main
from meaculpa.core.clock import utcnow
from tests.problems.test_grouping_api import LUGGAGE


def test_list_and_review_in_the_terminal(database_url, db, send, work):
    runner = CliRunner()
    env = {"MEACULPA_DATABASE_URL": database_url}
    res = runner.invoke(main, ["problems", "list"], env=env, catch_exceptions=False)
    assert res.exit_code == 0 and "no problems yet" in res.output
    for i, (text, lang) in enumerate(LUGGAGE):
        send(text, f"t{i}@example.com", language=lang)
    work()
    res = runner.invoke(main, ["problems", "list", "--json"], env=env, catch_exceptions=False)
    [row] = json.loads(res.output)
    assert row["reports"] == len(LUGGAGE) and row["last_4_weeks"] == len(LUGGAGE)
    month = utcnow().strftime("%Y-%m")
    res = runner.invoke(main, ["problems", "review", "--month", month], env=env,
                        catch_exceptions=False)
    assert res.exit_code == 0 and f"complaints grouped: {len(LUGGAGE)}" in res.output
    res = runner.invoke(main, ["problems", "review", "--month", "May"], env=env)
    assert res.exit_code == 2 and "YYYY-MM" in res.output
