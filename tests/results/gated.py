"""A round with a gate, worked out by hand, for the tests of explained results.

SAQ 70 + "Presentasi / Uji Publik" 30 (code ``presentasi``), gate: verified SAQ at least 82, missing-stage
policy ``zero``. Four kelurahan are invited (verified scores on the mini template, see tests/stages):

    body                 verified  gate   panel  final                                  band
    world.body  (A)      90.00     pass   80     90 x 0.7 + 80 x 0.3 = 87.00            menuju-informatif
    world.other_body (B) 85.00     pass   90     85 x 0.7 + 90 x 0.3 = 86.50            menuju-informatif
    Kelurahan Cempaka    80.00     fail   -      80 x 0.7 + 0 x 0.3 = 56.00 (zero)      kurang-informatif
                                                 80.00 under saq_only                   menuju-informatif
    Kelurahan Dahlia     -  (invited, never submitted: tidak mengikuti)

Ranks by final score: A 1, B 2, Cempaka 3. Ranks by verified score (the gate's): A 1, B 2, Cempaka 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.db.models import Account, Invitation, PanelScore, PublicBody, Stage, Submission
from tests.factories import World, make_account, make_body, make_stage, make_verified_submission

STAGE_TITLE = "Presentasi / Uji Publik"


@dataclass
class Gated:
    world: World
    stage: Stage
    failed: PublicBody
    absent: PublicBody
    failed_operator: Account
    absent_operator: Account
    submissions: dict[int, Submission]


def gated_season(world: World, *, policy: str = "zero") -> Gated:
    session = world.session
    round_ = world.round
    round_.status = "final"
    round_.saq_weight = Decimal(70)
    round_.gate_min_score = Decimal(82)
    round_.missing_stage_policy = policy
    stage = make_stage(session, round_, code="presentasi", title=STAGE_TITLE, weight=30)
    failed = make_body(session, world.category, name="Kelurahan Cempaka")
    absent = make_body(session, world.category, name="Kelurahan Dahlia")
    session.add_all(Invitation(round_id=round_.id, body_id=b.id) for b in (failed, absent))
    cid = world.commission.id
    failed_operator = make_account(session, "operator", commission_id=cid, body_id=failed.id)
    absent_operator = make_account(session, "operator", commission_id=cid, body_id=absent.id)
    submissions = {}
    for body, changes in (
        (world.body, {"2.2": 60}),
        (world.other_body, {"1.1.2": "b"}),
        (failed, {"2.1": ["ig"], "2.2": 60}),
    ):
        submissions[body.id] = make_verified_submission(
            session, round_, body, world.template, world.verifier, changes
        )
    for body, score in ((world.body, 80), (world.other_body, 90)):
        judge = world.panelist.id
        session.add(PanelScore(stage_id=stage.id, body_id=body.id, panelist_id=judge, score=Decimal(score)))
    session.flush()
    return Gated(world, stage, failed, absent, failed_operator, absent_operator, submissions)
