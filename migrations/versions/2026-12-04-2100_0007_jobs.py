"""jobs: long work off the request (the ``job`` table) and, on PostgreSQL, the procrastinate queue

``job`` holds what people see of a job (state, progress, outcome, file). On PostgreSQL the queue itself is
procrastinate's: its schema, version 3.10.0, is applied from ``migrations/sql/`` (a copy of the file the
package ships, so this migration builds the same schema whatever procrastinate release is installed). A
later procrastinate release that changes its schema comes with its own migration scripts: they go in as a
new Alembic migration, never by procrastinate's own ``schema --apply``. SQLite has no queue tables: there
jobs run in the server process (app/jobs/worker.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 21:00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCRASTINATE_SCHEMA = Path(__file__).resolve().parents[1] / "sql" / "procrastinate-3.10.0-schema.sql"


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("commission_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.JSON(), nullable=False),
        sa.Column("requested_by_label", sa.String(length=320), nullable=False),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_indonesian", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("file_name", sa.String(length=300), nullable=True),
        sa.Column("file_path", sa.String(length=300), nullable=True),
        sa.Column("file_size", sa.Integer(), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=True),
        sa.Column("file_media_type", sa.String(length=100), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("file_removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queue_job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["commission_id"], ["commission.id"], name=op.f("fk_job_commission_id_commission")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_job_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_job_dedup_key")),
    )
    op.create_index(op.f("ix_job_commission_id"), "job", ["commission_id"])
    op.create_index("ix_job_round_id_id", "job", ["round_id", "id"])
    op.create_index("ix_job_status_id", "job", ["status", "id"])
    if op.get_context().dialect.name == "postgresql":
        # Straight to the driver: the file is full of % signs (RAISE formats) that are not parameters, and
        # given no parameters at all, psycopg sends the text as it is (same connection, same transaction).
        cursor = op.get_bind().connection.cursor()
        cursor.execute(PROCRASTINATE_SCHEMA.read_text(encoding="utf-8"))
        cursor.close()


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            """
            DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
                procrastinate_workers CASCADE;
            DO $$
            DECLARE f record;
            BEGIN
                FOR f IN
                    SELECT oid::regprocedure AS signature FROM pg_proc WHERE proname LIKE 'procrastinate%'
                LOOP EXECUTE 'DROP FUNCTION ' || f.signature || ' CASCADE'; END LOOP;
            END $$;
            DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type,
                procrastinate_job_to_defer_v1 CASCADE;
            """
        )
    op.drop_index("ix_job_status_id", table_name="job")
    op.drop_index("ix_job_round_id_id", table_name="job")
    op.drop_index(op.f("ix_job_commission_id"), table_name="job")
    op.drop_table("job")
