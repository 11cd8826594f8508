"""Seed data for the browser tests and the pages benchmark: the demo data (``app.demo``) plus rounds in later
states, all made through the domain services so it is the data the service itself would hold.

- the demo's open round ``Monev KIP 2025``: Kelurahan Cikini has submitted its SAQ (for the verifier),
  Kelurahan Gambir has a half-filled draft;
- a past round ``Monev KIP 2024`` (kecamatan and kelurahan), final and ready to publish: every body but one
  answered and submitted, the verifier reviewed every question and completed;
- an older round ``Monev KIP 2023`` (kelurahan), published: SAQ 70 + presentation 30 behind a gate of a
  verified SAQ score of 60; Kelurahan Gambir did not pass it and Kelurahan Kebon Kacang never took part.

Run as ``python -m tests.web.seed`` with ``EMONEV_DATABASE_URL`` pointing at a migrated database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.accounts.deps import principal_for_account
from app.accounts.principal import Principal
from app.commissions.service import get_commission
from app.db.base import utcnow
from app.db.models import Account, Commission, PublicBody, Round, Submission
from app.db.session import get_engine, make_sessionmaker
from app.demo import COMMISSION_CODE, MAIL_DOMAIN, seed_demo
from app.results import publication
from app.rounds import service as rounds
from app.settings import Settings, get_settings
from app.stages import service as stages
from app.submissions import service as submissions
from app.verification import answers as verification
from app.verification.assignments import spread_assignments
from app.verification.schemas import VerifiedAnswerIn

PAST_ROUND = "Monev KIP 2024"
# How well each body of the past round does (share of questions answered as fully as possible); the
# last kecamatan never takes part, so the ranking shows "tidak mengikuti".
PAST_RATES = {
    "Kelurahan Menteng": 1.0,
    "Kelurahan Gondangdia": 0.85,
    "Kelurahan Cikini": 0.7,
    "Kelurahan Gambir": 0.5,
    "Kelurahan Kebon Kacang": 0.25,
    "Kecamatan Menteng": 0.9,
    "Kecamatan Gambir": 0.6,
}
ABSENT = "Kecamatan Tanah Abang"
SUBMITTED_NOW = "Kelurahan Cikini"
DRAFT_NOW = "Kelurahan Gambir"


GATED_ROUND = "Monev KIP 2023"
GATED_RATES = {
    "Kelurahan Menteng": 0.95,
    "Kelurahan Gondangdia": 0.8,
    "Kelurahan Cikini": 0.7,
    "Kelurahan Gambir": 0.3,
}
GATED_STAGE = "Presentasi / Uji Publik"
GATED_MINIMUM = Decimal(60)
GATE_FAILED = "Kelurahan Gambir"


@dataclass(frozen=True)
class Seeded:
    open_round_id: int
    past_round_id: int
    gated_round_id: int


def _principal(session: Session, email: str) -> Principal:
    account = session.scalar(select(Account).where(Account.email == email))
    assert account is not None, email
    return principal_for_account(account)


def _operator(session: Session, body: PublicBody) -> Principal:
    account = session.scalar(select(Account).where(Account.body_id == body.id, Account.role == "operator"))
    assert account is not None, body.name
    return principal_for_account(account)


def answers_for(template: scoring.Template, rate: float) -> dict[str, dict[str, Any]]:
    """Answers meeting a share ``rate`` of the questions (spread evenly over the questionnaire), with
    evidence links where evidence counts."""
    answers: dict[str, dict[str, Any]] = {}
    entries = template.questions()
    for index, entry in enumerate(entries):
        q = entry.question
        good = (index * 37 % 100) < rate * 100
        value: Any
        if q.type is scoring.QuestionType.YES_NO:
            value = "yes" if good else "no"
        elif q.type is scoring.QuestionType.CHOICE:
            value = q.options[0].value if good else q.options[-1].value
        elif q.type is scoring.QuestionType.MULTI_CHOICE:
            value = [o.value for o in q.options] if good else [q.options[-1].value]
        elif q.type is scoring.QuestionType.NUMBER:
            value = str(q.bands[0].min if good else q.bands[-1].min)
        else:
            value = "Keterangan dari PPID."
        answer: dict[str, Any] = {"value": value}
        if q.evidence is not scoring.EvidenceRule.NONE and good:
            answer["evidence"] = [f"https://ppid.contoh.go.id/data-dukung/{q.code}.pdf"]
        answers[q.code] = answer
    return answers


def fill_and_submit(
    session: Session, round_: Round, body: PublicBody, rate: float, *, now: datetime, submit: bool = True
) -> int:
    operator = _operator(session, body)
    sub, _ = submissions.open_submission(session=session, round_id=round_.id, by=operator, now=now)
    row = session.get(Submission, sub.id)
    assert row is not None
    template = submissions.template_of(session, submissions.template_row(session, row.template_version_id))
    submissions.save_answers(
        session=session,
        submission_id=sub.id,
        if_match=submissions.etag(sub.version),
        answers=answers_for(template, rate),
        by=operator,
        now=now,
    )
    if submit:
        submissions.submit(session=session, submission_id=sub.id, by=operator, now=now)
    return sub.id


def verify_all(session: Session, submission_id: int, verifier: Principal, *, now: datetime) -> None:
    """The verifier reviews every question, confirming the body's value and checking its evidence."""
    verification.start(session=session, submission_id=submission_id, by=verifier, now=now)
    out = verification.view(session=session, submission_id=submission_id, by=verifier)
    patches = {
        q.code: VerifiedAnswerIn(
            value=q.self.value, evidence_checked=bool(q.self.evidence or q.self.file_ids)
        )
        for q in out.questions
    }
    verification.save_answers(
        session=session,
        submission_id=submission_id,
        by=verifier,
        if_match=submissions.etag(out.version or 1),
        patches=patches,
    )
    verification.complete(session=session, submission_id=submission_id, by=verifier, now=now)


def _past_round(session: Session, settings: Settings, now: datetime, bodies: dict[str, PublicBody]) -> Round:
    admin = _principal(session, f"admin.dki@{MAIL_DOMAIN}")
    verifier = _principal(session, f"verifikator@{MAIL_DOMAIN}")
    commission = session.scalar(select(Commission).where(Commission.code == COMMISSION_CODE))
    assert commission is not None
    get_commission(session=session, commission_id=commission.id, by=admin)
    existing = session.scalar(
        select(Round).where(Round.commission_id == commission.id, Round.title == PAST_ROUND)
    )
    if existing is not None:
        return existing
    opened, filled = now - timedelta(days=60), now - timedelta(days=45)
    round_ = rounds.create_round(
        session=session,
        commission=commission,
        data={
            "year": 2024,
            "title": PAST_ROUND,
            "saq_opens_at": opened,
            "saq_closes_at": now - timedelta(days=30),
            "missing_stage_policy": "zero",
        },
        by=admin,
    )
    open_round = session.scalar(select(Round).where(Round.commission_id == commission.id, Round.year == 2025))
    assert open_round is not None
    mapping = {
        category.code: (version.key, version.version)
        for category, version in rounds.round_templates(session=session, round_=open_round)
        if category.code in {"kelurahan", "kecamatan"}
    }
    rounds.set_templates(session=session, round_=round_, mapping=mapping, by=admin)
    rounds.invite(session=session, round_=round_, body_ids=None, category_codes=sorted(mapping), by=admin)
    for code in sorted(mapping):
        spread_assignments(
            session=session,
            round_id=round_.id,
            category_code=code,
            verifier_ids=[verifier.account_id or 0],
            by=admin,
        )
    rounds.change_status(session=session, round_=round_, to="open", by=admin)
    submitted = [
        fill_and_submit(session, round_, bodies[name], rate, now=filled) for name, rate in PAST_RATES.items()
    ]
    for status in ("closed", "verification"):
        rounds.change_status(session=session, round_=round_, to=status, by=admin)
    for submission_id in submitted:
        verify_all(session, submission_id, verifier, now=now - timedelta(days=20))
    for status in ("objection", "stages", "final"):
        rounds.change_status(session=session, round_=round_, to=status, by=admin)
    return round_


def _gated_round(session: Session, now: datetime, bodies: dict[str, PublicBody]) -> Round:
    """The published 2023 round with a presentation stage behind a gate (see the module docstring)."""
    admin = _principal(session, f"admin.dki@{MAIL_DOMAIN}")
    verifier = _principal(session, f"verifikator@{MAIL_DOMAIN}")
    judge = _principal(session, f"juri@{MAIL_DOMAIN}")
    commission = session.scalar(select(Commission).where(Commission.code == COMMISSION_CODE))
    assert commission is not None
    existing = session.scalar(
        select(Round).where(Round.commission_id == commission.id, Round.title == GATED_ROUND)
    )
    if existing is not None:
        return existing
    opened, filled = now - timedelta(days=420), now - timedelta(days=410)
    round_ = rounds.create_round(
        session=session,
        commission=commission,
        data={
            "year": 2023,
            "title": GATED_ROUND,
            "saq_opens_at": opened,
            "saq_closes_at": now - timedelta(days=400),
            "missing_stage_policy": "zero",
            "gate_min_score": GATED_MINIMUM,
        },
        by=admin,
    )
    open_round = session.scalar(select(Round).where(Round.commission_id == commission.id, Round.year == 2025))
    assert open_round is not None
    mapping = {
        category.code: (version.key, version.version)
        for category, version in rounds.round_templates(session=session, round_=open_round)
        if category.code == "kelurahan"
    }
    rounds.set_templates(session=session, round_=round_, mapping=mapping, by=admin)
    (stage,) = rounds.set_stages(
        session=session,
        round_=round_,
        saq_weight=Decimal(70),
        stages=[{"code": "presentasi", "kind": "presentation", "title": GATED_STAGE, "weight": Decimal(30)}],
        by=admin,
    )
    rounds.invite(session=session, round_=round_, body_ids=None, category_codes=["kelurahan"], by=admin)
    spread_assignments(
        session=session,
        round_id=round_.id,
        category_code="kelurahan",
        verifier_ids=[verifier.account_id or 0],
        by=admin,
    )
    rounds.change_status(session=session, round_=round_, to="open", by=admin)
    submitted = {
        name: fill_and_submit(session, round_, bodies[name], rate, now=filled)
        for name, rate in GATED_RATES.items()
    }
    for status in ("closed", "verification"):
        rounds.change_status(session=session, round_=round_, to=status, by=admin)
    for submission_id in submitted.values():
        verify_all(session, submission_id, verifier, now=now - timedelta(days=390))
    for status in ("objection", "stages"):
        rounds.change_status(session=session, round_=round_, to=status, by=admin)
    for name in GATED_RATES:
        if name != GATE_FAILED:
            stages.put_score(
                session=session,
                stage_id=stage.id,
                body_id=bodies[name].id,
                by=judge,
                score=Decimal(75) + Decimal(int(GATED_RATES[name] * 20)),
                criteria=None,
            )
    rounds.change_status(session=session, round_=round_, to="final", by=admin)
    publication.publish(
        session=session,
        round_id=round_.id,
        by=admin,
        reason="Keputusan Rapat Pleno KI DKI Nomor 9/2023",
        now=now - timedelta(days=300),
    )
    return round_


def seed(*, session: Session, settings: Settings, now: datetime) -> Seeded:
    """The demo data and the rounds above (flushes only; the caller commits)."""
    report = seed_demo(session=session, settings=settings, now=now)
    bodies = {
        b.name: b
        for b in session.scalars(select(PublicBody).where(PublicBody.commission_id == report.commission_id))
    }
    open_round = session.get(Round, report.round_id)
    assert open_round is not None
    if submissions_of(session, open_round.id) == 0:
        fill_and_submit(session, open_round, bodies[SUBMITTED_NOW], 0.8, now=now)
        fill_and_submit(session, open_round, bodies[DRAFT_NOW], 0.4, now=now, submit=False)
    past = _past_round(session, settings, now, bodies)
    gated = _gated_round(session, now, bodies)
    return Seeded(open_round_id=open_round.id, past_round_id=past.id, gated_round_id=gated.id)


def submissions_of(session: Session, round_id: int) -> int:
    return len(session.scalars(select(Submission.id).where(Submission.round_id == round_id)).all())


def main() -> None:
    settings = get_settings()
    with make_sessionmaker(get_engine(settings.database_url)).begin() as session:
        seeded = seed(session=session, settings=settings, now=utcnow())
    print(
        f"seeded: open round {seeded.open_round_id}, past round {seeded.past_round_id}, "
        f"gated round {seeded.gated_round_id}"
    )


if __name__ == "__main__":
    main()
