"""Fixtures of the problems tests: the encoder loads once, complaints go in over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from meaculpa.analysis import warm_up
from meaculpa.core.db import Database
from meaculpa.jobs.runner import Runner
from meaculpa.settings import Settings
from tests.web.conftest import signed_in  # noqa: F401 - the signed-in client fixture


@pytest.fixture(scope="session", autouse=True)
def _models_loaded() -> None:
    warm_up()


def complaint(
    text: str, email: str, *, language: str = "es", sent_at: datetime | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "email",
        "customer": {
            "name": email.split("@")[0].title(),
            "language": language,
            "identities": [{"kind": "email", "value": email}],
        },
        "subject": "Reclamación" if language == "es" else "Complaint",
        "text": text,
    }
    if sent_at is not None:
        body["sent_at"] = sent_at.isoformat()
    return body


@pytest.fixture
def send(client: TestClient, agent: Any) -> Callable[..., dict[str, Any]]:
    """Send a complaint through the messages API; returns the ingestion answer."""

    def run(text: str, email: str, **kw: Any) -> dict[str, Any]:
        res = client.post("/api/v1/messages", json=complaint(text, email, **kw),
                          headers=agent.headers)
        assert res.status_code == 201, res.text
        return dict(res.json())

    return run


@pytest.fixture
def work(db: Database, settings: Settings) -> Callable[..., int]:
    """Run every queued job, as ``meaculpa worker`` would."""

    def run(run_settings: Settings | None = None) -> int:
        return Runner(db, name="test-worker", settings=run_settings or settings).run_pending()

    return run
