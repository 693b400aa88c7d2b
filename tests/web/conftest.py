from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Person
from tests.web.helpers import login


@pytest.fixture
def signed_in(client: TestClient, agent: Person) -> TestClient:
    """The test client, signed in as ``agent`` through the login form."""
    response = login(client, agent)
    assert response.status_code == 200, response.text
    return client
