"""The public results portal as an anonymous visitor meets it: every page, its cache validators and limits,
and that nothing unpublished or personal ever shows. The round is ``tests.results.gated`` (four kelurahan, a
presentation stage behind a gate), published through the API as an administrator would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Account, Commission, Invitation, PanelScore, PublicBody
from app.main import create_app
from app.regions import label_of
from app.settings import Settings
from tests.factories import World, make_body, make_round
from tests.results.gated import Gated, gated_season
from tests.web.conftest import Pages

pytestmark = pytest.mark.db


@pytest.fixture
def pages(client: TestClient) -> Pages:
    return Pages(client)


@pytest.fixture
def gated(world: World) -> Gated:
    found = gated_season(world)
    world.body.region_code = "31.71.01.1001"
    world.other_body.region_code = "31.73.02"
    found.failed.region_code = "32.01"
    world.session.flush()
    return found


def publish(client: TestClient, world: World, reason: str = "Keputusan pleno 3/2025") -> None:
    response = client.post(
        f"/api/v1/rounds/{world.round.id}/publish", json={"reason": reason}, headers=world.token(world.admin)
    )
    assert response.status_code == 201, response.text


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def cell(pattern: str, html: str) -> str:
    found = re.search(pattern, html)
    assert found is not None, pattern
    return found.group(1)


def urls(world: World, gated: Gated) -> dict[str, str]:
    code = world.commission.code
    base = f"/hasil/{code}/{world.round.id}"
    return {
        "root": "/",
        "home": "/hasil",
        "commission": f"/hasil/{code}",
        "round": base,
        "category": f"{base}/kelurahan",
        "search": f"{base}/kelurahan?q=cempaka&kualifikasi=&provinsi=32&kabkota=",
        "body": f"/hasil/{code}/badan/{world.body.id}",
        "absent body": f"/hasil/{code}/badan/{gated.absent.id}",
    }


def test_every_page_is_public_cacheable_and_described(client: TestClient, gated: Gated) -> None:
    world = gated.world
    publish(client, world)
    for name, url in urls(world, gated).items():
        page = client.get(url)
        assert page.status_code == 200, (name, page.text)
        assert page.headers["content-type"].startswith("text/html")
        assert "set-cookie" not in page.headers, name
        assert page.headers["cache-control"].startswith("public, max-age=300"), name
        assert page.headers["etag"], name
        assert page.headers["last-modified"], name
        assert re.search(r"<title>[^<]+</title>", page.text), name
        assert re.search(r'<meta name="description" content="[^"]{40,}">', page.text), name
        assert '<link rel="canonical" href="http://127.0.0.1:8000/' in page.text, name
        assert 'href="/login">Masuk petugas</a>' in page.text, name
        assert "<script" not in page.text, name
        assert "style=" not in page.text, name
        head = client.head(url)  # crawlers and link checkers ask HEAD: the same headers, no body
        assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", page.headers["etag"])
    assert "Cookie" in client.get("/").headers["vary"]
    assert "Cookie" not in client.get("/hasil").headers["vary"]


def test_the_pages_show_the_published_figures(client: TestClient, gated: Gated) -> None:
    world = gated.world
    publish(client, world)
    pages = urls(world, gated)
    home = text_of(client.get("/").text)
    assert world.commission.name in home
    assert world.round.title in home

    round_page = client.get(pages["round"]).text
    assert "<svg" in round_page
    assert 'aria-labelledby="chart-title chart-desc"' in round_page
    assert f'href="/hasil/{world.commission.code}/{world.round.id}/kelurahan"' in round_page
    row = re.search(r"<tr><th scope=\"row\">.*?</tr>", round_page, flags=re.S)
    assert row is not None
    # Menuju Informatif 2 (A and B), Kurang Informatif 1 (Cempaka), 1 did not take part, 4 in all.
    assert [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row.group(0))] == [0, 2, 0, 1, 0, 1, 4]
    base = f"/data/{world.commission.code}/{world.round.id}/revisi-1"
    for file in ("datapackage.json", "hasil.csv", "hasil.csv?pemisah=titik-koma", "hasil.json"):
        assert f'href="{base}/{file}"' in round_page
        assert client.get(f"{base}/{file}").status_code == 200, file  # app/opendata answers them
    assert 'href="https://creativecommons.org/licenses/by/4.0/" rel="license"' in round_page
    assert "Keputusan pleno 3/2025" in round_page

    ranking = text_of(client.get(pages["category"]).text)
    assert re.search(rf"1 {world.body.name} .* 87,00 Menuju Informatif", ranking)
    assert f"3 Kelurahan Cempaka {label_of('32.01')} 56,00 Kurang Informatif" in ranking
    assert "- Kelurahan Dahlia - - Tidak Mengikuti" in ranking
    assert "Menampilkan 1–4 dari 4 badan publik." in ranking

    search = client.get(pages["search"]).text
    assert "Kelurahan Cempaka" in search
    assert world.body.name not in text_of(search).split("Hasil", 1)[1]
    assert "Menampilkan 1–1 dari 1 badan publik yang sesuai saringan." in text_of(search)
    only_band = client.get(pages["category"] + "?kualifikasi=menuju-informatif").text
    assert world.body.name in only_band
    assert "Kelurahan Cempaka" not in only_band.split("<tbody>")[1]
    regency = client.get(pages["category"] + "?kabkota=31.73").text
    assert world.other_body.name in regency
    assert "Menampilkan 1–1 dari 1" in text_of(regency)

    profile = text_of(client.get(pages["body"]).text)
    assert f"Hasil E-Monev 2025 {world.body.name} – {world.commission.name}" in profile
    assert "Kategori Kelurahan" in profile
    assert "Nilai akhir 87,00" in profile
    assert "Peringkat 1 dalam kategori Kelurahan" in profile
    # The mini template: Jenis Informasi (60) verified 100, Digitalisasi (40) verified 2.2 at 60: see gated.
    losses = re.findall(
        r'<th scope="row">([^<]+)</th>\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>([^<]+)</td>\s*'
        r"<td[^>]*>([^<]+)</td>",
        client.get(pages["body"]).text,
    )
    assert losses[0][0] == "Digitalisasi"
    assert losses[-1][0] == "Jenis Informasi"
    assert losses[-1][3] == "0,00"
    lost = (Decimal(100) - Decimal(losses[0][2].replace(",", "."))) * Decimal(40) / Decimal(100)
    assert losses[0][3] == f"{lost.quantize(Decimal('0.01'))}".replace(".", ",")
    assert 'aria-labelledby="history-title history-desc"' in client.get(pages["body"]).text

    absent = text_of(client.get(pages["absent body"]).text)
    assert "Tidak mengikuti" in absent
    assert "Indikator yang paling perlu ditingkatkan" not in absent


def test_a_conditional_get_is_answered_304_and_changes_with_a_correction_and_a_rename(
    client: TestClient, session: Session, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    pages = urls(world, gated)
    tags = {name: client.get(url).headers["etag"] for name, url in pages.items()}
    assert tags["root"] == tags["home"]  # the same page
    assert len(set(tags.values())) == len(tags) - 1  # every other page its own tag
    for name, url in pages.items():
        again = client.get(url, headers={"If-None-Match": tags[name]})
        assert again.status_code == 304, name
        assert again.content == b""
        assert again.headers["etag"] == tags[name]

    score = session.scalar(
        select(PanelScore).where(PanelScore.stage_id == gated.stage.id, PanelScore.body_id == world.body.id)
    )
    assert score is not None
    score.score = Decimal(70)
    session.flush()
    publish(client, world, "Koreksi nilai presentasi Kelurahan A (keputusan pleno 4/2025)")
    corrected = {name: client.get(url, headers={"If-None-Match": tags[name]}) for name, url in pages.items()}
    assert all(r.status_code == 200 for r in corrected.values())
    assert all(r.headers["etag"] != tags[name] for name, r in corrected.items())

    tags = {name: r.headers["etag"] for name, r in corrected.items()}
    renamed = client.patch(
        f"/api/v1/bodies/{world.other_body.id}",
        json={"name": "Kelurahan Kenari Baru"},
        headers=world.token(world.admin),
    )
    assert renamed.status_code == 200, renamed.text
    ranking = client.get(pages["category"], headers={"If-None-Match": tags["category"]})
    assert ranking.status_code == 200
    assert "Kelurahan Kenari Baru" in ranking.text

    round_page = client.get(pages["round"])
    retitled = client.patch(
        f"/api/v1/rounds/{world.round.id}",
        json={"title": "Monev KIP 2025 (ditetapkan)"},
        headers=world.token(world.admin),
    )
    assert retitled.status_code == 200, retitled.text
    again = client.get(pages["round"], headers={"If-None-Match": round_page.headers["etag"]})
    assert again.status_code == 200
    assert "Monev KIP 2025 (ditetapkan)" in again.text


def test_the_portal_shows_the_latest_revision_with_its_correction_note_and_the_apis_figures(
    client: TestClient, session: Session, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    score = session.scalar(
        select(PanelScore).where(PanelScore.stage_id == gated.stage.id, PanelScore.body_id == world.body.id)
    )
    assert score is not None
    score.score = Decimal(70)  # A: 90 x 0.7 + 70 x 0.3 = 84.00, now below B (86.50)
    session.flush()
    reason = "Koreksi nilai presentasi (keputusan pleno 4/2025)"
    publish(client, world, reason)

    api = client.get(f"/api/v1/public/rounds/{world.round.id}/rankings", params={"category": "kelurahan"})
    assert api.status_code == 200, api.text
    pages = urls(world, gated)
    ranking = client.get(pages["category"]).text
    rows = re.findall(r"<tr>\s*<td data-label=\"Peringkat\".*?</tr>", ranking, flags=re.S)
    shown = [
        (cell(r'badan/(\d+)"', row), text_of(cell(r'"Nilai akhir" class="num">(.*?)</td>', row)))
        for row in rows
    ]
    expected = [
        (str(item["body_id"]), (item["final_score"] or "-").replace(".", ",")) for item in api.json()["items"]
    ]
    assert shown == expected
    assert shown[0] == (str(world.other_body.id), "86,50")
    assert shown[1] == (str(world.body.id), "84,00")
    note = f"Revisi 2 mengoreksi revisi 1: {reason}"
    assert note in text_of(client.get(pages["round"]).text)
    assert "revisi-2/hasil.csv" in client.get(pages["round"]).text
    assert "84,00" in text_of(client.get(pages["body"]).text)


def test_nothing_unpublished_is_visible(client: TestClient, session: Session, gated: Gated) -> None:
    world = gated.world
    code = world.commission.code
    # Final, not published yet: not a page, not in any list.
    assert client.get(f"/hasil/{code}/{world.round.id}").status_code == 404
    assert client.get(f"/hasil/{code}/{world.round.id}/kelurahan").status_code == 404
    assert client.get(f"/hasil/{code}/badan/{world.body.id}").status_code == 404
    assert world.round.title not in client.get(f"/hasil/{code}").text
    assert world.round.title not in client.get("/").text
    publish(client, world)
    later = make_round(
        session,
        world.commission,
        title="Monev 2026 (belum diumumkan)",
        year=2026,
        status="final",
        invite=[world.body],
    )
    newcomer = make_body(session, world.category, name="Kelurahan Baru")
    session.add(Invitation(round_id=later.id, body_id=newcomer.id))
    session.flush()
    missing = client.get(f"/hasil/{code}/{later.id}")
    assert missing.status_code == 404
    assert "Hasil E-Monev ini tidak ditemukan atau belum diumumkan." in missing.text
    assert "Monev 2026" not in client.get(f"/hasil/{code}").text
    assert "Monev 2026" not in client.get(f"/hasil/{code}/badan/{world.body.id}").text
    assert client.get(f"/hasil/{code}/badan/{newcomer.id}").status_code == 404
    other = Commission(code="ki-lain", name="Komisi Informasi Lain", timezone="Asia/Jakarta")
    session.add(other)
    session.flush()
    for url in (
        f"/hasil/ki-lain/{world.round.id}",  # a round of another commission
        f"/hasil/ki-lain/badan/{world.body.id}",
        f"/hasil/{code}/{world.round.id}/tidak-ada",
        f"/hasil/{code}/{world.round.id + 999}",
        f"/hasil/{code}/badan/abc",
        "/hasil/tidak-ada",
    ):
        page = client.get(url)
        assert page.status_code == 404, url
        assert "Halaman tidak ditemukan" in page.text, url


def test_bad_filters_are_refused_by_name_and_pages_are_clamped(
    client: TestClient, session: Session, gated: Gated
) -> None:
    world = gated.world
    for n in range(60):  # invited, never took part: 64 rows, two pages
        body = make_body(session, world.category, name=f"Kelurahan Tambahan {n:02d}")
        session.add(Invitation(round_id=world.round.id, body_id=body.id))
    session.flush()
    publish(client, world)
    url = urls(world, gated)["category"]
    first = text_of(client.get(url).text)
    assert "Menampilkan 1–50 dari 64 badan publik." in first
    assert "Halaman 1 dari 2" in first
    for page in ("2", "999999999999999999999999", "99"):
        assert "Menampilkan 51–64 dari 64 badan publik." in text_of(client.get(f"{url}?halaman={page}").text)
    for page in ("0", "abc", "-3", ""):
        assert "Menampilkan 1–50" in text_of(client.get(f"{url}?halaman={page}").text)
    for query, field_text in (
        ("kualifikasi=luar-biasa", "Kualifikasi ini tidak ada pada periode ini."),
        ("provinsi=3", "Kode provinsi terdiri atas dua angka"),
        ("provinsi=31%0A", "Kode provinsi terdiri atas dua angka"),
        ("provinsi=%D9%A3%D9%A1", "Kode provinsi terdiri atas dua angka"),  # Arabic-Indic 31
        ("kabkota=31-71", "Kode kabupaten/kota berbentuk"),
        ("q=" + "x" * 150, "Kata pencarian paling panjang 100 karakter."),
    ):
        refused = client.get(f"{url}?{query}")
        assert refused.status_code == 422, query
        assert field_text in refused.text, query


def test_the_commissions_time_zone_changes_the_pages_and_a_star_is_no_match(
    client: TestClient, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    pages = urls(world, gated)
    before = client.get(pages["round"])
    assert "WIB" in text_of(before.text)
    for url in pages.values():  # "*" would answer 304 for any address, a round not published included
        assert client.get(url, headers={"If-None-Match": "*"}).status_code == 200, url
    unpublished = f"/hasil/{world.commission.code}/{world.round.id + 1}"
    assert client.get(unpublished, headers={"If-None-Match": "*"}).status_code == 404
    moved = client.patch(
        f"/api/v1/commissions/{world.commission.id}",
        json={"timezone": "Asia/Jayapura"},
        headers=world.token(world.admin),
    )
    assert moved.status_code == 200, moved.text
    after = client.get(pages["round"], headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert "WIT" in text_of(after.text)


def test_no_page_shows_personal_data(client: TestClient, session: Session, gated: Gated) -> None:
    world = gated.world
    publish(client, world)
    accounts = session.scalars(select(Account)).all()
    bodies = session.scalars(select(PublicBody)).all()
    secrets = {a.email for a in accounts} | {a.name for a in accounts}
    secrets |= {b.ppid_email for b in bodies if b.ppid_email}
    for url in urls(world, gated).values():
        page = client.get(url).text
        found = [s for s in secrets if s in page]
        assert not found, (url, found)
        assert "@" not in text_of(page), url


def test_a_logged_in_person_still_gets_their_dashboard_at_the_root(
    pages: Pages, client: TestClient, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    pages.login(world.operator)
    home = pages.get("/")
    assert home.status_code == 200
    assert home.headers["cache-control"] == "no-store"
    assert "Cookie" in home.headers["vary"]
    assert "Keluar" in home.text
    portal = pages.get(urls(world, gated)["round"])
    assert "Keluar" not in portal.text
    assert "set-cookie" not in portal.headers
    assert pages.get("/login", follow_redirects=False).headers["location"] == "/"


@pytest.fixture
def limited_client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    tight = settings.model_copy(update={"public_rate_limit": "3/minute"})
    with TestClient(create_app(tight, session_factory=session_factory)) as c:
        yield c


def test_a_visitor_past_the_limit_gets_an_indonesian_429_with_retry_after(
    limited_client: TestClient, client: TestClient, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    url = urls(world, gated)["round"]
    assert [limited_client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = limited_client.get(url)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"].startswith("text/html")
    assert "Terlalu banyak permintaan" in refused.text
    assert refused.headers["cache-control"] == "no-store"
    assert limited_client.get("/").status_code == 429


def test_each_page_reads_the_database_a_few_times_and_a_304_after_three_queries(
    client: TestClient, connection: Connection, gated: Gated
) -> None:
    world = gated.world
    publish(client, world)
    counted: list[str] = []

    def count(*args: object) -> None:
        statement = str(args[2])
        if "SAVEPOINT" not in statement:  # the test's own transaction, not the page's
            counted.append(statement)

    pages = urls(world, gated)
    tags = {name: client.get(url).headers["etag"] for name, url in pages.items()}  # warm the caches
    event.listen(connection, "before_cursor_execute", count)
    try:
        for name, url in pages.items():
            counted.clear()
            assert client.get(url).status_code == 200
            assert len(counted) <= 12, (name, len(counted), counted)
            counted.clear()
            assert client.get(url, headers={"If-None-Match": tags[name]}).status_code == 304
            assert len(counted) <= 3, (name, counted)
    finally:
        event.remove(connection, "before_cursor_execute", count)
