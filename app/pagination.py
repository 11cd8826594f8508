"""Keyset pagination shared by every list endpoint.

A page is ``{"items": [...], "next_cursor": "..." | null}``. The cursor is opaque to clients (URL-safe
base64 of the last row's integer id); rows are ordered by id ascending; pages stay stable as rows are added.

Usage in a route::

    @router.get("/things")
    def list_things(session: SessionDep, page: PageParamsDep) -> Page[ThingOut]:
        result = paginate(session=session, stmt=select(Thing), id_column=Thing.id, params=page)
        return result.map(ThingOut.from_row)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.errors import FieldProblem, InvalidInput
from app.inputs import MAX_BIGINT, parse_digits

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_CURSOR_PREFIX = "id:"

T = TypeVar("T")
R = TypeVar("R")


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass ``next_cursor`` back as ``cursor`` for the next page; null means the end."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; a cursor this service did not issue is a 422 on the ``cursor`` field."""
    bad = InvalidInput(
        "The cursor is not valid.",
        errors=[FieldProblem("cursor", "not a cursor from this API", "Penanda halaman ini tidak sah.")],
        indonesian="Penanda halaman ini tidak sah; buka lagi halaman pertama.",
    )
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (binascii.Error, UnicodeError) as exc:
        raise bad from exc
    # A cursor may pack two ids into one number (verification's round and body), so up to 64 bits.
    last_id = parse_digits(text.removeprefix(_CURSOR_PREFIX), limit=MAX_BIGINT)
    if not text.startswith(_CURSOR_PREFIX) or last_id is None:
        raise bad
    return last_id


@dataclass(frozen=True)
class PageParams:
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    @property
    def after_id(self) -> int | None:
        return decode_cursor(self.cursor) if self.cursor else None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1 to 500).")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="The next_cursor of the previous page.")] = None,
) -> PageParams:
    params = PageParams(limit=limit, cursor=cursor or None)
    params.after_id  # noqa: B018 - validate the cursor before the route runs
    return params


PageParamsDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class PageResult(Generic[R]):
    """Rows of one page and the cursor of the next; ``map`` turns it into the ``Page`` schema."""

    rows: Sequence[R]
    next_cursor: str | None

    def map(self, to_item: Callable[[R], T]) -> Page[T]:
        return Page(items=[to_item(row) for row in self.rows], next_cursor=self.next_cursor)


def paginate(
    *,
    session: Session,
    stmt: Select,  # type: ignore[type-arg]
    id_column: InstrumentedAttribute[int],
    params: PageParams,
    id_of: Callable[[Any], int] | None = None,
) -> PageResult[Any]:
    """Apply keyset pagination on ``id_column`` (ascending) to ``stmt`` and run it.

    ``stmt`` must select one entity (``select(Model)``) unless ``id_of`` says how to read the id from a row.
    Fetches ``limit + 1`` rows to know whether there is a next page; never counts the whole table.
    """
    after = params.after_id
    if after is not None:
        stmt = stmt.where(id_column > after)
    stmt = stmt.order_by(None).order_by(id_column).limit(params.limit + 1)
    if id_of is None:
        rows: list[Any] = list(session.scalars(stmt).unique().all())
        key = id_column.key
        read_id: Callable[[Any], int] = lambda row: int(getattr(row, key))  # noqa: E731
    else:
        rows = list(session.execute(stmt).unique().all())
        read_id = id_of
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_cursor = encode_cursor(read_id(rows[-1])) if has_more and rows else None
    return PageResult(rows=rows, next_cursor=next_cursor)
