"""Verifier and commission pages in process: verification side by side, objections, round set-up,
extensions, participation and ranking."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    Answer,
    DeadlineExtension,
    EvidenceFile,
    LinkCheck,
    Objection,
    Round,
    Submission,
    Verification,
    VerifiedAnswer,
    VerifierAssignment,
)
from app.results.service import BandCountRow
from app.web.charts import band_distribution
from app.web.format import remaining, score, when
from tests.factories import World, make_submission, now
from tests.web.conftest import Pages

BANDS = [("informatif", "Informatif"), ("cukup-informatif", "Cukup Informatif")]
INPUT = re.compile(r"<input\b[^>]*>")
UNREVIEWED = '<span class="badge badge-warn">Belum diperiksa</span>'


def submitted(world: World, session: Session) -> Submission:
    sub = make_submission(session, world.round, world.body, world.template, status="submitted")
    session.add(
        Answer(
            submission_id=sub.id,
            question_code="1.1.1",
            value="yes",
            evidence_links=["https://ppid.example.go.id/dip"],
        )
    )
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    session.flush()
    return sub


@pytest.mark.db
def test_the_verifier_sees_its_bodies_and_overrules_an_answer(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    pages.login(world.verifier)
    home = pages.get("/")
    assert world.body.name in home.text
    assert world.other_body.name not in home.text
    assert pages.post(f"/verifikasi/{sub.id}/mulai", follow_redirects=False).status_code == 303
    page = pages.get(f"/verifikasi/{sub.id}")
    assert "Jawaban badan publik" in page.text
    assert "https://ppid.example.go.id/dip" in page.text
    assert "Belum diperiksa" in page.text
    saved = pages.post(
        f"/verifikasi/{sub.id}/butir/1.1.1",
        {"version": "1", "type": "yes_no", "value": "no", "evidence_checked": "ya", "note": "SK belum ada"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = pages.get(f"/verifikasi/{sub.id}")
    assert "Diubah verifikator" in page.text
    assert "SK belum ada" in page.text


@pytest.mark.db
def test_a_verifier_form_on_a_stale_version_says_so(pages: Pages, world: World, session: Session) -> None:
    sub = submitted(world, session)
    pages.login(world.verifier)
    pages.post(f"/verifikasi/{sub.id}/mulai")
    form = {"version": "1", "type": "yes_no", "value": "yes"}
    assert pages.post(f"/verifikasi/{sub.id}/butir/1.1.1", form, follow_redirects=False).status_code == 303
    stale = pages.post(f"/verifikasi/{sub.id}/butir/1.1.1", form | {"value": "no"})
    assert stale.status_code == 412
    assert "Data telah diubah di tab/perangkat lain" in stale.text


@pytest.mark.db
def test_completing_lists_the_questions_not_reviewed(pages: Pages, world: World, session: Session) -> None:
    sub = submitted(world, session)
    pages.login(world.verifier)
    pages.post(f"/verifikasi/{sub.id}/mulai")
    response = pages.post(f"/verifikasi/{sub.id}/selesai", follow_redirects=False)
    assert response.status_code == 303
    assert "belum=1.1.1," in response.headers["location"]
    page = pages.get(response.headers["location"])
    assert "Verifikasi belum dapat diselesaikan: 4 pertanyaan belum diperiksa." in page.text


def question_html(page: str, code: str) -> str:
    """One question's block of the verification page."""
    start = page.index(f'id="v-{code}"')
    return page[start : page.index("</article>", start)]


def checked_inputs(html: str) -> list[str]:
    return [tag for tag in INPUT.findall(html) if re.search(r"\schecked\b", tag)]


@pytest.mark.db
def test_an_unreviewed_question_has_nothing_selected_and_says_so(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    session.add_all(
        [
            Answer(submission_id=sub.id, question_code="1.1.2", value="a"),
            Answer(submission_id=sub.id, question_code="2.2", value=95),
        ]
    )
    session.flush()
    pages.login(world.verifier)
    pages.post(f"/verifikasi/{sub.id}/mulai")
    page = pages.get(f"/verifikasi/{sub.id}").text
    for code, own in (("1.1.1", "Ya"), ("1.1.2", "Lengkap"), ("2.2", "95")):
        block = question_html(page, code)
        assert UNREVIEWED in block
        assert f"<strong>{own}</strong>" in block  # the body's answer stays in view beside it
        assert checked_inputs(block) == [], code
    assert 'value=""' in question_html(page, "2.2")  # the number is not filled in with the body's 95
    assert "Setujui 5 jawaban yang belum diperiksa" in page

    # Sending the form without choosing is refused; choosing "no valid answer" is a choice.
    refused = pages.post(f"/verifikasi/{sub.id}/butir/1.1.2", {"version": "1", "type": "choice"})
    assert refused.status_code == 422
    assert "Pilih nilai terverifikasi" in refused.text
    saved = pages.post(
        f"/verifikasi/{sub.id}/butir/1.1.1",
        {"version": "1", "type": "yes_no", "value": "__kosong__"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    page = pages.get(f"/verifikasi/{sub.id}").text
    block = question_html(page, "1.1.1")
    assert "Sudah diperiksa" in block
    assert UNREVIEWED not in block
    assert checked_inputs(block) == ['<input type="radio" name="value" value="__kosong__" checked>']
    assert "Setujui 4 jawaban yang belum diperiksa" in page


@pytest.mark.db
def test_the_verifier_approves_the_unreviewed_answers_after_confirming(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    pages.login(world.verifier)
    pages.post(f"/verifikasi/{sub.id}/mulai")
    pages.post(f"/verifikasi/{sub.id}/butir/2.2", {"version": "1", "type": "number", "value": "40"})
    url = f"/verifikasi/{sub.id}/setujui-belum-diperiksa"

    unconfirmed = pages.post(url, {"version": "2"})
    assert unconfirmed.status_code == 422
    assert "Centang pernyataan" in unconfirmed.text
    stale = pages.post(url, {"version": "1", "konfirmasi": "ya"})
    assert stale.status_code == 412
    approved = pages.post(url, {"version": "2", "konfirmasi": "ya"}, follow_redirects=False)
    assert approved.status_code == 303, approved.text

    page = pages.get(approved.headers["location"])
    assert "sudah disetujui sesuai jawaban badan publik" in page.text
    assert 'id="reviewed">5</strong>' in page.text
    assert 'id="belum-diperiksa"' not in page.text
    assert all(UNREVIEWED not in question_html(page.text, code) for code in ("1.1.1", "2.1", "2.3"))
    verified = dict(
        session.execute(
            select(VerifiedAnswer.question_code, VerifiedAnswer.value)
            .join(Verification)
            .where(Verification.submission_id == sub.id)
        ).all()
    )
    assert verified == {"1.1.1": "yes", "1.1.2": None, "2.1": None, "2.2": "40", "2.3": None}


@pytest.mark.db
def test_a_refused_verification_form_comes_back_beside_its_question_with_what_was_typed(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    pages.login(world.verifier)
    pages.post(f"/verifikasi/{sub.id}/mulai")
    form = {"_form": "butir-2.2", "_halaman": f"/verifikasi/{sub.id}", "version": "1", "type": "number"}

    refused = pages.post(
        f"/verifikasi/{sub.id}/butir/2.2", form | {"value": "dua puluh", "note": "Cek ulang"}
    )
    assert refused.status_code == 422
    block = question_html(refused.text, "2.2")
    assert "Nilai pertanyaan 2.2 tidak sesuai: isi dengan angka, misalnya 12,5." in block
    value = re.search(r'<input id="f-butir-2.2-value"[^>]*>', block)
    assert value is not None
    assert 'value="dua puluh"' in value.group(0)
    assert 'aria-invalid="true"' in value.group(0)
    assert ">Cek ulang</textarea>" in block
    assert "error-summary" not in question_html(refused.text, "2.1")
    assert session.scalars(select(VerifiedAnswer)).all() == []

    # Another tab saved first: the form comes back on the page as it is now, saying so.
    saved = pages.post(f"/verifikasi/{sub.id}/butir/2.2", form | {"value": "40"}, follow_redirects=False)
    assert saved.status_code == 303
    stale = pages.post(
        f"/verifikasi/{sub.id}/butir/1.1.1",
        form | {"_form": "butir-1.1.1", "type": "yes_no", "value": "no", "note": "SK belum ada"},
    )
    assert stale.status_code == 412
    block = question_html(stale.text, "1.1.1")
    assert "telah diubah di tab/perangkat lain" in block
    assert [tag.split(" checked")[0] for tag in checked_inputs(block)] == [
        '<input type="radio" name="value" value="no"'
    ]
    assert ">SK belum ada</textarea>" in block
    assert '<input type="hidden" name="version" value="2">' in block


@pytest.mark.db
def test_a_round_is_created_with_times_read_in_the_commission_zone(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.admin)
    response = pages.post(
        "/ronde",
        {
            "title": "Monev 2026",
            "year": "2026",
            "saq_opens_at": "2026-08-01T00:00",
            "saq_closes_at": "2026-08-31T23:59",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    round_ = session.scalar(select(Round).where(Round.title == "Monev 2026"))
    assert round_ is not None
    assert round_.saq_closes_at == datetime(2026, 8, 31, 16, 59, tzinfo=UTC)  # 23:59 WIB
    page = pages.get(response.headers["location"])
    assert "31 Agustus 2026 pukul 23.59 WIB" in page.text


@pytest.mark.db
def test_unreadable_form_fields_are_named_in_indonesian(pages: Pages, world: World) -> None:
    pages.login(world.admin)
    response = pages.post("/ronde", {"title": "", "year": "dua ribu", "saq_opens_at": "besok"})
    assert response.status_code == 422
    assert "Tahun harus bilangan bulat." in response.text
    assert "Pembukaan pengisian SAQ bukan tanggal dan jam yang sah." in response.text
    assert "Batas waktu pengisian SAQ wajib diisi." in response.text


@pytest.mark.db
def test_an_extension_is_recorded_with_its_reason(pages: Pages, world: World, session: Session) -> None:
    pages.login(world.admin)
    response = pages.post(
        f"/ronde/{world.round.id}/perpanjangan",
        {"closes_at": "2099-01-05T23:59", "scope": "round", "reason": "Keputusan pleno 3/2025"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    extension = session.scalar(select(DeadlineExtension).where(DeadlineExtension.round_id == world.round.id))
    assert extension is not None
    assert extension.reason == "Keputusan pleno 3/2025"
    page = pages.get(f"/ronde/{world.round.id}")
    assert "5 Januari 2099 pukul 23.59 WIB" in page.text


@pytest.mark.db
def test_participation_lists_who_has_not_taken_part(pages: Pages, world: World, session: Session) -> None:
    submitted(world, session)
    pages.login(world.admin)
    page = pages.get(f"/ronde/{world.round.id}/partisipasi?keadaan=belum-diverifikasi")
    assert world.body.name in page.text
    assert world.other_body.name not in page.text
    assert pages.get(f"/ronde/{world.round.id}/peringkat").text.count("belum ditetapkan") == 1


@pytest.mark.db
def test_operators_do_not_see_the_commission_pages(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    assert pages.get(f"/ronde/{world.round.id}/partisipasi").status_code == 403
    assert pages.get("/sanggahan").status_code == 403


def test_the_band_chart_draws_one_bar_per_category_with_absent_bodies_apart() -> None:
    rows = [
        BandCountRow(1, "kelurahan", "Kelurahan", {"informatif": 3, "cukup-informatif": 1}, 4, 8),
        BandCountRow(2, "dinas", "Dinas <Utama>", {}, 2, 2),
    ]
    chart = band_distribution(rows, BANDS)
    assert chart.svg.startswith('<svg class="chart"')
    assert chart.svg.count('class="band-informatif"') == 1
    assert chart.svg.count('class="band-absen"') == 2
    assert 'width="180.00"' in chart.svg  # 3 of 8 bodies on a 480 px bar
    assert 'width="240.00"' in chart.svg  # 4 of 8 did not take part
    assert "Dinas &lt;Utama&gt;" in chart.svg
    assert [label for _, label, _ in chart.legend] == ["Informatif", "Cukup Informatif", "Tidak Mengikuti"]


def test_pages_print_local_times_and_decimal_commas() -> None:
    instant = datetime(2025, 8, 31, 15, 59, tzinfo=UTC)
    assert when(instant, "Asia/Makassar") == "31 Agustus 2025 pukul 23.59 WITA"
    assert when(instant, "Asia/Jayapura") == "1 September 2025 pukul 00.59 WIT"
    assert score(Decimal("85.83")) == "85,83"
    assert score(None) == "-"
    assert remaining(instant, datetime(2025, 8, 28, 12, 0, tzinfo=UTC)) == "(sisa 3 hari 3 jam)"


@pytest.mark.db
def test_a_body_objects_during_the_window_and_the_verifier_accepts(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    checked = Verification(submission_id=sub.id, verifier_id=world.verifier.id, status="completed")
    session.add(checked)
    session.flush()
    session.add(
        VerifiedAnswer(verification_id=checked.id, question_code="1.1.1", value="no", note="SK belum ada")
    )
    world.round.results_released_at = now() - timedelta(hours=2)
    world.round.objection_opens_at = now() - timedelta(hours=1)
    world.round.objection_closes_at = now() + timedelta(days=3)
    session.flush()

    pages.login(world.operator)
    page = pages.get(f"/pengisian/{sub.id}/sanggahan")
    assert "Diubah verifikator" in page.text
    assert "SK belum ada" in page.text
    filed = pages.post(
        f"/pengisian/{sub.id}/sanggahan/1.1.1",
        {"explanation": "SK DIP terlampir", "evidence": "https://ppid.example.go.id/sk-dip"},
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    assert "Sanggahan: Menunggu jawaban" in pages.get(f"/pengisian/{sub.id}/sanggahan").text

    pages.client.cookies.clear()
    pages.login(world.verifier)
    listing = pages.get("/sanggahan")
    assert "SK DIP terlampir" in listing.text
    objection = session.scalar(select(Objection).where(Objection.submission_id == sub.id))
    assert objection is not None
    fid = f"sanggahan-{objection.id}"
    incomplete = pages.post(
        f"/sanggahan/{objection.id}",
        {"_form": fid, "_halaman": "/sanggahan", "decision": "terima", "type": "yes_no", "value": "yes"},
    )
    assert incomplete.status_code == 422
    assert (
        f'<p class="field-error" id="f-{fid}-reason-galat">Tuliskan alasan keputusan.</p>' in incomplete.text
    )
    assert re.search(r'value="terima" required checked', incomplete.text)
    decided = pages.post(
        f"/sanggahan/{objection.id}",
        {"decision": "terima", "type": "yes_no", "value": "yes", "reason": "SK sah"},
        follow_redirects=False,
    )
    assert decided.status_code == 303, decided.text
    session.refresh(objection)
    assert objection.status == "accepted"
    value = session.scalar(select(VerifiedAnswer.value).where(VerifiedAnswer.verification_id == checked.id))
    assert value == "yes"


def link_item(page: str, url: str) -> str:
    """The evidence link's line of the verification page, with its link-check badge."""
    start = page.index(f'<li><a href="{url}"')
    return page[start : page.index("</li>", start)]


def verified_cell(page: str) -> str:
    """The verified SAQ score's cell of the score table."""
    start = page.index('id="verified-score"')
    return page[start : page.index("</td>", start)]


@pytest.mark.db
def test_the_verify_page_of_a_draft_says_the_body_is_still_filling_it_in_and_shows_none_of_it(
    pages: Pages, world: World, session: Session
) -> None:
    draft = make_submission(session, world.round, world.body, world.template)
    session.add_all(
        [
            Answer(
                submission_id=draft.id,
                question_code="1.1.1",
                value="yes",
                evidence_links=["https://ppid.example.go.id/dip"],
            ),
            VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id),
            EvidenceFile(
                submission_id=draft.id,
                question_code="1.1.1",
                sha256="0" * 64,
                size=9,
                content_type="application/pdf",
                original_name="sk-dip.pdf",
            ),
        ]
    )
    session.flush()
    file_id = session.scalars(select(EvidenceFile.id)).one()
    url = f"/verifikasi/{draft.id}"
    pages.login(world.verifier)
    page = pages.get(url)
    assert page.status_code == 200
    assert (
        "<strong>SAQ masih diisi oleh badan publik</strong>; verifikasi dapat dimulai setelah SAQ dikirim "
        f"atau batas waktu pengisiannya lewat ({when(world.round.saq_closes_at, 'Asia/Jakarta')})."
    ) in page.text
    for hidden in (
        "Mulai verifikasi",
        "https://ppid.example.go.id/dip",
        "Jawaban badan publik",
        "sk-dip.pdf",
    ):
        assert hidden not in page.text, hidden
    assert pages.get(f"/berkas/{file_id}").status_code == 403
    assert pages.get(f"/pengisian/{draft.id}").status_code == 403
    # A start sent from a page opened earlier comes back here, saying why.
    refused = pages.post(f"{url}/mulai", {"_form": "mulai", "_halaman": url})
    assert refused.status_code == 409
    assert 'id="refused">SAQ ' + world.body.name + " masih diisi oleh badan publik" in refused.text
    assert session.scalars(select(Verification)).all() == []

    # The round's deadline passed but the body's extension runs: the page names the extended deadline.
    world.round.saq_closes_at = now() - timedelta(hours=1)
    extended = datetime(2099, 9, 15, 16, 59, tzinfo=UTC)
    extension = DeadlineExtension(
        round_id=world.round.id, closes_at=extended, scope="bodies", body_ids=[world.body.id], reason="Pleno"
    )
    session.add(extension)
    session.flush()
    page = pages.get(url).text
    assert (
        "(15 September 2099 pukul 23.59 WIB, batas waktu yang sudah diperpanjang untuk badan publik ini)"
        in page
    )
    assert "Mulai verifikasi" not in page

    # The administrator sees the same (the verification page is about verifying); the body not at all.
    pages.client.cookies.clear()
    pages.login(world.admin)
    assert "SAQ masih diisi oleh badan publik" in pages.get(url).text
    pages.client.cookies.clear()
    pages.login(world.operator)
    assert pages.get(url).status_code == 403

    # Past its deadline, a draft the round's rule leaves out: its answers show, and instead of a start
    # button that would fail, why it is not verified.
    extension.closes_at = now() - timedelta(minutes=1)
    session.flush()
    pages.client.cookies.clear()
    pages.login(world.verifier)
    page = pages.get(url).text
    assert "https://ppid.example.go.id/dip" in page
    assert "Mulai verifikasi" not in page
    assert f'id="start-refused">{world.body.name} tidak mengirim SAQ sampai batas waktunya (' in page
    assert "menurut aturan periode ini draf dinyatakan tidak mengikuti dan tidak diverifikasi." in page

    # Sent: the verifier sees the answers and may start.
    draft.status = "submitted"
    session.flush()
    page = pages.get(url).text
    assert "Mulai verifikasi" in page
    assert "https://ppid.example.go.id/dip" in page
    assert "SAQ masih diisi" not in page


@pytest.mark.db
def test_the_verified_score_says_it_is_provisional_and_counts_only_what_needs_review(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    pages.login(world.verifier)
    home = pages.get("/").text
    assert '<td data-label="Kategori">Kelurahan</td>' in home
    assert '<td data-label="Diperiksa" class="num">0 dari 4</td>' in home
    pages.post(f"/verifikasi/{sub.id}/mulai")
    page = pages.get(f"/verifikasi/{sub.id}").text
    # 1.1.2 counts only once 1.1.1's verified value is "yes": 4 questions to review, not 5.
    assert (
        'Diperiksa <strong id="reviewed">0</strong> dari <span id="review-total">4</span> pertanyaan' in page
    )
    assert "1 pertanyaan bersyarat tidak dihitung" in page
    assert "Belum dihitung: syaratnya belum terpenuhi" in question_html(page, "1.1.2")
    cell = verified_cell(page)
    assert ">0,00</strong>" in cell
    assert 'id="verified-provisional">Sementara</span>' in cell
    assert "Tidak Informatif" not in cell
    assert "Nilai Verifikasi masih sementara:</strong> 4 pertanyaan belum diperiksa." in page

    for code, kind, value in (("1.1.1", "yes_no", "yes"), ("2.2", "number", "95")):
        version = re.search(r'name="version" value="(\d+)"', page)
        assert version is not None
        saved = pages.post(
            f"/verifikasi/{sub.id}/butir/{code}",
            {"version": version.group(1), "type": kind, "value": value, "evidence_checked": "ya"},
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text
        page = pages.get(f"/verifikasi/{sub.id}").text
    assert (
        'Diperiksa <strong id="reviewed">2</strong> dari <span id="review-total">5</span> pertanyaan' in page
    )
    assert "Nilai Verifikasi masih sementara:</strong> 3 pertanyaan belum diperiksa." in page
    assert '<td data-label="Diperiksa" class="num">2 dari 5</td>' in pages.get("/").text

    for code in ("1.1.2", "2.1", "2.3"):
        session.add(
            VerifiedAnswer(
                verification_id=session.scalars(select(Verification.id)).one(), question_code=code, value=None
            )
        )
    session.flush()
    cell = verified_cell(pages.get(f"/verifikasi/{sub.id}").text)
    assert "Sementara" in cell
    assert 'class="band ' in cell  # every question reviewed: the band shows, still marked provisional
    assert pages.post(f"/verifikasi/{sub.id}/selesai", follow_redirects=False).status_code == 303
    page = pages.get(f"/verifikasi/{sub.id}").text
    assert "Sementara" not in verified_cell(page)
    assert "masih sementara" not in page


@pytest.mark.db
def test_link_check_badges_say_what_the_checker_found_in_words_of_their_own(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    link = "https://ppid.example.go.id/dip"
    pages.login(world.verifier)
    pages.post(f"/verifikasi/{sub.id}/mulai")
    page = pages.get(f"/verifikasi/{sub.id}").text
    assert '<span class="badge badge-info" data-role="link-check">Tautan belum dicek</span>' in link_item(
        page, link
    )
    assert "Belum diperiksa" not in link_item(page, link)
    assert "Cek semua tautan" in page
    checked_at = datetime(2025, 9, 1, 3, 0, tzinfo=UTC)
    for outcome, row, badge in (
        ("broken", {"ok": False, "status_code": 404}, "Tautan rusak (kode 404)"),
        ("blocked", {"ok": False, "error": "blocked: private address"}, "bukan alamat web publik"),
        ("error", {"ok": False, "error": "timeout"}, "Tautan tidak dapat dihubungi"),
        ("ok", {"ok": True, "status_code": 200}, "Tautan dapat dibuka"),
    ):
        session.add(LinkCheck(submission_id=sub.id, url=link, checked_at=checked_at, **row))
        session.flush()
        item = link_item(pages.get(f"/verifikasi/{sub.id}").text, link)
        assert badge in item, outcome
        assert "dicek 1 September 2025 pukul 10.00 WIB" in item


def objection_form(page: str, objection_id: int) -> str:
    start = page.index(f'action="/sanggahan/{objection_id}"')
    return page[start : page.index("</form>", start)]


@pytest.mark.db
def test_accepting_an_objection_starts_at_the_body_answer_and_never_empties_by_default(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    checked = Verification(submission_id=sub.id, verifier_id=world.verifier.id, status="completed")
    session.add(checked)
    session.flush()
    session.add_all(
        [
            VerifiedAnswer(verification_id=checked.id, question_code="1.1.1", value="no"),
            VerifiedAnswer(verification_id=checked.id, question_code="2.2", value=40),
        ]
    )
    world.round.results_released_at = now() - timedelta(hours=2)
    yes_no = Objection(submission_id=sub.id, question_code="1.1.1", explanation="SK DIP terlampir")
    number = Objection(submission_id=sub.id, question_code="2.2", explanation="Angka 40 keliru")
    session.add_all([yes_no, number])
    session.flush()
    pages.login(world.verifier)
    page = pages.get("/sanggahan").text

    # The body's own answer ("Ya") is what the form holds; "Tidak ada jawaban yang sah" is not chosen.
    form = objection_form(page, yes_no.id)
    assert [tag.split(" checked")[0] for tag in checked_inputs(form)] == [
        '<input type="radio" name="value" value="yes"'
    ]
    assert 'Jawaban badan publik: <strong data-role="body-value">Ya</strong>' in page
    assert 'Nilai terverifikasi sekarang: <strong data-role="verified-value">Tidak</strong>' in page
    # The body gave no number: nothing is filled in and nothing chosen for it.
    assert checked_inputs(objection_form(page, number.id)) == []

    fid = f"sanggahan-{number.id}"
    refused = pages.post(
        f"/sanggahan/{number.id}",
        {
            "_form": fid,
            "_halaman": "/sanggahan",
            "decision": "terima",
            "type": "number",
            "value": "",
            "reason": "Ya",
        },
    )
    assert refused.status_code == 422
    assert (
        f'<p class="field-error" id="f-{fid}-value-galat">Sanggahan yang diterima menetapkan nilai '
        "terverifikasi baru untuk pertanyaan 2.2: pilih nilainya (biasanya jawaban badan publik)."
    ) in refused.text
    session.refresh(number)
    assert number.status == "open"

    emptied = pages.post(
        f"/sanggahan/{number.id}",
        {"decision": "terima", "type": "number", "value": "", "no_valid_answer": "ya", "reason": "Tidak sah"},
        follow_redirects=False,
    )
    assert emptied.status_code == 303, emptied.text
    accepted = pages.post(
        f"/sanggahan/{yes_no.id}",
        {"decision": "terima", "type": "yes_no", "value": "yes", "reason": "SK sah"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    values = dict(
        session.execute(
            select(VerifiedAnswer.question_code, VerifiedAnswer.value).where(
                VerifiedAnswer.verification_id == checked.id
            )
        ).all()
    )
    assert values == {"1.1.1": "yes", "2.2": None}
    page = pages.get("/sanggahan").text
    assert 'Nilai terverifikasi setelah keputusan: <strong data-role="verified-value">Ya</strong>' in page


@pytest.mark.db
def test_the_start_button_is_offered_only_to_whom_it_works(
    pages: Pages, world: World, session: Session
) -> None:
    sub = submitted(world, session)
    pages.login(world.panelist)
    page = pages.get(f"/verifikasi/{sub.id}").text
    assert "Jawaban badan publik" in page
    assert "Mulai verifikasi" not in page
    assert 'id="start-refused"' not in page
    pages.client.cookies.clear()
    pages.login(world.verifier)
    assert "Mulai verifikasi" in pages.get(f"/verifikasi/{sub.id}").text
