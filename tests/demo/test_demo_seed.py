"""The demo data `make run` starts with: complete, usable, idempotent, and never in production."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import (
    Account,
    BodyCategory,
    Commission,
    Invitation,
    PublicBody,
    Round,
    RoundTemplate,
    Stage,
    TemplateVersion,
    VerifierAssignment,
)
from app.demo import (
    DEMO_PASSWORD,
    DemoDataRefused,
    format_logins,
    seed_demo,
    seed_on_startup,
)
from app.rounds.service import ensure_window_open, template_for
from app.settings import Settings
from tests.factories import make_commission

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
TABLES = (
    Commission,
    BodyCategory,
    PublicBody,
    TemplateVersion,
    Round,
    RoundTemplate,
    Stage,
    Invitation,
    Account,
    VerifierAssignment,
)


def _counts(session: Session) -> dict[str, int]:
    return {t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES}


@pytest.fixture
def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"demo_data": True, "environment": "development"})


def test_the_demo_has_a_commission_bodies_an_open_round_and_logins(
    session: Session, demo_settings: Settings
) -> None:
    report = seed_demo(session=session, settings=demo_settings, now=NOW)
    commission = session.get(Commission, report.commission_id)
    assert commission is not None
    assert (commission.name, commission.timezone) == (
        "Komisi Informasi Provinsi DKI Jakarta (demo)",
        "Asia/Jakarta",
    )
    bodies = session.scalars(select(PublicBody).where(PublicBody.commission_id == commission.id)).all()
    by_name = {b.name: b for b in bodies}
    assert {
        "Kecamatan Menteng",
        "Kelurahan Gondangdia",
        "Dinas Komunikasi, Informatika dan Statistik",
    } <= by_name.keys()
    assert by_name["Kelurahan Gondangdia"].parent_id == by_name["Kecamatan Menteng"].id
    round_ = session.get(Round, report.round_id)
    assert round_ is not None
    assert (round_.title, round_.status, round_.saq_weight) == ("Monev KIP 2025", "open", 70)
    assert [
        (s.kind, s.weight) for s in session.scalars(select(Stage).where(Stage.round_id == round_.id))
    ] == [("presentation", 30)]
    invited = set(session.scalars(select(Invitation.body_id).where(Invitation.round_id == round_.id)))
    assert invited == {b.id for b in bodies}
    roles = sorted({login.role for login in report.logins})
    assert roles == ["commission_admin", "operator", "panelist", "system_admin", "verifier"]
    assert sum(login.role == "operator" for login in report.logins) == len(bodies)


def test_every_invited_body_can_fill_in_its_own_template_now(
    session: Session, demo_settings: Settings
) -> None:
    report = seed_demo(session=session, settings=demo_settings, now=NOW)
    round_ = session.get(Round, report.round_id)
    assert round_ is not None
    for body in session.scalars(select(PublicBody).where(PublicBody.commission_id == report.commission_id)):
        ensure_window_open(session=session, round_=round_, body=body, now=NOW + timedelta(days=7))
        template = template_for(session=session, round_=round_, body=body)
        assert template.key == f"kip-saq-{body.category.code}"


def test_seeding_twice_adds_nothing(session: Session, demo_settings: Settings) -> None:
    first = seed_demo(session=session, settings=demo_settings, now=NOW)
    counts = _counts(session)
    second = seed_demo(session=session, settings=demo_settings, now=NOW + timedelta(days=3))
    assert _counts(session) == counts
    assert (second.commission_id, second.round_id) == (first.commission_id, first.round_id)


def test_demo_logins_work(client: TestClient, session: Session, demo_settings: Settings) -> None:
    report = seed_demo(session=session, settings=demo_settings, now=NOW)
    operator = next(login for login in report.logins if login.role == "operator")
    response = client.post("/api/v1/auth/login", json={"email": operator.email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text


def test_production_is_refused(session: Session, demo_settings: Settings) -> None:
    production = demo_settings.model_copy(update={"environment": "production"})
    with pytest.raises(DemoDataRefused):
        seed_demo(session=session, settings=production, now=NOW)
    assert _counts(session)["commission"] == 0


def test_start_up_seeds_only_an_empty_database_when_wanted(session: Session, demo_settings: Settings) -> None:
    off = demo_settings.model_copy(update={"demo_data": False})
    assert seed_on_startup(session=session, settings=off, now=NOW) is None
    assert _counts(session)["commission"] == 0
    assert seed_on_startup(session=session, settings=demo_settings, now=NOW) is not None
    assert seed_on_startup(session=session, settings=demo_settings, now=NOW) is not None
    assert _counts(session)["commission"] == 1


def test_start_up_leaves_a_database_with_real_commissions_alone(
    session: Session, demo_settings: Settings
) -> None:
    make_commission(session)
    assert seed_on_startup(session=session, settings=demo_settings, now=NOW) is None
    assert _counts(session)["public_body"] == 0


def test_missing_bundled_templates_are_named(
    session: Session, demo_settings: Settings, tmp_path: Path
) -> None:
    empty = demo_settings.model_copy(update={"questionnaires_dir": tmp_path})
    with pytest.raises(FileNotFoundError, match="dinas, kecamatan, kelurahan"):
        seed_demo(session=session, settings=empty, now=NOW)


def test_the_banner_prints_every_login_and_the_password(session: Session, demo_settings: Settings) -> None:
    report = seed_demo(session=session, settings=demo_settings, now=NOW)
    banner = format_logins(report, "http://127.0.0.1:8000")
    assert DEMO_PASSWORD in banner
    assert all(login.email in banner for login in report.logins)
    assert "http://127.0.0.1:8000/login" in banner
