"""e-mail: the notice outbox, single-use account links, reminder opt-outs, request throttling

``notice`` is the transactional outbox of e-mail (one row per message, unique by its key of event, occurrence
and recipient); ``account_token`` the invitations and password resets (their secret is an HMAC, never
stored); ``mail_opt_out`` the addresses that want no more reminders; ``request_throttle`` the counted
password-reset requests. The commission gets a reply-to address and a signature for its notices.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mail_opt_out",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_mail_opt_out")),
    )
    op.create_table(
        "request_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_throttle")),
    )
    with op.batch_alter_table("request_throttle", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_throttle_at"), ["at"], unique=False)
        batch_op.create_index("ix_request_throttle_scope_key_at", ["scope", "key", "at"], unique=False)

    op.create_table(
        "account_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_account_token_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_token")),
    )
    with op.batch_alter_table("account_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_token_account_id"), ["account_id"], unique=False)

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("commission_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("body_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="1", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transport", sa.String(length=16), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("last_response", sa.Text(), nullable=True),
        sa.Column("resends", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_notice_account_id_account")),
        sa.ForeignKeyConstraint(["body_id"], ["public_body.id"], name=op.f("fk_notice_body_id_public_body")),
        sa.ForeignKeyConstraint(
            ["commission_id"], ["commission.id"], name=op.f("fk_notice_commission_id_commission")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["round.id"], name=op.f("fk_notice_round_id_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
        sa.UniqueConstraint("key", name=op.f("uq_notice_key")),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_body_id"), ["body_id"], unique=False)
        batch_op.create_index("ix_notice_commission_id_id", ["commission_id", "id"], unique=False)
        batch_op.create_index("ix_notice_round_id_id", ["round_id", "id"], unique=False)
        batch_op.create_index(
            "ix_notice_status_next_attempt_at", ["status", "priority", "next_attempt_at", "id"], unique=False
        )

    with op.batch_alter_table("commission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_reply_to", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("mail_signature", sa.Text(), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that would copy and drop the commission table, which every other table
    # references (refused with foreign keys on); SQLite 3.35+ drops a column in place.
    op.drop_column("commission", "mail_signature")
    op.drop_column("commission", "mail_reply_to")

    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_status_next_attempt_at")
        batch_op.drop_index("ix_notice_round_id_id")
        batch_op.drop_index("ix_notice_commission_id_id")
        batch_op.drop_index(batch_op.f("ix_notice_body_id"))
        batch_op.drop_index(batch_op.f("ix_notice_account_id"))

    op.drop_table("notice")
    with op.batch_alter_table("account_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_token_account_id"))

    op.drop_table("account_token")
    with op.batch_alter_table("request_throttle", schema=None) as batch_op:
        batch_op.drop_index("ix_request_throttle_scope_key_at")
        batch_op.drop_index(batch_op.f("ix_request_throttle_at"))

    op.drop_table("request_throttle")
    op.drop_table("mail_opt_out")
