"""Input rules shared by every route: values the database can store, or a 422 naming the field.

Row ids are PostgreSQL ``INTEGER`` columns (1 to 2**31 - 1). A larger id in a path, a query or a body would
overflow in the database driver (a 500, on SQLite as on PostgreSQL); typed ``Id``, it is refused by
validation with the field and the allowed range before any query runs. ``DbInt`` is any other integer that
is compared with or stored in an ``INTEGER`` column.

PostgreSQL text cannot hold the NUL character (U+0000), and no real input contains one, so
``refuse_unstorable_input`` (a dependency of the whole app) refuses it anywhere in a request's text: path
and query parameters, headers, and every key and string of a JSON or form body; and JSON numbers that are
not finite. SQLite could store both; the rule is the same on both, so an input valid in development is
valid in production.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine, Iterator
from email.message import Message
from typing import Annotated, Any

from annotated_types import Interval
from fastapi import Request, Response
from fastapi.params import Form
from fastapi.routing import APIRoute
from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.errors import ProblemCollector
from app.json_text import json_value

NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"
"""Text with something besides white space, and no NUL: the pattern of a required name or reason whose white
space is stripped, so that the OpenAPI document says what the validation refuses (checked by pydantic's
regex engine and by JSON Schema's alike)."""

MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
MAX_BIGINT = 2**63 - 1  # the largest integer either database driver binds

Id = Annotated[int, Interval(ge=1, le=MAX_INT)]
DbInt = Annotated[int, Interval(ge=MIN_INT, le=MAX_INT)]


def _json_integer(value: Any) -> Any:
    """JSON Schema's ``integer``: a number without a fraction, ``5`` or ``5.0`` alike (schemathesis sends
    both); never ``true`` or ``"5"``, which pydantic's lax mode would take. (Strict mode refused ``5.0``.)"""
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


JSON_INTEGER = BeforeValidator(_json_integer)
"""An integer in a JSON body, after its bounds (``Annotated[int, Interval(...), JSON_INTEGER]``: bounds
after it reach the document as ``ge``/``le``, which JSON Schema does not know). Path and query parameters
arrive as text and take ``Id``; a JSON body says what type it sends, and the document's ``integer`` takes
neither a boolean nor text. Numbers and booleans of request bodies are strict for the same reason
(``StrictFloat``, ``StrictBool``: a JSON number or boolean); decimals take a number or a string, as
documented."""
StrictId = Annotated[int, Interval(ge=1, le=MAX_INT), JSON_INTEGER]

# An id as a JSON object's key (``{"<body id>": ...}``): 1 to 999,999,999 in plain digits.
ID_KEY = "^[1-9][0-9]{0,8}$"
NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
NOT_FINITE_MESSAGE = "must be a finite number (NaN and Infinity are not JSON)"
# The same rules as the pages say them.
NUL_TEXT = "Isian ini tidak boleh memuat karakter NUL (U+0000)."
NOT_FINITE_TEXT = "Isian ini harus berupa angka yang terhingga."


def parse_digits(text: str, *, limit: int = MAX_INT) -> int | None:
    """The number ``text`` spells in ASCII digits (a cursor's or an ETag's), or None when it spells none or
    one past ``limit``: then it is no value this API issued.

    ``str.isdigit`` alone also accepts "²" and other digits ``int()`` refuses, and ``int()`` refuses more
    than 4,300 digits: both would raise ValueError (a 500) instead of saying the input is not ours."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(limit)):
        return None
    value = int(text)
    return value if value <= limit else None


def _json_problems(document: Any) -> Iterator[tuple[str, str]]:
    """Where a parsed JSON body holds a NUL in a key or string, or a number that is not finite. Walked
    with a stack, not recursion: a body nested as deep as the JSON parser allows must not overflow here."""
    stack: list[tuple[tuple[str, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if NUL in value:
                yield ".".join(path) or "body", NUL_MESSAGE
        elif isinstance(value, float):
            if not math.isfinite(value):
                yield ".".join(path) or "body", NOT_FINITE_MESSAGE
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if NUL in key:
                    yield ".".join((*path, key)), NUL_MESSAGE
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, str(index)), item) for index, item in reversed(list(enumerate(value))))


# Strict JSON text (Python's parser refuses raw control characters in strings) can only give a NUL through
# the escape \u0000, and a number that is not finite only through NaN, Infinity or a float literal past
# 1.8e308 (an exponent, or a run of 309 digits or more). A UTF-8 body with none of these cannot hold either,
# so the walk over the parsed document (about 0.3 ms for a full SAQ) is skipped for nearly every request;
# plain substring searches, since a regular expression over the body cost more than the walk.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 300


def _may_hold_unstorable(body: bytes) -> bool:
    if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
        return True  # UTF-16 or UTF-32 JSON, which the parser accepts too: the escapes look different
    if b"\\u0000" in body or b"NaN" in body or b"Infinity" in body:
        return True
    digits = body.translate(_DIGITS_AS_ZERO)
    return b"0e" in digits or b"0E" in digits or _LONG_DIGIT_RUN in digits


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def _body_problems(request: Request) -> list[tuple[str, str]]:
    """Only a body FastAPI has already read and parsed for the route (JSON or a form) is looked at: an
    upload that the route reads itself is streamed within its size limit, never buffered here."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return []
    if isinstance(route.body_field.field_info, Form):
        form = await request.form()
        return [
            (name, NUL_MESSAGE)
            for name, value in form.multi_items()
            if isinstance(value, str) and NUL in value
        ]
    if not _is_json(request.headers.get("content-type")):
        return []
    body = await request.body()
    if not body or not _may_hold_unstorable(body):
        return []
    return list(_json_problems(await request.json()))


async def refuse_unstorable_input(request: Request) -> None:
    """422 naming every field of the request that no column can store: text holding a NUL character
    (path and query parameters, headers, JSON keys and strings, form fields), and JSON numbers that are
    not finite (Python's JSON parser reads ``NaN``, ``Infinity`` and ``1e400`` as floats; PostgreSQL's
    JSON refuses them and they are no JSON of RFC 8259)."""
    problems = ProblemCollector()
    for name, value in request.path_params.items():
        if NUL in str(value):
            problems.add(f"path:{name}", NUL_MESSAGE, NUL_TEXT)
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            problems.add(f"query:{name}", NUL_MESSAGE, NUL_TEXT)
    for name, value in request.headers.items():
        if NUL in value:
            problems.add(f"header:{name}", NUL_MESSAGE, NUL_TEXT)
    for field, message in await _body_problems(request):
        problems.add(field, message, NUL_TEXT if message == NUL_MESSAGE else NOT_FINITE_TEXT)
    problems.raise_if_any(
        "; ".join(f"{p.field}: {p.message}" for p in problems.problems),
        "Beberapa isian memuat karakter atau angka yang tidak dapat disimpan.",
    )


class _OrjsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json_value(await self.body())
        return self._json


class OrjsonBodyRoute(APIRoute):
    """A route whose JSON body is parsed by orjson (through ``json_value``, so every body reads exactly as the
    standard library reads it, malformed ones failing alike). For the routers that receive a full SAQ, the
    one large JSON body of this API: the standard library took about 0.4 ms of every save to parse it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parse_json_with_orjson(request: Request) -> Response:
            return await handler(_OrjsonRequest(request.scope, request.receive, request._send))

        return parse_json_with_orjson


def not_null_in_schema(*fields: str) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` of a PATCH model whose ``fields`` may be left out but not sent as ``null`` (the
    service refuses a null there): the document offers no null for them."""

    def extra(schema: dict[str, Any]) -> None:
        for name in fields:
            field = schema["properties"][name]
            field.pop("default", None)
            options = [o for o in field.pop("anyOf", [field]) if o.get("type") != "null"]
            if options and options[0] is not field:
                field.update(options[0] if len(options) == 1 else {"anyOf": options})

    return extra


# The text forms of a percentage-like decimal the API takes besides a JSON number: plain digits, no sign,
# exponent, space or other script's digits (Decimal() would take all of those), within the bounds.
PERCENT_TEXT = r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$"  # 0 to 100, two decimals
WEIGHT_TEXT = r"^(100(\.0{1,3})?|[1-9][0-9]?(\.[0-9]{1,3})?|0?\.([1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))$"


def decimal_input(
    text: str, *, places: int, positive: bool = False
) -> tuple[BeforeValidator, WithJsonSchema]:
    """What a decimal input from 0 (or above 0, ``positive``) to 100 with ``places`` decimals takes, said the
    same way in the validation and in the document: a JSON number, or a string matching ``text``."""

    def plain(value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(text, value) is None:
            raise ValueError(f"must be a number from 0 to 100 with at most {places} decimals, e.g. 85.5")
        return value

    number: dict[str, Any] = {"type": "number", "maximum": 100, "multipleOf": 10**-places}
    number["exclusiveMinimum" if positive else "minimum"] = 0
    schema = {"anyOf": [number, {"type": "string", "pattern": text}]}
    return BeforeValidator(plain), WithJsonSchema(schema, mode="validation")
