"""What the demo's people have already done: a submitted SAQ and a draft in the open round, and past rounds
answered, verified (with the verifier's corrections and notes), scored at the presentation and published.

Everything here goes through the domain services, as the PPIDs, the verifier, the panel and the secretariat
would through the API, so every figure the demo shows is one the service itself produced. The past rounds
have calendar dates of their own year, passed to the services as ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

import scoring
from app.accounts.deps import principal_for_account
from app.accounts.principal import Principal
from app.db.models import Account, PublicBody, Round, Submission
from app.demo.world import (
    COMMISSION_ADMIN_EMAIL,
    PANELIST_EMAIL,
    PRESENTATION,
    SAQ_WEIGHT,
    VERIFIER_EMAIL,
    World,
)
from app.pagination import MAX_LIMIT, PageParams
from app.results import publication as publishing
from app.rounds import service as rounds
from app.stages import service as stages
from app.submissions import service as submissions
from app.submissions.schemas import IncompleteCounts
from app.verification import answers as verified_answers
from app.verification import assignments, objections
from app.verification.schemas import VerifiedAnswerIn

ZONE = ZoneInfo("Asia/Jakarta")


@dataclass(frozen=True)
class Part:
    """How one body does in a past round."""

    rate: float
    """The share of the questions it answers as fully as possible, spread over the questionnaire."""
    corrections: int = 0
    """Answers the verifier lowers, each with a note saying why."""
    presentation: Decimal | None = None
    """The panel's score at the presentation, given only if the body passes the gate."""


@dataclass(frozen=True)
class Correction:
    """A late correction published as the next revision: the panel re-scores one body."""

    body: str
    presentation: Decimal
    reason: str


@dataclass(frozen=True)
class PastSeason:
    year: int
    categories: tuple[str, ...]
    parts: Mapping[str, Part]
    """The bodies that take part; every other body of the categories is invited and never submits."""
    gate_min_score: Decimal
    reason: str
    """The reason of the first publication (the plenary's decision)."""
    correction: Correction | None = None

    @property
    def title(self) -> str:
        return f"Monev KIP {self.year}"

    def at(self, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
        return datetime(self.year, month, day, hour, minute, tzinfo=ZONE)


CORRECTION_NOTES = (
    "Tautan data dukung tidak dapat dibuka saat verifikasi.",
    "SK PPID yang dilampirkan sudah tidak berlaku; lampirkan SK yang terbaru.",
    "Daftar Informasi Publik belum ditetapkan dengan keputusan pimpinan badan publik.",
    "Laporan layanan informasi yang dilampirkan untuk tahun sebelumnya, bukan tahun penilaian.",
)
CONFIRMED_NOTE = "Sesuai; data dukung lengkap dan terbaru."

# 2024 gives every band: Informatif down to Tidak Informatif, bodies that take part but do not pass the gate
# (verified SAQ below 60; Dinas Kesehatan only after the verifier's corrections: 60.16 self, 58.18 verified),
# a correction that moves Kecamatan Gambir up a band in revision 2, and Kecamatan Tanah Abang, which takes no
# part. In 2023 some bodies stood elsewhere, so their history shows a change; Kelurahan Gambir did not pass
# the gate, and Kelurahan Kebon Kacang, Kecamatan Tanah Abang and Dinas Kesehatan took no part.
SEASON_2023 = PastSeason(
    year=2023,
    categories=("kecamatan", "kelurahan", "dinas"),
    parts={
        "Kelurahan Menteng": Part(0.85, presentation=Decimal("80")),
        "Kelurahan Gondangdia": Part(0.9, presentation=Decimal("85")),
        "Kelurahan Cikini": Part(0.65, presentation=Decimal("68")),
        "Kelurahan Gambir": Part(0.45, corrections=1),
        "Kecamatan Menteng": Part(0.7, presentation=Decimal("75")),
        "Kecamatan Gambir": Part(0.4, corrections=1),
        "Dinas Komunikasi, Informatika dan Statistik": Part(0.85, presentation=Decimal("82")),
        "Dinas Pendidikan": Part(0.5, corrections=1),
    },
    gate_min_score=Decimal(60),
    reason="Keputusan Rapat Pleno Komisi Informasi Provinsi DKI Jakarta Nomor 7/2023",
)
SEASON_2024 = PastSeason(
    year=2024,
    categories=("kecamatan", "kelurahan", "dinas"),
    parts={
        "Kelurahan Menteng": Part(1.0, corrections=1, presentation=Decimal("92")),
        "Kelurahan Gondangdia": Part(0.85, corrections=2, presentation=Decimal("78.5")),
        "Kelurahan Cikini": Part(0.7, corrections=1, presentation=Decimal("70")),
        "Kelurahan Gambir": Part(0.55, corrections=2, presentation=Decimal("75")),
        "Kelurahan Kebon Kacang": Part(0.25, corrections=1),
        "Kecamatan Menteng": Part(0.9, corrections=1, presentation=Decimal("88")),
        "Kecamatan Gambir": Part(0.65, corrections=1, presentation=Decimal("40")),
        "Dinas Komunikasi, Informatika dan Statistik": Part(0.95, presentation=Decimal("90")),
        "Dinas Pendidikan": Part(0.75, corrections=2, presentation=Decimal("72")),
        "Dinas Kesehatan": Part(0.67, corrections=2, presentation=Decimal("80")),
    },
    gate_min_score=Decimal(60),
    reason="Keputusan Rapat Pleno Komisi Informasi Provinsi DKI Jakarta Nomor 12/2024",
    correction=Correction(
        "Kecamatan Gambir",
        Decimal("62.5"),
        "Koreksi nilai presentasi Kecamatan Gambir: lembar penilaian juri salah dijumlahkan",
    ),
)
# Newest first, so lists in id order show the latest round first after the open one.
PAST_SEASONS = (SEASON_2024, SEASON_2023)

# The open round: one SAQ submitted (for the verifier to try) and one half-filled draft.
SUBMITTED_NOW = ("Kelurahan Cikini", 0.8)
DRAFT_NOW = ("Kelurahan Gambir", 0.4)


def principal(world: World, email: str) -> Principal:
    return principal_for_account(next(a for a in world.accounts if a.email == email))


def operator_of(session: Session, body: PublicBody) -> Principal:
    account = session.scalar(select(Account).where(Account.body_id == body.id, Account.role == "operator"))
    if account is None:
        raise LookupError(f"{body.name} has no PPID account")
    return principal_for_account(account)


def _best(q: scoring.Question) -> Any:
    if q.type is scoring.QuestionType.YES_NO:
        return "yes"
    if q.type is scoring.QuestionType.CHOICE:
        return q.options[0].value
    if q.type is scoring.QuestionType.MULTI_CHOICE:
        return [o.value for o in q.options]
    if q.type is scoring.QuestionType.NUMBER:
        return str(q.bands[0].min)
    return "Keterangan dari PPID."


def _worst(q: scoring.Question) -> Any:
    if q.type is scoring.QuestionType.YES_NO:
        return "no"
    if q.type is scoring.QuestionType.CHOICE:
        return q.options[-1].value
    if q.type is scoring.QuestionType.MULTI_CHOICE:
        return [q.options[-1].value]
    if q.type is scoring.QuestionType.NUMBER:
        return str(q.bands[-1].min)
    return "Keterangan dari PPID."


def answers_for(template: scoring.Template, rate: float) -> dict[str, dict[str, Any]]:
    """Answers meeting a share ``rate`` of the questions (spread evenly over the questionnaire), with
    evidence links where evidence counts."""
    answers: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(template.questions()):
        q = entry.question
        good = (index * 37 % 100) < rate * 100
        answer: dict[str, Any] = {"value": _best(q) if good else _worst(q)}
        if q.evidence is not scoring.EvidenceRule.NONE and good:
            answer["evidence"] = [f"https://ppid.contoh.go.id/data-dukung/{q.code}.pdf"]
        answers[q.code] = answer
    return answers


def fill_and_submit(
    session: Session, round_: Round, body: PublicBody, rate: float, *, now: datetime, submit: bool = True
) -> int:
    """The body's PPID opens its SAQ, answers it (:func:`answers_for`) and, unless told not to, submits."""
    operator = operator_of(session, body)
    opened, _ = submissions.open_submission(session=session, round_id=round_.id, by=operator, now=now)
    row = session.get(Submission, opened.id)
    assert row is not None
    template = submissions.template_of(session, submissions.template_row(session, row.template_version_id))
    submissions.save_answers(
        session=session,
        submission_id=opened.id,
        if_match=submissions.etag(opened.version),
        answers=answers_for(template, rate),
        by=operator,
        now=now,
    )
    if submit:
        # Submitted as it stands: whatever is left open is acknowledged, as the submit page's second
        # confirmation does.
        left = submissions.checklist(session=session, submission_id=opened.id, by=operator)
        submissions.submit(
            session=session,
            submission_id=opened.id,
            by=operator,
            acknowledge_incomplete=IncompleteCounts(
                unanswered=len(left.unanswered), evidence_missing=len(left.evidence_missing)
            ),
            now=now,
        )
    return opened.id


def verify(
    session: Session, submission_id: int, verifier: Principal, *, corrections: int = 0, now: datetime
) -> None:
    """The verifier reviews every question: it confirms the body's value and checks its evidence, except for
    ``corrections`` answers that it lowers (spread over the questionnaire), each with a note saying why."""
    verified_answers.start(session=session, submission_id=submission_id, by=verifier, now=now)
    out = verified_answers.view(session=session, submission_id=submission_id, by=verifier)
    row = session.get(Submission, submission_id)
    assert row is not None
    template = submissions.template_of(session, submissions.template_row(session, row.template_version_id))
    by_code = {entry.question.code: entry.question for entry in template.questions()}
    lowerable = [
        q.code
        for q in out.questions
        if by_code[q.code].type in {scoring.QuestionType.YES_NO, scoring.QuestionType.CHOICE}
        and q.self.value == _best(by_code[q.code])
    ]
    step = max(1, len(lowerable) // (corrections + 1))
    lowered = lowerable[step - 1 :: step][:corrections]
    confirmed = next((code for code in lowerable if code not in lowered), None)
    patches = {
        code: VerifiedAnswerIn(
            value=_worst(by_code[code]),
            evidence_checked=True,
            note=CORRECTION_NOTES[(submission_id + index) % len(CORRECTION_NOTES)],
        )
        for index, code in enumerate(lowered)
    }
    for q in out.questions:
        if q.code not in patches:
            patches[q.code] = VerifiedAnswerIn(
                value=q.self.value,
                evidence_checked=bool(q.self.evidence or q.self.file_ids),
                note=CONFIRMED_NOTE if q.code == confirmed else None,
            )
    verified_answers.save_answers(
        session=session,
        submission_id=submission_id,
        by=verifier,
        if_match=submissions.etag(out.version or 1),
        patches=patches,
    )
    verified_answers.complete(session=session, submission_id=submission_id, by=verifier, now=now)


def passing_gate(session: Session, round_: Round, by: Principal) -> set[int]:
    """The bodies that passed the round's gate to the later stages."""
    gate = stages.gate(
        session=session, round_id=round_.id, by=by, passing_only=True, params=PageParams(limit=MAX_LIMIT)
    )
    return {row.body_id for row in gate.items}


def open_round_activity(session: Session, world: World, now: datetime) -> None:
    """A submitted SAQ and a draft in the open round, unless the round has any submission already."""
    round_ = world.open_round
    if session.scalar(select(Submission.id).where(Submission.round_id == round_.id).limit(1)) is not None:
        return
    name, rate = SUBMITTED_NOW
    fill_and_submit(session, round_, world.bodies[name], rate, now=now)
    name, rate = DRAFT_NOW
    fill_and_submit(session, round_, world.bodies[name], rate, now=now, submit=False)


def past_season(session: Session, world: World, season: PastSeason, *, publish: bool = True) -> Round:
    """The season's round, created and carried through to ``final`` (and, with ``publish``, published with
    its reason and its correction as revision 2). A round with the season's title is left as it is."""
    admin = principal(world, COMMISSION_ADMIN_EMAIL)
    existing = session.scalar(
        select(Round).where(
            Round.commission_id == world.commission.id,
            Round.year == season.year,
            Round.title == season.title,
        )
    )
    if existing is not None:
        return existing
    round_ = rounds.create_round(
        session=session,
        commission=world.commission,
        data={
            "year": season.year,
            "title": season.title,
            "saq_opens_at": season.at(7, 1, 0, 0),
            "saq_closes_at": season.at(8, 31, 23, 59),
            "objection_opens_at": season.at(9, 16, 0, 0),
            "objection_closes_at": season.at(9, 20, 23, 59),
            "gate_min_score": season.gate_min_score,
            "missing_stage_policy": "zero",
        },
        by=admin,
    )
    mapping = {
        category.code: (version.key, version.version)
        for category, version in rounds.round_templates(session=session, round_=world.open_round)
        if category.code in season.categories
    }
    rounds.set_templates(session=session, round_=round_, mapping=mapping, by=admin)
    code, kind, title, weight = PRESENTATION
    [stage] = rounds.set_stages(
        session=session,
        round_=round_,
        saq_weight=SAQ_WEIGHT,
        stages=[{"code": code, "kind": kind, "title": title, "weight": weight}],
        by=admin,
    )
    rounds.invite(session=session, round_=round_, body_ids=None, category_codes=season.categories, by=admin)
    verifier = principal(world, VERIFIER_EMAIL)
    for category in season.categories:
        assignments.spread_assignments(
            session=session,
            round_id=round_.id,
            category_code=category,
            verifier_ids=[verifier.account_id or 0],
            by=admin,
        )
    rounds.change_status(session=session, round_=round_, to="open", by=admin)
    submitted = {
        name: fill_and_submit(session, round_, world.bodies[name], part.rate, now=season.at(8, 20))
        for name, part in season.parts.items()
    }
    for status in ("closed", "verification"):
        rounds.change_status(session=session, round_=round_, to=status, by=admin)
    for name, submission_id in submitted.items():
        verify(
            session, submission_id, verifier, corrections=season.parts[name].corrections, now=season.at(9, 5)
        )
    objections.release(session=session, round_id=round_.id, by=admin, now=season.at(9, 13))
    for status in ("objection", "stages"):
        rounds.change_status(session=session, round_=round_, to=status, by=admin)
    panelist = principal(world, PANELIST_EMAIL)
    passing = passing_gate(session, round_, panelist)
    for name, part in season.parts.items():
        body = world.bodies[name]
        if part.presentation is not None and body.id in passing:
            stages.put_score(
                session=session,
                stage_id=stage.id,
                body_id=body.id,
                by=panelist,
                score=part.presentation,
                criteria=None,
            )
    rounds.change_status(session=session, round_=round_, to="final", by=admin)
    if not publish:
        return round_
    publishing.publish(
        session=session, round_id=round_.id, by=admin, reason=season.reason, now=season.at(12, 10)
    )
    if season.correction is not None:
        stages.put_score(
            session=session,
            stage_id=stage.id,
            body_id=world.bodies[season.correction.body].id,
            by=panelist,
            score=season.correction.presentation,
            criteria=None,
        )
        publishing.publish(
            session=session,
            round_id=round_.id,
            by=admin,
            reason=season.correction.reason,
            now=season.at(12, 17),
        )
    return round_
