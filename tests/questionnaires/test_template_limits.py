"""What a template version's columns cannot hold is a 422 naming the field, and nothing is written.

Each was a 500 on PostgreSQL (SQLite keeps any length and the NUL character): a key, version or title
longer than its column, a NUL written as a YAML escape, and an upload's file name (the stored source name)
longer than its column or holding control characters.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import TemplateVersion
from tests.factories import MINI_TEMPLATE, World, problem

MINI = MINI_TEMPLATE.read_text(encoding="utf-8")
YAML = {"Content-Type": "text/yaml"}


def _versions(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(TemplateVersion)) or 0)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("key: test-mini", "key: " + "k" * 101, "key", "at most 100 characters"),
        ('version: "1"', 'version: "' + "9" * 51 + '"', "version", "at most 50 characters"),
        ("title: SAQ uji - mini", "title: " + "T" * 301, "title", "at most 300 characters"),
        (
            "title: SAQ uji - mini",
            'title: "SAQ \\0 uji"',
            "",
            "the control character U+0000 at line 4 is not allowed",
        ),
    ],
)
def test_what_a_column_cannot_hold_is_422(
    client: TestClient, world: World, session: Session, old: str, new: str, field: str, message: str
) -> None:
    before = _versions(session)
    response = client.post(
        "/api/v1/templates", content=MINI.replace(old, new).encode(), headers=world.token(world.admin) | YAML
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [{"field": field, "message": message}]
    assert _versions(session) == before


def test_the_stored_source_name_is_the_end_of_the_file_name_without_control_characters(
    client: TestClient, world: World, session: Session
) -> None:
    # Written by hand: an HTTP client would percent-encode the control characters of the file name.
    name = b"x" * 400 + b"\x00\x07-kelurahan.yaml"
    content = MINI.replace('version: "1"', 'version: "2"').encode()
    body = (
        b'--batas\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: text/yaml\r\n\r\n" + content + b"\r\n--batas--\r\n"
    )
    response = client.post(
        "/api/v1/templates",
        content=body,
        headers=world.token(world.admin) | {"Content-Type": "multipart/form-data; boundary=batas"},
    )
    assert response.status_code == 201, response.text
    stored = session.scalar(
        select(TemplateVersion.source_name).where(TemplateVersion.id == response.json()["id"])
    )
    assert stored == ("x" * 400 + "-kelurahan.yaml")[-300:]
