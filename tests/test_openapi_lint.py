"""The OpenAPI document passes an OpenAPI linter and the specification's own schema without an error.

The linter is Redocly CLI (pinned in tools/openapi-lint/package-lock.json; `make test` installs it with
npm when npm is there) with its recommended rules raised to errors (tools/openapi-lint/redocly.yaml says
which rule is configured and why). Without npm the Redocly test is skipped saying so, except under
``CI=true``, where a missing linter fails. openapi-spec-validator (a Python package of the test extra)
checks the document against the OpenAPI 3.1 schema everywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
LINT = ROOT / "tools" / "openapi-lint"
REDOCLY = LINT / "node_modules" / ".bin" / "redocly"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False))
    return app.openapi()


def test_the_document_passes_redocly_lint(document: dict[str, Any], tmp_path: Path) -> None:
    if not REDOCLY.exists():
        reason = "Redocly CLI is not installed: `make test` installs it with npm (tools/openapi-lint)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    done = subprocess.run(
        [str(REDOCLY), "lint", "--config", str(LINT / "redocly.yaml"), "--format=json", str(path)],
        env=os.environ | {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout)
    errors = [
        f"{p['ruleId']}: {p['message']} ({p['location'][0]['pointer']})"
        for p in report["problems"]
        if p["severity"] == "error"
    ]
    assert errors == [], "\n".join(errors)
    assert done.returncode == 0, done.stderr


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_the_document_names_its_license_server_and_credentials(document: dict[str, Any]) -> None:
    assert document["info"]["license"] == {"name": "MIT", "identifier": "MIT"}
    assert document["servers"] == [
        {"url": "http://127.0.0.1:8000", "description": "this deployment (EMONEV_BASE_URL)"}
    ]
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    # Every operation's id is its route's name, which a generated client makes its function's name.
    assert operations[("GET", "/api/v1/submissions/{submission_id}")]["operationId"] == "get_submission"
    assert operations[("POST", "/api/v1/auth/login")]["security"] == []
    assert operations[("GET", "/api/v1/public/rounds/{round_id}/rankings")]["security"] == []
    assert operations[("GET", "/api/v1/rounds/{round_id}")]["security"] == [
        {"bearerToken": []},
        {"apiKey": []},
    ]
