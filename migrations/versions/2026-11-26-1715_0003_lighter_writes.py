"""lighter writes: the audit log keeps plain ids, the answer table loses a duplicate index and gets room

The audit entry's actor and commission become plain ids instead of foreign keys: every audited change
share-locked its commission's row, so the saves of all bodies of a commission contended on that one row, and
an audit entry should not hold up the rows it describes. ix_answer_submission_id duplicated the leading
column of the unique (submission_id, question_code) index and cost upkeep on every new answer. On
PostgreSQL, answer pages are filled to half, so that updating an answer can keep the new version on its page.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 17:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Room on each page for a new version of its rows, so that a save's updates stay on the page (HOT)
        # and need no index entries; packed full, two thirds of the updates of a save went to new pages.
        op.execute("ALTER TABLE answer SET (fillfactor = 50)")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint("fk_audit_entry_actor_id_account", type_="foreignkey")
        batch_op.drop_constraint("fk_audit_entry_commission_id_commission", type_="foreignkey")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_index("ix_answer_submission_id")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE answer RESET (fillfactor)")
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.create_index("ix_answer_submission_id", ["submission_id"], unique=False)
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_audit_entry_commission_id_commission", "commission", ["commission_id"], ["id"]
        )
        batch_op.create_foreign_key("fk_audit_entry_actor_id_account", "account", ["actor_id"], ["id"])
