"""The migrations build exactly the schema the models describe, and the newest one reverts cleanly."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, Table, insert, inspect, text

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


def test_the_migrations_build_exactly_the_models(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []


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
