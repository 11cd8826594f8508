"""The login page when an e-mail is throttled: an Indonesian message saying when to try again."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, World
from tests.web.conftest import csrf_of

pytestmark = pytest.mark.db


def post_login(client: TestClient, email: str, password: str) -> httpx.Response:
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text), "next": "/"},
        follow_redirects=False,
    )


def test_after_ten_wrong_passwords_the_page_says_when_to_try_again(client: TestClient, world: World) -> None:
    for _ in range(10):
        response = post_login(client, world.operator.email, "salah-sekali-123")
        assert response.status_code == 401
    response = post_login(client, world.operator.email, PASSWORD)
    assert response.status_code == 429
    assert 14 * 60 < int(response.headers["retry-after"]) <= 15 * 60
    text = response.text
    assert "Terlalu banyak percobaan masuk yang gagal dengan surel ini." in text
    assert "Coba lagi dalam 15 menit." in text
    assert "emonev_session" not in response.headers.get("set-cookie", "")
    assert client.get("/ronde", follow_redirects=False).status_code == 303  # still not logged in


def test_failures_on_the_page_and_the_api_count_together(client: TestClient, world: World) -> None:
    for _ in range(5):
        assert post_login(client, world.admin.email, "salah-sekali-123").status_code == 401
    for _ in range(5):
        api = client.post("/api/v1/auth/login", json={"email": world.admin.email, "password": "salah-sekali"})
        assert api.status_code == 401
    assert post_login(client, world.admin.email, PASSWORD).status_code == 429
