"""Open data as a data officer and a harvester meet it: download a published revision's files, validate the
package with frictionless, read the CSV back with pandas and find the API's figures to the cent; stable
addresses, ``terbaru``, corrections, caching, limits, and nothing personal in any file."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from frictionless import validate

from app.db.models import PanelScore
from app.main import create_app
from app.opendata.service import FILES
from app.settings import Settings
from tests.factories import World, get_json, make_commission, make_round, problem
from tests.opendata.conftest import Opened

API = "/api/v1"
SEPARATORS = {"koma": ",", "titik-koma": ";"}


def public_ranking(client: TestClient, opened: Opened, revision: int | None = None) -> dict[str, Any]:
    query = "" if revision is None else f"&revision={revision}"
    url = f"{API}/public/rounds/{opened.world.round.id}/rankings?category=kelurahan{query}"
    found: dict[str, Any] = get_json(client, url, {})
    return found


def read_csv(data: bytes, separator: str) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(data), sep=separator, encoding="utf-8-sig", dtype=str, keep_default_na=False
    )


def test_the_downloaded_package_passes_frictionless_validate(
    client: TestClient, opened: Opened, tmp_path: Path
) -> None:
    folder = opened.download(client, tmp_path / "paket")

    report = validate(folder / "datapackage.json")

    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert [(task.name, task.stats["rows"]) for task in report.tasks] == [("hasil", 4), ("nilai-aspek", 6)]
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    assert package["licenses"] == [
        {
            "name": "CC-BY-4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
            "title": "Creative Commons Atribusi 4.0 Internasional (CC BY 4.0)",
        }
    ]
    assert package["contributors"] == [{"title": opened.world.commission.name, "role": "publisher"}]
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    assert (fields["nilai_akhir"]["type"], fields["peringkat"]["type"], fields["mengikuti"]["type"]) == (
        "number",
        "integer",
        "boolean",
    )
    assert all(f["description"] for f in fields.values())
    assert fields["nilai_tahap_presentasi"]["title"] == "Nilai Presentasi / Uji Publik"
    assert [r["path"] for r in package["resources"]] == ["hasil.csv", "nilai-aspek.csv"]


@pytest.mark.parametrize("pemisah", ["koma", "titik-koma"])
def test_the_csv_read_back_with_pandas_equals_the_public_api_to_the_cent(
    client: TestClient, opened: Opened, pemisah: str
) -> None:
    response = client.get(opened.url("hasil.csv") + f"?pemisah={pemisah}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbfkode_komisi" + SEPARATORS[pemisah].encode())
    assert b"\r\n" in response.content
    table = read_csv(response.content, SEPARATORS[pemisah])

    api = public_ranking(client, opened)
    from_api = {
        str(item["body_id"]): (
            item["body_name"],
            item["self_score"] or "",
            item["verified_score"] or "",
            item["stage_scores"].get("saq", ""),
            item["stage_scores"].get("presentasi", ""),
            item["final_score"] or "",
            item["band"] or "",
            item["band_label"],
            "" if item["rank"] is None else str(item["rank"]),
            "true" if item["participating"] else "false",
        )
        for item in api["items"]
    }
    from_csv = {
        row.id_badan_publik: (
            row.nama_badan_publik,
            row.nilai_mandiri,
            row.nilai_verifikasi,
            row.nilai_tahap_saq,
            row.nilai_tahap_presentasi,
            row.nilai_akhir,
            row.kode_kualifikasi,
            row.kualifikasi,
            row.peringkat,
            row.mengikuti,
        )
        for row in table.itertuples()
    }
    assert from_csv == from_api
    assert len(from_csv) == 4
    assert [Decimal(score) for score in table["nilai_akhir"] if score] == [
        Decimal("87.00"),
        Decimal("86.50"),
        Decimal("56.00"),
    ]
    assert set(table["revisi"]) == {"1"}
    assert set(table["diterbitkan_pada"]) == {api["published_at"].replace("+00:00", "Z")}


def test_region_columns_carry_the_code_and_the_names_of_province_and_regency(
    client: TestClient, opened: Opened
) -> None:
    table = read_csv(client.get(opened.url("hasil.csv")).content, ",")
    regions = table.set_index("nama_badan_publik")[
        ["kode_wilayah", "kode_provinsi", "nama_provinsi", "kode_kabupaten_kota", "nama_kabupaten_kota"]
    ]
    assert regions.loc[opened.world.body.name].tolist() == [
        "31.71.01.1001",
        "31",
        "Daerah Khusus Ibukota Jakarta",
        "31.71",
        "Kota Administrasi Jakarta Pusat",
    ]
    assert regions.loc["Kelurahan Cempaka"].tolist() == ["32", "32", "Jawa Barat", "", ""]
    assert regions.loc["Kelurahan Dahlia"].tolist() == ["", "", "", "", ""]


def test_aspect_scores_come_one_row_per_participating_body_and_aspect(
    client: TestClient, opened: Opened
) -> None:
    table = read_csv(client.get(opened.url("nilai-aspek.csv")).content, ",")
    world = opened.world
    assert table.values.tolist() == [
        [str(world.body.id), "1", "Jenis Informasi", "60", "100.00"],
        [str(world.body.id), "2", "Digitalisasi", "40", "75.00"],
        [str(world.other_body.id), "1", "Jenis Informasi", "60", "75.00"],
        [str(world.other_body.id), "2", "Digitalisasi", "40", "100.00"],
        [str(opened.gated.failed.id), "1", "Jenis Informasi", "60", "100.00"],
        [str(opened.gated.failed.id), "2", "Digitalisasi", "40", "50.00"],
    ]
    semicolons = client.get(opened.url("nilai-aspek.csv") + "?pemisah=titik-koma").content
    assert (
        semicolons.decode("utf-8-sig").splitlines()[0]
        == "id_badan_publik;kode_aspek;nama_aspek;bobot_aspek;nilai"
    )


def test_the_json_has_the_csv_rows_with_scores_as_the_api_writes_them(
    client: TestClient, opened: Opened
) -> None:
    data = client.get(opened.url("hasil.json")).json()
    api = public_ranking(client, opened)

    assert {k: data[k] for k in ("commission", "round", "revision", "published_at")} == {
        "commission": {"code": opened.world.commission.code, "name": opened.world.commission.name},
        "round": {"id": api["round_id"], "year": api["year"], "title": api["round_title"]},
        "revision": 1,
        "published_at": api["published_at"].replace("+00:00", "Z"),
    }
    assert data["license"]["name"] == "CC-BY-4.0"
    assert [
        (r["id_badan_publik"], r["nilai_akhir"], r["peringkat"], r["mengikuti"]) for r in data["rows"]
    ] == [(i["body_id"], i["final_score"], i["rank"], i["participating"]) for i in api["items"]]
    csv_columns = read_csv(client.get(opened.url("hasil.csv")).content, ",").columns.tolist()
    assert all(list(row) == csv_columns for row in data["rows"])


def test_a_correction_is_revisi_2_and_revisi_1_still_downloads_unchanged(
    client: TestClient, opened: Opened, tmp_path: Path
) -> None:
    world = opened.world
    before = {name: client.get(opened.url(name)).content for name in FILES}
    world.session.execute(
        PanelScore.__table__.update()
        .where(PanelScore.body_id == world.other_body.id)
        .values(score=Decimal(92))
    )
    # B: 85 x 0.7 + 92 x 0.3 = 59.5 + 27.6 = 87.10, now ahead of A (87.00).
    assert opened.publish(client, "Koreksi nilai presentasi") == 2

    assert {name: client.get(opened.url(name)).content for name in FILES} == before
    corrected = read_csv(client.get(opened.url("hasil.csv", 2)).content, ",")
    assert corrected[["nama_badan_publik", "nilai_akhir", "peringkat", "revisi"]].values.tolist()[:2] == [
        [world.other_body.name, "87.10", "1", "2"],
        [world.body.name, "87.00", "2", "2"],
    ]
    package = client.get(opened.url("datapackage.json", 2)).json()
    assert "mengoreksi revisi sebelumnya: Koreksi nilai presentasi" in package["description"]
    report = validate(opened.download(client, tmp_path / "revisi-2", revision=2) / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])

    latest = client.get(opened.url("hasil.csv", None) + "?pemisah=titik-koma", follow_redirects=False)
    assert latest.status_code == 302
    assert latest.headers["location"] == opened.url("hasil.csv", 2) + "?pemisah=titik-koma"
    followed = client.get(opened.url("datapackage.json", None))
    assert followed.json()["name"].endswith("-revisi-2")


def test_what_is_not_there_is_a_404_problem_and_a_bad_separator_a_422(
    client: TestClient, opened: Opened, world: World
) -> None:
    elsewhere = make_commission(world.session)
    unpublished = make_round(
        world.session, world.commission, templates={world.category: world.template}, year=2026
    )
    code, round_id = world.commission.code, world.round.id
    for url in (
        f"/data/tidak-ada/{round_id}/revisi-1/hasil.csv",
        f"/data/{elsewhere.code}/{round_id}/revisi-1/hasil.csv",
        f"/data/{code}/{unpublished.id}/revisi-1/hasil.csv",
        f"/data/{code}/{unpublished.id}/terbaru/hasil.csv",
        f"/data/{code}/{round_id}/revisi-2/hasil.csv",
        f"/data/{code}/{round_id}/revisi-1/hasil.xlsx",
        f"/data/{code}/{round_id}/terbaru/rahasia.csv",
    ):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 404, url
        assert problem(response)["status"] == 404

    bad = client.get(opened.url("hasil.csv") + "?pemisah=tab")
    assert bad.status_code == 422
    assert [e["field"] for e in problem(bad)["errors"]] == ["query:pemisah"]


def test_a_conditional_get_is_a_304_until_something_shown_changes(client: TestClient, opened: Opened) -> None:
    world = opened.world
    first = client.get(opened.url("hasil.csv"))
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=300")
    assert first.headers["access-control-allow-origin"] == "*"
    assert "last-modified" in first.headers

    head = client.head(opened.url("hasil.csv"))
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", etag)
    again = client.get(opened.url("hasil.csv"), headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    other_file = client.get(opened.url("hasil.json"), headers={"If-None-Match": etag})
    assert other_file.status_code == 200

    renamed = client.patch(
        f"{API}/bodies/{world.body.id}", json={"name": "Kelurahan Baru"}, headers=world.token(world.admin)
    )
    assert renamed.status_code == 200, renamed.text
    fresh = client.get(opened.url("hasil.csv"), headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.headers["etag"] != etag
    assert "Kelurahan Baru" in fresh.content.decode("utf-8-sig")


def test_the_public_ranking_answers_304_to_its_etag(client: TestClient, opened: Opened) -> None:
    url = f"{API}/public/rounds/{opened.world.round.id}/rankings?category=kelurahan"
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=300")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url + "&limit=1", headers={"If-None-Match": etag}).status_code == 200


def test_public_files_and_the_public_api_are_limited_per_client(
    settings: Settings, session_factory: Any, opened: Opened
) -> None:
    limited = create_app(
        settings.model_copy(update={"public_rate_limit": "3/minute"}), session_factory=session_factory
    )
    with TestClient(limited) as client:
        ranking = f"{API}/public/rounds/{opened.world.round.id}/rankings?category=kelurahan"
        answers = [
            client.get(url).status_code
            for url in (opened.url("hasil.csv"), ranking, opened.url("hasil.json"))
        ]
        assert answers == [200, 200, 200]
        refused = client.get(opened.url("datapackage.json", None), follow_redirects=False)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert problem(refused)["status"] == 429
        assert client.get(ranking).status_code == 429


def test_the_public_ranking_documents_304_and_429() -> None:
    spec = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False)).openapi()
    responses = spec["paths"][f"{API}/public/rounds/{{round_id}}/rankings"]["get"]["responses"]
    assert {"200", "304", "429"} <= responses.keys()
    assert "Retry-After" in responses["429"]["headers"]


def test_no_file_carries_anything_personal(client: TestClient, opened: Opened) -> None:
    world = opened.world
    people = [world.admin, world.verifier, world.panelist, world.operator, world.other_operator]
    bodies = [world.body, world.other_body, opened.gated.failed, opened.gated.absent]
    secrets = (
        [p.name for p in people] + [p.email for p in people] + [b.ppid_email for b in bodies if b.ppid_email]
    )
    for name in FILES:
        for revision in (1, None):
            text = client.get(opened.url(name, revision)).content.decode("utf-8-sig")
            assert "@" not in text, name
            assert not [secret for secret in secrets if secret in text], name
            assert "published_by" not in text
