"""The migrations build exactly the schema the models describe, and the newest one reverts cleanly."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Column, Connection, Index, MetaData, Table, insert, inspect, text
from sqlalchemy.exc import IntegrityError

from app.db.models import Base
from tests.conftest import ROOT


def config_on(connection: Connection) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    return config


def test_login_attempts_migration_reverts_and_reapplies(connection: Connection) -> None:
    # Inside the test's transaction, which is rolled back: both databases run DDL transactionally.
    config = config_on(connection)
    command.downgrade(config, "0001")
    assert "login_failure" not in inspect(connection).get_table_names()
    assert MigrationContext.configure(connection).get_current_revision() == "0001"
    command.upgrade(config, "head")
    assert "login_failure" in inspect(connection).get_table_names()


def _on_expressions(index: Index) -> bool:
    return any(not isinstance(part, Column) for part in index.expressions)


def _not_on_expressions(obj: object, _name: str | None, type_: str, _reflected: bool, _other: object) -> bool:
    return not (type_ == "index" and isinstance(obj, Index) and _on_expressions(obj))


def not_the_queues_tables(name: str | None, type_: str, _parents: object) -> bool:
    # procrastinate's tables (PostgreSQL only) come from its own schema file in migration 0007, not models.
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def test_the_migrations_build_exactly_the_models(connection: Connection) -> None:
    opts: dict[str, object] = {"compare_type": True, "include_name": not_the_queues_tables}
    with warnings.catch_warnings():
        if connection.dialect.name == "sqlite":
            # SQLite's reflection skips indexes on expressions (such as lower(name)), with a warning: those
            # are compared by test_the_indexes_on_expressions_are_in_the_database below.
            opts["include_object"] = _not_on_expressions
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            warnings.filterwarnings(
                "ignore", "autogenerate skipping metadata-specified expression-based index"
            )
        context = MigrationContext.configure(connection, opts=opts)
        assert compare_metadata(context, Base.metadata) == []


def test_the_indexes_on_expressions_are_in_the_database(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        catalog = "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
    else:
        catalog = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    stored = {
        name: " ".join(sql.lower().replace('"', "").split())
        for name, sql in connection.execute(text(catalog))
        if sql is not None  # SQLite's own indexes behind UNIQUE constraints have no SQL
    }
    expected = [
        index for table in Base.metadata.tables.values() for index in table.indexes if _on_expressions(index)
    ]
    assert expected, "the models declare no index on an expression"
    for index in expected:
        assert index.name in stored, f"{index.name} is not in the database"
        definition = stored[index.name]
        assert definition.startswith("create unique index") == bool(index.unique), definition
        for part in index.expressions:
            shown = str(part.compile(dialect=connection.dialect)).lower().replace('"', "")
            assert shown.split(".")[-1] in definition, (index.name, shown, definition)


def test_round_lifecycle_migration_keeps_existing_rounds_and_reverts(connection: Connection) -> None:
    config = config_on(connection)
    before = ScriptDirectory.from_config(config).get_revision("0004").down_revision
    assert isinstance(before, str)
    command.downgrade(config, before)
    assert "drafts_at_deadline" not in {c["name"] for c in inspect(connection).get_columns("round")}
    tables = MetaData()
    commission = Table("commission", tables, autoload_with=connection)
    round_ = Table("round", tables, autoload_with=connection)
    at = datetime(2025, 8, 31, 16, 59, tzinfo=UTC)
    cid = connection.execute(
        insert(commission).values(code="ki-lama", name="KI Lama", timezone="Asia/Jakarta", created_at=at)
    ).inserted_primary_key[0]
    connection.execute(
        insert(round_).values(
            commission_id=cid,
            year=2024,
            title="Monev 2024",
            status="published",
            saq_opens_at=at,
            saq_closes_at=at,
            saq_weight=100,
            missing_stage_policy="zero",
            created_at=at,
        )
    )

    command.upgrade(config, "head")

    # A round of before keeps what it did: a draft at the deadline did not take part.
    row = connection.execute(text("SELECT drafts_at_deadline, saq_closed_at FROM round")).one()
    assert tuple(row) == ("not_participating", None)
    assert {"reopened_at", "reopen_reason"} <= {
        c["name"] for c in inspect(connection).get_columns("submission")
    }


def test_unique_rules_migration_lists_existing_duplicates_and_changes_nothing(connection: Connection) -> None:
    config = config_on(connection)
    command.downgrade(config, "0005")
    tables = MetaData()
    commission = Table("commission", tables, autoload_with=connection)
    category = Table("body_category", tables, autoload_with=connection)
    body = Table("public_body", tables, autoload_with=connection)
    account = Table("account", tables, autoload_with=connection)
    at = datetime(2025, 8, 31, 16, 59, tzinfo=UTC)
    cid = connection.execute(
        insert(commission).values(code="ki-dki", name="KI DKI", timezone="Asia/Jakarta", created_at=at)
    ).inserted_primary_key[0]
    category_id = connection.execute(
        insert(category).values(commission_id=cid, code="kelurahan", name="Kelurahan", created_at=at)
    ).inserted_primary_key[0]

    def add_body(name: str) -> int:
        values = {"commission_id": cid, "category_id": category_id, "name": name, "active": True}
        key: int = connection.execute(insert(body).values(created_at=at, **values)).inserted_primary_key[0]
        return key

    first, second, other = (
        add_body("Kelurahan Gambir"),
        add_body("kelurahan gambir"),
        add_body("Kelurahan Cikini"),
    )
    people = [
        connection.execute(
            insert(account).values(
                email=email, name="PPID", password_hash="x", role="operator", active=True, created_at=at
            )
        ).inserted_primary_key[0]
        for email in ("PPID@gambir.go.id", "ppid@gambir.go.id")
    ]

    with pytest.raises(CommandError) as refused:
        command.upgrade(config, "head")

    message = str(refused.value)
    assert "uq_public_body_commission_id_lower_name" in message
    assert f"public_body id {first} (commission {cid}): name 'Kelurahan Gambir'" in message
    assert f"public_body id {second} (commission {cid}): name 'kelurahan gambir'" in message
    assert f"public_body id {other} " not in message
    assert "uq_account_lower_email" in message
    assert all(f"account id {person}: email" in message for person in people)
    assert MigrationContext.configure(connection).get_current_revision() == "0005"
    assert "uq_public_body_commission_id_lower_name" not in {
        index["name"] for index in inspect(connection).get_indexes("public_body")
    }

    # Once the rows are put right, the upgrade goes through and the database holds the rules.
    connection.execute(body.update().where(body.c.id == second).values(name="Kelurahan Gambir (lama)"))
    connection.execute(account.update().where(account.c.id == people[0]).values(email="lama@gambir.go.id"))
    command.upgrade(config, "0006")
    assert MigrationContext.configure(connection).get_current_revision() == "0006"
    with pytest.raises(IntegrityError), connection.begin_nested():
        add_body("KELURAHAN CIKINI")
