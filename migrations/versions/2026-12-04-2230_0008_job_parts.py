"""job parts: a job may be split into parts run by several workers (the result sheets of a large round)

``parent_id`` ties a part to the job it belongs to; the parent counts its parts (``parts_total``) and the
parts that finished (``parts_done``, moved by one atomic UPDATE per finished part, so exactly one part sees
the last one finish and queues the assembly).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("parts_total", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("parts_done", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_job_parent_id_job"), "job", ["parent_id"], ["id"])
        batch.create_index(op.f("ix_job_parent_id"), ["parent_id"])


def downgrade() -> None:
    with op.batch_alter_table("job") as batch:
        batch.drop_index(op.f("ix_job_parent_id"))
        batch.drop_constraint(op.f("fk_job_parent_id_job"), type_="foreignkey")
        batch.drop_column("parts_done")
        batch.drop_column("parts_total")
        batch.drop_column("parent_id")
