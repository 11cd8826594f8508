"""The demo data `make run` starts with: a whole season at once, usable, idempotent, never in production."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.deps import principal_for_account
from app.db.models import (
    Account,
    AuditEntry,
    BodyCategory,
    Commission,
    Invitation,
    PanelScore,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    RoundTemplate,
    Stage,
    Submission,
    TemplateVersion,
    Verification,
    VerifiedAnswer,
    VerifierAssignment,
)
from app.demo import DEMO_PASSWORD, DemoDataRefused, format_logins, seed_demo, seed_on_startup
from app.demo.banner import WIDTH
from app.demo.world import seed_world
from app.errors import Conflict
from app.main import create_app
from app.results import publication as publishing
from app.rounds.service import ensure_window_open, template_for
from app.settings import Settings
from tests.demo.conftest import NOW, Seeded
from tests.exports.workbooks import open_xlsx
from tests.factories import auth, make_commission

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
    Submission,
    Verification,
    VerifiedAnswer,
    PanelScore,
    Publication,
    PublishedResult,
    AuditEntry,
)
BANDS = {"informatif", "menuju-informatif", "cukup-informatif", "kurang-informatif", "tidak-informatif"}


def _counts(session: Session) -> dict[str, int]:
    return {t.__tablename__: int(session.scalar(select(func.count()).select_from(t)) or 0) for t in TABLES}


def _round(session: Session, title: str) -> Round:
    found = session.scalar(select(Round).where(Round.title == title))
    assert found is not None, title
    return found


def _body(session: Session, name: str) -> PublicBody:
    found = session.scalar(select(PublicBody).where(PublicBody.name == name))
    assert found is not None, name
    return found


def _published(session: Session, round_: Round) -> dict[str, PublishedResult]:
    latest = session.scalar(
        select(Publication).where(Publication.round_id == round_.id).order_by(Publication.revision.desc())
    )
    assert latest is not None
    rows = session.scalars(select(PublishedResult).where(PublishedResult.publication_id == latest.id))
    return {session.get_one(PublicBody, row.body_id).name: row for row in rows}


@pytest.fixture
def demo_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"demo_data": True, "environment": "development"})


@pytest.fixture
def demo_client(demo: Seeded, demo_session_factory: sessionmaker[Session]) -> TestClient:
    return TestClient(create_app(demo.settings, session_factory=demo_session_factory))


def _login(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return auth(response.json()["access_token"])


def _visible_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- The world: commission, bodies, the open round, accounts ------------------------------------------------


def test_the_world_has_a_commission_bodies_an_open_round_and_accounts(
    session: Session, demo_settings: Settings
) -> None:
    world = seed_world(session=session, settings=demo_settings, now=NOW)
    assert (world.commission.name, world.commission.timezone) == (
        "Komisi Informasi Provinsi DKI Jakarta (demo)",
        "Asia/Jakarta",
    )
    bodies = world.bodies
    assert {
        "Kecamatan Menteng",
        "Kelurahan Gondangdia",
        "Dinas Komunikasi, Informatika dan Statistik",
    } <= bodies.keys()
    assert bodies["Kelurahan Gondangdia"].parent_id == bodies["Kecamatan Menteng"].id
    round_ = world.open_round
    assert (round_.title, round_.status, round_.saq_weight) == ("Monev KIP 2025", "open", Decimal(70))
    assert [
        (s.kind, s.weight) for s in session.scalars(select(Stage).where(Stage.round_id == round_.id))
    ] == [("presentation", Decimal(30))]
    invited = set(session.scalars(select(Invitation.body_id).where(Invitation.round_id == round_.id)))
    assert invited == {b.id for b in bodies.values()}
    roles = sorted({account.role for account in world.accounts})
    assert roles == ["commission_admin", "operator", "panelist", "system_admin", "verifier"]
    assert sum(account.role == "operator" for account in world.accounts) == len(bodies)


def test_every_invited_body_can_fill_in_its_own_template_now(
    session: Session, demo_settings: Settings
) -> None:
    world = seed_world(session=session, settings=demo_settings, now=NOW)
    for body in world.bodies.values():
        ensure_window_open(session=session, round_=world.open_round, body=body, now=NOW + timedelta(days=7))
        template = template_for(session=session, round_=world.open_round, body=body)
        assert template.key == f"kip-saq-{body.category.code}"


def test_production_is_refused(session: Session, demo_settings: Settings) -> None:
    production = demo_settings.model_copy(update={"environment": "production"})
    with pytest.raises(DemoDataRefused):
        seed_demo(session=session, settings=production, now=NOW)
    assert _counts(session)["commission"] == 0


def test_start_up_seeds_nothing_when_turned_off_or_beside_real_commissions(
    session: Session, demo_settings: Settings
) -> None:
    off = demo_settings.model_copy(update={"demo_data": False})
    assert seed_on_startup(session=session, settings=off, now=NOW) is None
    assert _counts(session)["commission"] == 0
    make_commission(session)
    assert seed_on_startup(session=session, settings=demo_settings, now=NOW) is None
    assert _counts(session)["public_body"] == 0


def test_missing_bundled_templates_are_named(
    session: Session, demo_settings: Settings, tmp_path: Path
) -> None:
    empty = demo_settings.model_copy(update={"questionnaires_dir": tmp_path})
    with pytest.raises(FileNotFoundError, match="dinas, kecamatan, kelurahan"):
        seed_demo(session=session, settings=empty, now=NOW)


# --- The seasons: the open round under way, the past rounds published ---------------------------------------


def test_the_open_round_has_a_submitted_saq_and_a_draft(demo_session: Session) -> None:
    open_round = _round(demo_session, "Monev KIP 2025")
    assert open_round.status == "open"
    states = {
        _body(demo_session, name).id: status
        for name, status in (("Kelurahan Cikini", "submitted"), ("Kelurahan Gambir", "draft"))
    }
    found = dict(
        demo_session.execute(
            select(Submission.body_id, Submission.status).where(Submission.round_id == open_round.id)
        ).all()
    )
    assert found == states


def test_the_past_round_is_published_with_every_band_a_gate_failure_and_a_body_absent(
    demo_session: Session,
) -> None:
    past = _round(demo_session, "Monev KIP 2024")
    assert past.status == "published"
    revisions = demo_session.scalars(
        select(Publication).where(Publication.round_id == past.id).order_by(Publication.revision)
    ).all()
    assert [(p.revision, p.reason) for p in revisions] == [
        (1, "Keputusan Rapat Pleno Komisi Informasi Provinsi DKI Jakarta Nomor 12/2024"),
        (2, "Koreksi nilai presentasi Kecamatan Gambir: lembar penilaian juri salah dijumlahkan"),
    ]
    rows = _published(demo_session, past)
    assert {row.band for row in rows.values() if row.participating} == BANDS
    absent = [name for name, row in rows.items() if not row.participating]
    assert absent == ["Kecamatan Tanah Abang"]
    assert rows["Kecamatan Tanah Abang"].final_score is None
    # Dinas Kesehatan took part, but the verifier's corrections put its SAQ under the gate of 60: it was not
    # scored at the presentation, and the zero policy gives 58.18 x 70 % = 40.73.
    kesehatan = rows["Dinas Kesehatan"]
    assert (kesehatan.self_score, kesehatan.verified_score) == (Decimal("60.16"), Decimal("58.18"))
    assert (kesehatan.final_score, kesehatan.band) == (Decimal("40.73"), "kurang-informatif")
    presentation = demo_session.scalar(select(Stage).where(Stage.round_id == past.id))
    assert presentation is not None
    scored = set(
        demo_session.scalars(select(PanelScore.body_id).where(PanelScore.stage_id == presentation.id))
    )
    passed = {_body(demo_session, name).id for name, row in rows.items() if "presentasi" in row.stage_scores}
    assert scored == passed
    assert kesehatan.body_id not in scored
    assert len(passed) < sum(row.participating for row in rows.values())


def test_the_published_figures_are_the_services_own(demo_session: Session) -> None:
    """Publishing again finds nothing to correct: what was published is what the service computes now."""
    admin = demo_session.scalar(select(Account).where(Account.role == "commission_admin"))
    assert admin is not None
    for title in ("Monev KIP 2023", "Monev KIP 2024"):
        with pytest.raises(Conflict, match="nothing changed"):
            publishing.publish(
                session=demo_session,
                round_id=_round(demo_session, title).id,
                by=principal_for_account(admin),
                reason="Uji",
            )


def test_a_second_start_adds_nothing(demo: Seeded, demo_session: Session) -> None:
    counts = _counts(demo_session)
    again = seed_on_startup(session=demo_session, settings=demo.settings, now=NOW + timedelta(days=3))
    assert again is not None
    demo_session.flush()
    assert _counts(demo_session) == counts
    assert (again.commission_id, again.round_id) == (demo.report.commission_id, demo.report.round_id)
    assert again.logins == demo.report.logins


# --- What a new user sees in the first minute ---------------------------------------------------------------


def test_rankings_chart_recap_result_page_and_history_are_there(
    demo_client: TestClient, demo_session: Session
) -> None:
    past = _round(demo_session, "Monev KIP 2024")
    admin = _login(demo_client, "admin.dki@demo.emonev.id")
    ranking = demo_client.get(f"/ronde/{past.id}/peringkat", headers=admin)
    assert ranking.status_code == 200
    assert "<svg" in ranking.text
    shown = _visible_text(ranking.text)
    for label in (
        "Informatif",
        "Menuju Informatif",
        "Cukup Informatif",
        "Kurang Informatif",
        "Tidak Mengikuti",
    ):
        assert label in shown

    recap = demo_client.get(f"/ronde/{past.id}/unduh/rekapitulasi.xlsx", headers=admin)
    assert recap.status_code == 200
    workbook = open_xlsx(recap.content)
    corrections = [row for row in workbook["Koreksi Verifikasi"].iter_rows(values_only=True) if row[7]]
    assert any("SK PPID" in str(row[7]) for row in corrections)
    trend = [cell for row in workbook["Tren"].iter_rows(values_only=True) for cell in row]
    assert "Nilai Akhir Monev KIP 2023" in trend

    kesehatan = _body(demo_session, "Dinas Kesehatan")
    submission = demo_session.scalar(
        select(Submission.id).where(Submission.round_id == past.id, Submission.body_id == kesehatan.id)
    )
    page = demo_client.get(
        f"/pengisian/{submission}/hasil", headers=_login(demo_client, "ppid.dinkes@demo.emonev.id")
    )
    assert page.status_code == 200
    result = _visible_text(page.text)
    assert "Kurang Informatif" in result
    assert "Rekomendasi" in result

    menteng = _body(demo_session, "Kelurahan Menteng")
    history = demo_client.get(
        f"/api/v1/bodies/{menteng.id}/history",
        headers=_login(demo_client, "ppid.kelurahan-menteng@demo.emonev.id"),
    ).json()["entries"]
    assert [(e["year"], e["band"], e["band_change"]) for e in history] == [
        (2023, "menuju-informatif", None),
        (2024, "informatif", 1),
    ]


# --- The banner ---------------------------------------------------------------------------------------------


def test_the_banner_lists_every_login_per_role_with_what_to_try(demo: Seeded) -> None:
    banner = format_logins(demo.report, "http://127.0.0.1:8000")
    assert all(len(line) <= WIDTH for line in banner.splitlines())
    assert DEMO_PASSWORD in banner
    assert "http://127.0.0.1:8000/login" in banner
    assert all(login.email in banner for login in demo.report.logins)
    headings = [
        line.strip() for line in banner.splitlines() if line.startswith("  ") and not line.startswith("   ")
    ]
    assert [
        h
        for h in headings
        if h in {"Administrator Sistem", "Administrator Komisi", "Verifikator", "Juri", "PPID"}
    ] == [
        "Administrator Sistem",
        "Administrator Komisi",
        "Verifikator",
        "Juri",
        "PPID",
    ]
    what = {login.email: login.what for login in demo.report.logins}
    assert what["ppid.kelurahan-menteng@demo.emonev.id"] == (
        "Kelurahan Menteng: isi SAQ Monev KIP 2025, lihat hasil Monev KIP 2024 (Informatif)"
    )
    assert what["ppid.kelurahan-cikini@demo.emonev.id"].startswith(
        "Kelurahan Cikini: SAQ Monev KIP 2025 sudah dikirim"
    )
    assert what["ppid.kelurahan-gambir@demo.emonev.id"].startswith("Kelurahan Gambir: lanjutkan draf SAQ")
    assert what["ppid.dinkes@demo.emonev.id"].endswith("(Kurang Informatif, tidak lolos ke tahap presentasi)")
    assert what["ppid.kecamatan-tanah-abang@demo.emonev.id"].endswith("tidak mengikuti Monev KIP 2024")
    assert what["verifikator@demo.emonev.id"].startswith("verifikasi SAQ Kelurahan Cikini (Monev KIP 2025)")
    # Wrapped lines still read as the whole hint.
    assert what["ppid.dinkes@demo.emonev.id"] in " ".join(banner.split())
    # Indonesian throughout: none of the English words the banner used to have.
    words = set(re.findall(r"[A-Za-z]+", re.sub(r"\S+@\S+|https?://\S+", " ", banner)))
    assert not words & {"the", "and", "of", "is", "open", "round", "password", "Pages", "Docs", "Turn", "off"}
