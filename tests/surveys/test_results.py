"""The figures on known data, the answers list with its filters and cursor, the CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meaculpa.accounts.models import Team, User
from meaculpa.core.clock import utcnow
from meaculpa.surveys.links import survey_token
from tests.conftest import TEST_SECRET
from tests.followups.conftest import run_worker_at
from tests.surveys.conftest import invites, make_customer, responses


@pytest.fixture
def answered(client, db, manager, agent, other_agent, mail_settings, smtp_server):
    """Eleven customers surveyed, ten answers: NPS 10, 10, 9, 7, 3 (+1 unanswered); CSAT
    5, 4, 2; effort 2, 6. Agent's customers are in team "Norte", the other agent's in "Sur"."""
    with db.transaction() as s:
        north, south = Team(name="Norte"), Team(name="Sur")
        s.add_all([north, south])
        s.flush()
        s.get(User, agent.id).team_id = north.id
        s.get(User, other_agent.id).team_id = south.id
    plan = {
        "nps": [
            (10, agent),
            (10, agent),
            (9, other_agent),
            (7, other_agent),
            (3, agent),
            (None, other_agent),
        ],
        "csat": [(5, agent), (4, other_agent), (2, other_agent)],
        "ces": [(2, agent), (6, agent)],
    }
    n = 0
    for kind, answers in plan.items():
        emails = []
        for _score, owner in answers:
            n += 1
            emails.append(f"c{n}@example.com")
            make_customer(db, f"Cliente {n}", emails[-1], "es", owner_id=owner.id)
        created = client.post(
            "/api/v1/surveys/sends",
            json={"name": kind, "kind": kind, "audience": {"emails": emails}},
            headers=manager.headers,
        )
        assert created.json()["recipients"]["invited"] == len(answers)
    run_worker_at(db, mail_settings, utcnow())
    by_customer = {i.customer_id: i for i in invites(db)}
    scores = [score for answers in plan.values() for score, _owner in answers]
    for invite, score in zip(sorted(by_customer.values(), key=lambda i: i.id), scores, strict=True):
        if score is None:
            continue
        token, _ = survey_token(TEST_SECRET, invite.id, 30)
        answer = client.post(
            f"/api/v1/surveys/answers/{token}", json={"score": score, "comment": f"nota {score}"}
        )
        assert answer.status_code == 201, answer.text
    return plan


def test_figures_on_known_data(client, manager, agent, answered):
    report = client.get("/api/v1/surveys/results", headers=manager.headers)
    assert report.status_code == 200
    [group] = report.json()["groups"]
    assert (group["sent"], group["answered"]) == (11, 10)
    assert group["response_rate"] == round(10 / 11, 4)
    nps = group["nps"]
    assert (nps["sent"], nps["answered"], nps["response_rate"]) == (6, 5, round(5 / 6, 4))
    assert (nps["promoters"], nps["passives"], nps["detractors"]) == (3, 1, 1)
    assert nps["nps"] == 40.0  # 60 % promoters - 20 % detractors
    assert nps["low"] == 1 and nps["scores"] == {"3": 1, "7": 1, "9": 1, "10": 2}
    assert group["csat"]["average"] == 3.67 and group["csat"]["low"] == 1
    assert group["ces"]["average"] == 4.0 and group["ces"]["low"] == 1
    assert group["csat"]["nps"] is None

    by_team = client.get("/api/v1/surveys/results?group_by=team", headers=manager.headers).json()
    teams = {g["key"]: g for g in by_team["groups"]}
    assert set(teams) == {"Norte", "Sur"}
    # Norte: NPS 10, 10, 3 -> (2 - 1) / 3; Sur: 9, 7 and one unanswered -> 50.
    assert teams["Norte"]["nps"]["nps"] == 33.3 and teams["Sur"]["nps"]["nps"] == 50.0
    assert teams["Sur"]["nps"]["response_rate"] == round(2 / 3, 4)
    assert teams["Norte"]["ces"]["average"] == 4.0 and teams["Sur"]["csat"]["average"] == 3.0
    by_month = client.get("/api/v1/surveys/results?group_by=month", headers=manager.headers)
    assert [g["sent"] for g in by_month.json()["groups"]] == [11]
    this_week = "{}-W{:02d}".format(*utcnow().isocalendar()[:2])
    by_week = client.get("/api/v1/surveys/results?group_by=week", headers=manager.headers).json()
    assert [(g["key"], g["nps"]["nps"]) for g in by_week["groups"]] == [(this_week, 40.0)]
    last_year = (utcnow() - timedelta(days=400)).date()
    empty = client.get(
        f"/api/v1/surveys/results?from={last_year}&to={last_year + timedelta(days=5)}",
        headers=manager.headers,
    ).json()["groups"]
    assert empty[0]["sent"] == 0 and empty[0]["nps"]["nps"] is None
    assert client.get("/api/v1/surveys/results", headers=agent.headers).status_code == 403
    bad = client.get("/api/v1/surveys/results?group_by=planet", headers=manager.headers)
    assert bad.status_code == 422
    backwards = client.get(
        "/api/v1/surveys/results?from=2026-05-02&to=2026-05-01", headers=manager.headers
    )
    assert backwards.status_code == 422
    check_answers_list(client, agent)
    check_manager_page(client, manager)


def check_answers_list(client, agent):
    low = client.get("/api/v1/surveys/responses?low=true", headers=agent.headers).json()
    assert sorted((r["kind"], r["score"]) for r in low["items"]) == [
        ("ces", 6),
        ("csat", 2),
        ("nps", 3),
    ]
    assert all(r["followup_case_id"] for r in low["items"])
    seen, cursor = [], None
    while True:
        url = "/api/v1/surveys/responses?kind=nps&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=agent.headers).json()
        seen += [r["score"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [3, 7, 9, 10, 10]
    bad = client.get("/api/v1/surveys/responses?cursor=nonsense", headers=agent.headers)
    assert bad.status_code == 422
    assert client.get("/api/v1/surveys/responses").status_code == 401


def check_manager_page(client, manager):
    from tests.web.helpers import login

    login(client, manager)
    page = client.get("/surveys?lang=en")
    assert page.status_code == 200
    assert "Latest comments" in page.text and "nota 3" in page.text
    assert "40.0" in page.text and "3.67" in page.text
    assert client.get("/surveys?group_by=team").status_code == 200
    from tests.web.helpers import csrf

    token = csrf(client, "/surveys/settings")
    saved = client.post(
        "/surveys/settings",
        data={
            "csrf_token": token,
            "after_case": "on",
            "after_case_kind": "ces",
            "delay_days": "7",
            "link_days": "20",
            "quiet_days": "60",
            "csat_low": "2",
            "nps_low": "6",
            "ces_high": "6",
        },
    )
    assert saved.status_code == 200 and "Ajustes de encuestas guardados." in saved.text
    current = client.get("/api/v1/surveys/settings", headers=manager.headers).json()
    assert (current["after_case_kind"], current["delay_days"], current["ces_high"]) == ("ces", 7, 6)
    refused = client.post(
        "/surveys/settings",
        data={"csrf_token": token, "after_case_kind": "ces", "delay_days": "-1"},
    )
    assert "no son válidos" in refused.text
    assert client.get("/api/v1/surveys/settings", headers=manager.headers).json() == current
    worded = client.post(
        "/surveys/questions",
        data={
            "csrf_token": token,
            "kind": "ces",
            "language": "en",
            "question": "Was it easy <really>?",
            "comment_question": "What got in the way?",
        },
    )
    assert (
        "Preguntas de la encuesta guardadas." in worded.text
        and "Was it easy &lt;really&gt;?" in worded.text
    )
    questions = client.get("/api/v1/surveys/questions", headers=manager.headers).json()
    ces_en = next(q for q in questions if (q["kind"], q["language"]) == ("ces", "en"))
    assert ces_en["question"] == "Was it easy <really>?" and ces_en["customised"] is True
    client.post(
        "/surveys/questions",
        data={"csrf_token": token, "kind": "ces", "language": "en", "reset": "1"},
    )
    questions = client.get("/api/v1/surveys/questions", headers=manager.headers).json()
    assert not any(q["customised"] for q in questions)
    settings = client.get("/surveys/settings")
    assert (
        settings.status_code == 200 and "What could we have made easier for you?" in settings.text
    )


def test_cli_sends_and_reports(database_url, tmp_path, mail_settings, smtp_server):
    """The command migrates the database itself, so this test builds it with Alembic."""
    from click.testing import CliRunner

    from meaculpa.cli import main
    from meaculpa.core.db import Database
    from meaculpa.core.migrate import upgrade
    from tests.conftest import make_person

    db = Database(database_url, pool_size=2)
    upgrade(db)
    agent = make_person(db, "agent", "alberto@example.com", "Alberto Agente")
    manager = make_person(db, "manager", "marta@example.com", "Marta Gestora")
    make_customer(db, "Ana", "ana@example.es", "es", owner_id=agent.id)
    make_customer(db, "John", "john@example.com", "en", owner_id=agent.id)
    listing = tmp_path / "list.csv"
    listing.write_text("email\nana@example.es\njohn@example.com\nnadie@example.com\n")
    runner = CliRunner()
    env = {"MEACULPA_DATABASE_URL": database_url}
    sent = runner.invoke(
        main,
        [
            "survey",
            "send",
            "--name",
            "CLI",
            "--kind",
            "csat",
            "--emails",
            str(listing),
            "--as",
            manager.email,
        ],
        env=env,
    )
    assert sent.exit_code == 0, sent.output
    assert "2 surveyed" in sent.output and "not a customer: nadie@example.com" in sent.output
    refused = runner.invoke(
        main, ["survey", "send", "--name", "x", "--kind", "csat", "--as", manager.email], env=env
    )
    assert refused.exit_code != 0 and "give --emails FILE" in refused.output
    agent_tries = runner.invoke(
        main,
        ["survey", "send", "--name", "x", "--kind", "nps", "--language", "es", "--as", agent.email],
        env=env,
    )
    assert agent_tries.exit_code != 0 and "manager" in agent_tries.output
    run_worker_at(db, mail_settings, utcnow())
    assert len(smtp_server[2].messages) == 2
    report = runner.invoke(main, ["survey", "results"], env=env)
    assert report.exit_code == 0 and "all | 2 | 0 | 0% |" in report.output
    assert len(responses(db)) == 0
    db.dispose()
