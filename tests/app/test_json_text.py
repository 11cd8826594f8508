"""JSON text sent to PostgreSQL (app/db/json_text.py): orjson's speed, the standard library's range."""

from __future__ import annotations

import json

from app.db.json_text import json_text


def test_values_read_back_as_written() -> None:
    value = {"value": ["a", "b"], "evidence": ["https://ppid.example.go.id/é"], "note": None, "n": 1.5}
    assert json.loads(json_text(value)) == value


def test_integers_past_64_bits_keep_every_digit() -> None:
    # orjson refuses them; an answer of 2**70 must still be stored as typed.
    assert json.loads(json_text({"value": 2**70})) == {"value": 2**70}


def test_keys_that_are_not_strings_are_written_as_the_standard_library_writes_them() -> None:
    assert json.loads(json_text({1: "a"})) == {"1": "a"}
