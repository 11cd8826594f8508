"""round life cycle: when the SAQ stage actually closed, what drafts become at the deadline, reopened SAQs

``round.saq_closed_at`` records the instant the round moved from open to closed (earlier than
``saq_closes_at`` when the commission closed early). ``round.drafts_at_deadline`` says what a draft still
unsubmitted at its body's deadline becomes: ``not_participating`` (what every existing round did) or
``submit``. ``submission.reopened_at`` and ``reopen_reason`` tell the body why the commission reopened its
submitted SAQ.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.add_column(sa.Column("saq_closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "drafts_at_deadline",
                sa.String(length=24),
                server_default="not_participating",
                nullable=False,
            )
        )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reopen_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("reopen_reason")
        batch_op.drop_column("reopened_at")
    with op.batch_alter_table("round", schema=None) as batch_op:
        batch_op.drop_column("drafts_at_deadline")
        batch_op.drop_column("saq_closed_at")
