"""Bodies by name on the commission's pages: the extension form's picker finds invited bodies by name,
category and region and keeps what was chosen and typed; the history and the message after recording name
the bodies; participation tells a draft from a body that never began."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import DeadlineExtension, Invitation, PublicBody
from tests.factories import World, make_body, make_category, make_submission
from tests.web.conftest import Pages

pytestmark = pytest.mark.db


def invite(session: Session, world: World, *bodies: PublicBody) -> None:
    session.add_all(Invitation(round_id=world.round.id, body_id=b.id) for b in bodies)
    session.flush()


def checkboxes(html: str) -> dict[str, bool]:
    """The body checkboxes of the extension form: value -> ticked."""
    return {
        m.group(2): bool(m.group(3))
        for m in re.finditer(r'<input type="checkbox" name="(body_ids)" value="(\d+)"( checked)?>', html)
    }


def test_the_picker_finds_invited_bodies_by_part_of_their_name(
    pages: Pages, world: World, session: Session
) -> None:
    kecamatan = make_category(session, world.commission, code="kecamatan", name="Kecamatan")
    menteng = make_body(session, kecamatan, name="Kecamatan Menteng", region_code="31.71.06")
    gondangdia = make_body(
        session,
        world.category,
        name="Kelurahan Gondangdia",
        region_code="31.71.06.1004",
        parent_id=menteng.id,
    )
    outsider = make_body(session, world.category, name="Kelurahan Gondang Baru")  # not invited
    invite(session, world, menteng, gondangdia)
    pages.login(world.admin)

    page = pages.get(f"/ronde/{world.round.id}?cari=gondang")
    assert page.status_code == 200
    assert checkboxes(page.text) == {str(gondangdia.id): False}
    assert "Kelurahan Gondangdia" in page.text
    assert outsider.name not in page.text
    assert "1 badan publik cocok." in page.text

    by_region = pages.get(f"/ronde/{world.round.id}?cari=&cari_wilayah=Menteng&cari_kategori=kelurahan")
    assert checkboxes(by_region.text) == {str(gondangdia.id): False}
    by_code = pages.get(f"/ronde/{world.round.id}?cari=&cari_wilayah=31.71.06")
    assert set(checkboxes(by_code.text)) == {str(menteng.id), str(gondangdia.id)}


def test_a_bad_region_code_is_explained_in_indonesian(pages: Pages, world: World) -> None:
    pages.login(world.admin)
    page = pages.get(f"/ronde/{world.round.id}?cari=&cari_wilayah=31.7")
    assert page.status_code == 200
    assert "Wilayah tidak dikenali" in page.text


def test_searching_keeps_what_was_chosen_and_typed(pages: Pages, world: World, session: Session) -> None:
    pages.login(world.admin)
    response = pages.client.post(
        f"/ronde/{world.round.id}/perpanjangan",
        data={
            "csrf_token": pages.csrf,
            "closes_at": "2099-01-05T23:59",
            "scope": "round",
            "reason": "Keputusan pleno 7/2025",
            "body_ids": [str(world.body.id)],
            "cari": "Uji",
            "_cari": "1",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    query = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert query["cari"] == ["Uji"]
    assert query["pilih"] == [str(world.body.id)]
    assert query["scope"] == ["bodies"]
    assert "csrf_token" not in query
    assert session.scalar(select(DeadlineExtension.id)) is None, "a search writes nothing"

    page = pages.get(location)
    assert checkboxes(page.text) == {str(world.body.id): True, str(world.other_body.id): False}
    assert 'value="2099-01-05T23:59"' in page.text
    assert "Keputusan pleno 7/2025</textarea>" in page.text
    assert 'name="scope" value="bodies" checked' in page.text


def test_an_extension_for_bodies_chosen_by_name_is_named_in_the_history(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    response = pages.client.post(
        f"/ronde/{world.round.id}/perpanjangan",
        data={
            "csrf_token": pages.csrf,
            "closes_at": "2099-01-05T23:59",
            "scope": "bodies",
            "reason": "Keputusan pleno 4/2025",
            "body_ids": [str(world.body.id)],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    extension = session.scalar(select(DeadlineExtension))
    assert extension is not None
    assert extension.body_ids == [world.body.id]
    page = pages.get(response.headers["location"])
    history = page.text[page.text.index('id="extension-history"') :]
    assert world.body.name in history[: history.index("</table>")]
    assert "1 badan publik" not in page.text
    flash = "Perpanjangan batas waktu sampai 5 Januari 2099 pukul 23.59 WIB sudah dicatat untuk"
    assert f"{flash} {world.body.name}." in page.text


def test_a_long_list_of_bodies_is_cut_short_with_a_way_to_see_all(
    pages: Pages, world: World, session: Session
) -> None:
    more = [make_body(session, world.category, name=f"Kelurahan Daftar {n}") for n in range(1, 5)]
    invite(session, world, *more)
    pages.login(world.admin)
    response = pages.post(
        f"/ronde/{world.round.id}/perpanjangan",
        {
            "closes_at": "2099-01-05T23:59",
            "scope": "bodies",
            "reason": "Keputusan pleno 5/2025",
            "body_ids": [str(b.id) for b in more],
        },
    )
    assert response.status_code == 200
    assert "Kelurahan Daftar 1, Kelurahan Daftar 2, Kelurahan Daftar 3, dan 1 lainnya" in response.text
    assert "Lihat semua 4 badan publik" in response.text
    assert "<li>Kelurahan Daftar 4</li>" in response.text


def test_bodies_chosen_under_another_scope_are_not_dropped_silently(pages: Pages, world: World) -> None:
    pages.login(world.admin)
    response = pages.post(
        f"/ronde/{world.round.id}/perpanjangan",
        {
            "_form": "perpanjangan",
            "_halaman": f"/ronde/{world.round.id}",
            "closes_at": "2099-01-05T23:59",
            "scope": "round",
            "reason": "Keputusan pleno 6/2025",
            "body_ids": str(world.body.id),
        },
    )
    assert response.status_code == 422
    assert "tetapi perpanjangan tidak berlaku untuk badan publik tertentu" in response.text


def test_a_refused_extension_comes_back_with_its_errors_and_the_chosen_bodies(
    pages: Pages, world: World, session: Session
) -> None:
    outsider = make_body(session, world.category, name="Kelurahan Tidak Diundang")
    pages.login(world.admin)
    response = pages.post(
        f"/ronde/{world.round.id}/perpanjangan",
        {
            "_form": "perpanjangan",
            "_halaman": f"/ronde/{world.round.id}?cari=Kelurahan",
            "closes_at": "2000-01-05T23:59",
            "scope": "bodies",
            "reason": "Keputusan pleno 8/2025",
            "body_ids": [str(world.body.id), str(outsider.id)],
        },
    )
    assert response.status_code == 422
    page = response.text
    assert "Perpanjangan belum dapat dicatat: periksa isian yang ditandai." in page
    assert "Batas waktu baru harus setelah batas waktu semula (" in page
    assert "Kelurahan Tidak Diundang tidak diundang ke periode ini." in page
    assert 'id="f-perpanjangan-body_ids-galat"' in page
    assert checkboxes(page)[str(world.body.id)] is True
    assert 'value="2000-01-05T23:59"' in page
    assert "Keputusan pleno 8/2025</textarea>" in page
    assert session.scalar(select(DeadlineExtension.id)) is None


def test_participation_tells_a_draft_from_a_body_that_never_began(
    pages: Pages, world: World, session: Session
) -> None:
    make_submission(session, world.round, world.other_body, world.template)
    pages.login(world.admin)
    page = pages.get(f"/ronde/{world.round.id}/partisipasi")
    assert "Terdaftar, belum mulai mengisi" in page.text
    assert "Sedang mengisi" in page.text
    never = listed(pages.get(f"/ronde/{world.round.id}/partisipasi?keadaan=belum-mulai").text)
    drafting = listed(pages.get(f"/ronde/{world.round.id}/partisipasi?keadaan=sedang-mengisi").text)
    older_link = listed(pages.get(f"/ronde/{world.round.id}/partisipasi?keadaan=belum-mengirim").text)
    assert never == [world.body.name]
    assert drafting == [world.other_body.name]
    assert sorted(older_link) == sorted([world.body.name, world.other_body.name])


def listed(html: str) -> list[str]:
    """The names in the participation page's list of bodies."""
    table = html[html.index('id="participation-bodies"') :]
    return re.findall(r'<td data-label="Badan publik">([^<]+)</td>', table)


def test_the_assignments_name_each_verifiers_bodies_and_those_without_one(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    response = pages.post(
        f"/ronde/{world.round.id}/penugasan",
        {"category": "kelurahan", "verifier": str(world.verifier.id)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = pages.get(response.headers["location"]).text
    assert "Penugasan verifikator sudah disimpan: 2 badan publik kategori Kelurahan dibagikan." in page
    assignments = page[page.index('id="assignment-list"') :]
    assignments = assignments[: assignments.index("</dl>")]
    assert world.verifier.name in assignments
    both = sorted([world.body.name, world.other_body.name], key=str.casefold)
    assert f"{both[0]} dan {both[1]}" in assignments
    assert "Belum ada verifikator" not in assignments

    again = pages.post(
        f"/ronde/{world.round.id}/penugasan",
        {"category": "kelurahan", "verifier": str(world.verifier.id)},
    )
    assert "Tidak ada badan publik kategori Kelurahan yang belum memiliki verifikator" in again.text


def test_invited_bodies_without_a_verifier_are_named(pages: Pages, world: World) -> None:
    pages.login(world.admin)
    page = pages.get(f"/ronde/{world.round.id}").text
    assignments = page[page.index('id="assignment-list"') :]
    assert "Belum ada verifikator" in assignments[: assignments.index("</dl>")]
    assert world.body.name in assignments[: assignments.index("</dl>")]
