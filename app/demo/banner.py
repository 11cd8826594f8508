"""The start-up banner: where to go, the demo logins per role, and what each can try first there.

What it says about each account is read from the seeded data (the state of the body's SAQ in the open round,
its published result in the latest published round), so the banner never promises a page the data lacks.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.principal import Role
from app.db.models import Account, PublicBody, PublishedResult, Round, Submission
from app.demo.season import passing_gate, principal
from app.demo.world import COMMISSION_ADMIN_EMAIL, COMMISSION_NAME, DEMO_PASSWORD, World
from app.results import service as results
from app.web.render import ROLE_LABELS

WIDTH = 100
ROUND_TITLE = re.compile(r"Monev KIP \d{4}")
NBSP = "\u00a0"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    what: str
    """What to try first with this account, in Indonesian."""


@dataclass(frozen=True)
class DemoReport:
    commission_id: int
    round_id: int
    logins: list[DemoLogin]
    password: str = DEMO_PASSWORD


def _latest_published(session: Session, commission_id: int) -> Round | None:
    return session.scalar(
        select(Round)
        .where(Round.commission_id == commission_id, Round.status == "published")
        .order_by(Round.year.desc(), Round.id.desc())
        .limit(1)
    )


def _result_text(session: Session, round_: Round, body: PublicBody, passing: set[int]) -> str:
    latest = results.latest_publication(session=session, round_=round_)
    assert latest is not None
    row = session.scalar(
        select(PublishedResult).where(
            PublishedResult.publication_id == latest.id, PublishedResult.body_id == body.id
        )
    )
    if row is None:
        return f"tidak diundang ke {round_.title}"
    if not row.participating:
        return f"tidak mengikuti {round_.title}"
    label = results.band_labels(session=session, round_id=round_.id).get(row.band or "", row.band or "")
    text = f"lihat hasil {round_.title} ({label}"
    if body.id not in passing:
        text += ", tidak lolos ke tahap presentasi"
    return text + ")"


def _saq_text(session: Session, round_: Round, body: PublicBody) -> str:
    status = session.scalar(
        select(Submission.status).where(Submission.round_id == round_.id, Submission.body_id == body.id)
    )
    if status is None:
        return f"isi SAQ {round_.title}"
    if status == "draft":
        return f"lanjutkan draf SAQ {round_.title}"
    return f"SAQ {round_.title} sudah dikirim"


def _submitted_bodies(session: Session, round_: Round) -> list[str]:
    return list(
        session.scalars(
            select(PublicBody.name)
            .join(Submission, Submission.body_id == PublicBody.id)
            .where(Submission.round_id == round_.id, Submission.status == "submitted")
            .order_by(PublicBody.name)
        )
    )


def describe(session: Session, world: World) -> DemoReport:
    """The demo logins with what each can try first, as the data stands."""
    last = _latest_published(session, world.commission.id)
    open_round = world.open_round
    waiting = _submitted_bodies(session, open_round)
    bodies = {body.id: body for body in world.bodies.values()}
    admin = principal(world, COMMISSION_ADMIN_EMAIL)
    passing = passing_gate(session, last, admin) if last is not None else set()

    def what(account: Account) -> str:
        if account.role == "system_admin":
            return "lihat semua komisi dan periode Monev-nya; kelola akun dan kunci API"
        if account.role == "commission_admin":
            if last is None:
                return f"atur dan pantau {open_round.title}"
            return (
                f"peringkat, grafik kualifikasi dan rekapitulasi {last.title}; "
                f"pantau pengisian {open_round.title}"
            )
        if account.role == "verifier":
            parts = [f"verifikasi SAQ {', '.join(waiting)} ({open_round.title})"] if waiting else []
            if last is not None:
                parts.append(f"lihat koreksi verifikasi {last.title}")
            return "; ".join(parts) or f"tunggu SAQ yang dikirim di {open_round.title}"
        if account.role == "panelist":
            if last is None:
                return f"lihat {open_round.title}"
            return f"lihat peringkat {last.title} dan nilai tahap presentasinya"
        body = bodies[account.body_id or 0]
        parts = [_saq_text(session, open_round, body)]
        if last is not None:
            parts.append(_result_text(session, last, body, passing))
        return f"{body.name}: " + ", ".join(parts)

    return DemoReport(
        commission_id=world.commission.id,
        round_id=open_round.id,
        logins=[DemoLogin(a.role, a.email, what(a)) for a in world.accounts],
    )


def _grouped(logins: Iterable[DemoLogin]) -> dict[str, list[DemoLogin]]:
    groups: dict[str, list[DemoLogin]] = {}
    for login in logins:
        groups.setdefault(login.role, []).append(login)
    return groups


def format_logins(report: DemoReport, base_url: str) -> str:
    """The banner printed at start-up, at most :data:`WIDTH` columns wide: where to go and how to log in."""
    column = max(len(login.email) for login in report.logins) + 6
    lines = [
        "",
        "=" * WIDTH,
        f"  E-Monev: data demo {COMMISSION_NAME}",
        f"  Buka {base_url}/login dan masuk dengan salah satu akun di bawah ini.",
        f"  Kata sandi semua akun demo: {report.password}",
        f"  Dokumentasi API: {base_url}/docs",
    ]
    for role, logins in _grouped(report.logins).items():
        lines += ["", f"  {ROLE_LABELS[Role(role)]}"]
        for login in logins:
            # A round's title stays on one line: wrap with its spaces made unbreakable, then put them back.
            whole = ROUND_TITLE.sub(lambda m: m.group().replace(" ", NBSP), login.what)
            wrapped = textwrap.wrap(
                whole,
                width=WIDTH,
                initial_indent=f"    {login.email}".ljust(column),
                subsequent_indent=" " * column,
                break_on_hyphens=False,
            )
            lines += [line.replace(NBSP, " ") for line in wrapped]
    lines += [
        "",
        "  Data demo dimatikan dengan EMONEV_DEMO_DATA=false dan tidak pernah dibuat di lingkungan produksi.",
        "=" * WIDTH,
        "",
    ]
    return "\n".join(lines)
