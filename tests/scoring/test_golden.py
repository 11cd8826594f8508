"""Golden cases worked out by hand: the arithmetic of each is in its comment."""

from decimal import Decimal
from fractions import Fraction

import pytest

from scoring import Band, QuestionStatus, ScoreCard, band_for, final_score, publish, score
from tests.scoring.builders import (
    KI_BANDS,
    answer,
    aspect,
    choice,
    group,
    multi_choice,
    number,
    template,
    text,
    when,
    yes_no,
)


def statuses(card: ScoreCard) -> dict[str, QuestionStatus]:
    return {q.code: q.status for q in card.questions}


def test_yes_with_its_required_evidence_earns_the_full_weight() -> None:
    # 1.1 yes (w2) with evidence earns 2; 1.2 no (w2) earns 0. Aspect 100 x 2/4 = 50.00 -> kurang-informatif.
    saq = template(aspect("1", 100, yes_no("1.1", weight=2, evidence="required"), yes_no("1.2", weight=2)))
    card = score(saq, {"1.1": answer("yes", evidence=True), "1.2": answer("no")})
    assert card.score == Decimal("50.00")
    assert card.band.code == "kurang-informatif"
    assert statuses(card) == {"1.1": QuestionStatus.SCORED, "1.2": QuestionStatus.SCORED}
    assert card.questions[0].earned == 2
    assert card.questions[0].maximum == 2


def test_yes_without_its_required_evidence_earns_nothing() -> None:
    # 1.1 yes (w2) with no evidence: evidence_missing, 0 of 2; 1.2 yes (w2, evidence optional): 2.
    # Aspect 100 x 2/4 = 50.00.
    saq = template(
        aspect(
            "1",
            100,
            yes_no("1.1", weight=2, evidence="required"),
            yes_no("1.2", weight=2, evidence="optional"),
        )
    )
    card = score(saq, {"1.1": answer("yes"), "1.2": answer("yes")})
    assert card.score == Decimal("50.00")
    assert statuses(card) == {"1.1": QuestionStatus.EVIDENCE_MISSING, "1.2": QuestionStatus.SCORED}
    assert (card.questions[0].earned, card.questions[0].maximum) == (0, 2)


def test_a_no_needs_no_evidence_and_counts_as_scored() -> None:
    # 1.1 no (w1, evidence required): 0 of 1 and scored, since there is nothing to prove. Score 0.00.
    saq = template(aspect("1", 100, yes_no("1.1", evidence="required")))
    card = score(saq, {"1.1": answer("no")})
    assert card.score == Decimal("0.00")
    assert card.band.code == "tidak-informatif"
    assert statuses(card) == {"1.1": QuestionStatus.SCORED}


def test_unanswered_earns_nothing_but_keeps_its_maximum() -> None:
    # 1.1 yes (w1) earns 1; 1.2 (w3) unanswered earns 0 of 3. 100 x 1/4 = 25.00.
    saq = template(aspect("1", 100, yes_no("1.1"), yes_no("1.2", weight=3)))
    card = score(saq, {"1.1": answer("yes")})
    assert card.score == Decimal("25.00")
    assert statuses(card)["1.2"] is QuestionStatus.UNANSWERED
    assert card.questions[1].maximum == 3


def test_a_graded_choice_earns_its_option_s_fraction_of_the_weight() -> None:
    # 1.1 option b = 0.5 x w2 = 1; 1.2 yes (w1) = 1. 100 x 2/3 = 66.666... -> 66.67, cukup-informatif.
    saq = template(aspect("1", 100, choice("1.1", {"a": "1", "b": "0.5", "c": "0"}, weight=2), yes_no("1.2")))
    card = score(saq, {"1.1": answer("b"), "1.2": answer("yes")})
    assert card.questions[0].earned == 1
    assert card.exact == Fraction(200, 3)
    assert card.score == Decimal("66.67")
    assert card.band.code == "cukup-informatif"


def test_multi_choice_sums_its_options_and_caps_at_one() -> None:
    # 1.1 web + wa = 0.6 + 0.6 = 1.2, capped at 1 -> 1 x w2 = 2 of 2.
    # 1.2 web + x = 0.6 + 0.1 = 0.7 -> 0.7 x w2 = 1.4 of 2.
    # Aspect 100 x 3.4/4 = 85.00, menuju-informatif.
    scores = {"web": "0.6", "wa": "0.6", "x": "0.1"}
    saq = template(
        aspect("1", 100, multi_choice("1.1", scores, weight=2), multi_choice("1.2", scores, weight=2))
    )
    card = score(saq, {"1.1": answer(["web", "wa"]), "1.2": answer(["web", "x"])})
    assert [q.earned for q in card.questions] == [2, Fraction(7, 5)]
    assert card.score == Decimal("85.00")
    assert card.band.code == "menuju-informatif"


def test_a_number_earns_the_score_of_the_highest_band_it_reaches() -> None:
    # Bands: from 10 -> 1, from 1 -> 0.5. Answers 12 -> 1, 10 -> 1 (reaches the minimum), 5 -> 0.5, 0 -> 0.
    # Earned 1 + 1 + 0.5 + 0 = 2.5 of 4. 100 x 2.5/4 = 62.50.
    bands = [("10", "1"), ("1", "0.5")]
    saq = template(aspect("1", 100, *(number(f"1.{i}", bands) for i in range(1, 5))))
    values = [Decimal(12), Decimal(10), Decimal(5), Decimal(0)]
    card = score(saq, {f"1.{i}": answer(v) for i, v in enumerate(values, start=1)})
    assert [q.earned for q in card.questions] == [1, 1, Fraction(1, 2), 0]
    assert card.score == Decimal("62.50")


def test_text_is_never_scored() -> None:
    # 1.1 yes (w1) = 1 of 1; 1.2 text (answered) counts for nothing. 100 x 1/1 = 100.00.
    saq = template(aspect("1", 100, yes_no("1.1"), text("1.2")))
    card = score(saq, {"1.1": answer("yes"), "1.2": answer("Ada di laman PPID")})
    assert card.score == Decimal("100.00")
    assert statuses(card)["1.2"] is QuestionStatus.NOT_SCORED
    assert (card.questions[1].earned, card.questions[1].maximum) == (0, 0)


def test_a_question_whose_condition_is_false_leaves_the_maximum() -> None:
    # 1.1 yes (w2) = 2; 1.2 no (w1) = 0; 1.3 (w3) asks only if 1.2 is yes: not applicable, even if answered.
    # 100 x 2/3 = 66.67 (not 100 x 2/6 = 33.33).
    saq = template(
        aspect(
            "1", 100, yes_no("1.1", weight=2), yes_no("1.2"), yes_no("1.3", weight=3, when=when("1.2", "yes"))
        )
    )
    card = score(saq, {"1.1": answer("yes"), "1.2": answer("no"), "1.3": answer("yes")})
    assert card.score == Decimal("66.67")
    assert statuses(card)["1.3"] is QuestionStatus.NOT_APPLICABLE
    assert (card.questions[2].earned, card.questions[2].maximum) == (0, 0)
    assert card.aspects[0].maximum == 3


def test_conditions_chain_and_accept_any_of_several_values() -> None:
    # 1.2 asks if 1.1 is "a" or "b"; 1.3 asks if 1.2 is yes.
    # 1.1 = c (0 of w1): 1.2 and 1.3 are not applicable although answered; 100 x 0/1 = 0.00.
    # 1.1 = b (0.5 of w1), 1.2 yes (w1), 1.3 yes (w2): 0.5 + 1 + 2 = 3.5 of 4; 100 x 3.5/4 = 87.50.
    saq = template(
        aspect(
            "1",
            100,
            choice("1.1", {"a": "1", "b": "0.5", "c": "0"}),
            yes_no("1.2", when=when("1.1", "a", "b")),
            yes_no("1.3", weight=2, when=when("1.2", "yes")),
        )
    )
    off = score(saq, {"1.1": answer("c"), "1.2": answer("yes"), "1.3": answer("yes")})
    assert off.score == Decimal("0.00")
    assert [q.status for q in off.questions][1:] == [QuestionStatus.NOT_APPLICABLE] * 2
    on = score(saq, {"1.1": answer("b"), "1.2": answer("yes"), "1.3": answer("yes")})
    assert on.score == Decimal("87.50")


def test_a_condition_on_a_multi_choice_holds_when_any_chosen_option_matches() -> None:
    # 1.2 asks if 1.1 includes "web". 1.1 = [wa] (0.5 of 1): 1.2 not applicable; 100 x 0.5/1 = 50.00.
    # 1.1 = [wa, web] (1 of 1), 1.2 no (0 of 1): 100 x 1/2 = 50.00 too, but 1.2 now counts.
    saq = template(
        aspect(
            "1", 100, multi_choice("1.1", {"web": "0.5", "wa": "0.5"}), yes_no("1.2", when=when("1.1", "web"))
        )
    )
    without = score(saq, {"1.1": answer(["wa"]), "1.2": answer("no")})
    assert without.score == Decimal("50.00")
    assert statuses(without)["1.2"] is QuestionStatus.NOT_APPLICABLE
    with_web = score(saq, {"1.1": answer(["wa", "web"]), "1.2": answer("no")})
    assert with_web.score == Decimal("50.00")
    assert statuses(with_web)["1.2"] is QuestionStatus.SCORED


def test_aspects_are_weighted_and_nested_groups_count_like_questions() -> None:
    # Aspect 1 (40): group 1.1 holds 1.1.1 yes (w1) and group 1.1.2 holding 1.1.2.1 yes (w2); 1.2 no (w1).
    #   100 x 3/4 = 75. Aspect 2 (60): 1 of 3 yes = 33.333...
    # SAQ = 75 x 40/100 + 100/3 x 60/100 = 30 + 20 = 50.00.
    saq = template(
        aspect(
            "1", 40, group("1.1", yes_no("1.1.1"), group("1.1.2", yes_no("1.1.2.1", weight=2))), yes_no("1.2")
        ),
        aspect("2", 60, yes_no("2.1"), yes_no("2.2"), yes_no("2.3")),
    )
    answers = {"1.1.1": answer("yes"), "1.1.2.1": answer("yes"), "1.2": answer("no"), "2.1": answer("yes")}
    card = score(saq, answers)
    assert [a.score for a in card.aspects] == [Decimal("75.00"), Decimal("33.33")]
    assert card.exact == 50
    assert card.score == Decimal("50.00")


def test_an_aspect_without_applicable_questions_drops_out_and_the_others_are_rescaled() -> None:
    # Aspect 1 (40): 1.1 yes, 1.2 yes = 2 of 2 = 100. Aspect 2 (20): its only question asks if 3.1 is yes;
    # 3.1 is no, so aspect 2 drops out. Aspect 3 (40): 1 of 2 = 50. Weights rescale to 40/80 and 40/80:
    # SAQ = 100 x 50/100 + 50 x 50/100 = 75.00 (without rescaling it would be 40 + 20 = 60).
    saq = template(
        aspect("1", 40, yes_no("1.1"), yes_no("1.2", when=when("1.1", "yes"))),
        aspect("2", 20, yes_no("2.1", when=when("3.1", "yes"))),
        aspect("3", 40, yes_no("3.1"), yes_no("3.2")),
    )
    card = score(saq, {"1.1": answer("yes"), "1.2": answer("yes"), "3.1": answer("no"), "3.2": answer("yes")})
    assert card.score == Decimal("75.00")
    dropped = card.aspects[1]
    assert (dropped.applicable, dropped.score, dropped.effective_weight) == (False, None, 0)
    assert [a.effective_weight for a in card.aspects] == [50, 0, 50]
    assert card.to_json()["aspects"][1] == {"code": "2", "title": "Aspek 2", "score": None, "weight": "20.00"}


def test_when_every_aspect_drops_out_the_score_is_zero() -> None:
    # The only question is text: no aspect has an applicable scored question. SAQ 0.00, tidak-informatif.
    card = score(template(aspect("1", 100, text("1.1"))), {})
    assert (card.score, card.band.code) == (Decimal("0.00"), "tidak-informatif")


def test_89_995_is_published_as_90_00_and_is_informatif() -> None:
    # 1.1 yes (w179.99) of 179.99 + 20.01 = 200: 100 x 179.99/200 = 89.995 exactly -> half-up 90.00,
    # informatif.
    saq = template(aspect("1", 100, yes_no("1.1", weight="179.99"), yes_no("1.2", weight="20.01")))
    card = score(saq, {"1.1": answer("yes"), "1.2": answer("no")})
    assert card.exact == Fraction("89.995")
    assert card.score == Decimal("90.00")
    assert card.band.code == "informatif"


def test_89_985_is_published_as_89_99_and_is_menuju_informatif() -> None:
    # 100 x 179.97/200 = 89.985 exactly -> half-up 89.99, menuju-informatif (Python's round() on the binary
    # float 89.985 gives 89.98).
    saq = template(aspect("1", 100, yes_no("1.1", weight="179.97"), yes_no("1.2", weight="20.03")))
    card = score(saq, {"1.1": answer("yes"), "1.2": answer("no")})
    assert card.exact == Fraction("89.985")
    assert card.score == Decimal("89.99")
    assert card.band.code == "menuju-informatif"


@pytest.mark.parametrize(
    ("yes_count", "published", "band"),
    [
        # n of 10 equal yes/no questions: 100 x n/10.
        (10, "100.00", "informatif"),
        (9, "90.00", "informatif"),
        (8, "80.00", "menuju-informatif"),
        (6, "60.00", "cukup-informatif"),
        (4, "40.00", "kurang-informatif"),
        (3, "30.00", "tidak-informatif"),
        (0, "0.00", "tidak-informatif"),
    ],
)
def test_a_score_exactly_on_a_band_minimum_is_in_that_band(yes_count: int, published: str, band: str) -> None:
    saq = template(aspect("1", 100, *(yes_no(f"1.{i}") for i in range(10))))
    card = score(saq, {f"1.{i}": answer("yes" if i < yes_count else "no") for i in range(10)})
    assert (card.score, card.band.code) == (Decimal(published), band)


def test_89_99_is_just_below_informatif() -> None:
    # 100 x 89.99/100 = 89.99 -> menuju-informatif; and band_for decides on the published figure.
    saq = template(aspect("1", 100, yes_no("1.1", weight="89.99"), yes_no("1.2", weight="10.01")))
    card = score(saq, {"1.1": answer("yes"), "1.2": answer("no")})
    assert (card.score, card.band.code) == (Decimal("89.99"), "menuju-informatif")
    bands = [Band.model_validate(band) for band in KI_BANDS]
    assert [
        band_for(bands, Decimal(s)).code
        for s in ("90.00", "89.99", "80.00", "79.99", "60", "40", "39.99", "0")
    ] == [
        "informatif",
        "menuju-informatif",
        "menuju-informatif",
        "cukup-informatif",
        "cukup-informatif",
        "kurang-informatif",
        "tidak-informatif",
        "tidak-informatif",
    ]


def test_publish_rounds_half_up_once() -> None:
    assert publish(Fraction("89.995")) == Decimal("90.00")
    assert publish(Fraction("89.985")) == Decimal("89.99")
    assert publish(Decimal("89.994999")) == Decimal("89.99")
    assert publish(Fraction(200, 3)) == Decimal("66.67")
    assert publish(7) == Decimal("7.00")
    assert publish(Fraction(-1, 200)) == Decimal("-0.01")
    assert str(publish(0)) == "0.00"


def test_final_score_with_saq_70_and_presentation_30() -> None:
    # KI DKI 2025: 85.27 x 70/100 + 78.50 x 30/100 = 59.689 + 23.55 = 83.239 -> 83.24.
    assert final_score(
        {"saq": Decimal("85.27"), "presentation": Decimal("78.50")}, {"saq": 70, "presentation": 30}
    ) == (Decimal("83.24"))
    # A tie: 90.00 x 0.7 + 89.95 x 0.3 = 63 + 26.985 = 89.985 -> half-up 89.99 (not informatif).
    assert final_score(
        {"saq": Decimal("90.00"), "presentation": Decimal("89.95")}, {"saq": 70, "presentation": 30}
    ) == (Decimal("89.99"))


def test_final_score_with_saq_80_and_site_visit_20_uses_published_stage_scores() -> None:
    # KI Pusat 2025: 91.13 x 0.8 + 70 x 0.2 = 72.904 + 14 = 86.904 -> 86.90.
    assert final_score(
        {"saq": Decimal("91.13"), "site_visit": Decimal("70")}, {"saq": 80, "site_visit": 20}
    ) == (Decimal("86.90"))
    # A stage score enters as published: 0.005 counts as 0.01, so 0.01 x 50/100 = 0.005 -> 0.01.
    # (The unpublished 0.005 x 50/100 = 0.0025 would give 0.00.)
    assert final_score(
        {"saq": Decimal("0.005"), "site_visit": Decimal(0)}, {"saq": 50, "site_visit": 50}
    ) == (Decimal("0.01"))


def test_final_score_refuses_weights_not_summing_to_100_and_missing_stages() -> None:
    with pytest.raises(ValueError, match="sum to 100"):
        final_score({"saq": Decimal(80)}, {"saq": 80, "site_visit": 10})
    with pytest.raises(ValueError, match="no score for stage"):
        final_score({"saq": Decimal(80)}, {"saq": 80, "site_visit": 20})
    with pytest.raises(ValueError, match="no weight for stage"):
        final_score({"saq": Decimal(80), "interview": Decimal(1)}, {"saq": 100})
    with pytest.raises(ValueError, match="non-negative"):
        final_score({"saq": Decimal(80), "x": Decimal(1)}, {"saq": 110, "x": -10})


def test_the_json_form_has_two_decimal_strings() -> None:
    # 1.1 b = 0.5 x w3 = 1.5 of 3 -> 50.00; the CLI/preview JSON writes every figure with two decimals.
    saq = template(aspect("1", 100, choice("1.1", {"a": "1", "b": "0.5"}, weight=3)))
    assert score(saq, {"1.1": answer("b")}).to_json() == {
        "template_key": "uji",
        "template_version": "1",
        "score": "50.00",
        "band": "kurang-informatif",
        "aspects": [{"code": "1", "title": "Aspek 1", "score": "50.00", "weight": "100.00"}],
        "questions": [{"code": "1.1", "earned": "1.50", "max": "3.00", "status": "scored"}],
    }


def test_a_condition_may_name_a_question_further_down() -> None:
    # 1.1 (w2) asks only if 1.2 is yes. 1.2 yes (w1) = 1, 1.1 yes = 2: 100 x 3/3 = 100.00.
    # With 1.2 no, 1.1 does not apply: 100 x 0/1 = 0.00.
    saq = template(aspect("1", 100, yes_no("1.1", weight=2, when=when("1.2", "yes")), yes_no("1.2")))
    assert score(saq, {"1.1": answer("yes"), "1.2": answer("yes")}).score == Decimal("100.00")
    assert score(saq, {"1.1": answer("yes"), "1.2": answer("no")}).score == Decimal("0.00")
