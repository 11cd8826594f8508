"""The PPID operator's pages in process: dashboard, SAQ form, autosave JSON, conflicts, submit."""

from __future__ import annotations

import pytest

from tests.factories import World
from tests.web.conftest import Pages

pytestmark = pytest.mark.db


def open_form(pages: Pages, world: World) -> int:
    response = pages.post(f"/pengisian/mulai/{world.round.id}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_the_operator_opens_the_saq_form_by_aspect(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    page = pages.get(f"/pengisian/{sid}")
    assert page.status_code == 200, page.text
    assert "Jenis Informasi" in page.text
    assert "Apakah badan publik memiliki DIP?" in page.text
    assert "data-when=" in page.text
