"""Result pages that explain themselves (the body's result page, the ranking, the publication page) and
downloads that wait for publication. The round is ``tests.results.gated``."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import World, make_submission
from tests.results.gated import STAGE_TITLE, Gated, gated_season
from tests.web.conftest import Pages

pytestmark = pytest.mark.db

GATE_FAILED = f"Tidak lolos ke tahap {STAGE_TITLE}: nilai SAQ terverifikasi 80,00, batas 82."


@pytest.fixture
def gated(world: World) -> Gated:
    return gated_season(world)


def publish(client: TestClient, world: World) -> None:
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish",
        json={"reason": "Keputusan pleno 3/2025"},
        headers=world.token(world.admin),
    )
    assert response.status_code == 201, response.text


def text_of(html: str) -> str:
    """The visible words of a page, tags dropped and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def row_of(html: str, name: str) -> str:
    rows = [r for r in re.findall(r"<tr[ >].*?</tr>", html, flags=re.S) if name in r]
    assert len(rows) == 1, name
    return text_of(rows[0])


def test_a_body_that_failed_the_gate_reads_why_on_its_result_page(
    pages: Pages, client: TestClient, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    pages.login(gated.failed_operator)
    page = pages.get(f"/pengisian/{gated.submissions[gated.failed.id].id}/hasil")
    assert page.status_code == 200
    words = text_of(page.text)
    assert GATE_FAILED in words
    assert (
        "Menurut aturan periode ini, tahap yang tidak diikuti dihitung 0. "
        f"Nilai akhir = SAQ 80,00 × 70% + {STAGE_TITLE} 0,00 × 30% = 56,00." in words
    )
    assert "Kurang Informatif: nilai akhir 56,00 berada pada rentang 40 sampai di bawah 60." in words
    assert row_of(page.text, 'data-stage="presentasi"') == f"{STAGE_TITLE} 30% Tidak mengikuti (dihitung 0)"
    assert row_of(page.text, 'data-stage="saq"') == "Nilai verifikasi (SAQ) 70% 80,00"
    # Each aspect by its name, with its weight and its verified score (mini template: 60 and 40).
    assert row_of(page.text, "Jenis Informasi") == "1. Jenis Informasi 60% 100,00"
    assert row_of(page.text, "Digitalisasi") == "2. Digitalisasi 40% 50,00"
    assert not re.search(r"Indikator \d", words)
    assert f'href="/pengisian/{gated.submissions[gated.failed.id].id}/lembar-hasil.xlsx"' in page.text


def test_the_result_page_keeps_the_explanation_it_was_published_with(
    pages: Pages, client: TestClient, session: Session, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    world.round.gate_min_score = Decimal(50)
    world.round.missing_stage_policy = "saq_only"
    gated.stage.title = "Visitasi"
    session.flush()
    pages.login(gated.failed_operator)
    words = text_of(pages.get(f"/pengisian/{gated.submissions[gated.failed.id].id}/hasil").text)
    assert GATE_FAILED in words
    assert "Visitasi" not in words


def test_a_body_that_passed_reads_the_weighted_sum(pages: Pages, client: TestClient, gated: Gated) -> None:
    world = gated.world
    publish(client, world)
    pages.login(world.operator)
    words = text_of(pages.get(f"/pengisian/{gated.submissions[world.body.id].id}/hasil").text)
    assert f"Lolos ke tahap {STAGE_TITLE}: nilai SAQ terverifikasi 90,00, batas 82." in words
    assert f"Nilai akhir = SAQ 90,00 × 70% + {STAGE_TITLE} 80,00 × 30% = 87,00." in words
    assert "dihitung 0" not in words


def test_a_body_that_took_no_part_reads_so_for_every_stage(
    pages: Pages, client: TestClient, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    draft = make_submission(world.session, world.round, gated.absent, world.template)
    pages.login(gated.absent_operator)
    page = pages.get(f"/pengisian/{draft.id}/hasil")
    assert row_of(page.text, 'data-stage="presentasi"') == f"{STAGE_TITLE} 30% Tidak mengikuti"
    assert row_of(page.text, 'data-stage="saq"') == "Nilai verifikasi (SAQ) 70% Tidak mengikuti"
    assert "tidak mengikuti penilaian (tidak mengirim SAQ)" in text_of(page.text)


def test_before_publication_the_downloads_are_shown_disabled_with_the_reason(
    pages: Pages, gated: Gated
) -> None:
    world = gated.world
    pages.login(gated.failed_operator)
    result = pages.get(f"/pengisian/{gated.submissions[gated.failed.id].id}/hasil").text
    assert "lembar-hasil.xlsx" not in result
    assert re.search(r'<button[^>]*id="download-result-sheet"[^>]*disabled', result)
    assert "Tersedia setelah hasil diumumkan." in text_of(result)

    staff = Pages(pages.client).login(world.admin)
    publication = staff.get(f"/ronde/{world.round.id}/publikasi").text
    assert "rekapitulasi.xlsx" not in publication
    assert "lembar-hasil.zip" not in publication
    for button in ("download-recap", "download-result-sheets", "download-letters"):
        assert re.search(rf'<button[^>]*id="{button}"[^>]*disabled', publication), button
    assert text_of(publication).count("Tersedia setelah hasil diumumkan.") == 3
    assert f"Bobot nilai akhir: SAQ 70% + {STAGE_TITLE} 30%." in text_of(publication)


def test_after_publication_the_downloads_are_buttons_that_ask_for_the_files(
    pages: Pages, client: TestClient, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    pages.login(world.admin)
    publication = pages.get(f"/ronde/{world.round.id}/publikasi").text
    for kind, button in (
        ("recap", "Buat rekapitulasi"),
        ("result_sheets", "Buat lembar hasil (ZIP)"),
        ("letters", "Buat surat hasil (ZIP berisi PDF)"),
    ):
        form = re.search(
            rf'<form method="post" action="/ronde/{world.round.id}/unduhan">.*?value="{kind}">.*?</form>',
            publication,
            flags=re.S,
        )
        assert form, kind
        assert button in form.group(0)
    assert "Tersedia setelah hasil diumumkan." not in publication


def test_the_publication_page_says_in_indonesian_why_a_result_is_incomplete(
    pages: Pages, session: Session, gated: Gated
) -> None:
    world = gated.world
    gated.stage.weight = Decimal(20)
    session.flush()
    pages.login(world.admin)
    words = text_of(pages.get(f"/ronde/{world.round.id}/publikasi").text)
    assert "Bobot SAQ dan tahap berjumlah 90, bukan 100: perbaiki bobot tahap." in words
    assert "sum to" not in words


def test_the_ranking_shows_every_stage_and_why_a_body_missed_one(
    pages: Pages, client: TestClient, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    pages.login(world.admin)
    page = pages.get(f"/ronde/{world.round.id}/peringkat").text
    assert f"{STAGE_TITLE} (30%)" in text_of(page)
    assert "Nilai Verifikasi (70%)" in text_of(page)
    assert row_of(page, gated.failed.name) == (
        f"3 {gated.failed.name} {GATE_FAILED} Kelurahan 100,00 80,00 Tidak mengikuti (dihitung 0) 56,00 "
        f"Kurang Informatif PDF surat hasil {gated.failed.name}"
    )
    assert row_of(page, gated.absent.name) == (
        f"- {gated.absent.name} Kelurahan Tidak mengikuti Tidak mengikuti Tidak mengikuti - Tidak Mengikuti "
        f"PDF surat hasil {gated.absent.name}"
    )
    assert (
        row_of(page, f">{world.body.name}<")
        == f"1 {world.body.name} Kelurahan 100,00 90,00 80,00 87,00 Menuju Informatif PDF surat hasil "
        f"{world.body.name}"
    )


@pytest.mark.parametrize("spelling", ["tidak-mengikuti", "tidak_mengikuti"])
def test_the_ranking_filter_reads_both_spellings(
    pages: Pages, client: TestClient, gated: Gated, spelling: str
) -> None:
    world = gated.world
    publish(client, world)
    pages.login(world.admin)
    page = pages.get(f"/ronde/{world.round.id}/peringkat?kualifikasi={spelling}").text
    body_rows = re.findall(r"<tr>\s*<td data-label=\"Peringkat\".*?</tr>", page, flags=re.S)
    assert len(body_rows) == 1
    assert gated.absent.name in body_rows[0]
    assert re.search(r'<option value="tidak-mengikuti" selected>', page)


def test_a_refused_publication_comes_back_on_its_page_in_indonesian(
    pages: Pages, client: TestClient, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    pages.login(world.admin)
    path = f"/ronde/{world.round.id}/publikasi"
    typed = "Koreksi menurut Keputusan Rapat Pleno Nomor 7/2025"
    refused = pages.post(path, {"_form": "umumkan", "_halaman": path, "reason": typed})
    assert refused.status_code == 409
    assert "<h1>Penetapan hasil" in refused.text
    summary = re.search(r'<div class="alert alert-bad error-summary".*?</div>', refused.text, re.S)
    assert summary is not None
    assert "Tidak ada yang berubah sejak revisi 1: revisi baru hanya untuk mencatat koreksi." in text_of(
        summary.group(0)
    )
    assert typed in refused.text
    assert "nothing changed" not in refused.text


def test_a_publication_without_a_reason_names_the_field(pages: Pages, gated: Gated) -> None:
    world = gated.world
    pages.login(world.admin)
    path = f"/ronde/{world.round.id}/publikasi"
    refused = pages.post(path, {"_form": "umumkan", "_halaman": path, "reason": " "})
    assert refused.status_code == 422
    assert '<p class="field-error" id="f-umumkan-reason-galat">' in refused.text
    reason = re.search(r'<textarea id="f-umumkan-reason"[^>]*>', refused.text)
    assert reason is not None
    assert 'aria-invalid="true"' in reason.group(0)
