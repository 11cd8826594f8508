"""score_many: the same figures as score, from a table of answer rows."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import scoring.batch
from scoring import Answer, AnswerError, Template, score, score_many
from scoring.batch import INT64_LIMIT, _units
from tests.scoring.builders import answer, aspect, choice, multi_choice, number, template, text, when, yes_no

SAQ = template(
    aspect(
        "1",
        60,
        yes_no("1.1", weight=2, evidence="required"),
        choice("1.2", {"a": "1", "b": "0.5", "c": "0"}, when=when("1.1", "yes")),
        multi_choice("1.3", {"web": "0.6", "wa": "0.6", "x": "0.1"}),
    ),
    aspect(
        "2", 40, number("2.1", [("10", "1"), ("1", "0.5")]), text("2.2"), yes_no("2.3", when=when("1.3", "x"))
    ),
)


def rows(submissions: dict[object, dict[str, Answer]]) -> pd.DataFrame:
    records = [
        {
            "submission_id": sid,
            "question_code": code,
            "value": ",".join(a.value)
            if isinstance(a.value, list)
            else None
            if a.value is None
            else str(a.value),
            "has_evidence": bool(a.evidence),
        }
        for sid, answers in submissions.items()
        for code, a in answers.items()
    ]
    return pd.DataFrame(records, columns=["submission_id", "question_code", "value", "has_evidence"])


def published(template: Template, answers: dict[str, Answer]) -> list[object]:
    card = score(template, answers)
    return [card.score, card.band.code, *(a.score for a in card.aspects)]


SUBMISSIONS: dict[object, dict[str, Answer]] = {
    7: {
        "1.1": answer("yes", evidence=True),
        "1.2": answer("b"),
        "1.3": answer(["web", "x"]),
        "2.1": answer(Decimal(12)),
        "2.2": answer("catatan"),
        "2.3": answer("yes"),
    },
    3: {"1.1": answer("yes"), "1.2": answer("a"), "2.1": answer(Decimal("0.5"))},
    5: {"1.1": answer("no"), "1.2": answer("a"), "1.3": answer(["wa", "web"])},
}


def test_score_many_gives_score_s_figures_for_each_submission() -> None:
    result = score_many(SAQ, rows(SUBMISSIONS))
    assert list(result.columns) == ["score", "band", "aspect_1", "aspect_2"]
    assert result.index.name == "submission_id"
    assert list(result.index) == [3, 5, 7]
    for sid, answers in SUBMISSIONS.items():
        assert list(result.loc[sid]) == published(SAQ, answers)
    assert isinstance(result.loc[7, "score"], Decimal)


def test_submissions_without_rows_score_as_unanswered() -> None:
    result = score_many(SAQ, rows(SUBMISSIONS), submission_ids=[1, 7, 99])
    assert list(result.index) == [1, 3, 5, 7, 99]
    assert (
        list(result.loc[99])
        == published(SAQ, {})
        == [Decimal("0.00"), "tidak-informatif", Decimal("0.00"), Decimal("0.00")]
    )


def test_an_empty_table_gives_an_empty_result_or_only_the_named_submissions() -> None:
    empty = rows({})
    assert score_many(SAQ, empty).empty
    assert list(score_many(SAQ, empty, submission_ids=["a"]).loc["a"]) == published(SAQ, {})


def test_row_order_list_values_and_string_ids_do_not_matter() -> None:
    table = rows({f"s{sid}": answers for sid, answers in SUBMISSIONS.items()})
    shuffled = table.sample(frac=1, random_state=3).reset_index(drop=True)
    shuffled["value"] = [
        v.split(",") if c == "1.3" else v
        for c, v in zip(shuffled["question_code"], shuffled["value"], strict=True)
    ]
    expected = score_many(SAQ, table)
    assert score_many(SAQ, shuffled).equals(expected)
    assert list(expected.index) == ["s3", "s5", "s7"]


def test_missing_values_and_missing_evidence_flags_are_unanswered_and_no_evidence() -> None:
    table = pd.DataFrame(
        {
            "submission_id": [1, 1, 1],
            "question_code": ["1.1", "1.3", "2.1"],
            "value": ["yes", None, np.nan],
            "has_evidence": [None, True, np.nan],
        }
    )
    assert list(score_many(SAQ, table).loc[1]) == published(SAQ, {"1.1": answer("yes")})


def test_unknown_codes_duplicates_and_wrong_values_are_refused() -> None:
    with pytest.raises(AnswerError, match=r"9\.9: question_code: unknown question code"):
        score_many(SAQ, rows({1: {"9.9": answer("yes")}}))
    twice = pd.concat([rows({1: {"1.1": answer("yes")}})] * 2)
    with pytest.raises(AnswerError, match=r"1\.1: question_code: answered twice by submission 1"):
        score_many(SAQ, twice)
    with pytest.raises(
        AnswerError, match=r"1.2: value: 'z' is not an option \(options: a, b, c\) \(submission 4\)"
    ):
        score_many(SAQ, rows({4: {"1.2": answer("z")}}))
    with pytest.raises(ValueError, match="has_evidence"):
        score_many(SAQ, rows({}).drop(columns="has_evidence"))


def test_templates_too_big_for_int64_fall_back_to_exact_python_integers() -> None:
    # Weights with many decimals make the integer units of an aspect exceed what int64 can hold safely.
    wild = template(
        aspect(
            "1",
            "33.333333",
            yes_no("1.1", weight="999999.999999"),
            yes_no("1.2", weight="0.000001"),
            choice("1.3", {"a": "0.1234567", "b": "0.7654321"}, weight="123456.789"),
        ),
        aspect(
            "2", "66.666667", yes_no("2.1", weight="0.0000007"), choice("2.2", {"a": "0.3333333"}, weight="3")
        ),
    )
    assert 20001 * max(_units(wild._compiled).aspect_maximum) >= INT64_LIMIT
    submissions = {
        1: {"1.1": answer("yes"), "1.3": answer("b"), "2.2": answer("a")},
        2: {"1.2": answer("yes"), "1.3": answer("a"), "2.1": answer("yes")},
        3: {},
    }
    result = score_many(wild, rows(submissions), submission_ids=[3])
    for sid, answers in submissions.items():
        assert list(result.loc[sid]) == published(wild, answers)


def test_templates_too_big_even_for_int64_sums_use_python_integers_throughout() -> None:
    # Weights from 10^-20 to 10^18 in one aspect: its units no longer fit int64 at all; a condition makes the
    # maxima differ between submissions too.
    huge = template(
        aspect(
            "1",
            "50",
            yes_no("1.1", weight="999999999999999999"),
            yes_no("1.2", weight="0.00000000000000000001", when=when("1.1", "yes")),
            choice("1.3", {"a": "0.3333333", "b": "1"}, weight="7"),
        ),
        aspect(
            "2", "50", yes_no("2.1", weight="0.00000000000000000003"), yes_no("2.2", when=when("1.1", "no"))
        ),
    )
    assert max(_units(huge._compiled).aspect_maximum) >= 2**64
    submissions = {
        1: {"1.1": answer("yes"), "1.2": answer("yes"), "1.3": answer("a"), "2.1": answer("no")},
        2: {"1.1": answer("no"), "1.2": answer("yes"), "1.3": answer("b"), "2.2": answer("yes")},
        3: {"1.3": answer("a"), "2.1": answer("yes")},
    }
    result = score_many(huge, rows(submissions))
    for sid, answers in submissions.items():
        assert list(result.loc[sid]) == published(huge, answers)


def test_a_wrong_value_is_refused_even_where_its_question_does_not_apply() -> None:
    # 1.2 does not apply (1.1 is no), yet its value "z" is no option: both engines refuse it.
    answers = {"1.1": answer("no"), "1.2": answer("z")}
    with pytest.raises(AnswerError, match=r"1\.2: value: 'z' is not an option"):
        score(SAQ, answers)
    with pytest.raises(AnswerError, match=r"1\.2: value: 'z' is not an option"):
        score_many(SAQ, rows({1: answers}))


def test_categorical_columns_give_the_same_figures() -> None:
    table = rows(SUBMISSIONS)
    categorical = table.astype({"question_code": "category", "value": "category"})
    assert score_many(SAQ, categorical).equals(score_many(SAQ, table))


def test_many_distinct_free_texts_leave_the_figures_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Free text makes the distinct values many; past the direct table's size only the scored questions'
    # values are counted. The limit is lowered so that a small table takes that path.
    monkeypatch.setattr(scoring.batch, "_DIRECT_TABLE_LIMIT", 8)
    submissions: dict[object, dict[str, Answer]] = {
        sid: {**answers, "2.2": answer(f"catatan nomor {sid}")} for sid, answers in SUBMISSIONS.items()
    }
    submissions |= {
        100 + n: {"1.1": answer("yes" if n % 2 else "no"), "1.3": answer(["x"]), "2.2": answer(f"teks {n}")}
        for n in range(40)
    }
    result = score_many(SAQ, rows(submissions))
    for sid, answers in submissions.items():
        assert list(result.loc[sid]) == published(SAQ, answers)


def test_rows_without_a_question_code_are_refused() -> None:
    table = rows({1: {"1.1": answer("yes")}})
    table.loc[0, "question_code"] = None
    with pytest.raises(AnswerError, match="rows without a question code"):
        score_many(SAQ, table)


def test_a_repeated_answer_is_found_in_rows_in_any_order() -> None:
    table = rows({1: {"1.1": answer("yes"), "1.3": answer(["web"])}, 2: {"1.1": answer("no")}})
    repeated = pd.concat([table, table.iloc[[1]]]).reset_index(drop=True)
    with pytest.raises(AnswerError, match=r"1\.3: question_code: answered twice by submission 1"):
        score_many(SAQ, repeated)
