"""Final scores of a round, computed live, and their publication as frozen revisions.

The final score (``scoring.final_score``) is the sum of the published stage scores x the round's weights
(``"saq"``: the verified SAQ score with ``round.saq_weight``; each later stage with its weight), published
once. A body that took part but did not pass the gate keeps the score the round's ``missing_stage_policy``
gives it: ``zero`` (each stage it did not reach counts 0) or ``saq_only`` (its final score is its verified
SAQ score). A body that passed the gate needs a score for every stage; until then its result is
incomplete and the round cannot be published. A body that did not take part (tidak mengikuti) gets no
score, band or rank.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

import scoring
from app.accounts import policy
from app.accounts.principal import Principal
from app.audit.service import record
from app.db.models import (
    BodyCategory,
    Invitation,
    Objection,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    Stage,
    Submission,
    TemplateVersion,
)
from app.errors import Conflict, TooLargeAtOnce
from app.mail import season as season_mail
from app.pagination import PageParams, encode_cursor
from app.questionnaires.service import parsed
from app.results.explain import number
from app.results.schemas import LiveResultOut, LiveResultsOut
from app.results.service import SAQ, latest_publication, score_text, scores_text
from app.rounds.service import change_status, get_round
from app.stages.service import competition_ranks, gate_results, round_stage_scores
from app.verification.scores import round_scores
from app.webhooks import outbox as webhook_events

PUBLISHABLE = frozenset({"final", "published"})


@dataclass
class LiveResult:
    """One invited body's result as it stands now (not published)."""

    body_id: int
    body_name: str
    region_code: str | None
    category_id: int
    category_code: str
    participating: bool
    verification_status: str | None = None
    self_score: Decimal | None = None
    verified_score: Decimal | None = None
    aspect_scores: dict[str, Decimal] = field(default_factory=dict)
    passed_gate: bool | None = None
    gate_rank: int | None = None
    stage_scores: dict[str, Decimal] = field(default_factory=dict)
    missing_stages: list[str] = field(default_factory=list)
    final_score: Decimal | None = None
    band: str | None = None
    rank: int | None = None
    incomplete: str | None = None
    incomplete_text: str | None = None
    """Why the result is incomplete, in the words a page shows (``incomplete`` is the API's English)."""


def weights_of(session: Session, round_: Round) -> dict[str, Decimal]:
    """The weights of the final score: ``"saq"`` first, then each later stage by position."""
    weights = {SAQ: Decimal(round_.saq_weight)}
    for stage in session.scalars(
        select(Stage).where(Stage.round_id == round_.id).order_by(Stage.position, Stage.id)
    ):
        weights[stage.code] = Decimal(stage.weight)
    return weights


def frozen_rules(session: Session, round_: Round) -> dict[str, Any]:
    """What a publication freezes of the round's rules besides the weights: the gate, the missing-stage
    policy and the later stages' titles (by code, in stage order)."""
    stages = session.scalars(
        select(Stage).where(Stage.round_id == round_.id).order_by(Stage.position, Stage.id)
    )
    return {
        "gate_min_score": round_.gate_min_score,
        "gate_top_n": round_.gate_top_n,
        "missing_stage_policy": round_.missing_stage_policy,
        "stage_titles": {stage.code: stage.title for stage in stages},
    }


def _rules_of(publication: Publication) -> dict[str, Any]:
    return {
        "gate_min_score": publication.gate_min_score,
        "gate_top_n": publication.gate_top_n,
        "missing_stage_policy": publication.missing_stage_policy,
        "stage_titles": dict(publication.stage_titles or {}),
    }


def plain(value: Decimal) -> str:
    """A weight as published: ``70`` for 70.000, ``12.5`` for 12.500."""
    return format(value.normalize(), "f")


def _bands_of(
    session: Session, version_id: int, cache: dict[int, tuple[scoring.Band, ...]]
) -> tuple[scoring.Band, ...]:
    bands = cache.get(version_id)
    if bands is None:
        version = session.get(TemplateVersion, version_id)
        assert version is not None
        bands = cache[version_id] = parsed(version).bands
    return bands


def live_results(*, session: Session, round_: Round) -> list[LiveResult]:
    """Every invited body's result computed now, ordered by category code, rank (unranked last), body name."""
    weights = weights_of(session, round_)
    later = [code for code in weights if code != SAQ]
    bodies = session.execute(
        select(PublicBody, BodyCategory)
        .join(Invitation, Invitation.body_id == PublicBody.id)
        .join(BodyCategory, BodyCategory.id == PublicBody.category_id)
        .where(Invitation.round_id == round_.id)
    ).all()
    cards = round_scores(session=session, round_id=round_.id)
    gates = gate_results(session=session, round_=round_, cards=cards, body_ids=[b.id for b, _ in bodies])
    _, stage_scores = round_stage_scores(session=session, round_=round_)
    bands: dict[int, tuple[scoring.Band, ...]] = {}
    total = sum(weights.values(), Decimal(0))
    bad_weights = None if total == 100 else f"the SAQ and stage weights sum to {plain(total)}, not 100"
    bad_weights_text = f"Bobot SAQ dan tahap berjumlah {number(total)}, bukan 100: perbaiki bobot tahap."
    titles = frozen_rules(session, round_)["stage_titles"]
    results: list[LiveResult] = []
    for body, category in bodies:
        card = cards.get(body.id)
        result = LiveResult(
            body_id=body.id,
            body_name=body.name,
            region_code=body.region_code,
            category_id=category.id,
            category_code=category.code,
            participating=card is not None and card.took_part,
        )
        results.append(result)
        if card is None or not card.took_part:
            continue
        result.verification_status = card.verification_status
        result.self_score = card.self_score
        if not card.verified:
            result.incomplete = "verification not completed"
            result.incomplete_text = "Verifikasi belum selesai."
            continue
        result.verified_score = card.verified_score
        result.aspect_scores = dict(card.verified_aspects)
        gate = gates[body.id]
        result.passed_gate = gate.passes
        result.gate_rank = gate.rank
        # A body that did not pass the gate reached no later stage, even if a judge scored it before the gate
        # changed: the missing-stage policy decides its final score.
        reached = stage_scores.get(body.id, {}) if gate.passes else {}
        result.stage_scores = {SAQ: card.verified_score} | {
            code: reached[code] for code in later if code in reached
        }
        result.missing_stages = [code for code in later if code not in reached]
        if gate.passes and result.missing_stages:
            result.incomplete = f"no panel score yet for {', '.join(result.missing_stages)}"
            names = ", ".join(titles.get(code, code) for code in result.missing_stages)
            result.incomplete_text = f"Lolos ke tahap berikutnya, tetapi belum ada nilai juri untuk {names}."
            continue
        if bad_weights:
            result.incomplete = bad_weights
            result.incomplete_text = bad_weights_text
            continue
        if not gate.passes and round_.missing_stage_policy == "saq_only" and later:
            result.final_score = scoring.final_score({SAQ: card.verified_score}, {SAQ: Decimal(100)})
        else:
            figures = {code: result.stage_scores.get(code, Decimal(0)) for code in weights}
            result.final_score = scoring.final_score(figures, weights)
        result.band = scoring.band_for(
            _bands_of(session, card.template_version_id, bands), result.final_score
        ).code
    _rank(results)
    results.sort(key=lambda r: (r.category_code, r.rank is None, r.rank or 0, r.body_name, r.body_id))
    return results


def _rank(results: list[LiveResult]) -> None:
    by_category: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for r in results:
        if r.final_score is not None:
            by_category[r.category_id][r.body_id] = r.final_score
    ranks: dict[int, int] = {}
    for scores in by_category.values():
        ranks.update(competition_ranks(scores))
    for r in results:
        r.rank = ranks.get(r.body_id)


def results_for_admin(*, session: Session, round_id: int, by: Principal) -> tuple[Round, list[LiveResult]]:
    round_ = get_round(session=session, round_id=round_id)
    policy.ensure_admin(by, round_.commission_id)
    return round_, live_results(session=session, round_=round_)


def absent_snapshot(body_id: int, category_id: int, stage_codes: list[str]) -> dict[str, Any]:
    """The published row of an invited body that took no part (tidak mengikuti): no score, band or rank;
    it missed every stage (``stage_codes``, the SAQ first)."""
    return {
        "body_id": body_id,
        "category_id": category_id,
        "participating": False,
        "self_score": None,
        "verified_score": None,
        "stage_scores": {},
        "aspect_scores": {},
        "final_score": None,
        "band": None,
        "rank": None,
        "passed_gate": None,
        "gate_rank": None,
        "missing_stages": list(stage_codes),
    }


def _snapshot(result: LiveResult, stage_codes: list[str]) -> dict[str, Any]:
    if not result.participating:
        return absent_snapshot(result.body_id, result.category_id, stage_codes)
    return {
        "body_id": result.body_id,
        "category_id": result.category_id,
        "participating": True,
        "self_score": result.self_score,
        "verified_score": result.verified_score,
        "stage_scores": scores_text(result.stage_scores),
        "aspect_scores": scores_text(result.aspect_scores),
        "final_score": result.final_score,
        "band": result.band,
        "rank": result.rank,
        "passed_gate": result.passed_gate,
        "gate_rank": result.gate_rank,
        "missing_stages": list(result.missing_stages),
    }


def _comparable(row: dict[str, Any]) -> tuple[Any, ...]:
    def dec(value: Any) -> Any:
        return None if value is None else Decimal(value)

    return (
        row["body_id"],
        row["category_id"],
        row["participating"],
        dec(row["self_score"]),
        dec(row["verified_score"]),
        tuple(sorted((k, Decimal(v)) for k, v in (row["stage_scores"] or {}).items())),
        tuple(sorted((k, Decimal(v)) for k, v in (row["aspect_scores"] or {}).items())),
        dec(row["final_score"]),
        row["band"],
        row["rank"],
        row["passed_gate"],
        row["gate_rank"],
        tuple(row["missing_stages"] or ()),
    )


def _published_rows(session: Session, publication: Publication) -> set[tuple[Any, ...]]:
    rows = session.scalars(select(PublishedResult).where(PublishedResult.publication_id == publication.id))
    return {
        _comparable(
            {
                "body_id": r.body_id,
                "category_id": r.category_id,
                "participating": r.participating,
                "self_score": r.self_score,
                "verified_score": r.verified_score,
                "stage_scores": r.stage_scores,
                "aspect_scores": r.aspect_scores,
                "final_score": r.final_score,
                "band": r.band,
                "rank": r.rank,
                "passed_gate": r.passed_gate,
                "gate_rank": r.gate_rank,
                "missing_stages": r.missing_stages,
            }
        )
        for r in rows
    }


def refuse_in_request(
    session: Session, round_: Round, max_bodies: int | None, job_path: str, body: dict[str, Any] | None
) -> None:
    """A round of more than ``max_bodies`` invited bodies is not computed within a request (409 naming the
    job in ``job_request``): every score is recomputed, about 15 ms per body, and a proxy's time limit would
    cut it off."""
    if max_bodies is None:
        return
    invited = session.scalar(
        select(func.count()).select_from(Invitation).where(Invitation.round_id == round_.id)
    )
    if invited is not None and invited > max_bodies:
        raise TooLargeAtOnce(
            f"the round has {invited} invited bodies, more than the {max_bodies} computed at once; ask for "
            f"it as a job with POST {job_path}, then follow its Location",
            job_request={"method": "POST", "href": job_path, "body": body},
            bodies=invited,
            max_bodies=max_bodies,
            indonesian=f"Periode ini mengundang {invited} badan publik, lebih dari {max_bodies} yang dapat "
            "dihitung langsung. Jalankan sebagai pekerjaan latar belakang.",
        )


def _first_incomplete(results: list[LiveResult]) -> str:
    first = next(r for r in results if r.incomplete)
    return f"{first.body_name}: {first.incomplete_text}"


def _refuse_open_objections(session: Session, round_: Round) -> None:
    """An objection still open would change a verified answer after the results are frozen (and the letters
    and result sheets read the verified answers): decide every objection first."""
    pending = session.scalar(
        select(func.count())
        .select_from(Objection)
        .join(Submission, Submission.id == Objection.submission_id)
        .where(Submission.round_id == round_.id, Objection.status == "open")
    )
    if pending:
        raise Conflict(
            f"{pending} objection(s) of round {round_.title} are still open: decide them before publishing",
            open_objections=pending,
            indonesian=f"Masih ada {pending} sanggahan yang belum diputus pada {round_.title}. Putuskan "
            "semua sanggahan sebelum hasil diumumkan.",
        )


def publish(
    *,
    session: Session,
    round_id: int,
    by: Principal,
    reason: str,
    now: datetime | None = None,
    max_bodies: int | None = None,
) -> Publication:
    """Freeze the round's results as a new revision. Refused (409) unless the round is ``final`` (first
    publication) or ``published`` (a correction), while an objection is open or a result is incomplete, or
    when nothing changed since the latest revision, or (given ``max_bodies``) when the round is too large
    for a request. The first publication moves the round to ``published``."""
    round_ = get_round(session=session, round_id=round_id, for_update=True)
    policy.ensure_admin(by, round_.commission_id)
    refuse_in_request(
        session, round_, max_bodies, f"/api/v1/rounds/{round_.id}/publish-jobs", {"reason": reason}
    )
    if round_.status not in PUBLISHABLE:
        raise Conflict(
            f"a round is published once it is final; round {round_.title} is {round_.status}",
            round_status=round_.status,
            indonesian=f"Hasil {round_.title} baru dapat diumumkan setelah periode berstatus Penetapan nilai "
            "akhir. Ubah status periode lebih dahulu.",
        )
    _refuse_open_objections(session, round_)
    weights = weights_of(session, round_)
    total = sum(weights.values(), Decimal(0))
    if total != 100:
        raise Conflict(
            f"the SAQ and stage weights sum to {plain(total)}, not 100: fix the round's stages",
            indonesian=f"Bobot SAQ dan tahap berjumlah {number(total)}, bukan 100. Perbaiki bobot tahap pada "
            "halaman periode.",
        )
    results = live_results(session=session, round_=round_)
    incomplete = [
        {"body_id": r.body_id, "body_name": r.body_name, "reason": r.incomplete}
        for r in results
        if r.incomplete
    ]
    if incomplete:
        raise Conflict(
            f"{len(incomplete)} result(s) are not complete yet; see incomplete",
            incomplete=incomplete[:100],
            indonesian=f"{len(incomplete)} hasil belum lengkap sehingga belum dapat diumumkan. Contohnya "
            f"{_first_incomplete(results)}",
        )
    snapshot = [_snapshot(r, list(weights)) for r in results]
    stage_weights = {code: plain(w) for code, w in weights.items()}
    rules = frozen_rules(session, round_)
    latest = latest_publication(session=session, round_=round_)
    if (
        latest is not None
        and dict(latest.stage_weights) == stage_weights
        and _rules_of(latest) == rules
        and _published_rows(session, latest) == {_comparable(row) for row in snapshot}
    ):
        raise Conflict(
            f"nothing changed since revision {latest.revision}: a new revision records a correction",
            revision=latest.revision,
            indonesian=f"Tidak ada yang berubah sejak revisi {latest.revision}: revisi baru hanya untuk "
            "mencatat koreksi.",
        )
    publication = Publication(
        round_id=round_.id,
        revision=(latest.revision + 1) if latest is not None else 1,
        reason=reason,
        published_by_id=by.account_id,
        stage_weights=stage_weights,
        **rules,
    )
    if now is not None:
        publication.created_at = now
    session.add(publication)
    session.flush()
    # Inserted in ranking order, so a category's rows in id order are its ranking.
    if snapshot:
        session.execute(
            insert(PublishedResult), [row | {"publication_id": publication.id} for row in snapshot]
        )
    record(
        session=session,
        actor=by,
        action="round.publish",
        entity="publication",
        entity_id=publication.id,
        before={"revision": latest.revision} if latest is not None else None,
        after={
            "round_id": round_.id,
            "revision": publication.revision,
            "reason": reason,
            "stage_weights": stage_weights,
            "gate_min_score": score_text(round_.gate_min_score),
            "gate_top_n": round_.gate_top_n,
            "missing_stage_policy": round_.missing_stage_policy,
            "bodies": len(snapshot),
            "participating": sum(1 for r in snapshot if r["participating"]),
        },
        commission_id=round_.commission_id,
    )
    if round_.status == "final":
        change_status(session=session, round_=round_, to="published", by=by)
    session.flush()
    season_mail.results_published(session, round_=round_, publication=publication)
    webhook_events.results_published(session, round_=round_, publication=publication)
    return publication


def _live_out(r: LiveResult) -> LiveResultOut:
    return LiveResultOut(
        body_id=r.body_id,
        body_name=r.body_name,
        category=r.category_code,
        participating=r.participating,
        verification_status=r.verification_status,
        self_score=score_text(r.self_score),
        verified_score=score_text(r.verified_score),
        passed_gate=r.passed_gate,
        stage_scores=scores_text(r.stage_scores),
        missing_stages=r.missing_stages,
        final_score=score_text(r.final_score),
        band=r.band,
        rank=r.rank,
        incomplete=r.incomplete,
    )


def live_results_view(
    *,
    session: Session,
    round_id: int,
    by: Principal,
    category: str | None,
    params: PageParams,
    max_bodies: int | None = None,
) -> LiveResultsOut:
    """The round's results computed now (administrators only; never shown to bodies), in ranking order
    (category, rank, name), paginated by position; 409 past ``max_bodies`` invited bodies."""
    round_ = get_round(session=session, round_id=round_id)
    policy.ensure_admin(by, round_.commission_id)
    refuse_in_request(session, round_, max_bodies, f"/api/v1/rounds/{round_.id}/results/preview-jobs", None)
    results = live_results(session=session, round_=round_)
    listed = results if category is None else [r for r in results if r.category_code == category]
    start = params.after_id or 0
    more = start + params.limit < len(listed)
    return _results_out(
        session,
        round_,
        results,
        listed[start : start + params.limit],
        next_cursor=encode_cursor(start + params.limit) if more else None,
    )


def live_results_document(*, session: Session, round_id: int, by: Principal) -> LiveResultsOut:
    """Every result of the round computed now, in one document (what the ``results_preview`` job keeps):
    the pages of ``live_results_view`` put together."""
    round_ = get_round(session=session, round_id=round_id)
    policy.ensure_admin(by, round_.commission_id)
    results = live_results(session=session, round_=round_)
    return _results_out(session, round_, results, results, next_cursor=None)


def _results_out(
    session: Session,
    round_: Round,
    results: list[LiveResult],
    listed: list[LiveResult],
    *,
    next_cursor: str | None,
) -> LiveResultsOut:
    incomplete = sum(1 for r in results if r.incomplete)
    return LiveResultsOut(
        round_id=round_.id,
        stage_weights={code: plain(w) for code, w in weights_of(session, round_).items()},
        missing_stage_policy=round_.missing_stage_policy,
        ready_to_publish=incomplete == 0,
        incomplete=incomplete,
        items=[_live_out(r) for r in listed],
        next_cursor=next_cursor,
    )
