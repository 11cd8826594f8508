"""Login, logout, the session cookie, CSRF and error pages, through the app in process (TestClient)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.main import create_app
from app.settings import Settings
from tests.factories import PASSWORD, World
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["set-cookie"]


def test_a_page_without_a_session_redirects_to_login(client: TestClient) -> None:
    response = client.get("/ronde", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fronde"
    response = client.get("/pengisian/1", follow_redirects=False)
    assert response.headers["location"] == "/login?next=%2Fpengisian%2F1"


def test_login_sets_an_httponly_samesite_cookie_and_shows_the_dashboard(
    client: TestClient, world: World
) -> None:
    cookie = login(client, world.operator.email)
    assert "emonev_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # development/test; production marks it Secure
    page = client.get("/")
    assert page.status_code == 200
    assert world.body.name in page.text
    assert world.round.title in page.text


def test_a_wrong_password_is_refused_in_indonesian(client: TestClient, world: World) -> None:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": world.operator.email,
            "password": "salah-sekali-123",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 401
    assert "Surel atau kata sandi salah." in response.text
    assert "emonev_session" not in response.headers.get("set-cookie", "")


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, world: World) -> None:
    login(client, world.operator.email)
    response = client.post("/logout", data={})
    assert response.status_code == 403
    assert "Akses ditolak" in response.text
    assert client.get("/").status_code == 200  # still logged in


def test_logout_revokes_the_session(client: TestClient, world: World) -> None:
    login(client, world.operator.email)
    token = csrf_of(client.get("/").text)
    old_cookie = client.cookies.get("emonev_session")
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("emonev_session", old_cookie or "")
    assert client.get("/ronde", follow_redirects=False).status_code == 303


def test_unknown_pages_are_html_while_the_api_keeps_problem_json(client: TestClient) -> None:
    page = client.get("/tidak-ada")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Halaman tidak ditemukan" in page.text
    api = client.get("/api/v1/tidak-ada")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


def test_login_returns_to_the_page_asked_for_and_never_off_site(client: TestClient, world: World) -> None:
    page = client.get("/login?next=%2Fronde")
    assert 'name="next" value="/ronde"' in page.text
    form = {"email": world.operator.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    response = client.post("/login", data=form | {"next": "/ronde"}, follow_redirects=False)
    assert response.headers["location"] == "/ronde"
    client.cookies.clear()
    page = client.get("/login")
    form["csrf_token"] = csrf_of(page.text)
    response = client.post("/login", data=form | {"next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_the_session_cookie_is_secure_in_production(
    world: World, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    production = settings.model_copy(
        update={"environment": "production", "secret_key": "a-real-secret-0123456789"}
    )
    app = create_app(production, session_factory=session_factory)
    with TestClient(app, base_url="https://testserver") as client:  # Secure cookies travel over HTTPS only
        page = client.get("/login")
        response = client.post(
            "/login",
            data={"email": world.operator.email, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]
