"""``meaculpa mail fetch``: a real IMAP server on 127.0.0.1, messages stored once, seen after."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from meaculpa.cases.models import Case
from meaculpa.core.audit import Actor
from meaculpa.mail import imap as imap_module
from meaculpa.mail.cli import mail_group
from meaculpa.mail.config import mail_config
from meaculpa.mail.imap import ImapAccount, ImapError, fetch_mailbox
from meaculpa.messages.models import Message
from tests.mail.conftest import SPANISH_COMPLAINT, make_email

ACTOR = Actor.system("mail fetch")


def account(server, store, **extra) -> ImapAccount:
    return ImapAccount(host="127.0.0.1", port=server.port, user=store.user,
                       password=store.password, use_ssl=False, timeout=5, **extra)


def messages(db) -> int:
    with db.reading() as s:
        return int(s.scalar(select(func.count()).select_from(Message)) or 0)


def test_fetch_ingests_unseen_and_marks_them_seen(db, imap):
    server, store = imap
    store.add(SPANISH_COMPLAINT)
    store.add(make_email(sender="john@example.co.uk", subject="Late parcel", language="en",
                         text="Where is my parcel?", message_id="<j1@example.co.uk>"))
    store.add(make_email(subject="Respuesta automática: estoy fuera",
                         message_id="<auto@correo.example.es>"))
    store.add(make_email(subject="already read", message_id="<old@x.example>"), flags={"\\Seen"})

    report = fetch_mailbox(db, ACTOR, account(server, store), mail_config())
    assert (report.fetched, report.stored, report.ignored, report.refused) == (3, 2, 1, [])
    assert all("\\Seen" in m.flags for m in store.folders["INBOX"])
    assert messages(db) == 2
    with db.reading() as s:
        assert {c.subject for c in s.scalars(select(Case))} == {
            "Cobro duplicado del pedido 4411 ¿qué ha pasado?", "Late parcel"}
    # Bodies were read with PEEK: only the explicit STORE marks a message seen.
    assert any("BODY.PEEK[]" in c for c in store.commands)

    # A second run finds nothing unseen.
    again = fetch_mailbox(db, ACTOR, account(server, store), mail_config())
    assert again.fetched == 0 and messages(db) == 2


def test_a_crash_before_marking_seen_refetches_without_duplicates(db, imap, monkeypatch):
    server, store = imap
    store.add(SPANISH_COMPLAINT)
    store.add(make_email(message_id="<second@correo.example.es>"))
    real = imap_module.receive_email
    calls = {"n": 0}

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            real(*args, **kwargs)  # stored, and then the process dies before STORE \Seen
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(imap_module, "receive_email", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        fetch_mailbox(db, ACTOR, account(server, store), mail_config())
    flags = [m.flags for m in store.folders["INBOX"]]
    assert "\\Seen" in flags[0] and "\\Seen" not in flags[1]
    assert messages(db) == 2

    monkeypatch.setattr(imap_module, "receive_email", real)
    report = fetch_mailbox(db, ACTOR, account(server, store), mail_config())
    assert (report.fetched, report.stored, report.duplicates) == (1, 0, 1)
    assert messages(db) == 2
    assert all("\\Seen" in m.flags for m in store.folders["INBOX"])


def test_malformed_message_is_reported_and_left_unseen(db, imap):
    server, store = imap
    store.add(b"From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed\r\n\r\nbroken")
    store.add(SPANISH_COMPLAINT)
    report = fetch_mailbox(db, ACTOR, account(server, store), mail_config())
    assert report.stored == 1 and len(report.refused) == 1
    assert "malformed MIME" in report.refused[0][1]
    broken, good = store.folders["INBOX"]
    assert "\\Seen" not in broken.flags and "\\Seen" in good.flags


def test_move_to_processed_folder(db, imap):
    server, store = imap
    store.folders["Processed"] = []
    store.add(SPANISH_COMPLAINT)
    fetch_mailbox(db, ACTOR, account(server, store, move_to="Processed"), mail_config())
    assert store.folders["INBOX"] == []
    [moved] = store.folders["Processed"]
    assert moved.raw == SPANISH_COMPLAINT and "\\Seen" in moved.flags


def test_wrong_password_is_a_clear_error(db, imap):
    server, store = imap
    bad = ImapAccount(host="127.0.0.1", port=server.port, user=store.user, password="nope",
                      use_ssl=False, timeout=5)
    with pytest.raises(ImapError, match="LOGIN failed"):
        fetch_mailbox(db, ACTOR, bad, mail_config())


@pytest.fixture
def migrated(db):
    """The test database, marked as migrated so the command's own upgrade has nothing to do
    (the tables come from the models, like every other test's)."""
    from alembic import command

    from meaculpa.core.migrate import alembic_config

    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "heads")
    return db


def test_cli_fetch(migrated, database_url, imap):
    server, store = imap
    store.add(SPANISH_COMPLAINT)
    runner = CliRunner()
    args = ["fetch", "--host", "127.0.0.1", "--port", str(server.port), "--user", store.user,
            "--password-env", "IMAP_PW", "--no-ssl", "--folder", "INBOX"]
    env = {"MEACULPA_DATABASE_URL": database_url}
    missing = runner.invoke(mail_group, args, env=env)
    assert missing.exit_code == 1 and "IMAP_PW" in missing.output
    result = runner.invoke(mail_group, args, env={**env, "IMAP_PW": store.password})
    assert result.exit_code == 0, result.output
    assert "1 fetched: 1 stored" in result.output
    assert messages(migrated) == 1
