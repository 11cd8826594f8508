"""The judges' pages: the stages to score, the score sheet of the bodies that passed the gate, and a score
given with a decimal comma, refused beside its field when it is out of range."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, PanelScore
from tests.factories import World, make_stage, make_verified_submission
from tests.web.conftest import Pages


def season_at_stages(world: World, session: Session) -> int:
    """world.body passed the gate (verified 100.00, minimum 60); world.other_body did not (verified 0)."""
    world.round.status = "stages"
    world.round.saq_weight = Decimal(70)
    world.round.gate_min_score = Decimal(60)
    stage = make_stage(session, world.round, code="presentasi", weight=30)
    make_verified_submission(session, world.round, world.body, world.template, world.verifier)
    make_verified_submission(
        session, world.round, world.other_body, world.template, world.verifier, answers={}
    )
    session.flush()
    return stage.id


@pytest.mark.db
def test_a_judge_lands_on_the_stages_to_score_and_scores_with_a_decimal_comma(
    pages: Pages, world: World, session: Session
) -> None:
    stage_id = season_at_stages(world, session)
    pages.login(world.panelist)

    home = pages.get("/")
    assert "Penjurian" in home.text
    assert f'href="/penjurian/{stage_id}"' in home.text

    sheet = pages.get(f"/penjurian/{stage_id}")
    assert world.body.name in sheet.text
    assert world.other_body.name not in sheet.text  # it did not pass the gate
    saved = pages.post(f"/penjurian/{stage_id}/{world.body.id}", {"score": "84,5"}, follow_redirects=False)
    assert saved.status_code == 303

    stored = session.scalars(select(PanelScore).where(PanelScore.body_id == world.body.id)).one()
    assert stored.score == Decimal("84.50")
    assert stored.panelist_id == world.panelist.id
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "stage.score")).one()
    again = pages.get(f"/penjurian/{stage_id}")
    assert 'value="84,50"' in again.text
    assert 'Sudah Anda nilai: <strong id="scored">1</strong> dari 1' in again.text


RANGE = "Nilai harus 0 sampai 100, paling banyak dua angka di belakang koma."


@pytest.mark.db
@pytest.mark.parametrize(
    ("typed", "message"),
    [("101", RANGE), ("-1", RANGE), ("84,555", RANGE), ("delapan puluh", "Nilai harus berupa angka.")],
)
def test_a_score_out_of_range_comes_back_beside_its_field_and_is_not_stored(
    pages: Pages, world: World, session: Session, typed: str, message: str
) -> None:
    stage_id = season_at_stages(world, session)
    pages.login(world.panelist)
    form = f"nilai-{world.body.id}"
    refused = pages.post(
        f"/penjurian/{stage_id}/{world.body.id}",
        {"score": typed, "_form": form, "_halaman": f"/penjurian/{stage_id}"},
    )
    assert refused.status_code == 422
    field = re.search(rf'<input id="f-{form}-score"[^>]*>', refused.text)
    assert field is not None
    assert f'value="{typed}"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    assert f'<p class="field-error" id="f-{form}-score-galat">{message}</p>' in refused.text
    assert session.scalars(select(PanelScore)).all() == []


@pytest.mark.db
def test_a_body_that_did_not_pass_the_gate_cannot_be_scored_from_the_page(
    pages: Pages, world: World, session: Session
) -> None:
    stage_id = season_at_stages(world, session)
    pages.login(world.panelist)
    refused = pages.post(f"/penjurian/{stage_id}/{world.other_body.id}", {"score": "80"})
    assert refused.status_code == 422
    assert session.scalars(select(PanelScore)).all() == []
