"""A published round worked out by hand, for the export tests.

World (mini template: aspect 1 "Jenis Informasi" weight 60, aspect 2 "Digitalisasi" weight 40), round
weights SAQ 70 + Presentasi 30:

- ``world.body`` (kelurahan) answered 1.1.1 yes (with a link), 1.1.2 a (Lengkap), 2.1 [ig, fb], 2.2 95 and a
  text that looks like a formula. Self: every scored question full, 100.00. The verifier kept 1.1.1 (evidence
  checked) and 2.2, set 1.1.2 to b (Sebagian: 1 of 2 points) and 2.1 to [ig] (0.5 of 1). Verified aspect 1 =
  100 x 3/4 = 75, aspect 2 = 100 x 1.5/2 = 75, SAQ 75.00. Presentation 80.00. Final 75 x 0.7 + 80 x 0.3 =
  76.50, Cukup Informatif, rank 1 of kelurahan. Recommendations: 1.1.2 (1.00 lost), then 2.1 (0.50 lost).
  In the earlier round (Monev 2024) it had 85.00, Menuju Informatif: change -8.50, one band down.
- ``world.other_body`` (kelurahan) was invited and never submitted: tidak mengikuti.
- kecamatan: "=SUM(A1:A2)" and "Kecamatan Dua" share 91.75 (Informatif, rank 1 and 1), "Kecamatan Tiga" has
  50.00 (Kurang Informatif, rank 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import (
    BodyCategory,
    Invitation,
    Publication,
    PublicBody,
    PublishedResult,
    Round,
    RoundTemplate,
    Stage,
    Submission,
    VerifierAssignment,
)
from tests.factories import (
    World,
    make_answers,
    make_body,
    make_category,
    make_round,
    make_submission,
    make_verification,
)

PUBLISHED_AT = datetime(2025, 12, 10, 3, 0, tzinfo=UTC)  # 10:00 WIB
FORMULA_NAME = "=SUM(A1:A2)"
FORMULA_TEXT = '=HYPERLINK("http://evil.example/","klik")'
FORMULA_NOTE = "=cmd|' /C calc'!A0"
EVIDENCE = "https://ppid.example.go.id/dip"
WEIGHTS = {"saq": "70", "presentasi": "30"}


def make_publication(
    session: Session,
    round_: Round,
    rows: list[tuple[PublicBody, dict[str, Any]]],
    *,
    revision: int = 1,
    stage_weights: dict[str, str] | None = None,
    created_at: datetime = PUBLISHED_AT,
) -> Publication:
    """A publication snapshot with the given rows (``PublishedResult`` fields; a body that took no part
    needs only ``{"participating": False}``)."""
    publication = Publication(
        round_id=round_.id,
        revision=revision,
        reason="Penetapan hasil" if revision == 1 else "Koreksi",
        stage_weights=stage_weights or WEIGHTS,
        stage_titles={code: code.capitalize() for code in stage_weights or WEIGHTS if code != "saq"},
        created_at=created_at,
    )
    session.add(publication)
    session.flush()
    for body, fields in rows:
        codes = list(stage_weights or WEIGHTS)
        took_part = fields.get("participating", True)
        values = {
            "participating": True,
            "stage_scores": {},
            "aspect_scores": {},
            "passed_gate": True if took_part else None,
            "missing_stages": [] if took_part else codes,
        } | fields
        for key in ("self_score", "verified_score", "final_score"):
            if values.get(key) is not None:
                values[key] = Decimal(values[key])
        session.add(
            PublishedResult(
                publication_id=publication.id, body_id=body.id, category_id=body.category_id, **values
            )
        )
    session.flush()
    return publication


def _scores(
    self_: str, verified: str, presentation: str, final: str, band: str, rank: int, aspects: dict[str, str]
) -> dict[str, Any]:
    return {
        "self_score": self_,
        "verified_score": verified,
        "stage_scores": {"saq": verified, "presentasi": presentation},
        "aspect_scores": aspects,
        "final_score": final,
        "band": band,
        "rank": rank,
    }


@dataclass
class Published:
    world: World
    kecamatan: BodyCategory
    formula_body: PublicBody
    kecamatan_dua: PublicBody
    kecamatan_tiga: PublicBody
    submission: Submission
    publication: Publication
    earlier_round: Round

    @property
    def round(self) -> Round:
        return self.world.round


def publish_world(world: World) -> Published:
    session = world.session
    round_ = world.round
    round_.saq_weight = Decimal(70)
    round_.status = "published"
    session.add(
        Stage(
            round_id=round_.id, code="presentasi", kind="presentation", title="Presentasi", weight=Decimal(30)
        )
    )
    kecamatan = make_category(session, world.commission, code="kecamatan", name="Kecamatan")
    session.add(
        RoundTemplate(round_id=round_.id, category_id=kecamatan.id, template_version_id=world.template.id)
    )
    formula_body = make_body(session, kecamatan, name=FORMULA_NAME, region_code="31.71.01")
    dua = make_body(session, kecamatan, name="Kecamatan Dua", region_code="31.71.02")
    tiga = make_body(session, kecamatan, name="Kecamatan Tiga", region_code="31.71.03")
    session.add_all([Invitation(round_id=round_.id, body_id=b.id) for b in (formula_body, dua, tiga)])
    world.body.region_code = "31.71.01.1001"
    session.flush()

    submission = make_submission(
        session, round_, world.body, world.template, status="submitted", submitted_at=PUBLISHED_AT
    )
    make_answers(
        session,
        submission,
        {
            "1.1.1": {"value": "yes", "evidence": [EVIDENCE]},
            "1.1.2": {"value": "a"},
            "2.1": {"value": ["ig", "fb"]},
            "2.2": {"value": 95},
            "2.3": {"value": FORMULA_TEXT},
        },
    )
    session.add(VerifierAssignment(round_id=round_.id, body_id=world.body.id, verifier_id=world.verifier.id))
    make_verification(
        session,
        submission,
        world.verifier,
        {
            "1.1.1": {"value": "yes", "evidence_checked": True},
            "1.1.2": {"value": "b", "evidence_checked": True, "note": FORMULA_NOTE},
            "2.1": {"value": ["ig"], "evidence_checked": True, "note": "Hanya Instagram yang aktif"},
            "2.2": {"value": 95, "evidence_checked": True},
            "2.3": {"value": FORMULA_TEXT, "evidence_checked": True},
        },
        completed=True,
    )

    earlier = make_round(
        session,
        world.commission,
        templates={world.category: world.template},
        invite=[world.body],
        year=2024,
        title="Monev 2024",
        status="published",
        saq_opens_at=datetime(2024, 6, 1, tzinfo=UTC),
        saq_closes_at=datetime(2024, 7, 1, tzinfo=UTC),
    )
    make_publication(
        session,
        earlier,
        [
            (
                world.body,
                _scores(
                    "90.00", "85.00", "85.00", "85.00", "menuju-informatif", 1, {"1": "85.00", "2": "85.00"}
                ),
            )
        ],
        created_at=datetime(2024, 12, 1, 3, 0, tzinfo=UTC),
    )

    publication = make_publication(
        session,
        round_,
        [
            (
                world.body,
                _scores(
                    "100.00", "75.00", "80.00", "76.50", "cukup-informatif", 1, {"1": "75.00", "2": "75.00"}
                ),
            ),
            (world.other_body, {"participating": False}),
            (
                formula_body,
                _scores("90.00", "92.50", "90.00", "91.75", "informatif", 1, {"1": "100.00", "2": "81.25"}),
            ),
            (
                dua,
                _scores("95.00", "92.50", "90.00", "91.75", "informatif", 1, {"1": "100.00", "2": "81.25"}),
            ),
            (
                tiga,
                _scores(
                    "60.00", "50.00", "50.00", "50.00", "kurang-informatif", 3, {"1": "50.00", "2": "50.00"}
                ),
            ),
        ],
    )
    return Published(world, kecamatan, formula_body, dua, tiga, submission, publication, earlier)
