"""Security headers on every response, and the API documentation served by the service itself (issue 14,
problem 9): pages could be framed by any site, and /docs ran Swagger UI from a CDN on the service's origin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.main import create_app
from app.settings import Settings
from tests.factories import World

pytestmark = pytest.mark.db

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
ALWAYS = {
    "content-security-policy": PAGE_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _boom() -> None:
    raise RuntimeError("a bug")


def with_a_bug(app: FastAPI) -> FastAPI:
    app.add_api_route("/api/v1/boom", _boom, methods=["GET"])
    return app


@pytest.fixture
def raw_client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(
        with_a_bug(create_app(settings, session_factory=session_factory)), raise_server_exceptions=False
    ) as c:
        yield c


def headers_of(response: object) -> dict[str, str]:
    found = getattr(response, "headers")  # noqa: B009 - any response type
    return {name: found.get(name) for name in [*ALWAYS, "strict-transport-security"]}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ronde", 200),  # a page
        ("/api/v1/rounds", 200),  # an API answer
        ("/api/v1/rounds/999999", 404),  # an API error
        ("/ronde/999999", 404),  # a page error
        ("/api/v1/boom", 500),  # a bug, answered by Starlette's outermost error handling
        ("/static/app.css", 200),
        ("/healthz", 200),
    ],
)
def test_every_response_carries_the_security_headers(
    raw_client: TestClient, world: World, path: str, status: int
) -> None:
    response = raw_client.get(path, headers=world.token(world.admin), follow_redirects=False)
    assert response.status_code == status
    assert headers_of(response) == ALWAYS | {"strict-transport-security": None}


def test_hsts_only_in_production(tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
    settings = Settings(
        environment="production", secret_key="s" * 40, database_url="sqlite://", evidence_dir=tmp_path
    )
    with TestClient(create_app(settings, session_factory=session_factory)) as client:
        response = client.get("/login")
    assert headers_of(response) == ALWAYS | {"strict-transport-security": "max-age=31536000"}


def test_no_page_has_an_inline_script_or_style_attribute() -> None:
    templates = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"
    for path in templates.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert not re.search(r"\sstyle=|\son[a-z]+=|<style", html), path
        for script in re.findall(r"<script[^>]*>", html):
            assert 'src="/static/' in script or 'type="application/json"' in script, (path, script)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_documentation_loads_only_from_the_service(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    urls = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", html) + re.findall(
        r"url: '([^']+)'", html
    )
    assert urls
    for url in urls:
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    assert "http://" not in html
    assert "https://" not in html
    policy = response.headers["content-security-policy"]
    nonces = re.findall(r'<script nonce="([^"]+)">', html)
    assert all(f"'nonce-{nonce}'" in policy for nonce in nonces)
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
