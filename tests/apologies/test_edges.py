"""Edges: the CLI import, the filter, permissions and bad input, opt-out on updates, a bounce
storm that pauses the apology, bounces reported by mail."""

from __future__ import annotations

from sqlalchemy import select, update

from meaculpa.apologies.actions import note_bounce
from meaculpa.apologies.models import Apology, ApologyCampaign, PostNotice
from meaculpa.core.audit import Actor
from meaculpa.customers.models import Customer
from meaculpa.errors.models import AffectedCustomer, Error
from meaculpa.jobs.runner import Runner
from tests.cli.conftest import Cli, count


def new_error(client, person) -> int:
    r = client.post("/api/v1/errors", json={"title": "Envíos tarde", "type": "delivery"},
                    headers=person.headers)
    return int(r.json()["id"])


def test_cli_import_reports_lines_and_exit_codes(database_url, tmp_path):
    from meaculpa.core.db import Database
    from meaculpa.core.migrate import upgrade
    from meaculpa.errors.actions import do_create_error
    from meaculpa.errors.schemas import ErrorCreate

    db = Database(database_url, pool_size=2)
    upgrade(db)
    with db.transaction() as s:
        error_id = do_create_error(s, Actor.system(), ErrorCreate(title="Cobro", type="other")).id
    cli = Cli(database_url)
    good = tmp_path / "good.csv"
    good.write_text("email,detail_coupon\na@example.es,X1\nb@example.es,X2\n", encoding="utf-8")
    r = cli("error", "affected", "import", str(error_id), str(good))
    assert r.exit_code == 0, r.output
    assert "2 customers added" in r.output
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"email\nc@example.es\nb@example.es\n\xff\xfe@x\nc@example.es\n")
    errors_out = tmp_path / "rejected.csv"
    r = cli("error", "affected", "import", str(error_id), str(mixed),
            "--errors-out", str(errors_out))
    assert r.exit_code == 1
    assert "line 4" in r.output and "line 5" in r.output
    assert "the same customer as line 2" in r.output
    assert errors_out.read_text().count("\n") == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("mail\na@example.es\n")
    r = cli("error", "affected", "import", str(error_id), str(bad))
    assert r.exit_code == 2 and "unknown column 'mail'" in r.output
    assert cli("error", "affected", "import", "999", str(good)).exit_code == 2
    assert count(db, AffectedCustomer) == 3
    with db.reading() as s:
        row = s.scalar(select(AffectedCustomer).order_by(AffectedCustomer.id))
        assert row.details == {"coupon": "X1"}
    db.dispose()


def test_filter_over_existing_customers(client, db, manager):
    for email, lang in (("a@olivar.es", "es"), ("b@olivar.es", "en"), ("c@other.com", "es")):
        client.post("/api/v1/customers", headers=manager.headers, json={
            "name": email, "language": lang, "identities": [{"kind": "email", "value": email}]})
    error_id = new_error(client, manager)
    url = f"/api/v1/errors/{error_id}/affected/filter"
    r = client.post(url, json={"email_domain": "olivar.es", "dry_run": True},
                    headers=manager.headers)
    assert r.json() == {"matched": 2, "added": 0, "dry_run": True}
    r = client.post(url, json={"email_domain": "olivar.es", "language": "es"},
                    headers=manager.headers)
    assert r.json() == {"matched": 1, "added": 1, "dry_run": False}
    r = client.post(url, json={"email_domain": "olivar.es"}, headers=manager.headers)
    assert r.json()["added"] == 1  # the one already there is not added twice
    r = client.post(url, json={}, headers=manager.headers)
    assert r.status_code == 422
    with db.reading() as s:
        assert s.get(Error, error_id).affected_count == 2


def test_bad_input_and_permissions(client, db, manager, agent):
    error_id = new_error(client, manager)
    base = f"/api/v1/errors/{error_id}"
    assert client.get(f"{base}/apology", headers=manager.headers).status_code == 404
    assert client.post(f"{base}/apology/send", headers=manager.headers).status_code == 404
    r = client.put(f"{base}/apology", json={"remedy_amount": "5"}, headers=manager.headers)
    assert r.status_code == 422
    r = client.put(f"{base}/apology", json={"promised_by": "2001-01-01T00:00:00Z"},
                   headers=manager.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "promised_by"
    # An agent who did not report the error may not change or send its apology.
    assert client.put(f"{base}/apology", json={}, headers=agent.headers).status_code == 403
    r = client.post(f"{base}/affected/import", content=b"email\na@b.es\n",
                    headers={**agent.headers, "Content-Type": "text/csv"})
    assert r.status_code == 403
    r = client.post(f"{base}/affected/import", content=b"email\na@b.es\n",
                    headers={**manager.headers, "Content-Type": "application/json"})
    assert r.status_code == 422
    # A remedy above the sender's approval limit cannot go out.
    client.put(f"{base}/apology", json={"remedy_kind": "refund", "remedy_amount": "100000",
                                        "currency": "EUR"}, headers=manager.headers)
    r = client.post(f"{base}/apology/send", headers=manager.headers)
    assert r.status_code == 403
    with db.reading() as s:
        assert s.scalar(select(ApologyCampaign.status)) == "draft"
    # Once sent, the wording is fixed.
    client.put(f"{base}/apology", json={"remedy_kind": None}, headers=manager.headers)
    assert client.post(f"{base}/apology/send", headers=manager.headers).status_code == 202
    r = client.put(f"{base}/apology", json={"subject_es": "Otra cosa"}, headers=manager.headers)
    assert r.status_code == 409


def test_updates_respect_opt_out_and_go_once(client, db, manager, mail_settings, smtp_server):
    _, _, mailbox = smtp_server
    error_id = new_error(client, manager)
    client.post(f"/api/v1/errors/{error_id}/affected/import",
                content=b"email,language\na@example.es,es\nb@example.com,en\nc@example.es,es\n",
                headers={**manager.headers, "Content-Type": "text/csv"})
    with db.transaction() as s:
        s.execute(update(Customer).where(Customer.name == "C").values(opt_out=True))
    r = client.post(f"/api/v1/errors/{error_id}/updates", headers=manager.headers,
                    json={"text_es": "Ya está arreglado.", "text_en": "It is fixed now."})
    assert r.status_code == 201
    runner = Runner(db, name="w", settings=mail_settings)
    runner.run_pending()
    runner.run_pending()
    assert sorted(str(m["To"]) for m in mailbox.messages) == ["A <a@example.es>",
                                                               "B <b@example.com>"]
    english = next(m for m in mailbox.messages if "b@example.com" in str(m["To"]))
    assert "It is fixed now." in english.get_content()
    assert count(db, PostNotice) == 2
    r = client.post(f"/api/v1/errors/{error_id}/updates", headers=manager.headers,
                    json={"text_es": ""})
    assert r.status_code == 422


def test_a_bounce_storm_pauses_the_apology(client, db, manager):
    error_id = new_error(client, manager)
    rows = "email\n" + "".join(f"x{i}@example.es\n" for i in range(40))
    client.post(f"/api/v1/errors/{error_id}/affected/import", content=rows.encode(),
                headers={**manager.headers, "Content-Type": "text/csv"})
    client.put(f"/api/v1/errors/{error_id}/apology", json={}, headers=manager.headers)
    client.post(f"/api/v1/errors/{error_id}/apology/send", headers=manager.headers)
    Runner(db, name="w").run_pending()  # enqueues; delivery fails without SMTP, retried later
    with db.transaction() as s:
        # Pretend 30 went out, then delivery reports come back for 25 of them.
        first = list(s.scalars(select(Apology.id).order_by(Apology.id).limit(30)))
        s.execute(update(Apology).where(Apology.id.in_(first)).values(state="sent"))
        ids = first[:25]
    for apology_id in ids:
        with db.transaction() as s:
            from meaculpa.notifications.actions import do_store_emails

            [email_id] = do_store_emails(s, Actor.system(), [{
                "kind": "apology", "to_address": f"b{apology_id}@example.es",
                "subject": "x", "text": "y", "message_id": f"<b{apology_id}@t>"}])
            s.execute(update(Apology).where(Apology.id == apology_id).values(email_id=email_id))
            note_bounce(s, Actor.system("mail"), email_id)
    with db.reading() as s:
        campaign = s.scalar(select(ApologyCampaign))
        assert campaign.status == "paused" and "bounced" in campaign.paused_reason
    r = client.post(f"/api/v1/errors/{error_id}/apology/send", headers=manager.headers)
    assert r.status_code == 409
    r = client.post(f"/api/v1/errors/{error_id}/apology/resume", headers=manager.headers)
    assert r.status_code == 200 and r.json()["status"] == "sending"
    # The 10 still queued get a delivery job again.
    from meaculpa.jobs.models import Job

    with db.reading() as s:
        jobs = s.scalars(select(Job).where(Job.kind == "apologies.deliver",
                                           Job.status == "queued")).all()
        assert any(j.attempts == 0 and j.payload["high"] >= j.payload["low"] for j in jobs)
    figures = client.get(f"/api/v1/errors/{error_id}/figures", headers=manager.headers).json()
    assert figures["bounced"] == 25


def test_someone_who_complains_before_the_apology_counts(client, db, manager):
    error_id = new_error(client, manager)
    client.post(f"/api/v1/errors/{error_id}/affected/import",
                content=b"email\nlola@example.es\n",
                headers={**manager.headers, "Content-Type": "text/csv"})
    r = client.post("/api/v1/messages", headers=manager.headers, json={
        "channel": "email", "text": "Mi pedido llegó roto y nadie me dice nada.",
        "customer": {"identities": [{"kind": "email", "value": "lola@example.es"}]}})
    assert r.status_code in (200, 201)
    figures = client.get(f"/api/v1/errors/{error_id}/figures", headers=manager.headers).json()
    assert figures["complained_before_apology"] == 1
    assert figures["share_apologised_before_complaint"] == 0.0
    with db.reading() as s:
        assert s.scalar(select(AffectedCustomer.state)) == "complained"
