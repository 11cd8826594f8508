"""published gate: a publication freezes the round's gate and each body's gate decision

A publication keeps the gate (minimum verified SAQ score, top N per category), the missing-stage policy and
the stages' titles as they stood when it was published; each published row keeps whether the body passed
the gate, its rank by verified SAQ score in its category, and the stages it did not take part in. So a
later change of the round cannot rewrite the explanation of a published result.

Existing publications are filled in from what they hold: the rules from the round as it is now (a round's
rules cannot change once it is final, so these are the rules it was published with); the missed stages
from the stage weights against the published stage scores; the gate rank from the published verified
scores; "passed" when the body reached every later stage (with no later stage, from the gate rule).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 11:30:00
"""

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAQ = "saq"

publication = sa.table(
    "publication",
    sa.column("id", sa.Integer()),
    sa.column("round_id", sa.Integer()),
    sa.column("stage_weights", sa.JSON()),
    sa.column("gate_min_score", sa.Numeric(5, 2)),
    sa.column("gate_top_n", sa.Integer()),
    sa.column("missing_stage_policy", sa.String(16)),
    sa.column("stage_titles", sa.JSON()),
)
round_ = sa.table(
    "round",
    sa.column("id", sa.Integer()),
    sa.column("gate_min_score", sa.Numeric(5, 2)),
    sa.column("gate_top_n", sa.Integer()),
    sa.column("missing_stage_policy", sa.String(16)),
)
stage = sa.table(
    "stage",
    sa.column("round_id", sa.Integer()),
    sa.column("code", sa.String(64)),
    sa.column("title", sa.String(200)),
)
result = sa.table(
    "published_result",
    sa.column("id", sa.Integer()),
    sa.column("publication_id", sa.Integer()),
    sa.column("category_id", sa.Integer()),
    sa.column("participating", sa.Boolean()),
    sa.column("verified_score", sa.Numeric(5, 2)),
    sa.column("stage_scores", sa.JSON()),
    sa.column("passed_gate", sa.Boolean()),
    sa.column("gate_rank", sa.Integer()),
    sa.column("missing_stages", sa.JSON()),
)


def _ranks(scores: dict[int, Decimal]) -> dict[int, int]:
    """Standard competition ranks (1, 2, 2, 4), highest score first."""
    first: dict[Decimal, int] = {}
    for index, value in enumerate(sorted(scores.values(), reverse=True), start=1):
        first.setdefault(value, index)
    return {key: first[value] for key, value in scores.items()}


def _backfill() -> None:
    bind = op.get_bind()
    titles: dict[int, dict[str, str]] = defaultdict(dict)
    for round_id, code, title in bind.execute(sa.select(stage.c.round_id, stage.c.code, stage.c.title)):
        titles[round_id][code] = title
    rounds = {row.id: row for row in bind.execute(sa.select(round_))}
    for pub in bind.execute(sa.select(publication.c.id, publication.c.round_id, publication.c.stage_weights)):
        rules = rounds[pub.round_id]
        codes = list(dict(pub.stage_weights or {}))
        later = [code for code in codes if code != SAQ]
        bind.execute(
            publication.update()
            .where(publication.c.id == pub.id)
            .values(
                gate_min_score=rules.gate_min_score,
                gate_top_n=rules.gate_top_n,
                missing_stage_policy=rules.missing_stage_policy or "zero",
                stage_titles={code: titles[pub.round_id].get(code, code) for code in later},
            )
        )
        rows = bind.execute(
            sa.select(
                result.c.id,
                result.c.category_id,
                result.c.participating,
                result.c.verified_score,
                result.c.stage_scores,
            ).where(result.c.publication_id == pub.id)
        ).all()
        by_category: dict[int, dict[int, Decimal]] = defaultdict(dict)
        for row in rows:
            if row.participating and row.verified_score is not None:
                by_category[row.category_id][row.id] = Decimal(row.verified_score)
        ranks: dict[int, int] = {}
        for scores in by_category.values():
            ranks.update(_ranks(scores))
        for row in rows:
            values: dict[str, Any]
            if not row.participating:
                values = {"passed_gate": None, "gate_rank": None, "missing_stages": codes}
            else:
                scored = dict(row.stage_scores or {})
                missing = [code for code in later if code not in scored]
                rank = ranks.get(row.id)
                if later:
                    passed = not missing
                else:
                    minimum, top_n = rules.gate_min_score, rules.gate_top_n
                    score = row.verified_score
                    passed = (minimum is None or (score is not None and score >= minimum)) and (
                        top_n is None or (rank is not None and rank <= top_n)
                    )
                values = {"passed_gate": passed, "gate_rank": rank, "missing_stages": missing}
            bind.execute(result.update().where(result.c.id == row.id).values(**values))


def upgrade() -> None:
    # Plain ADD COLUMN (a NOT NULL column with a default): SQLite adds it in place, where rebuilding the table
    # would trip over the rows that refer to it.
    op.add_column("publication", sa.Column("gate_min_score", sa.Numeric(precision=5, scale=2), nullable=True))
    op.add_column("publication", sa.Column("gate_top_n", sa.Integer(), nullable=True))
    op.add_column(
        "publication",
        sa.Column("missing_stage_policy", sa.String(length=16), nullable=False, server_default="zero"),
    )
    op.add_column("publication", sa.Column("stage_titles", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("published_result", sa.Column("passed_gate", sa.Boolean(), nullable=True))
    op.add_column("published_result", sa.Column("gate_rank", sa.Integer(), nullable=True))
    op.add_column(
        "published_result", sa.Column("missing_stages", sa.JSON(), nullable=False, server_default="[]")
    )
    _backfill()


def downgrade() -> None:
    for table, column in (
        ("published_result", "missing_stages"),
        ("published_result", "gate_rank"),
        ("published_result", "passed_gate"),
        ("publication", "stage_titles"),
        ("publication", "missing_stage_policy"),
        ("publication", "gate_top_n"),
        ("publication", "gate_min_score"),
    ):
        op.drop_column(table, column)
