"""Demo data for a first look: a commission, bodies, an open round on the bundled templates, and logins.

``emonev serve`` (and so ``make run``) calls :func:`seed_on_startup`: on an empty database, or one holding
only the demo commission, it creates (idempotently: running it again adds nothing) the demo data and returns
the logins to print. ``EMONEV_DEMO_DATA=false`` turns it off; it never runs in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.security import hash_password
from app.audit.service import record
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
from app.questionnaires.service import import_template
from app.settings import Settings

DEMO_PASSWORD = "demo-emonev-2025"  # noqa: S105 - printed at start-up on purpose; never seeded in production
COMMISSION_CODE = "ki-dki-demo"
COMMISSION_NAME = "Komisi Informasi Provinsi DKI Jakarta (demo)"
ROUND_TITLE = "Monev KIP 2025"
MAIL_DOMAIN = "demo.emonev.id"
TEMPLATE_DIR = "kip-2025"

CATEGORIES = (("kecamatan", "Kecamatan"), ("kelurahan", "Kelurahan"), ("dinas", "Dinas"))
# (category, name, Kemendagri region code, parent name). Codes are those of Jakarta Pusat (31.71).
BODIES = (
    ("kecamatan", "Kecamatan Menteng", "31.71.06", None),
    ("kecamatan", "Kecamatan Gambir", "31.71.01", None),
    ("kecamatan", "Kecamatan Tanah Abang", "31.71.07", None),
    ("kelurahan", "Kelurahan Menteng", "31.71.06.1001", "Kecamatan Menteng"),
    ("kelurahan", "Kelurahan Gondangdia", "31.71.06.1004", "Kecamatan Menteng"),
    ("kelurahan", "Kelurahan Cikini", "31.71.06.1003", "Kecamatan Menteng"),
    ("kelurahan", "Kelurahan Gambir", "31.71.01.1001", "Kecamatan Gambir"),
    ("kelurahan", "Kelurahan Kebon Kacang", "31.71.07.1006", "Kecamatan Tanah Abang"),
    ("dinas", "Dinas Komunikasi, Informatika dan Statistik", "31", None),
    ("dinas", "Dinas Pendidikan", "31", None),
    ("dinas", "Dinas Kesehatan", "31", None),
)
SAQ_WEIGHT = Decimal(70)
PRESENTATION = ("presentasi", "presentation", "Presentasi / Uji Publik", Decimal(30))


class DemoDataRefused(Exception):
    """Demo data was asked for where it must never be: a production deployment."""


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    what: str


@dataclass(frozen=True)
class DemoReport:
    commission_id: int
    round_id: int
    logins: list[DemoLogin]
    password: str = DEMO_PASSWORD


# Short names the PPID mailboxes use for the dinas.
SHORT_NAMES = {
    "Dinas Komunikasi, Informatika dan Statistik": "diskominfotik",
    "Dinas Pendidikan": "disdik",
    "Dinas Kesehatan": "dinkes",
}


def _slug(name: str) -> str:
    return SHORT_NAMES.get(name) or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def seed_demo(*, session: Session, settings: Settings, now: datetime) -> DemoReport:
    """Create whatever of the demo data is missing and return the demo logins. Idempotent; flushes only."""
    if settings.environment == "production":
        raise DemoDataRefused("demo data is never seeded in production (EMONEV_ENVIRONMENT=production)")
    commission = session.scalar(select(Commission).where(Commission.code == COMMISSION_CODE))
    if commission is None:
        commission = Commission(code=COMMISSION_CODE, name=COMMISSION_NAME, timezone="Asia/Jakarta")
        session.add(commission)
        session.flush()
        record(
            session=session,
            actor=None,
            action="demo.seed",
            entity="commission",
            entity_id=commission.id,
            after={"code": COMMISSION_CODE},
            commission_id=commission.id,
        )
    categories = {
        c.code: c
        for c in session.scalars(select(BodyCategory).where(BodyCategory.commission_id == commission.id))
    }
    for code, name in CATEGORIES:
        if code not in categories:
            categories[code] = BodyCategory(commission_id=commission.id, code=code, name=name)
            session.add(categories[code])
    session.flush()

    bodies = {
        b.name: b
        for b in session.scalars(select(PublicBody).where(PublicBody.commission_id == commission.id))
    }
    for code, name, region, parent in BODIES:
        if name not in bodies:
            bodies[name] = PublicBody(
                commission_id=commission.id,
                category_id=categories[code].id,
                name=name,
                region_code=region,
                parent_id=bodies[parent].id if parent else None,
                ppid_email=f"ppid.{_slug(name)}@{MAIL_DOMAIN}",
            )
            session.add(bodies[name])
            session.flush()

    templates = _templates(session, settings)
    round_ = _round(session, commission, now)
    existing = {
        rt.category_id
        for rt in session.scalars(select(RoundTemplate).where(RoundTemplate.round_id == round_.id))
    }
    for code, version in templates.items():
        if categories[code].id not in existing:
            session.add(
                RoundTemplate(
                    round_id=round_.id, category_id=categories[code].id, template_version_id=version.id
                )
            )
    if (
        session.scalar(select(Stage.id).where(Stage.round_id == round_.id, Stage.code == PRESENTATION[0]))
        is None
    ):
        code, kind, title, weight = PRESENTATION
        session.add(Stage(round_id=round_.id, code=code, kind=kind, title=title, weight=weight, position=1))
        round_.saq_weight = SAQ_WEIGHT
    invited = set(session.scalars(select(Invitation.body_id).where(Invitation.round_id == round_.id)))
    session.add_all(
        Invitation(round_id=round_.id, body_id=b.id)
        for _, name, _, _ in BODIES
        if (b := bodies[name]).id not in invited
    )
    session.flush()

    logins = _accounts(session, commission, bodies)
    verifier = session.scalar(select(Account).where(Account.email == f"verifikator@{MAIL_DOMAIN}"))
    assert verifier is not None
    assigned = set(
        session.scalars(select(VerifierAssignment.body_id).where(VerifierAssignment.round_id == round_.id))
    )
    for _, name, _, _ in BODIES:
        body = bodies[name]
        if body.category_id != categories["dinas"].id and body.id not in assigned:
            session.add(VerifierAssignment(round_id=round_.id, body_id=body.id, verifier_id=verifier.id))
    session.flush()
    return DemoReport(commission_id=commission.id, round_id=round_.id, logins=logins)


def _templates(session: Session, settings: Settings) -> dict[str, TemplateVersion]:
    """The bundled KIP 2025 templates (imported if missing), by the category each is for."""
    found: dict[str, TemplateVersion] = {}
    for path in sorted((settings.questionnaires_dir / TEMPLATE_DIR).glob("*.yaml")):
        version = import_template(
            session=session, text=path.read_text(encoding="utf-8"), source_name=str(path)
        ).version
        for code in version.body_categories:
            if code in dict(CATEGORIES):
                found.setdefault(code, version)
    missing = sorted(set(dict(CATEGORIES)) - found.keys())
    if missing:
        raise FileNotFoundError(
            f"no bundled template for {', '.join(missing)} in {settings.questionnaires_dir / TEMPLATE_DIR}"
        )
    return found


def _round(session: Session, commission: Commission, now: datetime) -> Round:
    round_ = session.scalar(
        select(Round).where(
            Round.commission_id == commission.id, Round.year == 2025, Round.title == ROUND_TITLE
        )
    )
    if round_ is not None:
        return round_
    # Open since yesterday, closing at 23:59 local time four weeks from now: a window a visitor can use.
    zone = ZoneInfo(commission.timezone)
    local_now = now.astimezone(zone)
    opens = datetime.combine(local_now.date() - timedelta(days=1), time(0, 0), tzinfo=zone)
    closes = datetime.combine(local_now.date() + timedelta(days=28), time(23, 59), tzinfo=zone)
    round_ = Round(
        commission_id=commission.id,
        year=2025,
        title=ROUND_TITLE,
        status="open",
        saq_opens_at=opens.astimezone(now.tzinfo),
        saq_closes_at=closes.astimezone(now.tzinfo),
        saq_weight=SAQ_WEIGHT,
        missing_stage_policy="zero",
        gate_min_score=Decimal(65),
    )
    session.add(round_)
    session.flush()
    return round_


def _accounts(session: Session, commission: Commission, bodies: dict[str, PublicBody]) -> list[DemoLogin]:
    wanted: list[tuple[DemoLogin, str, int | None, int | None]] = [
        (
            DemoLogin("system_admin", f"admin@{MAIL_DOMAIN}", "system administrator"),
            "Admin Sistem (demo)",
            None,
            None,
        ),
        (
            DemoLogin("commission_admin", f"admin.dki@{MAIL_DOMAIN}", COMMISSION_NAME),
            "Admin KI DKI (demo)",
            commission.id,
            None,
        ),
        (
            DemoLogin("verifier", f"verifikator@{MAIL_DOMAIN}", "verifies the kecamatan and kelurahan"),
            "Verifikator (demo)",
            commission.id,
            None,
        ),
        (
            DemoLogin("panelist", f"juri@{MAIL_DOMAIN}", "scores the presentation stage"),
            "Juri (demo)",
            commission.id,
            None,
        ),
    ]
    for _, name, _, _ in BODIES:
        body = bodies[name]
        wanted.append(
            (
                DemoLogin("operator", f"ppid.{_slug(name)}@{MAIL_DOMAIN}", f"PPID of {name}"),
                f"PPID {name}",
                commission.id,
                body.id,
            )
        )
    emails = [login.email for login, *_ in wanted]
    existing = set(session.scalars(select(Account.email).where(Account.email.in_(emails))))
    password_hash: str | None = None
    for login, name, commission_id, body_id in wanted:
        if login.email in existing:
            continue
        password_hash = password_hash or hash_password(DEMO_PASSWORD)
        session.add(
            Account(
                email=login.email,
                name=name,
                role=login.role,
                commission_id=commission_id,
                body_id=body_id,
                password_hash=password_hash,
            )
        )
    session.flush()
    return [login for login, *_ in wanted]


def seed_on_startup(*, session: Session, settings: Settings, now: datetime) -> DemoReport | None:
    """Seed the demo data if it is wanted and the database holds no commission but (maybe) the demo one."""
    if not settings.demo_data:
        return None
    others = session.scalar(select(Commission.id).where(Commission.code != COMMISSION_CODE).limit(1))
    if others is not None:
        return None
    return seed_demo(session=session, settings=settings, now=now)


def format_logins(report: DemoReport, base_url: str) -> str:
    """The banner printed at start-up: where to go and how to log in."""
    width = max(len(login.email) for login in report.logins)
    lines = [
        "",
        "=" * 100,
        f"  E-Monev demo data: {COMMISSION_NAME}, round '{ROUND_TITLE}' is open",
        f"  Pages: {base_url}/login    API: POST {base_url}/api/v1/auth/login    Docs: {base_url}/docs",
        f"  Every demo account has the password:  {report.password}",
        "",
        *(f"  {login.role:<17} {login.email:<{width}}  {login.what}" for login in report.logins),
        "",
        "  Turn this off with EMONEV_DEMO_DATA=false. Demo data is never seeded in production.",
        "=" * 100,
        "",
    ]
    return "\n".join(lines)
