"""JSON text sent to PostgreSQL (app/db/json_text.py): orjson's speed, the standard library's range."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.json_text import json_text, json_value


def test_values_read_back_as_written() -> None:
    value = {"value": ["a", "b"], "evidence": ["https://ppid.example.go.id/é"], "note": None, "n": 1.5}
    assert json.loads(json_text(value)) == value


def test_integers_past_64_bits_keep_every_digit() -> None:
    # orjson refuses them; an answer of 2**70 must still be stored as typed.
    assert json.loads(json_text({"value": 2**70})) == {"value": 2**70}


def test_keys_that_are_not_strings_are_written_as_the_standard_library_writes_them() -> None:
    assert json.loads(json_text({1: "a"})) == {"1": "a"}


@pytest.mark.parametrize(
    "text",
    [
        '{"value": 123456789012345678901234567890}',  # orjson alone reads it as a float
        '{"value": 18446744073709551616}',
        '{"value": -9223372036854775809}',
        '{"value": 0.1000000000000000055511151231257827}',
        '{"note": "\\ud800"}',  # an escaped lone surrogate: orjson refuses it
        '{"value": [1, 2.5, -0.0, 1e-7, "é"], "note": null}',
    ],
)
def test_json_read_from_the_database_is_the_value_the_standard_library_reads(text: str) -> None:
    assert json_value(text.encode()) == json.loads(text)
    assert repr(json_value(text.encode())) == repr(json.loads(text))


@settings(max_examples=300)
@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
        max_leaves=15,
    )
)
def test_what_is_written_reads_back_equal(value: object) -> None:
    assert repr(json_value(json_text(value).encode())) == repr(value)
