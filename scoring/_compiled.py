"""A template flattened for scoring, and what an answer value means: shared by `score` and `score_many`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from scoring.template import EvidenceRule, QuestionType, Template

ONE = Fraction(1)
ZERO = Fraction(0)


class InvalidValue(ValueError):
    """An answer value that does not fit its question."""


@dataclass(frozen=True, slots=True)
class CompiledQuestion:
    index: int
    code: str
    aspect: int
    type: QuestionType
    weight: Fraction
    evidence_required: bool
    scores: Mapping[str, Fraction]
    bands: tuple[tuple[Decimal, Fraction], ...]
    condition: tuple[int, frozenset[str]] | None
    scored: bool
    weight_units: int
    """`weight` x the template's `denominator`: sums of earned weight are added as integers."""


@dataclass(frozen=True, slots=True)
class CompiledAspect:
    code: str
    title: str
    weight: Decimal
    questions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    questions: tuple[CompiledQuestion, ...]
    by_code: Mapping[str, CompiledQuestion]
    aspects: tuple[CompiledAspect, ...]
    order: tuple[int, ...]
    """Question indexes ordered so that every condition's question comes before the questions it governs."""
    denominator: int
    """A common denominator of every weight x score a question can earn: in these units they are integers."""


def compile_template(template: Template) -> CompiledTemplate:
    """Flatten a validated template into indexed questions with exact fractions."""
    entries = template.questions()
    denominator = _common_denominator(template)
    index_of = {entry.question.code: index for index, entry in enumerate(entries)}
    aspect_index = {aspect.code: index for index, aspect in enumerate(template.aspects)}
    questions = []
    for index, (aspect_code, question) in enumerate(entries):
        if question.type is QuestionType.YES_NO:
            scores = {"yes": ONE, "no": ZERO}
        else:
            scores = {option.value: Fraction(option.score) for option in question.options}
        condition = None
        if question.when is not None:
            condition = (index_of[question.when.question], frozenset(question.when.equals))
        questions.append(
            CompiledQuestion(
                index=index,
                code=question.code,
                aspect=aspect_index[aspect_code],
                type=question.type,
                weight=Fraction(question.weight),
                evidence_required=question.evidence is EvidenceRule.REQUIRED,
                scores=scores,
                bands=tuple((band.min, Fraction(band.score)) for band in question.bands),
                condition=condition,
                scored=question.type is not QuestionType.TEXT,
                weight_units=int(Fraction(question.weight) * denominator),
            )
        )
    aspects = tuple(
        CompiledAspect(
            code=aspect.code,
            title=aspect.title,
            weight=aspect.weight,
            questions=tuple(index for index, entry in enumerate(entries) if entry.aspect_code == aspect.code),
        )
        for aspect in template.aspects
    )
    return CompiledTemplate(
        questions=tuple(questions),
        by_code={question.code: question for question in questions},
        aspects=aspects,
        order=_evaluation_order(questions),
        denominator=denominator,
    )


def _common_denominator(template: Template) -> int:
    """The least common multiple of the denominators of every weight and every weight x score: whatever a
    question earns (a multi_choice earns a sum of such products, capped at its weight) is a whole number of
    1/denominator."""
    denominator = 1
    for entry in template.questions():
        question = entry.question
        weight = Fraction(question.weight)
        scores = [option.score for option in question.options] + [band.score for band in question.bands]
        for value in [weight, *(weight * Fraction(score) for score in scores)]:
            denominator = math.lcm(denominator, value.denominator)
    return denominator


def _evaluation_order(questions: list[CompiledQuestion]) -> tuple[int, ...]:
    order: list[int] = []
    placed: set[int] = set()
    for question in questions:
        chain = [question.index]
        while (condition := questions[chain[-1]].condition) is not None and condition[0] not in placed:
            chain.append(condition[0])
        for index in reversed(chain):
            if index not in placed:
                placed.add(index)
                order.append(index)
    return tuple(order)


def is_missing(value: object) -> bool:
    """None, NaN, an empty string or an empty list: the question is unanswered."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple):
        return len(value) == 0
    return isinstance(value, float) and math.isnan(value)


def evaluate(question: CompiledQuestion, value: object) -> tuple[Fraction | None, tuple[str, ...]]:
    """The fraction of the weight that `value` earns (None when unanswered or text) and the values it chose.

    Accepted values: `yes_no` "yes"/"no"; `choice` an option value; `multi_choice` a list of option values or
    one string of comma-separated option values; `number` a Decimal, int, float or numeric string; `text`
    anything. Raises `InvalidValue` otherwise.
    """
    if question.type is QuestionType.TEXT or is_missing(value):
        return None, ()
    if question.type is QuestionType.NUMBER:
        number = to_number(value)
        for minimum, score in question.bands:
            if number >= minimum:
                return score, ()
        return ZERO, ()
    if question.type is QuestionType.MULTI_CHOICE:
        chosen = _chosen(question, value)
        return min(ONE, sum((question.scores[item] for item in chosen), ZERO)), chosen
    if not isinstance(value, str):
        raise InvalidValue(f"must be a string, not {type(value).__name__}")
    option_score = question.scores.get(value)
    if option_score is None:
        raise InvalidValue(_not_an_option(question, value))
    return option_score, (value,)


def _not_an_option(question: CompiledQuestion, value: str) -> str:
    if question.type is QuestionType.YES_NO:
        return f"must be 'yes' or 'no', not {value!r}"
    return f"{value!r} is not an option (options: {', '.join(question.scores)})"


def _chosen(question: CompiledQuestion, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[object] = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise InvalidValue(f"must be a list of option values, not {type(value).__name__}")
    chosen: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InvalidValue(
                f"must be a list of option values, not a list containing {type(item).__name__}"
            )
        if item not in question.scores:
            raise InvalidValue(_not_an_option(question, item))
        if item in chosen:
            raise InvalidValue(f"option {item!r} is chosen more than once")
        chosen.append(item)
    return tuple(chosen)


def to_number(value: object) -> Decimal:
    """A number answer as an exact Decimal; raises `InvalidValue` if it is not a finite number."""
    if isinstance(value, bool):
        raise InvalidValue(f"{value!r} is not a number")
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int | str):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        else:
            raise InvalidValue(f"{value!r} is not a number")
    except InvalidOperation:
        raise InvalidValue(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise InvalidValue(f"{value!r} is not a finite number")
    return number
