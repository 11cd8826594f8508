"""The database holds every uniqueness rule the service states, and a write it refuses becomes a 409 naming
the field, on SQLite and on PostgreSQL alike (the races themselves: tests/test_races.py and
tests/faults/test_duplicate_races.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import Base
from app.db.models import Account, BodyCategory, PublicBody
from app.db.uniqueness import NOT_RULES, RULES, unique_conflict
from app.errors import Conflict
from tests.factories import World, make_account, make_body


def _unique_names() -> set[str]:
    names: set[str] = set()
    for table in Base.metadata.tables.values():
        if [c.name for c in table.primary_key.columns] != ["id"]:
            names.add(str(table.primary_key.name))
        names |= {str(c.name) for c in table.constraints if isinstance(c, UniqueConstraint)}
        names |= {str(i.name) for i in table.indexes if i.unique}
    return names


def test_every_unique_index_is_a_rule_with_its_field_or_says_why_no_request_breaks_it() -> None:
    assert _unique_names() == RULES.keys() | NOT_RULES.keys()
    assert not RULES.keys() & NOT_RULES.keys()


def _refused(session: Session, row: object) -> Conflict:
    session.add(row)
    with pytest.raises(IntegrityError) as refused, session.begin_nested():
        session.flush()
    conflict = unique_conflict(refused.value)
    assert conflict is not None, refused.value
    return conflict


def test_a_body_name_differing_only_in_case_is_refused_by_the_database(
    session: Session, world: World
) -> None:
    make_body(session, world.category, name="Kelurahan Gambir")

    conflict = _refused(
        session,
        PublicBody(commission_id=world.commission.id, category_id=world.category.id, name="kelurahan GAMBIR"),
    )

    assert conflict.status == 409
    assert [(e.field, e.indonesian) for e in conflict.errors] == [
        (
            "name",
            "Sudah ada badan publik dengan nama ini di Komisi Informasi ini (huruf besar dan kecil dianggap "
            "sama).",
        )
    ]


def test_the_same_name_in_another_commission_is_fine(session: Session, world: World) -> None:
    make_body(session, world.category, name="Kelurahan Gambir")
    other = World(session)
    make_body(session, other.category, name="KELURAHAN GAMBIR")


def test_an_email_differing_only_in_case_is_refused_by_the_database(session: Session, world: World) -> None:
    make_account(session, "operator", email="ppid@gambir.go.id")

    conflict = _refused(
        session, Account(email="PPID@Gambir.go.id", name="PPID", password_hash="x", role="panelist")
    )

    assert [e.field for e in conflict.errors] == ["email"]


def test_a_constraint_sqlite_names_by_its_columns_is_found_too(session: Session, world: World) -> None:
    conflict = _refused(
        session, BodyCategory(commission_id=world.commission.id, code="kelurahan", name="Lain")
    )

    assert [e.field for e in conflict.errors] == ["code"]
    assert conflict.indonesian == "Kode ini sudah dipakai kategori lain di Komisi Informasi ini."


def test_other_integrity_errors_are_no_conflict(session: Session, world: World) -> None:
    session.add(PublicBody(commission_id=world.commission.id, category_id=world.category.id, name=None))
    with pytest.raises(IntegrityError) as refused, session.begin_nested():
        session.flush()
    assert unique_conflict(refused.value) is None
