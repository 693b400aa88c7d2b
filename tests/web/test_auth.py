"""Sign in, sign out, sessions, CSRF, the failed-login limit and the security headers."""

from __future__ import annotations

from sqlalchemy import func, select

from meaculpa.accounts.models import User
from meaculpa.messages.models import Message
from meaculpa.web.security import LoginThrottle
from tests.conftest import audit_verbs
from tests.web.helpers import csrf, csrf_from, login, seed_case


def test_pages_redirect_to_login_when_signed_out(client, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    for path in ("/", "/errors", f"/cases/{ids['case']}", f"/customers/{ids['customer']}"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login")
    response = client.get(f"/cases/{ids['case']}?tab=x", follow_redirects=False)
    assert response.headers["location"] == f"/login?next=%2Fcases%2F{ids['case']}%3Ftab%3Dx"


def test_htmx_requests_are_sent_to_login_with_a_header(client):
    response = client.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/login"


def test_login_success_starts_a_session_and_is_audited(client, db, agent):
    response = login(client, agent)
    assert response.status_code == 200
    assert str(response.url) == "http://127.0.0.1/"
    assert "Alberto Agente" in response.text
    assert "meaculpa_session" in client.cookies
    assert audit_verbs(db, "user") == ["user.login"]
    with db.reading() as s:
        assert s.get(User, agent.id).last_login_at is not None
    # Signed in, /login goes straight on.
    assert client.get("/login", follow_redirects=False).status_code == 303


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(client, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    first = client.get(f"/cases/{ids['case']}")
    assert str(first.url).endswith(f"/login?next=%2Fcases%2F{ids['case']}")
    token = csrf_from(first.text)
    response = client.post(
        "/login",
        data={"email": agent.email, "password": agent.password, "csrf_token": token,
              "next": f"/cases/{ids['case']}"},
    )
    assert str(response.url) == f"http://127.0.0.1/cases/{ids['case']}"

    client.cookies.clear()
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = login(client, agent, next=evil)
        assert str(response.url) == "http://127.0.0.1/", evil
        client.cookies.clear()


def test_login_failure_shows_an_error_and_starts_no_session(client, db, agent):
    response = login(client, agent, password="wrong password")
    assert response.status_code == 400
    assert "El correo electrónico o la contraseña no son correctos." in response.text
    assert 'value="alberto@example.com"' in response.text
    assert client.get("/", follow_redirects=False).status_code == 303
    assert audit_verbs(db, "user") == []


def test_unknown_and_inactive_users_cannot_sign_in(client, db, agent):
    token = csrf(client)
    response = client.post(
        "/login", data={"email": "nobody@example.com", "password": "whatever1", "csrf_token": token}
    )
    assert response.status_code == 400
    with db.transaction() as s:
        s.get(User, agent.id).is_active = False
    assert login(client, agent).status_code == 400


def test_a_deactivated_user_is_signed_out(signed_in, db, agent):
    assert signed_in.get("/", follow_redirects=False).status_code == 200
    with db.transaction() as s:
        s.get(User, agent.id).is_active = False
    response = signed_in.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_failed_logins_are_limited_per_email_and_address(client, app, agent):
    for _ in range(10):
        assert login(client, agent, password="wrong password").status_code == 400
    response = login(client, agent)  # even the right password waits now
    assert response.status_code == 429
    assert "Demasiados intentos fallidos" in response.text
    assert response.headers["Retry-After"]
    # Another e-mail from the same address is not blocked.
    token = csrf(client)
    other = client.post(
        "/login", data={"email": "x@example.com", "password": "whatever1", "csrf_token": token}
    )
    assert other.status_code == 400


def test_login_throttle_window_and_reset():
    now = [0.0]
    throttle = LoginThrottle(max_failures=3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.failed("k")
    assert throttle.blocked("k") and not throttle.blocked("other")
    now[0] = 61.0
    assert not throttle.blocked("k")
    throttle.failed("k")
    throttle.succeeded("k")
    assert not throttle.blocked("k")


def test_login_without_csrf_token_is_refused(client, db, agent):
    client.get("/login")
    response = client.post("/login", data={"email": agent.email, "password": agent.password})
    assert response.status_code == 403
    assert "No se aceptó el formulario" in response.text
    response = client.post(
        "/login", data={"email": agent.email, "password": agent.password, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert audit_verbs(db, "user") == []


def test_post_without_csrf_stores_nothing(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    events = len(audit_verbs(db))
    for token in (None, "", "not-the-token"):
        data = {"text": "Hola", "direction": "outbound"}
        if token is not None:
            data["csrf_token"] = token
        response = signed_in.post(f"/cases/{ids['case']}/reply", data=data)
        assert response.status_code == 403
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1
    assert len(audit_verbs(db)) == events


def test_csrf_token_also_accepted_in_a_header(signed_in, db, agent):
    ids = seed_case(db, owner_id=agent.id)
    token = csrf(signed_in, "/")
    response = signed_in.post(
        f"/cases/{ids['case']}/reply",
        data={"text": "Hola", "direction": "note"},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert "Nota interna añadida." in response.text


def test_logout_needs_post_and_csrf(signed_in):
    assert signed_in.get("/logout").status_code == 405
    assert signed_in.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    token = csrf(signed_in, "/")
    response = signed_in.post("/logout", data={"csrf_token": token})
    assert str(response.url) == "http://127.0.0.1/login"
    assert "Has cerrado la sesión." in response.text
    assert signed_in.get("/", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers_and_the_api_keeps_json(signed_in, agent):
    response = signed_in.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in response.headers["cache-control"]
    assert "<script>" not in response.text  # scripts only from files, never inline
    api = signed_in.get("/api/v1/cases", headers=agent.headers)
    assert api.status_code == 200 and "content-security-policy" not in api.headers
    problem = signed_in.get("/api/v1/cases")
    assert problem.status_code == 401
    assert problem.headers["content-type"] == "application/problem+json"


def test_session_cookie_flags(client, agent):
    response = login(client, agent)
    cookie = response.history[0].headers["set-cookie"]
    assert "meaculpa_session=" in cookie
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # base_url is http in the tests


def test_static_files_are_served(client):
    css = client.get("/static/meaculpa.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and "htmx" in js.text
    assert client.get("/static/htmx.LICENSE").status_code == 200
