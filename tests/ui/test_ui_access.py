"""Dashboard access: the API key rule for pages, the session cookie, CSRF on writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nextbuy.serving.settings import ServingSettings
from nextbuy.serving.ui import auth
from tests.ui.conftest import API_KEY, log_in


def test_pages_need_a_login_when_a_key_is_configured(keyed_client: TestClient):
    page = keyed_client.get("/ui/users/u00001", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=/ui/users/u00001"
    fragment = keyed_client.get("/ui/fragments/traffic", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["hx-redirect"] == "/ui/login"
    assert keyed_client.get("/ui/static/app.js").status_code == 200  # static files stay open


def test_login_sets_a_signed_httponly_strict_cookie(keyed_client: TestClient):
    wrong = keyed_client.post("/ui/login", data={"api_key": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "wrong key" in wrong.text
    assert "set-cookie" not in wrong.headers
    ok = keyed_client.post(
        "/ui/login", data={"api_key": API_KEY, "next": "/ui/items"}, follow_redirects=False
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/ui/items"
    cookie = ok.headers["set-cookie"]
    assert cookie.startswith(f"{auth.COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert API_KEY not in cookie and API_KEY not in ok.headers["location"]
    page = keyed_client.get("/ui/users/u00001")
    assert page.status_code == 200 and API_KEY not in page.text
    assert "signed in" in page.text


def test_login_redirects_only_inside_the_dashboard(keyed_client: TestClient):
    for target in ("https://evil.example/", "//evil.example/ui", "/docs"):
        response = keyed_client.post(
            "/ui/login", data={"api_key": API_KEY, "next": target}, follow_redirects=False
        )
        assert response.headers["location"] == "/ui"


def test_writes_need_a_session_and_its_csrf_token(keyed_client: TestClient):
    version = keyed_client.get("/model").json()["version"]
    promote = f"/ui/versions/{version}/promote"
    no_session = keyed_client.post(promote)
    assert no_session.status_code == 401 and "log in" in no_session.json()["detail"]
    token = log_in(keyed_client)
    assert len(token) > 20
    no_token = keyed_client.post(promote)
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["detail"]
    bad_token = keyed_client.post(promote, headers={auth.CSRF_HEADER: "x" * len(token)})
    assert bad_token.status_code == 403
    foreign = keyed_client.post(
        promote, headers={auth.CSRF_HEADER: token, "Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and "cross-origin" in foreign.json()["detail"]
    ok = keyed_client.post(promote, headers={auth.CSRF_HEADER: token, "HX-Request": "true"})
    assert ok.status_code == 200 and f"Now serving <b>{version}</b>" in ok.text
    as_field = keyed_client.post(promote, data={auth.CSRF_FIELD: token}, follow_redirects=False)
    assert as_field.status_code == 303
    keyed_client.post("/ui/logout")
    assert keyed_client.post(promote, headers={auth.CSRF_HEADER: token}).status_code == 401


def test_without_a_key_writes_are_off(open_client: TestClient):
    response = open_client.post("/ui/training", data={"data": "x"})
    assert response.status_code == 403 and "NEXTBUY_API_KEY" in response.json()["detail"]
    assert "needs an API key" in open_client.get("/ui/training").text


def test_session_cookies_expire_and_cannot_be_forged():
    settings = ServingSettings(model_dir=Path("."), api_key=API_KEY)
    cookie = auth.new_session(settings, now=1_000)
    assert auth.read_session(settings, cookie, now=1_001) is not None
    assert auth.read_session(settings, cookie, now=1_000 + auth.SESSION_MAX_AGE_S + 1) is None
    expires, nonce, mac = cookie.split(".")
    assert auth.read_session(settings, f"{int(expires) + 9999}.{nonce}.{mac}", now=1_001) is None
    other_key = ServingSettings(model_dir=Path("."), api_key="another-key-0123456789")
    assert auth.read_session(other_key, cookie, now=1_001) is None  # a new key logs out
    secret = ServingSettings(model_dir=Path("."), api_key=API_KEY, session_secret="s" * 32)
    assert auth.read_session(secret, cookie, now=1_001) is None
    no_key = ServingSettings(model_dir=Path("."))
    assert auth.read_session(no_key, cookie, now=1_001) is None


@pytest.mark.parametrize("body", [b"a" * (70 * 1024)])
def test_oversized_forms_are_refused(keyed_client: TestClient, body: bytes):
    response = keyed_client.post(
        "/ui/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413
