"""Reading an answer cell: a number arrives at validation as the user typed it (no float on the way)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import scoring
from app.exports.values import from_cell

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = scoring.parse_template((ROOT / "tests/fixtures/mini.yaml").read_text(), source="mini.yaml")
NUMBER = TEMPLATE.question("2.2")
TEXT = TEMPLATE.question("2.3")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (12, 12),
        (12.0, 12),  # a number cell written as <v>12.0</v>
        ("12", 12),  # a text cell
        (" 12.000 ", 12),
        (12.5, 12.5),
        ("12,5", 12.5),  # the decimal comma typed as text
        ("0.1234567890123456789", "0.1234567890123456789"),  # more digits than a float keeps
        ("12345678901234567890", 12345678901234567890),
        (12345678901234567890, 12345678901234567890),
        pytest.param(10**400, 10**400, id="an-int-past-the-largest-float"),
        # What Excel and LibreOffice write for a typed 12345678901234567890 (15 significant digits): the
        # digits the spreadsheet shows, not those of the binary float (12345678901234599936).
        (1.23456789012346e19, 12345678901234600000),
        (-7.0, -7),
    ],
)
def test_a_number_cell_arrives_as_typed(cell: Any, expected: Any) -> None:
    value = from_cell(NUMBER, cell)
    assert value == expected
    assert type(value) is type(expected)


def test_a_whole_number_reaches_validation_as_an_int_and_a_fraction_unrounded() -> None:
    answers = scoring.parse_answers(
        TEMPLATE,
        {
            "2.2": {"value": from_cell(NUMBER, 12.0)},
            "2.3": {"value": from_cell(TEXT, 1.23456789012346e19)},
        },
    )
    assert str(answers["2.2"].value) == "12"
    assert answers["2.3"].value == "12345678901234600000"
    precise = scoring.parse_answers(TEMPLATE, {"2.2": {"value": from_cell(NUMBER, "90,0000000000000001")}})
    assert str(precise["2.2"].value) == "90.0000000000000001"


@pytest.mark.parametrize("typed", ["NaN", "nan", "sNaN", "Infinity", "-inf", float("inf")])
def test_what_is_not_a_finite_number_is_refused_not_cleared_or_crashed(typed: Any) -> None:
    with pytest.raises(scoring.AnswerError) as raised:
        scoring.parse_answers(TEMPLATE, {"2.2": {"value": from_cell(NUMBER, typed)}})
    assert [(p.code, p.field) for p in raised.value.problems] == [("2.2", "value")]
    assert "not a finite number" in raised.value.problems[0].message


def test_a_whole_number_of_absurd_length_stays_text() -> None:
    assert from_cell(NUMBER, "1e999999999") == "1e999999999"
    assert from_cell(NUMBER, True) == "True"
    assert from_cell(NUMBER, "banyak") == "banyak"
