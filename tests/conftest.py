"""Fixtures: a real database per test (SQLite file, or a PostgreSQL schema), the app, users.

Set ``MEACULPA_TEST_DATABASE_URL=postgresql://...`` to run the suite on PostgreSQL; each test
then gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from meaculpa.accounts.models import User
from meaculpa.app import create_app
from meaculpa.core.audit import Actor
from meaculpa.core.db import Database
from meaculpa.core.security import hash_password, new_api_token
from meaculpa.models import metadata
from meaculpa.settings import Settings

PG_URL = os.environ.get("MEACULPA_TEST_DATABASE_URL", "").strip()
TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


def _pg_url(schema: str) -> str:
    base = PG_URL
    if base.startswith("postgresql://"):
        base = "postgresql+psycopg://" + base.removeprefix("postgresql://")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def database_url(tmp_path: Any) -> Iterator[str]:
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'meaculpa.db'}"
        return
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(_pg_url("public"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=5)
    metadata.create_all(database.engine)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=TEST_SECRET,
        embedded_worker=False,
    )


@pytest.fixture
def app(settings: Settings, db: Database) -> Any:
    return create_app(settings, db=db)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


@dataclass
class Person:
    id: int
    email: str
    role: str
    token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def actor(self) -> Actor:
        return Actor(kind="user", id=self.id, label=self.email, role=self.role)


def make_person(db: Database, role: str, email: str, name: str, language: str = "es") -> Person:
    from meaculpa.accounts.models import ApiToken

    token, digest = new_api_token()
    with db.transaction() as session:
        user = User(
            email=email,
            name=name,
            role=role,
            language=language,
            password_hash=hash_password(PASSWORD),
        )
        session.add(user)
        session.flush()
        session.add(ApiToken(user_id=user.id, name="tests", digest=digest))
        user_id = user.id
    return Person(id=user_id, email=email, role=role, token=token)


@pytest.fixture
def admin(db: Database) -> Person:
    return make_person(db, "admin", "admin@example.com", "Ada Admin")


@pytest.fixture
def manager(db: Database) -> Person:
    return make_person(db, "manager", "marta@example.com", "Marta Gestora")


@pytest.fixture
def agent(db: Database) -> Person:
    return make_person(db, "agent", "alberto@example.com", "Alberto Agente")


@pytest.fixture
def other_agent(db: Database) -> Person:
    return make_person(db, "agent", "olivia@example.com", "Olivia Other", language="en")


def audit_verbs(db: Database, object_type: str | None = None) -> list[str]:
    from sqlalchemy import select

    from meaculpa.core.audit import AuditEvent

    with db.reading() as session:
        stmt = select(AuditEvent.verb).order_by(AuditEvent.id)
        if object_type:
            stmt = stmt.where(AuditEvent.object_type == object_type)
        return list(session.scalars(stmt))


class Mailbox:
    """What a real SMTP server on 127.0.0.1 received during the test."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if address in str(m["To"])]


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, int, Mailbox]]:
    """An aiosmtpd server on a free port of 127.0.0.1: ``(host, port, mailbox)``."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, mailbox
    finally:
        controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: tuple[str, int, Mailbox]) -> Settings:
    """The test's settings, sending e-mail to the test's SMTP server."""
    host, port, _ = smtp_server
    return settings.model_copy(update={"smtp_host": host, "smtp_port": port,
                                       "mail_from": "Olivar Hogar <atencion@olivar.example>"})
