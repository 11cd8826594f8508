"""Excel exports and imports: gather the published figures for the pure writers, and hand uploaded
workbooks to the services that own the rules.

Every figure comes from a publication snapshot (``app.results.service``), never recomputed; the result
sheet's per-question points and recommendations come from ``scoring`` run on the verified answers as they
stand (the same engine and data that produced the published verified score). Files are written to a path
the caller owns (a temporary file for HTTP, the ``--out`` file for the command line), so memory stays flat.
"""

from __future__ import annotations

import io
import re
import shutil
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import IO

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

import scoring
from app.accounts import policy
from app.accounts.principal import Principal
from app.bodies.service import ImportReport, import_bodies, refuse_in_request
from app.commissions.service import get_commission
from app.commissions.timezones import as_utc
from app.db.base import utcnow
from app.db.models import (
    BodyCategory,
    Commission,
    EvidenceFile,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    Submission,
    Verification,
)
from app.errors import Conflict, FieldProblem, InvalidInput, NotFound, StaleVersion, TooLargeAtOnce
from app.exports.answer_workbook import (
    AnswerLine,
    AnswerSheetData,
    patches,
    read_answer_workbook,
    write_answer_workbook,
)
from app.exports.body_workbook import BodyRows, read_bodies
from app.exports.layout import NOT_PARTICIPATING_LABEL, BandInfo, Bands, Stamp
from app.exports.recap_workbook import (
    AspectInfo,
    BandCountLine,
    CategoryInfo,
    CorrectionRow,
    ParticipationLine,
    RecapData,
    RecapRow,
    RoundInfo,
    StageInfo,
    TrendPoint,
    write_recap,
)
from app.exports.result_sheet import (
    AspectBlock,
    QuestionLine,
    Recommendation,
    ResultSheetData,
    StageLine,
    write_result_sheet,
)
from app.exports.values import display
from app.exports.workbook_safety import (
    CellProblem,
    UploadLimits,
    cell_problems,
    inspect_xlsx,
    open_workbook,
)
from app.results import explain
from app.results.explain import PublishedRules
from app.results.service import (
    SAQ,
    ParticipationRow,
    ResultRow,
    band_counts,
    band_labels,
    iter_published_results,
    latest_publication,
    participation,
    participation_total,
    percent,
    publication_revision,
    published_outcome,
    rules_of,
)
from app.rounds.service import get_round, round_templates
from app.submissions import service as submissions
from app.submissions.schemas import SaveResult
from app.verification.common import template_of
from app.verification.corrections import iter_corrections
from app.verification.scores import AnswerData, load_answer_data, verified_card

BATCH = 500
ZIP_MEDIA_TYPE = "application/zip"
_COPY_CHUNK = 1024 * 1024


# --- Shared -----------------------------------------------------------------------------------------------


def slug(text: str, *, limit: int = 60) -> str:
    """An ASCII file-name part: ``Kelurahan Gondangdia`` -> ``kelurahan-gondangdia``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-") or "berkas"


def publication_of(session: Session, round_: Round, revision: int | None) -> Publication:
    """The asked revision (404 when it does not exist), else the latest; 409 while nothing is published."""
    if revision is None and latest_publication(session=session, round_=round_) is None:
        raise Conflict(
            f"the results of round {round_.title} are not published yet: recaps and result sheets are made "
            "from a publication",
            indonesian=f"Hasil {round_.title} belum diumumkan. Rekapitulasi dan lembar hasil penilaian "
            "tersedia setelah hasil diumumkan.",
        )
    return publication_revision(session=session, round_=round_, revision=revision)


def ensure_at_once(
    *,
    session: Session,
    round_id: int,
    revision: int | None,
    by: Principal,
    kind: str,
    max_bodies: int,
    job_path: str,
) -> None:
    """Refuse (409) to make an export of a publication with more than ``max_bodies`` bodies within a
    request: the problem names the job that makes it (``POST job_path`` with ``{"kind": kind, "revision":
    n}``), in its ``detail`` and in ``job_request``. Strangers and unpublished rounds are refused first, as
    the export itself would refuse them."""
    round_ = get_round(session=session, round_id=round_id)
    policy.ensure_commission_reader(by, round_.commission_id)
    publication = publication_of(session, round_, revision)
    bodies = (
        session.scalar(
            select(func.count())
            .select_from(PublishedResult)
            .where(PublishedResult.publication_id == publication.id)
        )
        or 0
    )
    if bodies <= max_bodies:
        return
    body = {"kind": kind, "revision": publication.revision}
    raise TooLargeAtOnce(
        f"revision {publication.revision} of the results of {round_.title} has {bodies} bodies, more than "
        f"the {max_bodies} exported at once: ask for it as a job with POST {job_path} and "
        f'{{"kind": "{kind}", "revision": {publication.revision}}}, then follow its Location',
        indonesian=f"Hasil {round_.title} (revisi {publication.revision}) memuat {bodies} badan publik, "
        f"lebih dari {max_bodies} yang dapat dibuat langsung. Minta berkas ini sebagai pekerjaan latar "
        "belakang; berkasnya dapat diunduh setelah selesai dibuat.",
        job_request={"method": "POST", "href": job_path, "body": body},
        bodies=bodies,
        max_bodies=max_bodies,
    )


def _commission(session: Session, round_: Round) -> Commission:
    commission = session.get(Commission, round_.commission_id)
    assert commission is not None
    return commission


def _stamp(commission: Commission, publication: Publication, now: datetime | None) -> Stamp:
    return Stamp(
        produced_at=now or utcnow(),
        timezone=commission.timezone,
        revision=publication.revision,
        published_at=as_utc(publication.created_at),
    )


# --- Recap ------------------------------------------------------------------------------------------------


def recap_filename(round_: Round, publication: Publication) -> str:
    return f"rekap-{slug(round_.title)}-revisi-{publication.revision}.xlsx"


def _participation_line(row: ParticipationRow, name: str | None = None) -> ParticipationLine:
    return ParticipationLine(
        category=name or row.category_name,
        invited=row.invited,
        registered=row.registered,
        registered_pct=row.registered_pct,
        submitted=row.submitted,
        submitted_pct=row.submitted_pct,
        verified=row.verified,
        verified_pct=row.verified_pct,
    )


def _round_key(round_: Round) -> tuple[int, datetime, int]:
    return (round_.year, as_utc(round_.saq_opens_at), round_.id)


def _earlier_rounds(session: Session, round_: Round) -> list[tuple[Round, int]]:
    """Earlier published rounds of the commission, oldest first, each with its latest publication's id."""
    latest = (
        select(Publication.round_id, func.max(Publication.revision).label("revision"))
        .group_by(Publication.round_id)
        .subquery()
    )
    rows = session.execute(
        select(Round, Publication.id)
        .join(latest, latest.c.round_id == Round.id)
        .join(
            Publication,
            (Publication.round_id == latest.c.round_id) & (Publication.revision == latest.c.revision),
        )
        .where(Round.commission_id == round_.commission_id, Round.id != round_.id)
    ).all()
    current = _round_key(round_)
    earlier = [(r, pub_id) for r, pub_id in rows if _round_key(r) < current]
    return sorted(earlier, key=lambda pair: _round_key(pair[0]))


def recap_data(
    *, session: Session, round_: Round, publication: Publication, now: datetime | None = None
) -> tuple[RecapData, list[tuple[Round, int]]]:
    """Everything of the recap but the per-body rows; also the earlier rounds and their publication ids."""
    commission = _commission(session, round_)
    rules = rules_of(publication)
    weights = rules.stage_weights
    labels = band_labels(session=session, round_id=round_.id)
    counts = band_counts(session=session, publication=publication)
    whole = sum(c.total for c in counts)
    percentages = {
        code: percent(sum(c.counts.get(code, 0) for c in counts), whole)
        for code in {*labels, *(code for c in counts for code in c.counts)}
    }
    percentages[NOT_PARTICIPATING_LABEL] = percent(sum(c.not_participating for c in counts), whole)
    aspects: dict[str, str] = {}
    for _, version in round_templates(session=session, round_=round_):
        for aspect in template_of(session, version.id).aspects:
            aspects.setdefault(aspect.code, aspect.title)
    rows = participation(session=session, round_=round_)
    earlier = _earlier_rounds(session, round_)
    earlier_labels: dict[str, str] = {}
    for earlier_round, _ in earlier:
        for code, label in band_labels(session=session, round_id=earlier_round.id).items():
            earlier_labels.setdefault(code, label)
    data = RecapData(
        commission=commission.name,
        round_title=round_.title,
        year=round_.year,
        stamp=_stamp(commission, publication, now),
        stages=[StageInfo(code, rules.title(code), weight) for code, weight in weights.items()],
        bands=[BandInfo(code, label) for code, label in labels.items()],
        categories=[CategoryInfo(c.category_id, c.category_code, c.category_name) for c in counts],
        aspects=[AspectInfo(code, title) for code, title in aspects.items()],
        band_counts=[BandCountLine(c.category_name, c.counts, c.not_participating, c.total) for c in counts],
        band_percentages=percentages,
        participation=[_participation_line(r) for r in rows],
        participation_total=_participation_line(participation_total(rows), "Jumlah"),
        earlier_rounds=[RoundInfo(r.id, r.year, r.title) for r, _ in earlier],
        band_labels=earlier_labels,
        missing_stage_policy=rules.missing_stage_policy,
    )
    return data, earlier


def _batches(rows: Iterable[ResultRow], size: int) -> Iterator[list[ResultRow]]:
    batch: list[ResultRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass(frozen=True)
class _Earlier:
    round_id: int
    final_score: Decimal | None
    band: str | None


def _histories(
    session: Session, earlier: Sequence[tuple[Round, int]], body_ids: Sequence[int]
) -> dict[int, list[_Earlier]]:
    """Each body's rows in the latest publications of the earlier rounds, oldest round first."""
    if not earlier:
        return {}
    order = {pub_id: i for i, (_, pub_id) in enumerate(earlier)}
    round_of = {pub_id: r.id for r, pub_id in earlier}
    found: dict[int, list[tuple[int, _Earlier]]] = defaultdict(list)
    for pub_id, body_id, final, band in session.execute(
        select(
            PublishedResult.publication_id,
            PublishedResult.body_id,
            PublishedResult.final_score,
            PublishedResult.band,
        ).where(PublishedResult.publication_id.in_(list(order)), PublishedResult.body_id.in_(body_ids))
    ):
        found[body_id].append((order[pub_id], _Earlier(round_of[pub_id], final, band)))
    return {
        body: [entry for _, entry in sorted(entries, key=lambda e: e[0])] for body, entries in found.items()
    }


def recap_rows(
    *,
    session: Session,
    publication: Publication,
    earlier: Sequence[tuple[Round, int]],
    band_order: Sequence[str],
) -> Iterator[RecapRow]:
    """The publication's rows (category, then rank), each with its results in earlier rounds and the change
    from the last earlier round the body was in (as ``app.results.service.body_history`` reports it)."""
    order = list(band_order)
    for batch in _batches(iter_published_results(session=session, publication=publication), BATCH):
        histories = _histories(session, earlier, [r.body_id for r in batch])
        for r in batch:
            history = histories.get(r.body_id, [])
            previous = history[-1] if history else None
            score_change = None
            band_change = None
            if previous is not None and previous.final_score is not None and r.final_score is not None:
                score_change = r.final_score - previous.final_score
            if previous is not None and previous.band in order and r.band in order:
                band_change = order.index(previous.band) - order.index(r.band)
            yield RecapRow(
                body=r.body_name,
                category_id=r.category_id,
                category=r.category_name,
                region_code=r.region_code,
                participating=r.participating,
                rank=r.rank,
                self_score=r.self_score,
                verified_score=r.verified_score,
                stage_scores=r.stage_scores,
                final_score=r.final_score,
                band=r.band,
                aspect_scores=r.aspect_scores,
                history={h.round_id: TrendPoint(h.final_score, h.band) for h in history},
                score_change=score_change,
                band_change=band_change,
                missing_stages=r.missing_stages,
            )


def recap_corrections(
    *, session: Session, round_: Round, categories: dict[str, str]
) -> Iterator[CorrectionRow]:
    """Every verified value that differs from the body's own, with values shown as the sheets show them."""
    templates: dict[int, scoring.Template] = {}
    for c in iter_corrections(session=session, round_=round_):
        template = templates.get(c.template_version_id)
        if template is None:
            template = templates[c.template_version_id] = template_of(session, c.template_version_id)
        question = template.question(c.question_code)
        yield CorrectionRow(
            body=c.body_name,
            category=categories.get(c.category_code, c.category_code),
            question_code=c.question_code,
            question_text=c.question_text,
            self_value=display(question, c.self_value),
            verified_value=display(question, c.verified_value),
            verifier=c.verifier_name,
            note=c.note,
        )


def recap(
    *,
    session: Session,
    round_id: int,
    revision: int | None,
    by: Principal,
    target: Path,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Write the recap workbook of a round's publication (the latest, or ``revision``) to ``target``;
    returns the file name to offer. The commission's readers only; 409 while the round is unpublished.

    ``progress(done, total)`` hears of the body rows written (a batch at a time), counting one more step
    for the sheets written after them (corrections, participation, summary) and closing the file, so that
    ``done == total`` only once the file is complete (a job's progress; it may stop the work by raising)."""
    round_ = get_round(session=session, round_id=round_id)
    policy.ensure_commission_reader(by, round_.commission_id)
    publication = publication_of(session, round_, revision)
    data, earlier = recap_data(session=session, round_=round_, publication=publication, now=now)
    rows = recap_rows(
        session=session, publication=publication, earlier=earlier, band_order=[b.code for b in data.bands]
    )
    categories = {c.code: c.name for c in data.categories}
    corrections = recap_corrections(session=session, round_=round_, categories=categories)
    total = sum(line.total for line in data.band_counts) + 1
    rows_written = None
    if progress is not None:
        progress(0, total)
        rows_written = partial(_rows_of, progress, total)
    write_recap(target, data, rows, corrections, tmpdir=str(target.parent), progress=rows_written)
    if progress is not None:
        progress(total, total)
    return recap_filename(round_, publication)


def _rows_of(progress: Callable[[int, int], None], total: int, done: int) -> None:
    progress(done, total)


# --- Result sheets ----------------------------------------------------------------------------------------

_REASONS = {
    scoring.QuestionStatus.SCORED: "Jawaban terverifikasi belum memenuhi seluruh kriteria",
    scoring.QuestionStatus.UNANSWERED: "Tidak dijawab, atau tidak ada nilai verifikasi",
    scoring.QuestionStatus.EVIDENCE_MISSING: (
        "Data dukung wajib tidak ada atau tidak dikonfirmasi verifikator"
    ),
}


@dataclass(frozen=True)
class SheetContext:
    round: Round
    commission: Commission
    publication: Publication
    bands: Bands
    rules: PublishedRules
    now: datetime | None


def _file_names(session: Session, submission_ids: Sequence[int]) -> dict[int, dict[str, list[str]]]:
    names: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for sid, code, name in session.execute(
        select(EvidenceFile.submission_id, EvidenceFile.question_code, EvidenceFile.original_name)
        .where(EvidenceFile.submission_id.in_(submission_ids), EvidenceFile.removed_at.is_(None))
        .order_by(EvidenceFile.id)
    ):
        names[sid][code].append(name)
    return names


def recommendations(template: scoring.Template, card: scoring.ScoreCard) -> list[Recommendation]:
    """Questions that lost points (maximum minus verified earned, from the score card), most lost first,
    ties in questionnaire order."""
    aspects = {aspect.code: aspect.title for aspect in template.aspects}
    lost = [
        (q.maximum - q.earned, index, q) for index, q in enumerate(card.questions) if q.maximum > q.earned
    ]
    lost.sort(key=lambda item: (-item[0], item[1]))
    return [
        Recommendation(
            code=q.code,
            text=template.question(q.code).text,
            aspect=aspects.get(q.aspect_code, q.aspect_code),
            reason=_REASONS.get(q.status, q.status.value),
            maximum=scoring.publish(q.maximum),
            earned=scoring.publish(q.earned),
            lost=scoring.publish(points),
        )
        for points, _, q in lost
    ]


def result_data(
    ctx: SheetContext,
    *,
    body: PublicBody,
    category_name: str,
    result: PublishedResult,
    template: scoring.Template | None,
    answers: AnswerData | None,
    files: dict[str, list[str]],
    verified: bool,
) -> ResultSheetData:
    """A body's published result with what explains it: its stages, aspects (each question with its answer
    and verification) and recommendations. ``template`` and ``answers`` are None for a body in the
    publication without a submission (it took no part: no aspects, no recommendations). Result sheets and
    letters (app/letters/) are both made of it."""
    card = verified_card(template, answers) if verified and template and answers else None
    points = {q.code: q for q in card.questions} if card else {}
    rules = ctx.rules
    row = published_outcome(result)
    stages = {stage.code: stage for stage in explain.stages(rules, row)}
    gate_note = explain.gate_sentence(rules, row, category_name)
    aspect_scores = {code: Decimal(str(v)) for code, v in (result.aspect_scores or {}).items()}
    blocks = []
    if template is not None and answers is not None:
        for aspect in template.aspects:
            lines = []
            for entry in template.questions():
                if entry.aspect_code != aspect.code:
                    continue
                q = entry.question
                raw = answers.raw.get(q.code, {})
                check = answers.verified.get(q.code)
                score = points.get(q.code)
                counted = score is not None and score.status in (
                    scoring.QuestionStatus.SCORED,
                    scoring.QuestionStatus.UNANSWERED,
                    scoring.QuestionStatus.EVIDENCE_MISSING,
                )
                evidence = [*(raw.get("evidence") or []), *answers.objection_links.get(q.code, [])]
                evidence += [f"Berkas: {name}" for name in files.get(q.code, [])]
                lines.append(
                    QuestionLine(
                        code=q.code,
                        text=q.text,
                        answer=display(q, raw.get("value")),
                        evidence=evidence,
                        verified=display(q, check.value) if check else None,
                        evidence_checked=check.evidence_checked if check else None,
                        note=check.note if check else None,
                        earned=scoring.publish(score.earned) if counted and score else None,
                        maximum=scoring.publish(score.maximum) if counted and score else None,
                    )
                )
            blocks.append(
                AspectBlock(aspect.code, aspect.title, aspect.weight, aspect_scores.get(aspect.code), lines)
            )
    return ResultSheetData(
        commission=ctx.commission.name,
        round_title=ctx.round.title,
        stamp=_stamp(ctx.commission, ctx.publication, ctx.now),
        body=body.name,
        category=category_name,
        region_code=body.region_code,
        participating=result.participating,
        rank=result.rank,
        self_score=result.self_score,
        verified_score=result.verified_score,
        saq_weight=rules.stage_weights.get(SAQ),
        stages=[
            StageLine(
                stage.title,
                stage.weight,
                stage.score,
                None if stage.took_part else stage.label,
                gate_note if stage.reason == explain.GATE_NOT_PASSED else None,
            )
            for stage in stages.values()
            if stage.code != SAQ
        ],
        final_score=result.final_score,
        band_label=ctx.bands.label(result.band if result.participating else None),
        band_index=ctx.bands.index(result.band),
        aspects=blocks,
        recommendations=recommendations(template, card) if template and card and result.participating else [],
        saq_label=None if result.participating else explain.NOT_TAKEN,
        final_note=explain.final_sentence(rules, row),
        band_note=explain.band_sentence(template.bands if template else (), result.band, result.final_score),
    )


def result_filename(body: PublicBody, submission: Submission) -> str:
    return f"hasil-{slug(body.name)}-{submission.id}.xlsx"


def sheet_context(
    session: Session, round_: Round, publication: Publication, now: datetime | None
) -> SheetContext:
    """What every sheet (or letter) of a publication shares: the round, commission, bands and rules."""
    labels = band_labels(session=session, round_id=round_.id)
    return SheetContext(
        round=round_,
        commission=_commission(session, round_),
        publication=publication,
        bands=Bands([BandInfo(code, label) for code, label in labels.items()]),
        rules=rules_of(publication),
        now=now,
    )


def result_sheet(
    *,
    session: Session,
    submission_id: int,
    revision: int | None,
    by: Principal,
    target: IO[bytes] | Path,
    now: datetime | None = None,
) -> str:
    """Write one body's result sheet (Lembar Hasil Penilaian) from the round's publication; returns the file
    name. Those who may read the body (its operator, its verifier, the commission's readers); 409 while the
    round is unpublished or when the body is not in the publication."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"submission {submission_id} does not exist")
    body = session.get(PublicBody, submission.body_id)
    round_ = session.get(Round, submission.round_id)
    assert body is not None
    assert round_ is not None
    policy.ensure_read_body(
        session, by, commission_id=body.commission_id, body_id=body.id, round_id=round_.id
    )
    publication = publication_of(session, round_, revision)
    result = session.scalar(
        select(PublishedResult).where(
            PublishedResult.publication_id == publication.id, PublishedResult.body_id == body.id
        )
    )
    if result is None:
        raise Conflict(
            f"{body.name} is not in revision {publication.revision} of the results of {round_.title}",
            indonesian=f"{body.name} tidak tercantum dalam hasil {round_.title} yang diumumkan (revisi "
            f"{publication.revision}).",
        )
    verification = session.scalar(select(Verification).where(Verification.submission_id == submission.id))
    answers = load_answer_data(
        session=session, submissions=[(submission.id, verification.id if verification else None)]
    )[submission.id]
    data = result_data(
        sheet_context(session, round_, publication, now),
        body=body,
        category_name=body.category.name,
        result=result,
        template=template_of(session, submission.template_version_id),
        answers=answers,
        files=_file_names(session, [submission.id]).get(submission.id, {}),
        verified=verification is not None,
    )
    write_result_sheet(target, data)
    return result_filename(body, submission)


# Verification.id is None for a body never verified (outer join); the typing says int.
_SheetRows = Select[Submission, PublicBody, PublishedResult, BodyCategory, int]


def _sheet_rows(
    round_: Round, publication: Publication, submission_ids: Sequence[int] | None = None
) -> _SheetRows:
    """The bodies of the publication that have a submission, in the ZIP's order (one folder per category,
    bodies by name), with what their sheets need; only ``submission_ids`` when given (a part of a ZIP)."""
    stmt = (
        select(Submission, PublicBody, PublishedResult, BodyCategory, Verification.id)
        .join(PublicBody, PublicBody.id == Submission.body_id)
        .join(
            PublishedResult,
            (PublishedResult.body_id == Submission.body_id)
            & (PublishedResult.publication_id == publication.id),
        )
        .join(BodyCategory, BodyCategory.id == PublishedResult.category_id)
        .outerjoin(Verification, Verification.submission_id == Submission.id)
        .where(Submission.round_id == round_.id)
        .order_by(BodyCategory.code, PublicBody.name, PublicBody.id)
    )
    if submission_ids is not None:
        stmt = stmt.where(Submission.id.in_(submission_ids))
    return stmt


def _write_sheets(
    session: Session,
    ctx: SheetContext,
    archive: zipfile.ZipFile,
    stmt: _SheetRows,
    progress: Callable[[int, int], None] | None,
    total: int,
) -> None:
    # Streamed BATCH rows at a time (a 100,000-body round never sits in memory as ORM objects).
    rows = session.execute(stmt.execution_options(yield_per=BATCH))
    written = 0
    templates: dict[int, scoring.Template] = {}
    for chunk in rows.partitions():
        answers = load_answer_data(session=session, submissions=[(s.id, vid) for s, _, _, _, vid in chunk])
        files = _file_names(session, [s.id for s, *_ in chunk])
        for submission, body, result, category, verification_id in chunk:
            version_id = submission.template_version_id
            template = templates.get(version_id)
            if template is None:
                template = templates[version_id] = template_of(session, version_id)
            buffer = io.BytesIO()
            write_result_sheet(
                buffer,
                result_data(
                    ctx,
                    body=body,
                    category_name=category.name,
                    result=result,
                    template=template,
                    answers=answers[submission.id],
                    files=files.get(submission.id, {}),
                    verified=verification_id is not None,
                ),
            )
            archive.writestr(f"{slug(category.code)}/{result_filename(body, submission)}", buffer.getvalue())
            written += 1
            if progress is not None:
                progress(written, total)


def readable_publication(
    session: Session, round_id: int, revision: int | None, by: Principal
) -> tuple[Round, Publication]:
    """The round and its revision (the latest when None), for the commission's readers (the result sheets
    ZIP, the letters): 404 while unpublished."""
    round_ = get_round(session=session, round_id=round_id)
    policy.ensure_commission_reader(by, round_.commission_id)
    return round_, publication_of(session, round_, revision)


def _zip_name(round_: Round, publication: Publication) -> str:
    return f"lembar-hasil-{slug(round_.title)}-revisi-{publication.revision}.zip"


def result_sheets_zip(
    *,
    session: Session,
    round_id: int,
    revision: int | None,
    by: Principal,
    target: Path,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Write a ZIP with the result sheet of every body of the publication that has a submission (one folder
    per category) to ``target``; returns the file name. The commission's readers only. ``progress(done,
    total)`` hears of every sheet written (a job's progress; it may stop the work by raising)."""
    round_, publication = readable_publication(session, round_id, revision, by)
    ctx = sheet_context(session, round_, publication, now)
    total = 0
    if progress is not None:
        total = (
            session.scalar(
                select(func.count())
                .select_from(Submission)
                .join(
                    PublishedResult,
                    (PublishedResult.body_id == Submission.body_id)
                    & (PublishedResult.publication_id == publication.id),
                )
                .where(Submission.round_id == round_.id)
            )
            or 0
        )
        progress(0, total)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        _write_sheets(session, ctx, archive, _sheet_rows(round_, publication), progress, total)
    return _zip_name(round_, publication)


# The result sheets of a large round are made in parts that several workers share (app/exports/jobs.py):
# the parts are cut from the ZIP's order, each writes its sheets into a ZIP of its own, and the parts' entries
# are copied, in order, into the one ZIP people download, the same as result_sheets_zip makes.


def result_sheet_parts(
    *, session: Session, round_id: int, revision: int | None, by: Principal, bodies_per_part: int
) -> list[list[int]]:
    """The submission ids of the publication's result sheets in the ZIP's order, cut into parts of
    ``bodies_per_part`` (one part for a round that size or smaller). The commission's readers only."""
    round_, publication = readable_publication(session, round_id, revision, by)
    ids = list(session.scalars(_sheet_rows(round_, publication).with_only_columns(Submission.id)))
    return [ids[start : start + bodies_per_part] for start in range(0, len(ids), bodies_per_part)]


def result_sheets_part_zip(
    *,
    session: Session,
    round_id: int,
    revision: int | None,
    by: Principal,
    submission_ids: Sequence[int],
    target: Path,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Write the result sheets of ``submission_ids`` (a part cut by ``result_sheet_parts``), in the ZIP's
    order, to a ZIP at ``target``; returns the name the whole ZIP has."""
    round_, publication = readable_publication(session, round_id, revision, by)
    ctx = sheet_context(session, round_, publication, now)
    if progress is not None:
        progress(0, len(submission_ids))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        stmt = _sheet_rows(round_, publication, submission_ids)
        _write_sheets(session, ctx, archive, stmt, progress, len(submission_ids))
    return _zip_name(round_, publication)


def join_zips(parts: Iterable[Path], target: Path) -> int:
    """Copy the entries of the ZIPs ``parts``, in order, into one ZIP at ``target`` (stored, as they are:
    nothing is compressed again, only streamed and checked against its CRC); returns how many."""
    copied = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path in parts:
            with zipfile.ZipFile(path) as part:
                for info in part.infolist():
                    with part.open(info) as source, archive.open(info, "w") as sink:
                        shutil.copyfileobj(source, sink, _COPY_CHUNK)
                    copied += 1
    return copied


# --- Answer workbooks -------------------------------------------------------------------------------------


def answer_workbook(
    *,
    session: Session,
    submission_id: int,
    by: Principal,
    target: IO[bytes] | Path,
    now: datetime | None = None,
) -> str:
    """Write the answer workbook of a submission (questions, allowed values, the stored answers) for offline
    filling; returns the file name. Anyone who may read the submission."""
    ctx = submissions.load_for_read(session=session, submission_id=submission_id, by=by)
    row = submissions.template_row(session, ctx.submission.template_version_id)
    template = submissions.template_of(session, row)
    stored = submissions.detail(session, ctx).answers
    aspects = {aspect.code: aspect.title for aspect in template.aspects}
    commission = session.get(Commission, ctx.body.commission_id)
    assert commission is not None
    lines = []
    for entry in template.questions():
        answer = stored.get(entry.question.code)
        lines.append(
            AnswerLine(
                aspect=aspects[entry.aspect_code],
                question=entry.question,
                value=display(entry.question, answer.value) if answer else None,
                links=list(answer.evidence) if answer else [],
                note=answer.note if answer else None,
            )
        )
    data = AnswerSheetData(
        body=ctx.body.name,
        round_title=ctx.round.title,
        submission_id=ctx.submission.id,
        submission_version=ctx.submission.version,
        template_key=row.key,
        template_version=row.version,
        template_title=row.title,
        template_hash=row.content_hash,
        stamp=Stamp(produced_at=now or utcnow(), timezone=commission.timezone),
        lines=lines,
    )
    write_answer_workbook(target, data)
    return f"jawaban-{slug(ctx.body.name)}-{ctx.submission.id}.xlsx"


def ensure_may_upload_answers(*, session: Session, submission_id: int, by: Principal) -> None:
    """Refuse a stranger before the upload is read: only the body's operator (or body key) answers."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound(f"submission {submission_id} does not exist")
    body = session.get(PublicBody, submission.body_id)
    assert body is not None
    policy.ensure_answer_for_body(by, commission_id=body.commission_id, body_id=body.id)


_FIELD_COLUMNS = {"value": "Jawaban", "evidence": "Tautan Data Dukung", "note": "Catatan"}


def _locate(
    field: str, rows: dict[str, int], columns: dict[str, str], sheet: str
) -> tuple[str, int, str, str] | None:
    """(question code, row, column letter, sheet) of a service problem named ``answers.<code>.<field>``."""
    rest = field.removeprefix("answers.")
    matches = [code for code in rows if rest == code or rest.startswith(code + ".")]
    if not matches:
        return None
    code = max(matches, key=len)
    part = rest[len(code) + 1 :].split("[")[0].split(".")[0]
    column = columns.get(_FIELD_COLUMNS.get(part, "Kode"), "A")
    return code, rows[code], column, sheet


def import_answer_workbook(
    *,
    session: Session,
    submission_id: int,
    upload: IO[bytes],
    name: str,
    if_match: str | None,
    by: Principal,
    limits: UploadLimits,
    now: datetime | None = None,
) -> SaveResult:
    """Save the answers of a filled answer workbook, all or nothing, through the submissions service (the
    same rules, window, If-Match and audit as ``PUT .../answers``).

    The workbook must be the one made for this submission and its template version (422 otherwise) and for
    the submission's current version: a workbook downloaded before someone else saved is a 412 (download it
    again). ``If-Match`` is optional here (the workbook names the version it was made from) and, when sent,
    must name the current version too. Every problem, the workbook's and the service's, is listed at once
    with its sheet, row and column; nothing is written unless there is none.
    """
    ensure_may_upload_answers(session=session, submission_id=submission_id, by=by)
    scan = inspect_xlsx(upload, name=name, limits=limits)
    workbook = open_workbook(upload, name=name)
    try:
        read = read_answer_workbook(workbook, scan)
    finally:
        workbook.close()
    submission = session.get(Submission, submission_id)
    assert submission is not None
    row = submissions.template_row(session, submission.template_version_id)
    pin = read.pin
    if not pin:
        raise InvalidInput(
            f"{name} is not an answer workbook of E-Monev: it does not say which submission and SAQ version "
            "it was made for; download the answer workbook of this submission and fill that one",
            errors=[
                FieldProblem(
                    "file",
                    "no submission and template pin",
                    f"{name} bukan berkas jawaban E-Monev. Unduh berkas jawaban SAQ ini, isi, lalu unggah.",
                )
            ],
            indonesian=f"{name} bukan berkas jawaban E-Monev. Unduh berkas jawaban SAQ ini, isi, lalu "
            "unggah berkas itu.",
        )
    expected = (row.key, row.version, row.content_hash)
    found = (pin.get("template_key"), pin.get("template_version"), pin.get("template_hash"))
    if found != expected:
        raise InvalidInput(
            f"{name} was made for SAQ {found[0]} version {found[1]}, but this submission answers {row.key} "
            f"version {row.version}: download a new answer workbook",
            errors=[
                FieldProblem(
                    "file",
                    "made for another template version",
                    f"{name} dibuat untuk versi SAQ lain. Unduh berkas jawaban yang baru.",
                )
            ],
            indonesian=f"{name} dibuat untuk versi SAQ lain ({found[0]} versi {found[1]}), bukan {row.key} "
            f"versi {row.version}. Unduh berkas jawaban yang baru.",
        )
    if pin.get("submission_id") != str(submission.id):
        raise InvalidInput(
            f"{name} was made for submission {pin.get('submission_id')}, not {submission.id}",
            errors=[
                FieldProblem(
                    "file",
                    "made for another submission",
                    f"{name} dibuat untuk pengisian SAQ lain. Unduh berkas jawaban dari halaman SAQ ini.",
                )
            ],
            indonesian=f"{name} dibuat untuk pengisian SAQ lain. Unduh berkas jawaban dari halaman SAQ ini.",
        )
    pinned = pin.get("submission_version")
    if pinned is not None and pinned != str(submission.version):
        raise StaleVersion(
            f"{name} was downloaded at version {pinned} of submission {submission.id}, which is now at "
            f"version {submission.version}: someone saved in the meantime; download the workbook again",
            current_version=submission.version,
            indonesian=f"Jawaban sudah diubah sejak {name} diunduh. Unduh berkas jawaban lagi agar "
            "perubahan terbaru tidak tertimpa.",
        )
    if not read.rows and read.problems and not read.columns:
        raise cell_problems(name, read.problems, "the workbook cannot be read as an answer workbook")
    template = template_of(session, submission.template_version_id)
    change = patches(template, read.rows)
    where = {r.code: r.row for r in read.rows}
    problems = list(read.problems)
    savepoint = session.begin_nested()
    result: SaveResult | None = None
    try:
        result = submissions.save_answers(
            session=session,
            submission_id=submission_id,
            if_match=if_match if if_match is not None else (f'"{pinned}"' if pinned else None),
            answers=change,
            by=by,
            now=now,
        )
    except InvalidInput as exc:
        savepoint.rollback()
        for problem in exc.errors:
            located = _locate(problem.field, where, read.columns, "Jawaban")
            if located is None:
                problems.append(
                    CellProblem("Jawaban", 0, "", f"{problem.field}: {problem.message}", problem.indonesian)
                )
            else:
                code, number, column, sheet = located
                problems.append(
                    CellProblem(
                        sheet,
                        number,
                        column,
                        f"question {code}: {problem.message}",
                        f"pertanyaan {code}: {problem.indonesian}" if problem.indonesian else None,
                    )
                )
    except BaseException:
        savepoint.rollback()
        raise
    else:
        if problems:
            savepoint.rollback()
        else:
            savepoint.commit()
    if problems or result is None:
        problems.sort(key=lambda p: (p.row, p.column))
        raise cell_problems(name, problems, f"{len(problems)} problem(s); nothing was saved")
    return result


# --- Bodies -----------------------------------------------------------------------------------------------


def read_bodies_workbook(upload: IO[bytes], *, name: str, limits: UploadLimits) -> BodyRows:
    """The rows of bodies in an uploaded .xlsx (checked as untrusted first), with the problems of its cells
    (formulas, no header) for the caller to refuse or report."""
    scan = inspect_xlsx(upload, name=name, limits=limits)
    workbook = open_workbook(upload, name=name)
    try:
        return read_bodies(workbook, scan)
    finally:
        workbook.close()


def import_bodies_workbook(
    *,
    session: Session,
    commission_id: int,
    upload: IO[bytes],
    name: str,
    dry_run: bool,
    by: Principal,
    limits: UploadLimits,
    max_rows: int | None = None,
) -> ImportReport:
    """Register bodies from an .xlsx through the bodies import (same checks, dry run, all or nothing). More
    than ``max_rows`` rows is a 409 pointing at the job form (the import as a job)."""
    commission = get_commission(session=session, commission_id=commission_id, by=by)
    policy.ensure_admin(by, commission.id)
    read = read_bodies_workbook(upload, name=name, limits=limits)
    if read.problems:
        raise cell_problems(name, read.problems, f"{len(read.problems)} problem(s); nothing was imported")
    if max_rows is not None:
        refuse_in_request(len(read.rows), max_rows, commission.id)
    return import_bodies(
        session=session,
        commission=commission,
        rows=read.rows,
        dry_run=dry_run,
        by=by,
        row_numbers=read.numbers,
    )
