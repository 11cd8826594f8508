"""A 405 names in ``Allow`` every method its path answers (RFC 9110 15.5.6): on a path with a route per method
too, and on pages."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

APP = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False))
SPEC = APP.openapi()
METHODS = ("get", "post", "put", "patch", "delete")
PATHS = sorted(SPEC["paths"])


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(APP)


@pytest.mark.parametrize("path", PATHS)
def test_an_undocumented_method_is_405_naming_the_documented_ones(client: TestClient, path: str) -> None:
    documented = {m.upper() for m in SPEC["paths"][path] if m in METHODS}
    other = next(m for m in ("DELETE", "PATCH", "PUT", "POST", "GET") if m not in documented)
    answer = client.request(other, re.sub(r"\{[^}]+\}", "1", path))
    assert answer.status_code == 405
    allow = {m.strip() for m in answer.headers["Allow"].split(",")} - {"HEAD"}
    assert allow == documented


def test_a_page_answers_405_with_allow(client: TestClient) -> None:
    answer = client.put("/hasil")
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, HEAD"
    assert "text/html" in answer.headers["content-type"]
