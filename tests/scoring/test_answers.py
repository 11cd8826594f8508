"""Validating answers as they come from the API and the forms."""

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import Answer, AnswerError, AnswerProblem, parse_answers, score
from scoring.answers import _is_web_link
from tests.scoring.builders import LINK, aspect, choice, multi_choice, number, template, text, yes_no

SAQ = template(
    aspect(
        "1",
        100,
        yes_no("1.1", evidence="required"),
        choice("1.2", {"a": "1", "b": "0.5"}),
        multi_choice("1.3", {"web": "0.5", "wa": "0.5"}),
        number("1.4", [("10", "1")]),
        text("1.5"),
    )
)


def problems(raw: dict[str, object]) -> list[str]:
    with pytest.raises(AnswerError) as caught:
        parse_answers(SAQ, raw)
    return [str(problem) for problem in caught.value.problems]


def test_valid_answers_become_typed_answers() -> None:
    raw = {
        "1.1": {"value": "yes", "evidence": [LINK], "note": "SK PPID 2024"},
        "1.2": {"value": "b"},
        "1.3": {"value": ["web", "wa"]},
        "1.4": {"value": 12.5},
        "1.5": {"value": "Ada di laman PPID"},
    }
    assert parse_answers(SAQ, raw) == {
        "1.1": Answer("yes", (LINK,), "SK PPID 2024"),
        "1.2": Answer("b"),
        "1.3": Answer(["web", "wa"]),
        "1.4": Answer(Decimal("12.5")),
        "1.5": Answer("Ada di laman PPID"),
    }


def test_empty_values_mean_unanswered_and_keep_their_evidence() -> None:
    parsed = parse_answers(SAQ, {"1.1": {"value": None, "evidence": [LINK]}, "1.3": {"value": []}, "1.2": {}})
    assert parsed == {"1.1": Answer(None, (LINK,)), "1.3": Answer(None), "1.2": Answer(None)}
    assert {q.code: q.status.value for q in score(SAQ, parsed).questions}["1.1"] == "unanswered"


def test_numbers_may_come_as_numeric_strings() -> None:
    assert parse_answers(SAQ, {"1.4": {"value": "7"}})["1.4"] == Answer(Decimal(7))


def test_every_problem_is_reported() -> None:
    assert problems(
        {
            "9.9": {"value": "yes"},
            "1.1": {"value": "ya", "evidence": ["ftp://x.id/a.pdf", "https://ppid.example.go.id/a.pdf", 3]},
            "1.2": {"value": "z", "comment": "?"},
            "1.3": {"value": "web"},
            "1.4": {"value": "dua belas"},
            "1.5": {"value": 5, "note": 1},
        }
    ) == [
        "9.9: unknown question code",
        "1.1: value: must be 'yes' or 'no', not 'ya'",
        "1.1: evidence[0]: 'ftp://x.id/a.pdf' is not an http or https link",
        "1.1: evidence[2]: 3 is not an http or https link",
        "1.2: comment: unknown field (allowed: value, evidence, note)",
        "1.2: value: 'z' is not an option (options: a, b)",
        "1.3: value: must be a list of option values",
        "1.4: value: 'dua belas' is not a number",
        "1.5: value: must be a string, not int",
        "1.5: note: must be a string, not int",
    ]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"1.1": "yes"}, "1.1: an answer must be an object with value, evidence and note"),
        ({"1.1": {"value": True}}, "1.1: value: must be a string, not bool"),
        ({"1.3": {"value": ["web", "web"]}}, "1.3: value: option 'web' is chosen more than once"),
        ({"1.3": {"value": ["web", "x"]}}, "1.3: value: 'x' is not an option (options: web, wa)"),
        ({"1.4": {"value": True}}, "1.4: value: True is not a number"),
        ({"1.4": {"value": "NaN"}}, "1.4: value: 'NaN' is not a finite number"),
        ({"1.1": {"value": "yes", "evidence": "https://x.id"}}, "1.1: evidence: must be a list of links"),
        (
            {"1.1": {"value": "yes", "evidence": ["https://"]}},
            "1.1: evidence[0]: 'https://' is not an http or https link",
        ),
        (
            {"1.1": {"value": "yes", "evidence": ["javascript:alert(1)"]}},
            "1.1: evidence[0]: 'javascript:alert(1)' is not an http or https link",
        ),
    ],
)
def test_a_wrong_answer_is_named_with_its_field(raw: dict[str, object], message: str) -> None:
    assert problems(raw) == [message]


def test_a_problem_reads_code_field_and_message() -> None:
    assert str(AnswerProblem("1.1", "value", "bad")) == "1.1: value: bad"
    assert str(AnswerProblem("9.9", "", "unknown question code")) == "9.9: unknown question code"


def test_score_refuses_answers_that_do_not_fit_their_question() -> None:
    with pytest.raises(AnswerError) as caught:
        score(SAQ, {"9.9": Answer("yes"), "1.2": Answer("z"), "1.4": Answer("x")})
    assert [str(problem) for problem in caught.value.problems] == [
        "9.9: unknown question code",
        "1.2: value: 'z' is not an option (options: a, b)",
        "1.4: value: 'x' is not a number",
    ]


def _reference_is_web_link(link: str) -> bool:
    """The rule as first written: what urlsplit makes of the link, and no whitespace anywhere."""
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in link)


_LINK_CHARS = st.sampled_from(list("hHtTpPsS:/.?#[]@-_aZ09 \t\n\x85\u00a0\u3000%é"))


@settings(max_examples=3000)
@given(
    link=st.text(_LINK_CHARS)
    | st.builds(
        str.__add__,
        st.sampled_from(["http://", "https://", "HTTP://", "hTTps://", "http:///", "https://[", "http://a:"]),
        st.text(_LINK_CHARS),
    )
)
def test_the_quick_link_check_accepts_exactly_the_links_the_full_check_accepts(link: str) -> None:
    assert _is_web_link(link) is _reference_is_web_link(link)
