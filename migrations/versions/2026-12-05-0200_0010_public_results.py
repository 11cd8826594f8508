"""public results: a commission's open-data license, its letterhead, and when its public pages changed

``data_license`` (an SPDX identifier, default CC-BY-4.0) goes into the open data's package and on the
portal's pages; the ``letter_*`` columns are the letterhead and signature of the commission's PDF letters
(Lembar Hasil dan Rekomendasi); ``public_changed_at`` is bumped whenever something the public portal shows
changes other than by a new publication (a body renamed, the license changed), so caches revalidate.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    "public_changed_at",
    "letter_logo_type",
    "letter_logo",
    "letter_number_format",
    "letter_chair_title",
    "letter_chair_name",
    "letter_city",
    "letter_address",
    "letter_heading",
    "data_license",
)


def upgrade() -> None:
    with op.batch_alter_table("commission", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("data_license", sa.String(length=64), server_default="CC-BY-4.0", nullable=False)
        )
        batch_op.add_column(sa.Column("letter_heading", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("letter_address", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("letter_city", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("letter_chair_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("letter_chair_title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("letter_number_format", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("letter_logo", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("letter_logo_type", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("public_changed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that would copy and drop the commission table, which every other table
    # references (refused with foreign keys on); SQLite 3.35+ drops a column in place.
    for column in _COLUMNS:
        op.drop_column("commission", column)
