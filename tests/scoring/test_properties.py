"""Properties of the scoring rule over random templates and random answers."""

from __future__ import annotations

import itertools
import random
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import (
    Answer,
    Question,
    QuestionType,
    ScoreCard,
    Template,
    band_for,
    parse_template,
    publish,
    score,
    score_many,
)
from tests.scoring.builders import KI_BANDS, LINK

OPTION_VALUES = ["a", "b", "c", "d"]
SCORES = st.one_of(
    st.decimals(min_value=0, max_value=1, places=2),
    st.sampled_from([Decimal("0.333"), Decimal("0.1234567"), Decimal("0.5"), Decimal("1"), Decimal("0")]),
)
WEIGHTS = st.one_of(
    st.integers(1, 5).map(Decimal),
    # The two extremes push score_many past int64 onto its exact Python-integer fallbacks.
    st.sampled_from(
        [
            Decimal("0.5"),
            Decimal("1.25"),
            Decimal("0.333"),
            Decimal("179.99"),
            Decimal("0.000001"),
            Decimal("123456789012.3456789"),
            Decimal("0.000000000000000000007"),
        ]
    ),
)
CONDITION_TARGETS = (QuestionType.YES_NO, QuestionType.CHOICE, QuestionType.MULTI_CHOICE)
slow = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answer_values(question: dict[str, Any]) -> list[str]:
    if question["type"] == "yes_no":
        return ["yes", "no"]
    return [option["value"] for option in question.get("options", [])]


@st.composite
def questions(draw: st.DrawFn, code: str, earlier: list[dict[str, Any]]) -> dict[str, Any]:
    kind = draw(st.sampled_from([t.value for t in QuestionType]))
    question: dict[str, Any] = {
        "code": code,
        "text": f"Pertanyaan {code}",
        "type": kind,
        "weight": draw(WEIGHTS),
        "evidence": draw(st.sampled_from(["none", "optional", "required"])),
    }
    if kind in ("choice", "multi_choice"):
        values = draw(st.lists(st.sampled_from(OPTION_VALUES), min_size=1, max_size=4, unique=True))
        question["options"] = [{"value": v, "label": v.upper(), "score": draw(SCORES)} for v in values]
    if kind == "number":
        minimums = draw(
            st.lists(st.decimals(min_value=-5, max_value=20, places=1), min_size=1, max_size=3, unique=True)
        )
        question["bands"] = [{"min": m, "score": draw(SCORES)} for m in sorted(minimums, reverse=True)]
    targets = [q for q in earlier if q["type"] in CONDITION_TARGETS]
    if targets and draw(st.integers(0, 3)) == 0:
        target = draw(st.sampled_from(targets))
        equals = draw(st.lists(st.sampled_from(answer_values(target)), min_size=1, unique=True))
        question["when"] = {"question": target["code"], "equals": equals}
    earlier.append(question)
    return question


@st.composite
def templates(draw: st.DrawFn) -> Template:
    aspect_count = draw(st.integers(1, 4))
    cuts = sorted(draw(st.sets(st.integers(1, 9999), min_size=aspect_count - 1, max_size=aspect_count - 1)))
    bounds = [0, *cuts, 10000]
    weights = [Decimal(high - low).scaleb(-2) for low, high in itertools.pairwise(bounds)]
    earlier: list[dict[str, Any]] = []
    aspects = []
    for a, weight in enumerate(weights, start=1):
        items: list[dict[str, Any]] = []
        for i in range(1, draw(st.integers(1, 4)) + 1):
            code = f"{a}.{i}"
            if draw(st.integers(0, 3)) == 0:
                children = [
                    draw(questions(f"{code}.{j}", earlier)) for j in range(1, draw(st.integers(1, 3)) + 1)
                ]
                items.append({"code": code, "title": f"Kelompok {code}", "items": children})
            else:
                items.append(draw(questions(code, earlier)))
        aspects.append({"code": str(a), "title": f"Aspek {a}", "weight": weight, "items": items})
    if draw(st.booleans()):
        bands = KI_BANDS
    else:
        minimums = sorted(draw(st.sets(st.integers(1, 10000), max_size=3)), reverse=True)
        bands = [{"code": f"b{m}", "label": f"B{m}", "min": Decimal(m).scaleb(-2)} for m in minimums]
        bands.append({"code": "nol", "label": "Nol", "min": 0})
    return Template.model_validate(
        {
            "key": "acak",
            "version": "1",
            "title": "Acak",
            "body_categories": ["uji"],
            "bands": bands,
            "aspects": aspects,
        }
    )


def values_for(question: Question) -> st.SearchStrategy[Any]:
    if question.type is QuestionType.YES_NO:
        return st.sampled_from(["yes", "no"])
    if question.type is QuestionType.CHOICE:
        return st.sampled_from([option.value for option in question.options])
    if question.type is QuestionType.MULTI_CHOICE:
        return st.lists(st.sampled_from([option.value for option in question.options]), unique=True)
    if question.type is QuestionType.NUMBER:
        near = [band.min for band in question.bands]
        return st.one_of(st.sampled_from(near), st.decimals(min_value=-10, max_value=30, places=2))
    return st.text(max_size=5)


@st.composite
def answers_for(draw: st.DrawFn, template: Template) -> dict[str, Answer]:
    answers = {}
    for _, question in template.questions():
        if draw(st.integers(0, 4)) == 0:
            continue
        value = None if draw(st.integers(0, 9)) == 0 else draw(values_for(question))
        answers[question.code] = Answer(value, (LINK,) if draw(st.booleans()) else ())
    return answers


@st.composite
def scored_submissions(draw: st.DrawFn) -> tuple[Template, list[dict[str, Answer]]]:
    template = draw(templates())
    return template, draw(st.lists(answers_for(template), min_size=1, max_size=6))


def published_figures(card: ScoreCard) -> list[object]:
    return [card.score, card.band.code, *(aspect.score for aspect in card.aspects)]


def table(submissions: list[dict[str, Answer]], spelling: random.Random) -> pd.DataFrame:
    """The answers as database rows; multi_choice values spelt as lists or comma-separated strings."""
    records = []
    for sid, answers in enumerate(submissions):
        for code, answer in answers.items():
            value: Any = answer.value
            if isinstance(value, list) and spelling.random() < 0.5:
                value = ",".join(value)
            elif isinstance(value, Decimal):
                value = str(value)
            records.append((sid, code, value, bool(answer.evidence)))
    spelling.shuffle(records)
    return pd.DataFrame(records, columns=["submission_id", "question_code", "value", "has_evidence"])


@given(scored_submissions())
@slow
def test_scores_stay_between_0_and_100(case: tuple[Template, list[dict[str, Answer]]]) -> None:
    template, submissions = case
    for answers in submissions:
        card = score(template, answers)
        assert 0 <= card.exact <= 100
        assert Decimal(0) <= card.score <= Decimal(100)
        for aspect in card.aspects:
            assert aspect.applicable == (aspect.exact is not None)
            if aspect.exact is not None:
                assert 0 <= aspect.exact <= 100
        assert sum(aspect.effective_weight for aspect in card.aspects) in (0, 100)


@given(scored_submissions())
@slow
def test_the_band_always_matches_the_published_score(case: tuple[Template, list[dict[str, Answer]]]) -> None:
    template, submissions = case
    for answers in submissions:
        card = score(template, answers)
        assert card.score == publish(card.exact)
        assert card.band == band_for(template.bands, card.score)
        position = template.bands.index(card.band)
        assert card.score >= card.band.min
        assert all(card.score < higher.min for higher in template.bands[:position])


@given(scored_submissions(), st.randoms(use_true_random=False))
@slow
def test_score_many_gives_the_same_figures_as_score_to_the_cent(
    case: tuple[Template, list[dict[str, Answer]]], spelling: random.Random
) -> None:
    template, submissions = case
    rows = table(submissions, spelling)
    result = score_many(template, rows, submission_ids=range(len(submissions)))
    assert list(result.index) == list(range(len(submissions)))
    for sid, answers in enumerate(submissions):
        assert list(result.loc[sid]) == published_figures(score(template, answers))
    # Rows in template order (as a database often returns them, read without a duplicate scatter) and
    # categorical columns (read without hashing the strings) give the same figures.
    position = {entry.question.code: index for index, entry in enumerate(template.questions())}
    ordered = rows.sort_values(
        ["submission_id", "question_code"], key=lambda c: c.map(position) if c.name == "question_code" else c
    )
    assert score_many(template, ordered, submission_ids=range(len(submissions))).equals(result)
    joined = rows.assign(value=[",".join(v) if isinstance(v, list) else v for v in rows["value"]])
    categorical = joined.astype({"question_code": "category", "value": "category"})
    assert score_many(template, categorical, submission_ids=range(len(submissions))).equals(result)


@st.composite
def one_answer_changed(draw: st.DrawFn) -> tuple[Template, dict[str, Answer], dict[str, Answer], str]:
    template = draw(templates())
    answers = draw(answers_for(template))
    targets = {q.when.question for _, q in template.questions() if q.when is not None}
    free = [q for _, q in template.questions() if q.code not in targets]
    question = draw(st.sampled_from(free))
    changed = dict(answers)
    changed[question.code] = Answer(draw(values_for(question)), (LINK,) if draw(st.booleans()) else ())
    return template, answers, changed, question.code


@given(one_answer_changed())
@slow
def test_a_better_answer_never_lowers_any_score(
    case: tuple[Template, dict[str, Answer], dict[str, Answer], str],
) -> None:
    # Changing one answer that no condition depends on moves that question's earnings only (the answer to a
    # condition's question changes which questions count: how that plays out is the template writer's design).
    # Whichever of the two answers earns more must score at least as high on every aspect and in total.
    template, before, after, code = case
    cards = [score(template, before), score(template, after)]
    earned = [next(q.earned for q in card.questions if q.code == code) for card in cards]
    worse, better = cards if earned[0] <= earned[1] else reversed(cards)
    assert better.exact >= worse.exact
    assert better.score >= worse.score
    for low, high in zip(worse.aspects, better.aspects, strict=True):
        assert low.applicable == high.applicable
        if low.exact is not None and high.exact is not None:
            assert high.exact >= low.exact
            assert high.score is not None
            assert low.score is not None
            assert high.score >= low.score


@given(scored_submissions(), st.randoms(use_true_random=False))
@settings(slow, max_examples=50)
def test_scoring_is_deterministic(
    case: tuple[Template, list[dict[str, Answer]]], spelling: random.Random
) -> None:
    template, submissions = case
    copy = Template.model_validate(template.model_dump())
    assert copy.content_hash == template.content_hash
    for answers in submissions:
        assert score(copy, dict(reversed(list(answers.items())))) == score(template, answers)
    rows = table(submissions, spelling)
    assert score_many(template, rows).equals(score_many(copy, rows.iloc[::-1]))


@given(templates(), st.randoms(use_true_random=False))
@settings(slow, max_examples=50)
def test_a_template_survives_yaml_in_any_key_order_with_the_same_hash(
    template: Template, order: random.Random
) -> None:
    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            keys = list(value)
            order.shuffle(keys)
            return {key: shuffled(value[key]) for key in keys}
        if isinstance(value, list):
            return [shuffled(item) for item in value]
        return value

    text = yaml.safe_dump(shuffled(template.model_dump(mode="json")), sort_keys=False, allow_unicode=True)
    parsed = parse_template(text, source="acak.yaml")
    assert parsed == template
    assert parsed.content_hash == template.content_hash


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_publish_rounds_half_up_like_decimal(numerator: int, denominator: int) -> None:
    with localcontext() as context:
        context.prec = 60
        expected = (Decimal(numerator) / Decimal(denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    assert publish(Fraction(numerator, denominator)) == expected
