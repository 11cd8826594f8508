"""JSON text to and from PostgreSQL: orjson's speed with the standard library's range.

Saving a full SAQ writes and reads back a hundred answers as JSON; orjson does either about five to ten times
faster than the standard library. It differs in two ways that matter here, and those cases go to the standard
library instead: orjson refuses integers past 64 bits and keys that are not strings when writing, and reads an
integer past 64 bits as a float (losing digits).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19  # 19 digits may pass 2**63; up to 18 both parsers read every number identically


def json_text(value: Any) -> str:
    """``value`` as compact JSON text."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def json_value(data: bytes | str) -> Any:
    """The value of JSON text read from the database."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if _LONG_NUMBER not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # e.g. an escaped lone surrogate, which the standard library reads
    return json.loads(raw)
