"""Why a published figure is what it is: each stage of a body's result (taken part or not, and the score
the round's rule counts for it), the gate's decision and how the final score follows.

Pure: it reads a publication's frozen rules (``PublishedRules``) and one published row, never the round as
it is now, so a later change of the round cannot rewrite the explanation of a published result. The
sentences are the words pages and workbooks show (Bahasa Indonesia); the API shows the structured
``StageOutcome`` with English reason codes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import scoring

SAQ = "saq"
SAQ_TITLE = "SAQ"
ZERO = "zero"
SAQ_ONLY = "saq_only"

# Why a body has no score of its own for a stage (``StageOutcome.reason``, as the API writes it).
NOT_PARTICIPATING_REASON = "not_participating"
GATE_NOT_PASSED = "gate_not_passed"
ABSENT = "absent"

NOT_TAKEN = "Tidak mengikuti"
COUNTED_ZERO = "Tidak mengikuti (dihitung 0)"
NOT_COUNTED = "Tidak mengikuti (tidak dihitung)"


@dataclass(frozen=True)
class PublishedRules:
    """The round's rules a publication froze: the weights (``"saq"`` first), the later stages' titles, the
    gate and the missing-stage policy."""

    stage_weights: Mapping[str, Decimal]
    stage_titles: Mapping[str, str]
    gate_min_score: Decimal | None
    gate_top_n: int | None
    missing_stage_policy: str

    @property
    def later(self) -> list[str]:
        return [code for code in self.stage_weights if code != SAQ]

    def title(self, code: str) -> str:
        return SAQ_TITLE if code == SAQ else self.stage_titles.get(code, code)


@dataclass(frozen=True)
class Outcome:
    """The parts of a published row an explanation reads (``app.results.service.ResultRow`` has them)."""

    participating: bool
    verified_score: Decimal | None
    stage_scores: Mapping[str, Decimal]
    final_score: Decimal | None
    passed_gate: bool | None
    gate_rank: int | None
    missing_stages: Sequence[str]


@dataclass(frozen=True)
class StageOutcome:
    """One stage of a body's published result.

    ``score`` is what the final score counts for the stage: the body's own score when it took part; for a
    stage it missed, 0 under the ``zero`` policy and None under ``saq_only`` (the stage is not counted) or
    when the body took no part in the round. ``reason`` (None when it took part): ``not_participating``,
    ``gate_not_passed`` or ``absent``."""

    code: str
    title: str
    weight: Decimal
    score: Decimal | None
    took_part: bool
    reason: str | None
    label: str
    """What a page or sheet shows for the stage: the score with a decimal comma, or "Tidak mengikuti" with
    what the rule counts ("(dihitung 0)", "(tidak dihitung)")."""


def figure(value: Decimal | None) -> str:
    """A published figure with a decimal comma: ``58,20``."""
    return "-" if value is None else f"{value:.2f}".replace(".", ",")


def number(value: Decimal | int) -> str:
    """A weight or threshold without needless decimals: ``60``, ``62,5``."""
    return f"{Decimal(value).normalize():f}".replace(".", ",")


def _titles(titles: Sequence[str]) -> str:
    if len(titles) <= 1:
        return "".join(titles)
    return ", ".join(titles[:-1]) + " dan " + titles[-1]


def stages(rules: PublishedRules, row: Outcome) -> list[StageOutcome]:
    """Every stage of the publication, the SAQ first, as the body's row stands in it."""
    missing = set(row.missing_stages)
    out = []
    for code, weight in rules.stage_weights.items():
        title = rules.title(code)
        if not row.participating:
            out.append(StageOutcome(code, title, weight, None, False, NOT_PARTICIPATING_REASON, NOT_TAKEN))
            continue
        own = row.stage_scores.get(code)
        if code not in missing and own is not None:
            out.append(StageOutcome(code, title, weight, own, True, None, figure(own)))
            continue
        reason = GATE_NOT_PASSED if row.passed_gate is False else ABSENT
        if rules.missing_stage_policy == SAQ_ONLY:
            out.append(StageOutcome(code, title, weight, None, False, reason, NOT_COUNTED))
        else:
            out.append(StageOutcome(code, title, weight, Decimal("0.00"), False, reason, COUNTED_ZERO))
    return out


def gate_sentence(rules: PublishedRules, row: Outcome, category_name: str) -> str | None:
    """Whether the body went on to the later stages and why, or None when the round has none or the body
    took no part: "Tidak lolos ke tahap Presentasi: nilai SAQ terverifikasi 58,20, batas 60."."""
    later = [rules.title(code) for code in rules.later]
    if not later or not row.participating or row.passed_gate is None:
        return None
    facts = []
    score = row.verified_score
    if rules.gate_min_score is not None and score is not None:
        below = score < rules.gate_min_score
        if below or row.passed_gate:
            facts.append(f"nilai SAQ terverifikasi {figure(score)}, batas {number(rules.gate_min_score)}")
    if rules.gate_top_n is not None and row.gate_rank is not None:
        outside = row.gate_rank > rules.gate_top_n
        if outside or row.passed_gate:
            top = rules.gate_top_n
            facts.append(f"peringkat {row.gate_rank} di kategori {category_name}, yang lolos {top} teratas")
    stages_text = f"tahap {_titles(later)}"
    if row.passed_gate:
        if not facts:
            return f"Lolos ke {stages_text}: periode ini tidak memakai batas nilai atau peringkat."
        return f"Lolos ke {stages_text}: {'; '.join(facts)}."
    if not facts:
        return f"Tidak lolos ke {stages_text}."
    return f"Tidak lolos ke {stages_text}: {'; '.join(facts)}."


def final_sentence(rules: PublishedRules, row: Outcome) -> str:
    """How the final score follows from the stage scores, the weights and the missing-stage policy."""
    if not row.participating:
        return (
            "Badan publik ini tidak mengikuti penilaian (tidak mengirim SAQ), sehingga tidak memperoleh "
            "nilai akhir, kualifikasi, maupun peringkat."
        )
    outcomes = stages(rules, row)
    missed = [s for s in outcomes if not s.took_part]
    if missed and rules.missing_stage_policy == SAQ_ONLY:
        return (
            f"Nilai akhir = nilai SAQ terverifikasi {figure(row.verified_score)}: menurut aturan periode "
            "ini, tahap yang tidak diikuti tidak dihitung."
        )
    terms = " + ".join(
        f"{s.title} {figure(s.score) if s.score is not None else '0'} × {number(s.weight)}%" for s in outcomes
    )
    sentence = f"Nilai akhir = {terms} = {figure(row.final_score)}."
    if missed:
        return f"Menurut aturan periode ini, tahap yang tidak diikuti dihitung 0. {sentence}"
    return sentence


def band_sentence(bands: Sequence[scoring.Band], code: str | None, final: Decimal | None) -> str | None:
    """Which range of the template's bands the final score falls in: "Cukup Informatif: nilai akhir 76,50
    berada pada rentang 60 sampai di bawah 80."."""
    if code is None or final is None:
        return None
    ordered = sorted(bands, key=lambda b: b.min, reverse=True)
    for index, band in enumerate(ordered):
        if band.code != code:
            continue
        if index == 0:
            span = f"rentang {number(band.min)} sampai 100"
        else:
            span = f"rentang {number(band.min)} sampai di bawah {number(ordered[index - 1].min)}"
        return f"{band.label}: nilai akhir {figure(final)} berada pada {span}."
    return None
