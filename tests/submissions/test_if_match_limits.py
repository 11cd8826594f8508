"""An If-Match that no version can match is a 412 that changes nothing, whatever its digits.

Both were 500s: ``str.isdigit`` accepts "²" (a Latin-1 header byte, as a server decodes it), which ``int()``
refuses, and ``int()`` refuses more than 4,300 digits.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.errors import StaleVersion
from app.submissions.service import parse_if_match
from tests.factories import World, problem
from tests.submissions.helpers import FULL_ANSWERS, open_submission, put_answers, snapshot

LONG = '"' + "9" * 5000 + '"'


@pytest.mark.parametrize("tag", ['"²"', '"¹"', "³", LONG])
def test_digits_int_refuses_are_no_etag(tag: str) -> None:
    with pytest.raises(StaleVersion) as refused:
        parse_if_match(tag)
    assert refused.value.errors[0].message == "not an ETag of this submission"


def test_an_if_match_of_5000_digits_is_412_and_changes_nothing(
    client: TestClient, world: World, session: Session
) -> None:
    submission = open_submission(client, world)
    before = snapshot(session, submission["id"])
    response = put_answers(client, submission["id"], world.token(world.operator), FULL_ANSWERS, LONG)
    assert response.status_code == 412
    assert problem(response)["errors"] == [
        {"field": "header:If-Match", "message": "not an ETag of this submission"}
    ]
    assert snapshot(session, submission["id"]) == before
