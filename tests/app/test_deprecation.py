"""Deprecating an operation or a member (app/contract/deprecation.py): the OpenAPI document says
`deprecated: true`, and answers carry `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and `Link` headers.

Nothing in /api/v1 is deprecated as a whole operation today, so the operation case is a route added to the
app by this test only; the member cases are the real ones (`self.file_ids` of a verification; the band
spelling `tidak_mengikuti` is tested with the rankings in tests/results/test_explanations.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from app.contract import deprecation
from app.main import create_app
from app.settings import Settings

OLD_REPORT = deprecation.Notice(
    since=datetime(2026, 12, 1, tzinfo=UTC),
    sunset=datetime(2027, 6, 30, 17, 0, tzinfo=UTC),
    link="https://emonev.example.go.id/docs/changelog#020",
    replacement="Use `GET /api/v1/test-only/report`.",
)


def app_with_a_deprecated_route() -> FastAPI:
    app = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False))

    @app.get("/api/v1/test-only/old-report", **deprecation.operation(OLD_REPORT))
    def old_report() -> dict[str, Any]:
        return {"rows": 3}

    @app.get("/api/v1/test-only/old-file", **deprecation.operation(OLD_REPORT))
    def old_file() -> Response:
        answer = Response(b"a,b\r\n", media_type="text/csv")
        deprecation.announce(answer, OLD_REPORT)  # a route that builds its own answer announces on it
        return answer

    @app.get("/api/v1/test-only/report")
    def report() -> dict[str, Any]:
        return {"rows": 3}

    return app


def test_a_deprecated_operation_is_marked_in_the_document_and_announced_on_every_answer() -> None:
    app = app_with_a_deprecated_route()
    document = app.openapi()
    old = document["paths"]["/api/v1/test-only/old-report"]["get"]
    assert old["deprecated"] is True
    assert set(old["responses"]["200"]["headers"]) == {"Deprecation", "Sunset", "Link"}
    assert (
        "Deprecated since 2026-12-01; it stops working on 2027-06-30."
        in old["responses"]["200"]["description"]
    )
    assert "deprecated" not in document["paths"]["/api/v1/test-only/report"]["get"]

    client = TestClient(app)  # no lifespan: these routes touch no database
    answered = client.get("/api/v1/test-only/old-report")
    current = client.get("/api/v1/test-only/report")
    own = client.get("/api/v1/test-only/old-file")
    assert answered.json() == current.json() == {"rows": 3}  # it still works, as before
    assert answered.headers["Deprecation"] == f"@{int(OLD_REPORT.since.timestamp())}" == "@1796083200"
    assert answered.headers["Sunset"] == "Wed, 30 Jun 2027 17:00:00 GMT"
    assert answered.headers["Link"] == '<https://emonev.example.go.id/docs/changelog#020>; rel="deprecation"'
    assert {"deprecation", "sunset", "link"}.isdisjoint(current.headers)
    assert (own.text, own.headers["Deprecation"]) == ("a,b\r\n", "@1796083200")


def test_a_notice_without_a_sunset_or_page_sends_only_deprecation() -> None:
    notice = deprecation.Notice(since=datetime(2026, 12, 4, tzinfo=UTC))
    assert notice.headers() == {"Deprecation": "@1796342400"}


def test_a_deprecated_member_is_marked_in_its_schema() -> None:
    document = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False)).openapi()
    file_ids = document["components"]["schemas"]["SelfSide"]["properties"]["file_ids"]
    files = document["components"]["schemas"]["SelfSide"]["properties"]["files"]
    assert file_ids["deprecated"] is True
    assert "Read `files`" in file_ids["description"]
    assert "deprecated" not in files
