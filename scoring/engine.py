"""Scoring one submission exactly, publishing figures and combining stage scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from typing import Any

from scoring._compiled import ZERO, InvalidValue, evaluate
from scoring.answers import Answer, AnswerError, AnswerProblem
from scoring.template import Band, Template

__all__ = [
    "AspectScore",
    "QuestionScore",
    "QuestionStatus",
    "ScoreCard",
    "band_for",
    "final_score",
    "publish",
    "score",
]

HUNDRED = Fraction(100)


class QuestionStatus(StrEnum):
    """How a question counted."""

    SCORED = "scored"
    """Answered and counted (a "no" counts, earning 0)."""
    UNANSWERED = "unanswered"
    EVIDENCE_MISSING = "evidence_missing"
    """The answer would earn something but its required evidence is missing, so it earns 0."""
    NOT_APPLICABLE = "not_applicable"
    """Its condition (`when`) is false: it leaves its aspect's maximum."""
    NOT_SCORED = "not_scored"
    """A text question."""


@dataclass(frozen=True, slots=True)
class QuestionScore:
    """How one question counted. `earned` and `maximum` are in weight units: they add up to the aspect's."""

    code: str
    aspect_code: str
    earned: Fraction
    maximum: Fraction
    status: QuestionStatus


@dataclass(frozen=True, slots=True)
class AspectScore:
    """One aspect's result.

    `weight` is the template's; `effective_weight` is the weight after rescaling the applicable aspects to 100
    (0 when the aspect dropped out). `score` (published) and `exact` are None when no question of the aspect
    is applicable.
    """

    code: str
    title: str
    weight: Decimal
    effective_weight: Fraction
    earned: Fraction
    maximum: Fraction
    score: Decimal | None
    exact: Fraction | None
    applicable: bool


@dataclass(frozen=True, slots=True)
class ScoreCard:
    """The result of scoring one submission: the published score, its band, and every aspect and question."""

    template_key: str
    template_version: str
    score: Decimal
    band: Band
    exact: Fraction
    aspects: tuple[AspectScore, ...]
    questions: tuple[QuestionScore, ...]

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by the command line and the preview API; figures are strings with two decimals.

        An aspect that dropped out (no applicable question) has score null.
        """
        return {
            "template_key": self.template_key,
            "template_version": self.template_version,
            "score": str(self.score),
            "band": self.band.code,
            "aspects": [
                {
                    "code": aspect.code,
                    "title": aspect.title,
                    "score": None if aspect.score is None else str(aspect.score),
                    "weight": str(publish(aspect.weight)),
                }
                for aspect in self.aspects
            ],
            "questions": [
                {
                    "code": question.code,
                    "earned": str(publish(question.earned)),
                    "max": str(publish(question.maximum)),
                    "status": question.status.value,
                }
                for question in self.questions
            ],
        }


def publish(x: Fraction | Decimal | int) -> Decimal:
    """Round an exact figure half-up to 2 decimals, the one rounding a published figure gets.

    89.995 becomes 90.00 and 89.985 becomes 89.99 (half-up: ties go away from zero).
    """
    exact = Fraction(x) * 100
    magnitude = abs(exact)
    cents = (magnitude.numerator * 2 + magnitude.denominator) // (magnitude.denominator * 2)
    return Decimal(-cents if exact < 0 else cents).scaleb(-2)


def band_for(bands: Sequence[Band], published: Decimal) -> Band:
    """The first band (bands are listed highest first) whose min the published score reaches."""
    for band in bands:
        if published >= band.min:
            return band
    raise ValueError(f"no band for the score {published}: the last band must have min 0")


def score(template: Template, answers: Mapping[str, Answer]) -> ScoreCard:
    """Score one submission exactly.

    A question earns fraction x weight: yes_no yes 1, no 0; choice the option's score; multi_choice the sum of
    the chosen options' scores capped at 1; number the score of the first band (highest min first) the value
    reaches, 0 below all bands; text is never scored. Unanswered earns 0; an answer that would earn something
    but lacks its required evidence earns 0; a question whose condition is false is not applicable and leaves
    its aspect's maximum. Aspect score = 100 x earned / maximum of its applicable questions; an aspect without
    applicable questions drops out and the weights of the others are rescaled to 100. The SAQ score is the sum
    of aspect score x weight / 100 (0 when every aspect dropped out), published half-up to 2 decimals; the
    band is decided on the published score.

    Raises `AnswerError` for answers to unknown questions or values that do not fit their question.
    """
    compiled = template._compiled
    problems = [
        AnswerProblem(code, "", "unknown question code") for code in answers if code not in compiled.by_code
    ]
    count = len(compiled.questions)
    denominator = compiled.denominator
    applicable = [True] * count
    # What each question earns and could earn, in 1/denominator units: integers, so that summing a hundred
    # questions costs integer additions instead of fraction normalisations.
    earned: list[int] = [0] * count
    maximum: list[int] = [0] * count
    status: list[QuestionStatus] = [QuestionStatus.NOT_APPLICABLE] * count
    chosen: list[tuple[str, ...]] = [()] * count

    invalid: list[tuple[int, AnswerProblem]] = []
    for index in compiled.order:
        question = compiled.questions[index]
        answer = answers.get(question.code)
        fraction: Fraction | None = None
        values: tuple[str, ...] = ()
        if question.scored:
            try:
                fraction, values = evaluate(question, None if answer is None else answer.value)
            except InvalidValue as exc:
                invalid.append((index, AnswerProblem(question.code, "value", str(exc))))
                continue
        if question.condition is not None:
            target, equals = question.condition
            if not applicable[target] or equals.isdisjoint(chosen[target]):
                applicable[index] = False
                continue
        if not question.scored:
            status[index] = QuestionStatus.NOT_SCORED
            continue
        chosen[index] = values
        maximum[index] = question.weight_units
        if fraction is None:
            status[index] = QuestionStatus.UNANSWERED
        elif fraction and question.evidence_required and (answer is None or not answer.evidence):
            status[index] = QuestionStatus.EVIDENCE_MISSING
        else:
            status[index] = QuestionStatus.SCORED
            # Exact: weight x score is a whole number of units by the choice of the denominator.
            earned[index] = fraction.numerator * question.weight_units // fraction.denominator
    problems.extend(problem for _, problem in sorted(invalid, key=lambda item: item[0]))
    if problems:
        raise AnswerError(problems)

    aspect_totals = []
    weight_sum = ZERO
    for aspect in compiled.aspects:
        aspect_earned = _units(sum(earned[index] for index in aspect.questions), denominator)
        aspect_maximum = _units(sum(maximum[index] for index in aspect.questions), denominator)
        aspect_totals.append((aspect_earned, aspect_maximum))
        if aspect_maximum:
            weight_sum += Fraction(aspect.weight)

    aspects = []
    total = ZERO
    for aspect, (aspect_earned, aspect_maximum) in zip(compiled.aspects, aspect_totals, strict=True):
        if aspect_maximum:
            exact = HUNDRED * aspect_earned / aspect_maximum
            effective_weight = HUNDRED * Fraction(aspect.weight) / weight_sum
            total += exact * effective_weight / HUNDRED
            aspects.append(
                AspectScore(
                    aspect.code,
                    aspect.title,
                    aspect.weight,
                    effective_weight,
                    aspect_earned,
                    aspect_maximum,
                    publish(exact),
                    exact,
                    applicable=True,
                )
            )
        else:
            aspects.append(
                AspectScore(
                    aspect.code, aspect.title, aspect.weight, ZERO, ZERO, ZERO, None, None, applicable=False
                )
            )

    published = publish(total)
    return ScoreCard(
        template_key=template.key,
        template_version=template.version,
        score=published,
        band=band_for(template.bands, published),
        exact=total,
        aspects=tuple(aspects),
        questions=tuple(
            QuestionScore(
                question.code,
                compiled.aspects[question.aspect].code,
                _units(earned[question.index], denominator),
                _units(maximum[question.index], denominator),
                status[question.index],
            )
            for question in compiled.questions
        ),
    )


@lru_cache(maxsize=4096)
def _units(units: int, denominator: int) -> Fraction:
    # Fractions are immutable, and a template's questions earn few distinct amounts: shared, not rebuilt.
    return Fraction(units, denominator)


def panel_score(judge_scores: Sequence[Decimal], aggregation: str = "mean") -> Decimal | None:
    """A later stage's score from its judges' scores: their exact mean (``mean``, the one aggregation so far),
    published once; None when no judge scored. Raises ValueError for an unknown aggregation.
    """
    if not judge_scores:
        return None
    if aggregation != "mean":
        raise ValueError(f"unknown aggregation {aggregation!r}")
    return publish(sum((Fraction(s) for s in judge_scores), ZERO) / len(judge_scores))


def final_score(stage_scores: Mapping[str, Decimal], weights: Mapping[str, Decimal | int]) -> Decimal:
    """The final score of a round: the sum of published stage scores x stage weights / 100, published once.

    Each stage score is taken as published (rounded half-up to 2 decimals if it is not already). The weights
    must not be negative and must sum to 100. Every weighted stage needs a score, and every score a weight:
    applying the round's policy for a stage a body did not reach (its SAQ score alone, or 0) is the caller's
    decision. Raises ValueError otherwise.
    """
    if any(isinstance(weight, bool) or weight < 0 for weight in weights.values()):
        raise ValueError(f"stage weights must be non-negative numbers: {dict(weights)}")
    total_weight = sum((Fraction(weight) for weight in weights.values()), ZERO)
    if total_weight != 100:
        raise ValueError(f"stage weights must sum to 100, not {publish(total_weight)}")
    missing = sorted(set(weights) - set(stage_scores))
    if missing:
        raise ValueError(f"no score for stage(s) {', '.join(missing)}")
    unweighted = sorted(set(stage_scores) - set(weights))
    if unweighted:
        raise ValueError(f"no weight for stage(s) {', '.join(unweighted)}")
    exact = sum(
        (
            Fraction(publish(stage_scores[stage])) * Fraction(weight) / HUNDRED
            for stage, weight in weights.items()
        ),
        ZERO,
    )
    return publish(exact)
