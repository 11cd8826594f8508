"""The migrations build exactly the schema the models describe, and the newest one reverts cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

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
