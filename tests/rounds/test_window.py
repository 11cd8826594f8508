"""The SAQ window as the submissions service sees it: effective deadline, open/closed, template per body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from app.db.models import DeadlineExtension
from app.errors import Conflict, Forbidden, WindowClosed
from app.rounds.service import effective_closes_at, ensure_window_open, template_for
from tests.factories import World, make_body, make_category, make_round

CLOSES = datetime(2025, 8, 31, 16, 59, tzinfo=UTC)  # 31-08-2025 23:59 WIB


def _extend(session: Session, world: World, closes_at: datetime, scope: str, **ids: list[int]) -> None:
    session.add(
        DeadlineExtension(
            round_id=world.round.id, closes_at=closes_at, scope=scope, reason="rapat pleno", **ids
        )
    )
    session.flush()


@pytest.fixture
def fixed(world: World, session: Session) -> World:
    world.round.saq_opens_at = datetime(2025, 8, 1, tzinfo=UTC)
    world.round.saq_closes_at = CLOSES
    session.flush()
    return world


def test_effective_close_is_the_rounds_own_close_without_extensions(fixed: World, session: Session) -> None:
    assert effective_closes_at(session=session, round_=fixed.round, body=fixed.body) == CLOSES


def test_effective_close_takes_the_latest_extension_covering_the_body(fixed: World, session: Session) -> None:
    _extend(session, fixed, CLOSES + timedelta(days=3), "round")
    _extend(session, fixed, CLOSES + timedelta(days=5), "categories", category_ids=[fixed.category.id])
    _extend(session, fixed, CLOSES + timedelta(days=9), "bodies", body_ids=[fixed.other_body.id])
    assert effective_closes_at(session=session, round_=fixed.round, body=fixed.body) == CLOSES + timedelta(
        days=5
    )
    assert effective_closes_at(
        session=session, round_=fixed.round, body=fixed.other_body
    ) == CLOSES + timedelta(days=9)


def test_an_extension_for_another_category_does_not_cover_the_body(fixed: World, session: Session) -> None:
    other = make_category(session, fixed.commission)
    _extend(session, fixed, CLOSES + timedelta(days=5), "categories", category_ids=[other.id])
    assert effective_closes_at(session=session, round_=fixed.round, body=fixed.body) == CLOSES


def test_window_is_open_until_the_deadline(fixed: World, session: Session) -> None:
    ensure_window_open(
        session=session, round_=fixed.round, body=fixed.body, now=CLOSES - timedelta(seconds=1)
    )


def test_after_the_deadline_the_window_closed_names_it_in_local_time(fixed: World, session: Session) -> None:
    with pytest.raises(WindowClosed) as info:
        ensure_window_open(session=session, round_=fixed.round, body=fixed.body, now=CLOSES)
    assert info.value.detail == "the SAQ window closed on 31-08-2025 23:59 WIB"


def test_deadline_is_shown_in_the_commissions_own_zone(fixed: World, session: Session) -> None:
    fixed.commission.timezone = "Asia/Jayapura"
    session.flush()
    with pytest.raises(WindowClosed) as info:
        ensure_window_open(session=session, round_=fixed.round, body=fixed.body, now=CLOSES)
    assert info.value.detail == "the SAQ window closed on 01-09-2025 01:59 WIT"


def test_an_extension_reopens_the_window_for_its_body_only(fixed: World, session: Session) -> None:
    _extend(session, fixed, CLOSES + timedelta(days=2), "bodies", body_ids=[fixed.body.id])
    later = CLOSES + timedelta(days=1)
    ensure_window_open(session=session, round_=fixed.round, body=fixed.body, now=later)
    with pytest.raises(WindowClosed):
        ensure_window_open(session=session, round_=fixed.round, body=fixed.other_body, now=later)


def test_before_the_window_opens_it_is_closed(fixed: World, session: Session) -> None:
    with pytest.raises(WindowClosed) as info:
        ensure_window_open(
            session=session, round_=fixed.round, body=fixed.body, now=datetime(2025, 7, 31, tzinfo=UTC)
        )
    assert info.value.detail == "the SAQ window opens on 01-08-2025 07:00 WIB"


def test_a_round_that_is_not_open_refuses_even_inside_the_dates(fixed: World, session: Session) -> None:
    fixed.round.status = "closed"
    session.flush()
    with pytest.raises(WindowClosed, match="not open"):
        ensure_window_open(
            session=session, round_=fixed.round, body=fixed.body, now=CLOSES - timedelta(days=1)
        )


def test_a_body_not_invited_is_forbidden(fixed: World, session: Session) -> None:
    stranger = make_body(session, fixed.category)
    with pytest.raises(Forbidden):
        ensure_window_open(session=session, round_=fixed.round, body=stranger, now=CLOSES - timedelta(days=1))


def test_template_for_gives_the_version_of_the_bodys_category(world: World, session: Session) -> None:
    assert template_for(session=session, round_=world.round, body=world.body).id == world.template.id


def test_template_for_a_category_without_template_is_a_conflict(world: World, session: Session) -> None:
    dinas = make_category(session, world.commission, code="dinas")
    body = make_body(session, dinas)
    round_ = make_round(session, world.commission, invite=[body])
    with pytest.raises(Conflict, match="dinas"):
        template_for(session=session, round_=round_, body=body)
