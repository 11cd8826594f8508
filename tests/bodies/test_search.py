"""Finding bodies as a person does on a page: by part of the name, category and region, in name order, a
page at a time with the number of all matches; only what the person may see, and named by id."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.accounts.deps import principal_for_account
from app.bodies.service import BodyFilters, named_bodies, search_bodies
from app.db.models import VerifierAssignment
from tests.factories import World, make_body, make_category, make_commission

pytestmark = pytest.mark.db


def test_matches_come_in_name_order_with_the_count_of_all(session: Session, world: World) -> None:
    for n in (12, 3, 25, 1, 7):
        make_body(session, world.category, name=f"Kelurahan Cari {n:02d}")
    admin = principal_for_account(world.admin)
    found = search_bodies(
        session=session, commission=world.commission, filters=BodyFilters(q="cari"), by=admin, limit=3
    )
    assert [b.name for b in found.bodies] == ["Kelurahan Cari 01", "Kelurahan Cari 03", "Kelurahan Cari 07"]
    assert (found.total, found.more) == (5, 2)


def test_only_bodies_invited_to_the_round_when_asked(session: Session, world: World) -> None:
    make_body(session, world.category, name="Kelurahan Uji Tidak Diundang")
    admin = principal_for_account(world.admin)
    found = search_bodies(
        session=session,
        commission=world.commission,
        filters=BodyFilters(q="uji", round_id=world.round.id),
        by=admin,
    )
    assert sorted(b.id for b in found.bodies) == sorted([world.body.id, world.other_body.id])


def test_a_verifier_finds_only_its_assigned_bodies(session: Session, world: World) -> None:
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    session.flush()
    verifier = principal_for_account(world.verifier)
    found = search_bodies(session=session, commission=world.commission, filters=BodyFilters(), by=verifier)
    assert [b.id for b in found.bodies] == [world.body.id]
    named = named_bodies(
        session=session,
        commission_id=world.commission.id,
        body_ids=[world.body.id, world.other_body.id],
        by=verifier,
    )
    assert set(named) == {world.body.id}


def test_names_are_given_only_for_the_commissions_own_bodies(session: Session, world: World) -> None:
    foreign = make_body(session, make_category(session, make_commission(session)))
    named = named_bodies(
        session=session,
        commission_id=world.commission.id,
        body_ids=[world.body.id, foreign.id],
        by=principal_for_account(world.system_admin),
    )
    assert {i: b.name for i, b in named.items()} == {world.body.id: world.body.name}
