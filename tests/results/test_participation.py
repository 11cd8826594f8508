"""Participation tells a body that never began from one with a draft: five states, counted per category
and listed by name, live and as a publication froze them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.models import Invitation, PublicBody
from app.results.service import (
    DRAFTING,
    NOT_REGISTERED,
    NOT_STARTED,
    PARTICIPATION_STATES,
    SUBMITTED,
    VERIFIED,
    participation,
    participation_bodies,
    participation_total,
)
from tests.factories import World, make_account, make_body, make_submission, make_verified_submission, now


@dataclass(frozen=True)
class Bodies:
    """One invited body in each state (``world.body`` and ``world.other_body`` have operator accounts)."""

    not_registered: PublicBody
    not_started: PublicBody
    drafting: PublicBody
    submitted: PublicBody
    verified: PublicBody


@pytest.fixture
def bodies(session: Session, world: World) -> Bodies:
    unregistered = make_body(session, world.category, name="Kelurahan Belum Terdaftar")
    submitted = make_body(session, world.category, name="Kelurahan Sudah Mengirim")
    session.add_all(Invitation(round_id=world.round.id, body_id=b.id) for b in (unregistered, submitted))
    make_account(session, "operator", commission_id=world.commission.id, body_id=submitted.id)
    make_submission(session, world.round, world.other_body, world.template)  # a draft
    make_submission(session, world.round, submitted, world.template, status="submitted", submitted_at=now())
    verified = make_body(session, world.category, name="Kelurahan Terverifikasi")
    session.add(Invitation(round_id=world.round.id, body_id=verified.id))
    make_verified_submission(session, world.round, verified, world.template, world.verifier)
    session.flush()
    return Bodies(unregistered, world.body, world.other_body, submitted, verified)


def test_each_invited_body_is_in_exactly_one_state(session: Session, world: World, bodies: Bodies) -> None:
    (row,) = participation(session=session, round_=world.round)
    assert (row.invited, row.registered, row.started, row.submitted, row.verified) == (5, 4, 3, 2, 1)
    assert {state: row.in_state(state) for state in PARTICIPATION_STATES} == {
        NOT_REGISTERED: 1,
        NOT_STARTED: 1,
        DRAFTING: 1,
        SUBMITTED: 1,
        VERIFIED: 1,
    }
    assert str(row.started_pct) == "60.00"
    listed = {b.body.name: b.state for b in participation_bodies(session=session, round_=world.round)}
    assert listed == {
        bodies.not_registered.name: NOT_REGISTERED,
        bodies.not_started.name: NOT_STARTED,
        bodies.drafting.name: DRAFTING,
        bodies.submitted.name: SUBMITTED,
        bodies.verified.name: VERIFIED,
    }
    assert participation_total([row]).started == 3


def test_the_list_of_one_state_names_only_its_bodies(session: Session, world: World, bodies: Bodies) -> None:
    never = participation_bodies(session=session, round_=world.round, states=[NOT_STARTED])
    drafts = participation_bodies(session=session, round_=world.round, states=[DRAFTING])
    assert [b.body.id for b in never] == [bodies.not_started.id]
    assert [b.body.id for b in drafts] == [bodies.drafting.id]
    assert drafts[0].state_label == "Sedang mengisi"
    assert participation_bodies(session=session, round_=world.round, category="kecamatan") == []


def test_the_published_participation_counts_the_drafts_of_bodies_that_did_not_take_part(
    client: TestClient, session: Session, world: World, bodies: Bodies
) -> None:
    world.round.status = "final"
    for body in (bodies.not_registered, bodies.not_started, bodies.drafting, bodies.submitted):
        session.execute(
            Invitation.__table__.delete().where(
                Invitation.round_id == world.round.id, Invitation.body_id == body.id
            )
        )
    # Only the verified body and the drafting one stay invited: one took part, one began but never sent.
    session.add(Invitation(round_id=world.round.id, body_id=bodies.drafting.id))
    session.flush()
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": "Pleno"}, headers=world.token(world.admin)
    )
    assert response.status_code == 201, response.text
    ranking = client.get(
        f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan", headers=world.token(world.admin)
    ).json()
    share = ranking["summary"]["participation"]
    assert (share["invited"], share["registered"], share["started"], share["submitted"]) == (2, 2, 2, 1)
    assert share["started_pct"] == "100.00"
