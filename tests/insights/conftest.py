"""Fixtures of the insights tests: the analysis models load once per test process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from meaculpa.analysis import warm_up
from meaculpa.insights.queries import forget_org_model
from tests.web.conftest import signed_in  # noqa: F401 - the signed-in client fixture


@pytest.fixture(scope="session", autouse=True)
def _models_loaded() -> None:
    warm_up()


@pytest.fixture(autouse=True)
def _no_cached_org_model() -> Iterator[None]:
    forget_org_model()
    yield
    forget_org_model()


ANGRY_ES = (
    "¡ES LA TERCERA VEZ QUE ESCRIBO! Llevo dos semanas sin luz y nadie me contesta. "
    "Estoy harto, os denuncio en la OMIC y en Consumo. Vergüenza de empresa."
)
CALM_ES = "Hola, quería saber a qué hora abre la tienda el sábado. Gracias."


def inbound(text: str, email: str, name: str = "Cliente", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "email",
        "customer": {
            "name": name,
            "language": "es",
            "identities": [{"kind": "email", "value": email}],
        },
        "subject": "Consulta",
        "text": text,
    }
    body.update(extra)
    return body


@contextmanager
def counting(db: Any) -> Iterator[list[str]]:
    """The SELECT statements run on ``db`` inside the block."""
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
