"""Every API route refuses missing or bad credentials, and unknown ids are 404."""

from __future__ import annotations

import re

import pytest

from meaculpa.app import create_app
from meaculpa.settings import Settings


def api_routes() -> list[tuple[str, str]]:
    """Every operation the OpenAPI document lists."""
    app = create_app(Settings(database_url="sqlite://", environment="test"))
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            found.append((method.upper(), path))
    return sorted(found)


ROUTES = api_routes()


def concrete(path: str, value: str = "999999") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def test_there_are_routes_to_check():
    assert len(ROUTES) >= 25


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_401_without_token(client, method, path):
    r = client.request(method, concrete(path), json={})
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["status"] == 401


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_401_with_unknown_token(client, method, path):
    r = client.request(
        method, concrete(path), json={}, headers={"Authorization": "Bearer mc_not-a-real-token"}
    )
    assert r.status_code == 401


def test_revoked_token_and_inactive_user(client, db, agent, admin):
    from sqlalchemy import select

    from meaculpa.accounts.actions import do_revoke_api_token
    from meaculpa.accounts.models import ApiToken

    assert client.get("/api/v1/users/me", headers=agent.headers).status_code == 200
    r = client.patch(f"/api/v1/users/{agent.id}", json={"is_active": False}, headers=admin.headers)
    assert r.status_code == 200
    assert client.get("/api/v1/users/me", headers=agent.headers).status_code == 401
    with db.transaction() as s:
        token_id = s.scalar(select(ApiToken.id).where(ApiToken.user_id == admin.id))
        do_revoke_api_token(s, admin.actor, token_id)
    assert client.get("/api/v1/users/me", headers=admin.headers).status_code == 401


ID_ROUTES = [(m, p) for m, p in ROUTES if "{" in p]


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_404_for_unknown_ids(client, admin, method, path):
    bodies = {
        "PATCH": {},
        "POST": {
            "reason": "x",
            "text": "hola",
            "kind": "email",
            "value": "a@b.es",
            "customer_id": 1,
        },
    }
    body = bodies.get(method)
    if path.endswith("/affected") and method == "POST":
        body = {"customer_id": 1}
    elif path.endswith("/identities") and method == "POST":
        body = {"kind": "email", "value": "a@b.es"}
    elif path.endswith("/messages") and method == "POST":
        body = {"text": "hola"}
    elif path.endswith("/reopen"):
        body = {"reason": "no resuelto"}
    r = client.request(method, concrete(path), json=body, headers=admin.headers)
    assert r.status_code == 404, (path, r.text)
    assert r.headers["content-type"] == "application/problem+json"


def test_unknown_route_and_method_are_problems(client, admin):
    r = client.get("/api/v1/nothing-here", headers=admin.headers)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    r = client.put("/api/v1/messages", headers=admin.headers)
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"


def test_openapi_document(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/messages" in paths and "/api/v1/errors/{error_id}/affected" in paths


def test_invalid_path_and_query_values_are_422(client, admin):
    r = client.get("/api/v1/cases/not-a-number", headers=admin.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "path.case_id"
    r = client.get("/api/v1/cases?limit=5000", headers=admin.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "query.limit"
    r = client.get("/api/v1/cases?cursor=garbage!!", headers=admin.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "cursor"
