"""``meaculpa user create``, ``token create`` and ``jobs``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from meaculpa.accounts.models import ApiToken, User
from meaculpa.app import create_app
from meaculpa.jobs.queue import enqueue
from tests.cli.conftest import count


def test_user_and_token_work_against_the_api(cli, mdb, settings):
    created = cli("user", "create", "--email", "Ana@Example.es", "--name", "Ana Agente",
                  "--role", "agent", "--language", "es", "--password", "una clave larga")
    assert created.exit_code == 0, created.output
    assert "created agent ana@example.es" in created.output
    assert count(mdb, User) == 1

    again = cli("user", "create", "--email", "ana@example.es", "--name", "Otra",
                "--password", "una clave larga")
    assert again.exit_code == 1 and "already exists" in again.output

    short = cli("user", "create", "--email", "b@example.es", "--name", "B", "--password", "x")
    assert short.exit_code == 1 and "password" in short.output

    from_env = cli("user", "create", "--email", "c@example.es", "--name", "C",
                   MEACULPA_NEW_PASSWORD="otra clave larga")
    assert from_env.exit_code == 0, from_env.output

    issued = cli("token", "create", "--user", "ana@example.es", "--name", "importer")
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip().splitlines()[-1]
    assert token.startswith("mc_")
    with mdb.reading() as session:
        stored = session.query(ApiToken).one()
        assert stored.digest != token and stored.name == "importer"

    missing = cli("token", "create", "--user", "nobody@example.es", "--name", "x")
    assert missing.exit_code == 1 and "no user" in missing.output

    app = create_app(settings, db=mdb)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        ok = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        refused = client.get("/api/v1/customers", headers={"Authorization": "Bearer mc_wrong"})
        assert refused.status_code == 401


def test_jobs_command(cli, mdb):
    with mdb.transaction() as session:
        enqueue(session, "messages.purge_idempotency")
        failed = enqueue(session, "no.such.kind")
        session.flush()
        failed.status = "failed"
        failed.last_error = "Traceback...\nKeyError: 'no.such.kind'"
        failed_id = failed.id
    shown = cli("jobs")
    assert shown.exit_code == 0, shown.output
    assert "queued: 1  running: 0  done: 0  failed: 1" in shown.output
    assert "messages.purge_idempotency queued" in shown.output
    assert "KeyError: 'no.such.kind'" in shown.output

    only_failed = cli("jobs", "--status", "failed")
    assert "purge_idempotency" not in only_failed.output

    retried = cli("jobs", "--retry", str(failed_id))
    assert retried.exit_code == 0 and "queued again" in retried.output
    assert "queued: 2" in cli("jobs").output

    assert cli("jobs", "--retry", "999999").exit_code == 1

    ran = cli("worker", "--once")
    assert ran.exit_code == 0 and "ran" in ran.output
