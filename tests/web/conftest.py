"""Helpers for page tests: log in through the login form and read CSRF tokens from pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.db.models import Account
from tests.factories import PASSWORD

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


class Pages:
    """A TestClient logged in through the login form, posting forms and JSON with the page's CSRF token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def login(self, account: Account, password: str = PASSWORD) -> Pages:
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"email": account.email, "password": password, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.csrf = csrf_of(self.client.get("/").text)
        return self

    def get(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def post_json(self, url: str, payload: object, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.post(url, json=payload, headers={"X-CSRF-Token": self.csrf}, **kwargs)


@pytest.fixture
def pages(client: TestClient) -> Pages:
    return Pages(client)
