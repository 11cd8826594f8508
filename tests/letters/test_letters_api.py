"""One body's letter over the API: the figures are the published ones (the same as the ranking's, to the
cent), the recommendations the result sheet's, and only those who may read the body get it, once
published."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.models import Commission
from tests.exports.published import Published, make_publication, publish_world
from tests.factories import World, make_account, make_commission, problem
from tests.letters.pdf import fonts_of, text_of

pytestmark = pytest.mark.db


@pytest.fixture
def published(world: World) -> Published:
    commission: Commission = world.commission
    commission.letter_heading = "Komisi Informasi\nProvinsi Uji"
    commission.letter_address = "Jl. Uji No. 1"
    commission.letter_city = "Jakarta"
    commission.letter_chair_name = "Ketua Uji, S.H."
    commission.letter_number_format = "{urut:03}/{kode}/{romawi}/{tahun}"
    world.session.flush()
    published = publish_world(world)
    # 20:00 UTC on the 9th is 03:00 WIB on the 10th: the letter is dated in the commission's time zone.
    published.publication.created_at = datetime(2025, 12, 9, 20, 0, tzinfo=UTC)
    world.session.flush()
    return published


def letter_url(published: Published, body_id: int, query: str = "") -> str:
    return f"/api/v1/rounds/{published.round.id}/bodies/{body_id}/letter.pdf{query}"


def fetch(client: TestClient, published: Published, body_id: int, headers: dict[str, str]) -> str:
    response = client.get(letter_url(published, body_id), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="surat-hasil-')
    assert disposition.endswith(f'-{body_id}.pdf"')
    assert all(embedded for _, embedded in fonts_of(response.content))
    return text_of(response.content)


def ranking_item(client: TestClient, published: Published, category: str, body_id: int) -> dict[str, Any]:
    ranking = client.get(f"/api/v1/public/rounds/{published.round.id}/rankings?category={category}").json()
    members = client.get(
        f"/api/v1/rounds/{published.round.id}/rankings?category={category}",
        headers=published.world.token(published.world.admin),
    ).json()
    assert ranking["items"] == members["items"]
    item: dict[str, Any] = next(i for i in ranking["items"] if i["body_id"] == body_id)
    item["ranked"] = sum(1 for i in ranking["items"] if i["rank"] is not None)
    return item


def comma(figure: str) -> str:
    return figure.replace(".", ",")


def test_the_letter_carries_the_published_figures_to_the_cent(
    client: TestClient, published: Published
) -> None:
    world = published.world
    text = fetch(client, published, world.body.id, world.token(world.operator))
    item = ranking_item(client, published, "kelurahan", world.body.id)
    assert "KOMISI INFORMASI" in text
    assert "PROVINSI UJI" in text
    assert f"Nomor : 001/{world.commission.code}/XII/2025" in text
    assert "Jakarta, 10 Desember 2025" in text
    assert "pada 10 Desember 2025 (revisi 1)" in text
    assert f"Pimpinan {world.body.name}" in text
    assert f"SAQ (nilai terverifikasi) 70 {comma(item['verified_score'])}" in text
    assert f"Presentasi 30 {comma(item['stage_scores']['presentasi'])}" in text
    assert item["final_score"] == "76.50"
    assert f"Nilai akhir : {comma(item['final_score'])}" in text
    assert f"Kualifikasi : {item['band_label']}" in text
    assert f"peringkat {item['rank']} dari {item['ranked']} di kategori Kelurahan" in text
    assert "Jenis Informasi 60 75,00" in text
    assert "Digitalisasi 40 75,00" in text
    # The result sheet's recommendations, in its order: 1.1.2 lost 1.00, then 2.1 lost 0.50.
    assert text.index("1.1.2") < text.index("2.1 ") < text.index("Demikian")
    assert "1,00" in text
    assert "0,50" in text
    assert "Ketua Uji, S.H." in text
    assert "menggantikan" not in text


def test_ties_share_a_rank_and_a_hostile_name_prints_as_is(client: TestClient, published: Published) -> None:
    world = published.world
    text = fetch(client, published, published.formula_body.id, world.token(world.admin))
    item = ranking_item(client, published, "kecamatan", published.formula_body.id)
    assert f"Pimpinan {published.formula_body.name}" in text
    assert f"Nilai akhir : {comma(item['final_score'])}" in text
    assert "peringkat 1 dari 3 di kategori Kecamatan" in text
    assert "Kualifikasi : Informatif" in text


def test_a_body_that_took_no_part_gets_its_letter_too(client: TestClient, published: Published) -> None:
    world = published.world
    text = fetch(client, published, world.other_body.id, world.token(world.other_operator))
    assert "Kualifikasi : Tidak Mengikuti" in text
    assert "tidak mengikuti penilaian" in text


def test_a_corrected_revision_replaces_the_earlier_letter(client: TestClient, published: Published) -> None:
    world = published.world
    make_publication(
        world.session,
        world.round,
        [
            (
                world.body,
                {
                    "self_score": "100.00",
                    "verified_score": "75.00",
                    "stage_scores": {"saq": "75.00", "presentasi": "90.00"},
                    "final_score": "79.50",
                    "band": "cukup-informatif",
                    "rank": 1,
                },
            )
        ],
        revision=2,
    )
    text = fetch(client, published, world.body.id, world.token(world.operator))
    assert "Surat ini menggantikan surat dari hasil revisi 1, karena hasil dikoreksi: Koreksi" in text
    assert "Nilai akhir : 79,50" in text
    earlier = client.get(
        letter_url(published, world.body.id, "?revision=1"), headers=world.token(world.admin)
    )
    assert "Nilai akhir : 76,50" in text_of(earlier.content)
    missing = client.get(letter_url(published, world.other_body.id), headers=world.token(world.admin))
    assert missing.status_code == 404  # not in revision 2
    assert "is not in revision 2" in problem(missing)["detail"]


def test_only_the_body_and_the_commission_get_the_letter(client: TestClient, published: Published) -> None:
    world = published.world
    url = letter_url(published, world.body.id)
    for account in (world.admin, world.panelist, world.operator, world.system_admin):
        assert client.get(url, headers=world.token(account)).status_code == 200
    assert client.get(url).status_code == 401
    assert client.get(url, headers=world.token(world.other_operator)).status_code == 403
    stranger = make_account(
        world.session, "commission_admin", commission_id=make_commission(world.session).id
    )
    assert client.get(url, headers=world.token(stranger)).status_code in (403, 404)
    unknown = client.get(letter_url(published, 999_999), headers=world.token(world.admin))
    assert unknown.status_code == 404


def test_no_letter_before_publication(client: TestClient, world: World) -> None:
    url = f"/api/v1/rounds/{world.round.id}/bodies/{world.body.id}/letter.pdf"
    for account in (world.operator, world.admin):
        response = client.get(url, headers=world.token(account))
        assert response.status_code == 404
        problem(response)
