"""Pages answer unreadable numbers with an Indonesian 422 page, never a 500.

Each was a 500: a page id past the INTEGER range, and form numbers read with ``str.isdigit`` + ``int()``
(which refuses "²" and more than 4,300 digits, and whose huge values overflowed the database driver or ran
the stage form's loop for as many rows as asked).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Stage, VerifierAssignment
from tests.factories import World
from tests.web.conftest import Pages


def test_a_page_id_past_the_integer_range_is_a_page_not_found(pages: Pages, world: World) -> None:
    pages.login(world.admin)
    response = pages.get(f"/ronde/{2**63}")
    assert response.status_code == 404
    assert "Halaman tidak ditemukan" in response.text


def test_form_numbers_int_refuses_are_named_and_change_nothing(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    year = pages.post("/ronde", {"title": "Monev", "year": "²", "saq_opens_at": "", "saq_closes_at": ""})
    assign = pages.post(
        f"/ronde/{world.round.id}/penugasan", {"category": "kelurahan", "verifier": "9" * 5000}
    )
    stages = pages.post(
        f"/ronde/{world.round.id}/tahap", {"rows": "9" * 30, "saq_weight": "100"}, follow_redirects=False
    )
    assert year.status_code == 422
    assert "Tahun harus bilangan bulat." in year.text
    assert assign.status_code == 422
    assert "Pilih minimal satu verifikator." in assign.text
    assert stages.status_code == 303
    assert session.scalar(select(func.count()).select_from(VerifierAssignment)) == 0
    assert session.scalar(select(func.count()).select_from(Stage)) == 0
