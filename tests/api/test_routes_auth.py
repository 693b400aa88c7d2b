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
SPEC = create_app(Settings(database_url="sqlite://", environment="test")).openapi()


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


# Bodies whose rules go beyond what the OpenAPI schema says (cross-field checks).
OVERRIDES = {
    ("POST", "/api/v1/customers/{customer_id}/identities"): {"kind": "email", "value": "a@b.es"},
    ("POST", "/api/v1/errors/{error_id}/affected"): {"customer_id": 1},
    ("POST", "/api/v1/errors/{error_id}/affected/filter"): {"language": "es"},
    ("POST", "/api/v1/errors/{error_id}/updates"): {"text_es": "Arreglado."},
}


def example_body(method: str, path: str) -> object:
    """A body that passes validation, built from the operation's OpenAPI request schema, so
    the answer depends on the unknown id alone."""
    if (method, path) in OVERRIDES:
        return OVERRIDES[(method, path)]
    op = SPEC["paths"][path][method.lower()]
    content = op.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return None if schema is None else _example(schema)


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _example(schema: dict) -> object:
    schema = _resolve(schema)
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return _example(options[0]) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: _example(props[k]) for k in schema.get("required", [])}
    if kind == "array":
        return [_example(schema["items"])] * schema.get("minItems", 0)
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "email":
        return "someone@example.com"
    if schema.get("format") == "date-time":
        return "2099-01-01T10:00:00+00:00"
    if schema.get("format") == "date":
        return "2099-01-01"
    return "x" * max(1, schema.get("minLength", 1))


@pytest.mark.parametrize(("method", "path"), ID_ROUTES)
def test_404_for_unknown_ids(client, admin, method, path):
    body = example_body(method, path)
    r = client.request(method, concrete(path), json=body, headers=admin.headers)
    assert r.status_code == 404, (path, body, r.text)
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
