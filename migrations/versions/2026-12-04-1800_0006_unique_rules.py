"""unique rules: a body's name ignoring case, and an account's e-mail ignoring case, enforced by the database

Until now the service checked "Kelurahan Gambir" against "kelurahan gambir" only in Python, so two requests
at the same moment could both store their body. Two unique indexes on ``lower(...)`` make the database hold
the rules (SQLite and PostgreSQL both index expressions):

- ``uq_public_body_commission_id_lower_name``: (commission_id, lower(name)) of ``public_body``;
- ``uq_account_lower_email``: lower(email) of ``account`` (e-mails are stored normalised; this holds the rule
  for rows written some other way too).

Existing duplicates are looked for first. When there are any, the migration stops before changing anything
and lists them (the rule, and each row's id and value) so that they can be merged or renamed by hand; a
plain CREATE UNIQUE INDEX would fail with a bare "could not create unique index".

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

public_body = sa.table(
    "public_body",
    sa.column("id", sa.Integer()),
    sa.column("commission_id", sa.Integer()),
    sa.column("name", sa.String(300)),
)
account = sa.table("account", sa.column("id", sa.Integer()), sa.column("email", sa.String(320)))

BODY_NAME = "uq_public_body_commission_id_lower_name"
ACCOUNT_EMAIL = "uq_account_lower_email"


def _body_duplicates(bind: sa.Connection) -> list[str]:
    key = (public_body.c.commission_id, sa.func.lower(public_body.c.name))
    groups = (
        sa.select(*key).group_by(*key).having(sa.func.count() > 1).subquery()
    )  # (commission, lower(name)) held by more than one body
    rows = bind.execute(
        sa.select(public_body.c.id, public_body.c.commission_id, public_body.c.name)
        .join(
            groups,
            sa.and_(
                groups.c[0] == public_body.c.commission_id,
                groups.c[1] == sa.func.lower(public_body.c.name),
            ),
        )
        .order_by(public_body.c.commission_id, sa.func.lower(public_body.c.name), public_body.c.id)
    ).all()
    return [f"public_body id {row.id} (commission {row.commission_id}): name {row.name!r}" for row in rows]


def _email_duplicates(bind: sa.Connection) -> list[str]:
    lowered = sa.func.lower(account.c.email)
    groups = sa.select(lowered.label("email")).group_by(lowered).having(sa.func.count() > 1).subquery()
    rows = bind.execute(
        sa.select(account.c.id, account.c.email)
        .join(groups, groups.c.email == lowered)
        .order_by(lowered, account.c.id)
    ).all()
    return [f"account id {row.id}: email {row.email!r}" for row in rows]


def upgrade() -> None:
    bind = op.get_bind()
    found = {
        f"{BODY_NAME} (a body's name is unique in its commission, ignoring case)": _body_duplicates(bind),
        f"{ACCOUNT_EMAIL} (an e-mail belongs to one account, ignoring case)": _email_duplicates(bind),
    }
    if any(found.values()):
        lines = [
            "migration 0006 stopped: existing rows break uniqueness rules it is about to enforce; rename, "
            "merge or remove these rows, then run the upgrade again (nothing was changed):"
        ]
        for rule, rows in found.items():
            if rows:
                lines.append(f"  {rule}:")
                lines.extend(f"    {row}" for row in rows)
        raise CommandError("\n".join(lines))
    op.create_index(BODY_NAME, "public_body", ["commission_id", sa.text("lower(name)")], unique=True)
    op.create_index(ACCOUNT_EMAIL, "account", [sa.text("lower(email)")], unique=True)


def downgrade() -> None:
    op.drop_index(ACCOUNT_EMAIL, table_name="account")
    op.drop_index(BODY_NAME, table_name="public_body")
