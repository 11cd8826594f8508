"""Input no database column can hold is a 422 naming the field, on SQLite as on PostgreSQL (app/inputs.py).

Each case was a 500 before: ids past the INTEGER range overflowed the driver (found by
tests/test_api_fuzz.py), PostgreSQL refused text with a NUL character, and Python's JSON parser let NaN,
Infinity and 1e400 through to PostgreSQL's JSON columns.
"""

from __future__ import annotations

import base64
import json
import math

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Answer, AuditEntry, Commission, IdempotentRequest, Submission
from app.inputs import _json_problems, _may_hold_unstorable
from tests.factories import World, make_submission, problem

API = "/api/v1"
HUGE = 2**63  # past SQLite's 64-bit INTEGER too
LIMIT = "Input should be less than or equal to 2147483647"


def errors(response: object) -> list[dict[str, str]]:
    body = problem(response)
    assert body["status"] == 422, body
    return list(body["errors"])


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("post", f"{API}/rounds/{HUGE}/extensions", "path:round_id"),
        ("get", f"{API}/rounds/{HUGE}/results", "path:round_id"),
        ("post", f"{API}/commissions/{HUGE}/bodies/import.xlsx", "path:commission_id"),
        ("get", f"{API}/submissions/{2**31}", "path:submission_id"),
        ("get", f"{API}/accounts?commission_id={HUGE}", "query:commission_id"),
        ("get", f"{API}/rounds/1/rankings?category=kelurahan&revision={2**31}", "query:revision"),
    ],
)
def test_an_id_past_the_integer_range_is_422_naming_the_parameter(
    client: TestClient, world: World, method: str, url: str, field: str
) -> None:
    response = client.request(method, url, headers=world.token(world.system_admin))
    assert {"field": field, "message": LIMIT} in errors(response)


def test_an_id_past_the_integer_range_in_a_body_is_422_naming_the_item(
    client: TestClient, world: World
) -> None:
    response = client.post(
        f"{API}/rounds/{world.round.id}/invitations",
        json={"body_ids": [world.body.id, HUGE]},
        headers=world.token(world.admin),
    )
    assert errors(response) == [{"field": "body_ids.1", "message": LIMIT}]


def test_a_cursor_past_the_integer_range_is_not_a_cursor(client: TestClient, world: World) -> None:
    for last_id in (str(HUGE), "9" * 5000):
        cursor = base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")
        response = client.get(f"{API}/commissions?cursor={cursor}", headers=world.token(world.system_admin))
        assert errors(response) == [{"field": "cursor", "message": "not a cursor from this API"}]


def test_a_nul_character_in_a_json_body_is_422_and_nothing_is_written(
    client: TestClient, world: World, session: Session
) -> None:
    before = session.scalar(select(func.count()).select_from(Commission))
    response = client.post(
        f"{API}/commissions",
        json={"code": "ki-nul", "name": "Komisi\x00Informasi"},
        headers=world.token(world.system_admin),
    )
    assert errors(response) == [{"field": "name", "message": "must not contain the NUL character (U+0000)"}]
    assert problem(response)["detail"] == "name: must not contain the NUL character (U+0000)"
    assert session.scalar(select(func.count()).select_from(Commission)) == before


def test_a_nul_character_is_named_wherever_it_is(client: TestClient, world: World) -> None:
    admin = world.token(world.admin)
    nested = client.post(
        f"{API}/rounds/{world.round.id}/extensions",
        json={
            "closes_at": "2099-12-31T23:59:00+07:00",
            "scope": "categories",
            "category_codes": ["a\x00"],
            "reason": "x",
        },
        headers=admin,
    )
    query = client.get(f"{API}/commissions/{world.commission.id}/bodies?q=Kel%00", headers=admin)
    path = client.get(f"{API}/templates/test-mini%00/1", headers=admin)
    assert errors(nested)[0]["field"] == "category_codes.0"
    assert errors(query)[0]["field"] == "query:q"
    assert errors(path)[0]["field"] == "path:key"


def test_a_nul_character_in_an_idempotency_key_is_422_and_nothing_is_stored(
    client: TestClient, world: World, session: Session
) -> None:
    submission = make_submission(session, world.round, world.body, world.template)
    response = client.post(
        f"{API}/submissions/{submission.id}/submit",
        headers=world.token(world.operator) | {"Idempotency-Key": "kunci\x00"},
    )
    assert errors(response)[0]["field"] == "header:idempotency-key"
    assert session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0
    assert session.scalar(select(Submission.status).where(Submission.id == submission.id)) == "draft"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_a_number_json_cannot_hold_is_422_and_nothing_is_written(
    client: TestClient, world: World, session: Session, number: str
) -> None:
    submission = make_submission(session, world.round, world.body, world.template)
    audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
    response = client.put(
        f"{API}/submissions/{submission.id}/answers",
        content=f'{{"answers": {{"2.2": {{"value": {number}}}}}}}'.encode(),
        headers=world.token(world.operator) | {"If-Match": '"1"', "Content-Type": "application/json"},
    )
    assert errors(response) == [
        {"field": "answers.2.2.value", "message": "must be a finite number (NaN and Infinity are not JSON)"}
    ]
    assert session.scalar(select(func.count()).select_from(Answer)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


# The check skips the walk over a parsed body when the raw text cannot hold a NUL or a number that is not
# finite; these properties are what makes that safe.
_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN, infinities and huge values included
    st.text(alphabet=st.sampled_from("a\x00\\u0e9\u00e9 .")),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: float(d)),
)
_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(alphabet=st.sampled_from("k\x00u0"), max_size=3), inner, max_size=4),
    ),
    max_leaves=20,
)


@settings(max_examples=500)
@given(document=_JSON, ascii_only=st.booleans(), encoding=st.sampled_from(["utf-8", "utf-16", "utf-32-le"]))
def test_a_body_the_fast_check_passes_holds_nothing_unstorable(
    document: object, ascii_only: bool, encoding: str
) -> None:
    text = json.dumps(document, ensure_ascii=ascii_only).encode(encoding)
    if not _may_hold_unstorable(text):
        assert list(_json_problems(json.loads(text))) == []


@settings(max_examples=300)
@given(
    digits=st.integers(min_value=1, max_value=400),
    fraction=st.booleans(),
    exponent=st.integers(min_value=-400, max_value=400) | st.none(),
)
def test_a_float_literal_past_the_float_range_is_looked_at(
    digits: int, fraction: bool, exponent: int | None
) -> None:
    literal = "9" * digits + (".5" if fraction else "") + ("" if exponent is None else f"e{exponent}")
    text = f'{{"value": {literal}}}'.encode()
    value = json.loads(text)["value"]
    if isinstance(value, float) and not math.isfinite(value):
        assert _may_hold_unstorable(text)
