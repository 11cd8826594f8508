"""The corrections of a round (the recap's ``Koreksi Verifikasi`` rows): every verified value that differs
from the body's own, in category code, body name and template question order, whatever the batch size."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.db.models import PublicBody, Submission
from app.questionnaires.service import import_template
from app.verification.corrections import iter_corrections
from tests.factories import (
    MINI_FULL,
    MINI_TEMPLATE,
    World,
    make_answers,
    make_body,
    make_category,
    make_round,
    make_submission,
    make_verification,
    make_verified_submission,
)


def _aspects_swapped(session: Session) -> Any:
    """The mini template as version 2 with its aspects in the other order: 2.x is asked before 1.x."""
    text = MINI_TEMPLATE.read_text(encoding="utf-8").replace('version: "1"', 'version: "2"')
    head, aspects = text.split("aspects:\n")
    first, second = aspects.split('  - code: "2"\n')
    swapped = head + "aspects:\n" + '  - code: "2"\n' + second.rstrip("\n") + "\n" + first
    return import_template(session=session, text=swapped, source_name="mini-v2.yaml").version


@pytest.fixture
def corrected(session: Session, world: World) -> list[tuple[Any, ...]]:
    """A round with corrections in two categories and two template versions; returns the expected rows."""
    kecamatan = make_category(session, world.commission, code="kecamatan", name="Kecamatan")
    swapped = _aspects_swapped(session)
    verifier = world.verifier
    beta = make_body(session, world.category, name="Kelurahan Beta")
    alfa = make_body(session, world.category, name="Kelurahan Alfa")
    gamma = make_body(session, world.category, name="Kelurahan Gamma")
    delta = make_body(session, world.category, name="Kelurahan Delta")
    zeta = make_body(session, kecamatan, name="Kecamatan Zeta")
    make_verified_submission(session, world.round, beta, world.template, verifier, {"2.2": 40, "1.1.2": "b"})
    # The same answers written another way are no correction: options in another order, 95 as "95.0".
    make_verified_submission(session, world.round, alfa, world.template, verifier, {"2.1": ["fb", "ig"]})
    make_verified_submission(
        session, world.round, gamma, world.template, None, {"2.2": "95.0", "1.1.1": "no"}
    )
    # A verified value where the body gave none; a code the template does not have is left out.
    without_text = {code: a for code, a in MINI_FULL.items() if code != "2.3"}
    submission = make_submission(session, world.round, delta, world.template, status="submitted")
    make_answers(session, submission, without_text)
    make_verification(
        session,
        submission,
        verifier,
        {
            "1.1.1": {"value": "yes", "evidence_checked": True},
            "2.3": {"value": "https://ppid.delta.go.id", "note": "=Situs ditemukan verifikator"},
            "9.9": {"value": "yes"},
        },
    )
    make_verified_submission(session, world.round, zeta, swapped, verifier, {"1.1.1": "no", "2.1": ["ig"]})
    # Not counted: a submission nobody verified yet, and another round's corrections.
    make_submission(session, world.round, world.body, world.template, status="submitted")
    other_round = make_round(session, world.commission, templates={world.category: world.template})
    make_verified_submission(session, other_round, world.other_body, world.template, verifier, {"2.2": 10})
    name = verifier.name
    return [
        ("kecamatan", "Kecamatan Zeta", "2.1", ["ig", "fb"], ["ig"], name, None, swapped.id),
        ("kecamatan", "Kecamatan Zeta", "1.1.1", "yes", "no", name, None, swapped.id),
        ("kelurahan", "Kelurahan Beta", "1.1.2", "a", "b", name, None, world.template.id),
        ("kelurahan", "Kelurahan Beta", "2.2", 95, 40, name, None, world.template.id),
        (
            "kelurahan",
            "Kelurahan Delta",
            "2.3",
            None,
            "https://ppid.delta.go.id",
            name,
            "=Situs ditemukan verifikator",
            world.template.id,
        ),
        ("kelurahan", "Kelurahan Gamma", "1.1.1", "yes", "no", None, None, world.template.id),
    ]


@pytest.mark.parametrize("batch", [1, 2, 1000])
def test_corrections_in_category_body_and_question_order_whatever_the_batch(
    session: Session, world: World, corrected: list[tuple[Any, ...]], batch: int
) -> None:
    rows = list(iter_corrections(session=session, round_=world.round, batch=batch))
    assert [
        (
            r.category_code,
            r.body_name,
            r.question_code,
            r.self_value,
            r.verified_value,
            r.verifier_name,
            r.note,
            r.template_version_id,
        )
        for r in rows
    ] == corrected


def test_corrections_carry_the_question_text_and_the_ids(
    session: Session, world: World, corrected: list[tuple[Any, ...]]
) -> None:
    first = next(iter_corrections(session=session, round_=world.round))
    assert first.question_text == "Kanal media sosial yang digunakan"
    assert first.verifier_id == world.verifier.id
    submission = session.get(Submission, first.submission_id)
    assert submission is not None
    body = session.get(PublicBody, submission.body_id)
    assert body is not None
    assert (first.body_id, body.name) == (body.id, "Kecamatan Zeta")
