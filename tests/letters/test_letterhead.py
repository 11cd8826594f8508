"""The letterhead per commission: its texts over PATCH (checked, Indonesian problems), its logo over PUT and
DELETE (PNG or JPEG by content, at most 512 KB), and the settings page with its sample letter."""

from __future__ import annotations

import pytest
import typst
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.db.models import Commission
from app.letters.service import MAX_LOGO_BYTES, image_size
from tests.factories import World, problem, tiny_pdf
from tests.letters.pdf import text_of
from tests.letters.sample import logo_png
from tests.web.conftest import Pages

pytestmark = pytest.mark.db


def test_the_letterhead_texts_are_set_and_checked(client: TestClient, world: World) -> None:
    url = f"/api/v1/commissions/{world.commission.id}"
    admin = world.token(world.admin)
    saved = client.patch(
        url,
        json={
            "letter_heading": " Komisi Informasi \n\n Provinsi Uji ",
            "letter_city": "Surabaya",
            "letter_chair_name": "Nama Ketua",
            "letter_number_format": "{urut:03}/KI-{kode}/{romawi}/{tahun}",
        },
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["letter_heading"] == "Komisi Informasi\nProvinsi Uji"
    assert body["letter_city"] == "Surabaya"
    assert body["letter_logo_type"] is None
    refused = client.patch(
        url,
        json={
            "letter_number_format": "{nomor}/KI/{tahun}",
            "letter_heading": "1\n2\n3\n4\n5",
            "letter_city": "A\nB",
        },
        headers=admin,
    )
    assert refused.status_code == 422
    fields = {e["field"] for e in problem(refused)["errors"]}
    assert fields == {"letter_number_format", "letter_heading", "letter_city"}
    cleared = client.patch(url, json={"letter_city": None, "letter_number_format": ""}, headers=admin)
    assert (cleared.json()["letter_city"], cleared.json()["letter_number_format"]) == (None, None)
    assert (
        client.patch(url, json={"letter_city": "X"}, headers=world.token(world.operator)).status_code == 403
    )


def test_the_logo_is_a_small_png_or_jpeg(client: TestClient, world: World, session: Session) -> None:
    url = f"/api/v1/commissions/{world.commission.id}/letter-logo"
    admin = world.token(world.admin)
    png = logo_png()
    stored = client.put(url, content=png, headers=admin | {"Content-Type": "image/png"})
    assert stored.status_code == 200, stored.text
    assert stored.json()["letter_logo_type"] == "image/png"
    session.expire_all()
    assert session.get(Commission, world.commission.id).letter_logo == png  # type: ignore[union-attr]
    # A PDF sent as an image, by its content: 415; a broken PNG: 422; too large: 413.
    pdf = client.put(url, files={"file": ("logo.png", tiny_pdf(), "image/png")}, headers=admin)
    assert pdf.status_code == 415
    broken = client.put(
        url, content=b"\x89PNG\r\n\x1a\n" + b"rusak" * 10, headers=admin | {"Content-Type": "image/png"}
    )
    assert broken.status_code == 422
    assert problem(broken)["errors"][0]["field"] == "file"
    huge = client.put(
        url, content=png + b"\0" * MAX_LOGO_BYTES, headers=admin | {"Content-Type": "image/png"}
    )
    assert huge.status_code == 413
    gif = client.put(url, content=b"GIF89a", headers=admin | {"Content-Type": "image/gif"})
    assert gif.status_code == 415
    # A small file of a huge picture (it would take hundreds of MB to draw): 422 before it is decoded.
    wide = typst.compile(b"#set page(width: 2001pt, height: 2pt, margin: 0pt)", format="png", ppi=72)
    assert isinstance(wide, bytes)
    too_wide = client.put(url, content=wide, headers=admin | {"Content-Type": "image/png"})
    assert too_wide.status_code == 422, too_wide.text
    assert "2001 x 2" in problem(too_wide)["detail"]
    assert (
        client.put(
            url, content=png, headers=world.token(world.panelist) | {"Content-Type": "image/png"}
        ).status_code
        == 403
    )
    removed = client.delete(url, headers=admin)
    assert removed.status_code == 200
    assert removed.json()["letter_logo_type"] is None


def test_the_settings_page_saves_the_letterhead_and_shows_a_sample(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    assert pages.get("/komisi/surat", follow_redirects=False).headers["location"] == (
        f"/komisi/{world.commission.id}/surat"
    )
    url = f"/komisi/{world.commission.id}/surat"
    page = pages.get(url)
    assert page.status_code == 200
    assert "Kop surat dan penanda tangan" in page.text
    assert f"/komisi/{world.commission.id}/surat/contoh.pdf" in page.text
    form = {
        "_form": "kop-surat",
        "_halaman": url,
        "letter_heading": "Komisi Informasi\nProvinsi Contoh",
        "letter_address": "Jl. Merdeka No. 1",
        "letter_city": "Padang",
        "letter_chair_title": "Ketua",
        "letter_chair_name": "Nama Ketua Contoh",
        "letter_number_format": "{urut:03}/KI/{tahun}",
        "data_license": "CC0-1.0",
    }
    assert pages.post(f"{url}/pengaturan", form, follow_redirects=False).status_code == 303
    session.expire_all()
    commission = session.get(Commission, world.commission.id)
    assert commission is not None
    assert (commission.letter_city, commission.data_license) == ("Padang", "CC0-1.0")
    refused = pages.post(
        f"{url}/pengaturan", form | {"letter_number_format": "{nomor}", "data_license": "MIT"}
    )
    assert refused.status_code == 422
    assert "{nomor} tidak dikenal" in refused.text
    assert "Pilih salah satu lisensi" in refused.text

    uploaded = pages.post(
        f"{url}/logo",
        {"_form": "logo", "_halaman": url},
        files={"file": ("logo.png", logo_png(), "image/png")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303, uploaded.text
    assert "Logo terpasang (PNG)" in pages.get(url).text

    sample = pages.get(f"{url}/contoh.pdf")
    assert sample.headers["content-type"] == "application/pdf"
    text = text_of(sample.content)
    assert "PROVINSI CONTOH" in text
    assert "Padang," in text
    assert "Nama Ketua Contoh" in text
    assert "007/KI/" in text
    assert pages.post(f"{url}/logo/hapus", {"_form": "hapus-logo", "_halaman": url}).status_code == 200
    assert "Belum ada logo" in pages.get(url).text


def test_others_do_not_reach_the_settings(pages: Pages, world: World) -> None:
    pages.login(world.verifier)
    assert pages.get(f"/komisi/{world.commission.id}/surat").status_code == 403
    assert pages.get("/komisi/surat").status_code == 404


def test_the_picture_size_is_read_from_png_and_jpeg_headers() -> None:
    png = typst.compile(b"#set page(width: 30pt, height: 20pt, margin: 0pt)", format="png", ppi=72)
    assert isinstance(png, bytes)
    assert image_size(png) == (30, 20)
    # SOI, an APP0 segment, then a baseline frame header: precision 8, height 480, width 640.
    app0 = b"\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 9
    jpeg = b"\xff\xd8" + app0 + b"\xff\xc0\x00\x11\x08\x01\xe0\x02\x80\x03"
    assert image_size(jpeg + b"\x00" * 12) == (640, 480)
    assert image_size(b"\xff\xd8\xff\xe0") is None
