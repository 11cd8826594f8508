"""Invitations and deadline extensions over HTTP, and how an extension reopens the window for a body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, Invitation, VerifierAssignment
from app.errors import WindowClosed
from app.rounds.service import ensure_window_open
from tests.factories import World, get_json, make_api_key, make_body, make_category, problem

API = "/api/v1"


def _invite(client: TestClient, world: World, payload: dict[str, Any]) -> Any:
    return client.post(
        f"{API}/rounds/{world.round.id}/invitations", json=payload, headers=world.token(world.admin)
    )


def _invited(session: Session, world: World) -> set[int]:
    return set(session.scalars(select(Invitation.body_id).where(Invitation.round_id == world.round.id)))


def test_inviting_by_id_counts_the_already_invited_apart(
    client: TestClient, world: World, session: Session
) -> None:
    new = make_body(session, world.category)
    response = _invite(client, world, {"body_ids": [world.body.id, new.id]})
    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{API}/rounds/{world.round.id}/invitations"
    assert response.json() == {"invited": 1, "already_invited": 1, "body_ids": [new.id]}
    assert new.id in _invited(session, world)


def test_inviting_a_category_takes_its_active_bodies(
    client: TestClient, world: World, session: Session
) -> None:
    dinas = make_category(session, world.commission, code="dinas")
    active = make_body(session, dinas, name="Dinas Komunikasi, Informatika dan Statistik")
    make_body(session, dinas, name="Dinas Lama", active=False)
    response = _invite(client, world, {"category_codes": ["dinas"]})
    assert response.json() == {"invited": 1, "already_invited": 0, "body_ids": [active.id]}


def test_unknown_foreign_or_inactive_bodies_are_each_named(
    client: TestClient, world: World, session: Session
) -> None:
    inactive = make_body(session, world.category, active=False)
    before = _invited(session, world)
    response = _invite(client, world, {"body_ids": [world.body.id, 999_999, inactive.id]})
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["body_ids.1", "body_ids.2"]
    assert _invited(session, world) == before


def test_body_ids_or_category_codes_not_both(client: TestClient, world: World) -> None:
    response = _invite(client, world, {"body_ids": [world.body.id], "category_codes": ["kelurahan"]})
    assert response.status_code == 422
    assert _invite(client, world, {}).status_code == 422
    unknown = _invite(client, world, {"category_codes": ["kementerian"]})
    assert problem(unknown)["errors"][0]["field"] == "category_codes.0"


def test_a_closed_round_takes_no_invitations(client: TestClient, world: World, session: Session) -> None:
    world.round.status = "closed"
    session.flush()
    assert _invite(client, world, {"category_codes": ["kelurahan"]}).status_code == 409


def test_invitations_list_only_what_you_may_see(client: TestClient, world: World, session: Session) -> None:
    url = f"{API}/rounds/{world.round.id}/invitations"
    everything = get_json(client, url, world.token(world.admin))
    assert [i["body_id"] for i in everything["items"]] == [world.body.id, world.other_body.id]
    assert everything["items"][0]["category"] == "kelurahan"
    own = get_json(client, url, world.token(world.operator))
    assert [i["body_id"] for i in own["items"]] == [world.body.id]
    session.add(
        VerifierAssignment(
            round_id=world.round.id, body_id=world.other_body.id, verifier_id=world.verifier.id
        )
    )
    session.flush()
    assigned = get_json(client, url, world.token(world.verifier))
    assert [i["body_id"] for i in assigned["items"]] == [world.other_body.id]


def test_invitations_page_by_body(client: TestClient, world: World) -> None:
    url = f"{API}/rounds/{world.round.id}/invitations?limit=1"
    first = get_json(client, url, world.token(world.admin))
    second = get_json(client, f"{url}&cursor={first['next_cursor']}", world.token(world.admin))
    assert [first["items"][0]["body_id"], second["items"][0]["body_id"]] == [
        world.body.id,
        world.other_body.id,
    ]
    assert second["next_cursor"] is None


def test_only_admins_invite(client: TestClient, world: World) -> None:
    response = client.post(
        f"{API}/rounds/{world.round.id}/invitations",
        json={"category_codes": ["kelurahan"]},
        headers=world.token(world.panelist),
    )
    assert response.status_code == 403


# --- extensions -------------------------------------------------------------------------------------------

CLOSES = datetime(2025, 8, 31, 16, 59, tzinfo=UTC)


@pytest.fixture
def past(world: World, session: Session) -> World:
    """The world's round, whose window closed on 31-08-2025 23:59 WIB."""
    world.round.saq_opens_at = CLOSES - timedelta(days=30)
    world.round.saq_closes_at = CLOSES
    session.flush()
    return world


def _extend(client: TestClient, world: World, payload: dict[str, Any]) -> Any:
    return client.post(
        f"{API}/rounds/{world.round.id}/extensions", json=payload, headers=world.token(world.admin)
    )


def test_an_extension_for_one_body_lets_only_it_in(client: TestClient, past: World, session: Session) -> None:
    response = _extend(
        client,
        past,
        {
            "closes_at": "2025-09-07T23:59:00+07:00",
            "scope": "bodies",
            "body_ids": [past.body.id],
            "reason": "Keputusan Rapat Pleno 1 September 2025: gangguan server",
        },
    )
    assert response.status_code == 201, response.text
    shown = response.json()
    assert (shown["closes_at"], shown["closes_at_local"], shown["decided_by"]) == (
        "2025-09-07T16:59:00Z",
        "2025-09-07 23:59 WIB",
        past.admin.email,
    )
    later = datetime(2025, 9, 3, tzinfo=UTC)
    ensure_window_open(session=session, round_=past.round, body=past.body, now=later)
    with pytest.raises(WindowClosed, match="31-08-2025 23:59 WIB"):
        ensure_window_open(session=session, round_=past.round, body=past.other_body, now=later)
    mine = get_json(client, f"{API}/rounds/{past.round.id}", past.token(past.operator))
    assert mine["your_closes_at_local"] == "2025-09-07 23:59 WIB"


def test_extensions_keep_their_history(client: TestClient, past: World, session: Session) -> None:
    _extend(client, past, {"closes_at": "2025-09-03T23:59:00+07:00", "scope": "round", "reason": "Pleno 1"})
    _extend(
        client,
        past,
        {
            "closes_at": "2025-09-10T23:59:00+07:00",
            "scope": "categories",
            "category_codes": ["kelurahan"],
            "reason": "Pleno 2",
        },
    )
    history = get_json(client, f"{API}/rounds/{past.round.id}/extensions", past.token(past.verifier))
    assert [(e["scope"], e["category_codes"], e["reason"]) for e in history["items"]] == [
        ("round", [], "Pleno 1"),
        ("categories", ["kelurahan"], "Pleno 2"),
    ]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "deadline.extend")).all()
    assert [a.after["reason"] for a in audit[-2:]] == ["Pleno 1", "Pleno 2"]


def test_a_reason_is_required(client: TestClient, past: World) -> None:
    response = _extend(
        client, past, {"closes_at": "2025-09-07T23:59:00+07:00", "scope": "round", "reason": " "}
    )
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "reason"


def test_an_extension_ends_after_the_rounds_close(client: TestClient, past: World) -> None:
    response = _extend(
        client, past, {"closes_at": "2025-08-30T23:59:00+07:00", "scope": "round", "reason": "x"}
    )
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {
            "field": "closes_at",
            "message": "an extension ends after the round's own close (2025-08-31 23:59 WIB)",
        }
    ]


def test_an_extension_without_offset_is_refused(client: TestClient, past: World) -> None:
    response = _extend(client, past, {"closes_at": "2025-09-07T23:59:00", "scope": "round", "reason": "x"})
    assert response.status_code == 422
    assert problem(response)["errors"][0]["field"] == "closes_at"


def test_scope_and_targets_must_agree(client: TestClient, past: World, session: Session) -> None:
    stranger = make_body(session, past.category)
    response = _extend(
        client,
        past,
        {
            "closes_at": "2025-09-07T23:59:00+07:00",
            "scope": "bodies",
            "body_ids": [stranger.id],
            "category_codes": ["kelurahan"],
            "reason": "x",
        },
    )
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["category_codes", "body_ids.0"]
    empty = _extend(
        client, past, {"closes_at": "2025-09-07T23:59:00+07:00", "scope": "categories", "reason": "x"}
    )
    assert [e["field"] for e in problem(empty)["errors"]] == ["category_codes"]


def test_a_closed_round_takes_no_extension(client: TestClient, past: World, session: Session) -> None:
    past.round.status = "closed"
    session.flush()
    response = _extend(
        client, past, {"closes_at": "2025-09-07T23:59:00+07:00", "scope": "round", "reason": "x"}
    )
    assert response.status_code == 409


def test_only_admins_extend(client: TestClient, past: World) -> None:
    response = client.post(
        f"{API}/rounds/{past.round.id}/extensions",
        json={"closes_at": "2025-09-07T23:59:00+07:00", "scope": "round", "reason": "x"},
        headers=past.token(past.operator),
    )
    assert response.status_code == 403


def test_an_operator_sees_only_the_extensions_that_apply_to_its_body(
    client: TestClient, past: World, session: Session
) -> None:
    other_category = make_category(session, past.commission, code="kecamatan", name="Kecamatan")
    make_body(session, other_category)
    mine, theirs = past.body.id, past.other_body.id
    for scope, targets, reason in [
        ("round", {}, "Pleno 1: seluruh periode"),
        ("bodies", {"body_ids": [theirs]}, "Pleno 2: server Kelurahan lain rusak"),
        ("categories", {"category_codes": ["kecamatan"]}, "Pleno 3: kecamatan"),
        ("categories", {"category_codes": ["kelurahan"]}, "Pleno 4: kelurahan"),
        ("bodies", {"body_ids": [theirs, mine]}, "Pleno 5: dua badan publik"),
    ]:
        payload = {"closes_at": "2025-09-07T23:59:00+07:00", "scope": scope, "reason": reason} | targets
        assert _extend(client, past, payload).status_code == 201

    url = f"{API}/rounds/{past.round.id}/extensions"
    key = make_api_key(session, past.commission, scope="body", body_id=mine)
    for headers in (past.token(past.operator), {"X-API-Key": key}):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        assert [(e["reason"], e["body_ids"]) for e in response.json()["items"]] == [
            ("Pleno 1: seluruh periode", []),
            ("Pleno 4: kelurahan", []),
            ("Pleno 5: dua badan publik", [mine]),
        ]
        assert "Pleno 2" not in response.text
        assert "Pleno 3" not in response.text
    # The other body's operator sees its own extension; the commission's staff see all five.
    theirs_seen = get_json(client, url, past.token(past.other_operator))["items"]
    assert [e["reason"][:8] for e in theirs_seen] == ["Pleno 1:", "Pleno 2:", "Pleno 4:", "Pleno 5:"]
    assert len(get_json(client, url, past.token(past.verifier))["items"]) == 5
