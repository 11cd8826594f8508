"""The demo's world: the commission, its categories and bodies, the open round on the bundled templates, and
an account per role and body. Each part is created only if it is missing."""

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


@dataclass(frozen=True)
class World:
    commission: Commission
    bodies: dict[str, PublicBody]
    open_round: Round
    accounts: list[Account]
    """The demo accounts in the order the banner lists them: administrators, verifier, panel, PPIDs."""


# Short names the PPID mailboxes use for the dinas.
SHORT_NAMES = {
    "Dinas Komunikasi, Informatika dan Statistik": "diskominfotik",
    "Dinas Pendidikan": "disdik",
    "Dinas Kesehatan": "dinkes",
}


def _slug(name: str) -> str:
    return SHORT_NAMES.get(name) or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def seed_world(*, session: Session, settings: Settings, now: datetime) -> World:
    """Create whatever is missing of the commission, its bodies, the open round and the accounts."""
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
                ppid_email=operator_email(name),
            )
            session.add(bodies[name])
            session.flush()

    round_ = _round(session, commission, now)
    existing = {
        rt.category_id
        for rt in session.scalars(select(RoundTemplate).where(RoundTemplate.round_id == round_.id))
    }
    # Reading the bundled files is the slow part of a restart: only when a category lacks its template.
    templates = _templates(session, settings) if existing != {c.id for c in categories.values()} else {}
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

    accounts = _accounts(session, commission, bodies)
    verifier = next(a for a in accounts if a.email == VERIFIER_EMAIL)
    assigned = set(
        session.scalars(select(VerifierAssignment.body_id).where(VerifierAssignment.round_id == round_.id))
    )
    for _, name, _, _ in BODIES:
        body = bodies[name]
        if body.category_id != categories["dinas"].id and body.id not in assigned:
            session.add(VerifierAssignment(round_id=round_.id, body_id=body.id, verifier_id=verifier.id))
    session.flush()
    ordered = {name: bodies[name] for _, name, _, _ in BODIES}
    return World(commission=commission, bodies=ordered, open_round=round_, accounts=accounts)


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


ADMIN_EMAIL = f"admin@{MAIL_DOMAIN}"
COMMISSION_ADMIN_EMAIL = f"admin.dki@{MAIL_DOMAIN}"
VERIFIER_EMAIL = f"verifikator@{MAIL_DOMAIN}"
PANELIST_EMAIL = f"juri@{MAIL_DOMAIN}"


def operator_email(body_name: str) -> str:
    return f"ppid.{_slug(body_name)}@{MAIL_DOMAIN}"


def _accounts(session: Session, commission: Commission, bodies: dict[str, PublicBody]) -> list[Account]:
    # (email, name, role, commission id, body id)
    wanted: list[tuple[str, str, str, int | None, int | None]] = [
        (ADMIN_EMAIL, "Admin Sistem (demo)", "system_admin", None, None),
        (COMMISSION_ADMIN_EMAIL, "Admin KI DKI (demo)", "commission_admin", commission.id, None),
        (VERIFIER_EMAIL, "Verifikator (demo)", "verifier", commission.id, None),
        (PANELIST_EMAIL, "Juri (demo)", "panelist", commission.id, None),
    ]
    wanted.extend(
        (operator_email(name), f"PPID {name}", "operator", commission.id, bodies[name].id)
        for _, name, _, _ in BODIES
    )
    emails = [email for email, *_ in wanted]
    existing = {a.email: a for a in session.scalars(select(Account).where(Account.email.in_(emails)))}
    password_hash: str | None = None
    for email, name, role, commission_id, body_id in wanted:
        if email in existing:
            continue
        password_hash = password_hash or hash_password(DEMO_PASSWORD)
        existing[email] = Account(
            email=email,
            name=name,
            role=role,
            commission_id=commission_id,
            body_id=body_id,
            password_hash=password_hash,
        )
        session.add(existing[email])
    session.flush()
    return [existing[email] for email in emails]
