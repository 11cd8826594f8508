"""Round-wide scoring (vectorised) gives exactly the figures of scoring one submission at a time."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import EvidenceFile, Invitation, Objection, Verification
from app.verification.common import template_of
from app.verification.scores import load_answer_data, round_scores, self_card, verified_card
from tests.factories import World, make_answers, make_body, make_submission, make_verification, now


def test_round_scores_equal_one_by_one_scores_for_every_kind_of_evidence(
    session: Session, world: World
) -> None:
    bodies = [world.body, world.other_body] + [make_body(session, world.category) for _ in range(4)]
    session.add_all(Invitation(round_id=world.round.id, body_id=b.id) for b in bodies[2:])
    cases = [
        # evidence by link, verifier checked it
        (
            {"1.1.1": {"value": "yes", "evidence": ["https://a.example/dip"]}},
            {"1.1.1": ("yes", True)},
            None,
            None,
        ),
        # evidence by uploaded file only, checked
        (
            {"1.1.1": {"value": "yes"}, "1.1.2": {"value": "a"}},
            {"1.1.1": ("yes", True), "1.1.2": ("b", True)},
            "file",
            None,
        ),
        # evidence present but not checked: the verified "yes" earns nothing
        (
            {"1.1.1": {"value": "yes", "evidence": ["https://a.example/dip"]}},
            {"1.1.1": ("yes", False)},
            None,
            None,
        ),
        # no evidence of its own; an accepted objection brought a link
        (
            {"1.1.1": {"value": "no"}, "2.2": {"value": 95}},
            {"1.1.1": ("yes", True), "2.2": ("60", True)},
            None,
            "objection",
        ),
        # a file on a question without an answer row, nothing reviewed
        ({"2.1": {"value": ["ig"]}}, {}, "file-only", None),
        # not submitted at all (a draft), and not verified
        ({"2.2": {"value": 50}}, None, None, None),
    ]
    for body, (answers, reviewed, file, objection) in zip(bodies, cases, strict=True):
        sub = make_submission(
            session,
            world.round,
            body,
            world.template,
            status="submitted" if reviewed is not None else "draft",
            submitted_at=now(),
        )
        make_answers(session, sub, answers)
        if file:
            session.add(
                EvidenceFile(
                    submission_id=sub.id,
                    question_code="1.1.1",
                    sha256="a" * 64,
                    size=10,
                    content_type="application/pdf",
                    original_name="dip.pdf",
                )
            )
        if reviewed is not None:
            make_verification(
                session,
                sub,
                world.verifier,
                {code: {"value": v, "evidence_checked": c} for code, (v, c) in reviewed.items()},
                completed=True,
            )
        if objection:
            session.add(
                Objection(
                    submission_id=sub.id,
                    question_code="1.1.1",
                    explanation="DIP ada",
                    evidence_links=["https://a.example/dip-baru"],
                    status="accepted",
                )
            )
    session.flush()

    scores = round_scores(session=session, round_id=world.round.id)
    template = template_of(session, world.template.id)
    for body in bodies:
        figures = scores[body.id]
        verification = session.scalar(
            select(Verification).where(Verification.submission_id == figures.submission_id)
        )
        data = load_answer_data(
            session=session, submissions=[(figures.submission_id, verification.id if verification else None)]
        )[figures.submission_id]
        one_by_one = verified_card(template, data)
        assert figures.self_score == self_card(template, data).score
        assert figures.verified_score == one_by_one.score
        assert figures.verified_aspects == {
            a.code: a.score for a in one_by_one.aspects if a.score is not None
        }
    # Spot checks worked out by hand: case 2 (file evidence, 1.1.2 verified b): aspect 1 = (2 + 1) / 4 = 75,
    # aspect 2 unreviewed = 0 -> 75 x 0.6 = 45.00; case 4 (objection link makes 1.1.1 count; 2.2 = 60 earns
    # 0.5 of 1; 1.1.2 and 2.1 unreviewed): aspect 1 = 2 / 4 = 50, aspect 2 = 0.5 / 2 = 25 -> 30 + 10 = 40.00.
    assert scores[bodies[1].id].verified_score == Decimal("45.00")
    assert scores[bodies[3].id].verified_score == Decimal("40.00")
    assert scores[bodies[2].id].verified_score == Decimal("0.00")
    assert (scores[bodies[5].id].took_part, scores[bodies[5].id].verified) == (False, False)
