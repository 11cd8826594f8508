"""The PPID operator's pages in process: the SAQ form, autosave and its conflicts, submit, results."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Answer, Submission
from tests.factories import World, problem, tiny_pdf
from tests.submissions.helpers import FULL_ANSWERS, finishes_after_release
from tests.web.conftest import Pages

pytestmark = pytest.mark.db


def open_form(pages: Pages, world: World) -> int:
    response = pages.post(f"/pengisian/mulai/{world.round.id}", follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_the_form_shows_each_aspect_with_its_questions_help_and_conditions(
    pages: Pages, world: World
) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    page = pages.get(f"/pengisian/{sid}")
    assert page.status_code == 200, page.text
    assert '<html lang="id">' in page.text
    assert 'id="aspek-1"' in page.text
    assert 'id="aspek-2"' in page.text
    assert "Apakah badan publik memiliki DIP?" in page.text
    # 1.1.2 applies only when 1.1.1 is "yes": hidden until then, with its condition for the script.
    assert 'id="q-1.1.2" data-code="1.1.2" data-type="choice" data-evidence="none"' in page.text
    assert (
        'data-when="{&#34;question&#34;: &#34;1.1.1&#34;, &#34;equals&#34;: [&#34;yes&#34;]}" hidden'
        in page.text
    )
    assert 'type="checkbox" name="value:2.1" value="ig"' in page.text
    assert "Data dukung (wajib)" in page.text


def test_autosave_returns_the_new_version_and_the_live_score(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    response = pages.post_json(
        f"/web/pengisian/{sid}/jawaban",
        {
            "version": 1,
            "answers": {"1.1.1": {"value": "yes", "evidence": ["https://ppid.example.go.id/dip"]}},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 2
    assert body["changed"] == ["1.1.1"]
    view = body["view"]
    assert view["questions"]["1.1.1"]["explanation"] == "Memperoleh 2 dari 2."
    assert view["questions"]["1.1.2"]["status"] == "unanswered"
    assert view["aspects"][0]["answered"] == 1
    assert view["aspects"][0]["applicable"] == 2
    assert view["score"] != "0,00"


def test_a_save_on_a_stale_version_is_refused_and_changes_nothing(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    first = pages.post_json(
        f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"2.3": {"value": "a"}}}
    )
    assert first.status_code == 200
    stale = pages.post_json(
        f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"2.3": {"value": "b"}}}
    )
    assert stale.status_code == 412
    assert problem(stale)["current_version"] == 2
    stored = session.scalar(
        select(Answer.value).where(Answer.submission_id == sid, Answer.question_code == "2.3")
    )
    assert stored == "a"


def test_a_version_that_is_not_a_number_is_refused_not_taken_as_one(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    for version in (True, "1"):
        response = pages.post_json(
            f"/web/pengisian/{sid}/jawaban", {"version": version, "answers": {"2.3": {"value": "a"}}}
        )
        assert response.status_code == 422, response.text
        assert [e["field"] for e in problem(response)["errors"]] == ["version"]


def test_a_bad_link_is_named_so_the_page_can_mark_it(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    response = pages.post_json(
        f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"1.1.1": {"evidence": ["ftp://x"]}}}
    )
    assert response.status_code == 422
    assert [e["field"] for e in problem(response)["errors"]] == ["answers.1.1.1.evidence[0]"]


def test_the_form_saves_without_scripts_too(pages: Pages, world: World, session: Session) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    response = pages.post(
        f"/pengisian/{sid}/simpan",
        {"version": "1", "code": "2.2", "type:2.2": "number", "value:2.2": "92,5"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/pengisian/{sid}?pesan=tersimpan"
    stored = session.scalar(
        select(Answer.value).where(Answer.submission_id == sid, Answer.question_code == "2.2")
    )
    assert stored == "92.5"


def test_a_refused_save_without_scripts_comes_back_with_what_was_typed(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    form = pages.get(f"/pengisian/{sid}").text
    halaman = re.search(r'name="_halaman" value="([^"]+)"', form)
    assert halaman is not None
    typed = {
        "_form": "saq",
        "_halaman": halaman.group(1),
        "version": "1",
        "code": ["1.1.1", "2.2"],
        "type:1.1.1": "yes_no",
        "value:1.1.1": "yes",
        "links:1.1.1": "ppid.example.go.id/dip",
        "note:1.1.1": "SK DIP ditandatangani Lurah",
        "type:2.2": "number",
        "value:2.2": "sembilan puluh",
    }

    refused = pages.post(f"/pengisian/{sid}/simpan", typed)

    assert refused.status_code == 422
    text = refused.text
    assert 'id="saq-form"' in text  # the SAQ form itself, not the plain error page
    summary = re.search(r'<div class="alert alert-bad error-summary".*?</div>', text, re.S)
    assert summary is not None
    assert 'href="#q-1.1.1">Pertanyaan 1.1.1: Tautan data dukung harus berupa alamat' in summary.group(0)
    assert 'href="#q-2.2">Pertanyaan 2.2: Isi dengan angka' in summary.group(0)
    links = re.search(r'<textarea id="links-1.1.1"[^>]*>([^<]*)</textarea>', text)
    assert links is not None
    assert 'aria-invalid="true" aria-describedby="f-saq-links:1.1.1-galat"' in links.group(0)
    assert links.group(1) == "ppid.example.go.id/dip"
    assert '<p class="field-error" id="f-saq-links:1.1.1-galat">Tautan data dukung harus berupa' in text
    number = re.search(r'<input id="in-2.2"[^>]*>', text)
    assert number is not None
    assert 'value="sembilan puluh"' in number.group(0)
    assert "SK DIP ditandatangani Lurah</textarea>" in text
    assert 'name="value:1.1.1" value="yes" checked' in text
    assert session.scalar(select(Answer.id).where(Answer.submission_id == sid)) is None


def test_the_submit_step_states_the_counts_and_lists_every_item_expanded(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    pages.post_json(f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"1.1.1": {"value": "yes"}}})

    check = pages.get(f"/pengisian/{sid}/kirim")

    assert check.status_code == 200
    summary = check.text.index("4 pertanyaan belum dijawab, 1 data dukung wajib belum dilampirkan")
    assert summary < check.text.index('id="evidence-missing"') < check.text.index('id="unanswered"')
    assert "Data dukung wajib belum dilampirkan (1)" in check.text
    assert "Pertanyaan belum dijawab (4)" in check.text
    for code in ("1.1.1", "1.1.2", "2.1", "2.2", "2.3"):
        assert f'href="/pengisian/{sid}#q-{code}"><span class="q-code">{code}</span>' in check.text
    assert "<details" not in check.text
    # The first "Kirim SAQ" only leads to the confirmation step: it sends nothing that could lock.
    first = check.text[check.text.index('aria-labelledby="h-kirim"') - 80 :]
    assert f'<form method="get" action="/pengisian/{sid}/kirim"' in first
    assert 'name="langkah" value="konfirmasi"' in first


def test_an_incomplete_saq_is_locked_only_from_the_confirmation_step(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)

    step = pages.get(f"/pengisian/{sid}/kirim?langkah=konfirmasi")

    assert step.status_code == 200
    assert "Konfirmasi pengiriman SAQ" in step.text
    assert "Ya, kirim dengan 4 pertanyaan belum dijawab</button>" in step.text
    assert 'name="unanswered" value="4"' in step.text
    assert 'name="evidence_missing" value="0"' in step.text
    # The normal confirmation alone (no counts acknowledged) is refused by the service and locks nothing.
    unacknowledged = pages.post(f"/pengisian/{sid}/kirim", {"idempotency_key": "k1", "confirm": "ya"})
    assert unacknowledged.status_code == 409
    assert status_of(session, sid) == "draft"
    done = pages.post(
        f"/pengisian/{sid}/kirim",
        {"idempotency_key": "k1", "confirm": "ya", "unanswered": "4", "evidence_missing": "0"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert status_of(session, sid) == "submitted"
    page = pages.get(done.headers["location"])
    assert "SAQ sudah dikirim dan dikunci" in page.text
    assert "<fieldset disabled" in page.text


def test_counts_that_changed_in_another_tab_bring_the_confirmation_back_with_the_new_ones(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    step = pages.get(f"/pengisian/{sid}/kirim?langkah=konfirmasi").text  # shows 4 unanswered
    pages.post_json(f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"2.3": {"value": "x"}}})

    stale = pages.post(
        f"/pengisian/{sid}/kirim",
        {
            "_form": "kirim",
            "_halaman": hidden(step, "_halaman"),
            "idempotency_key": hidden(step, "idempotency_key"),
            "confirm": "ya",
            "unanswered": hidden(step, "unanswered"),
            "evidence_missing": hidden(step, "evidence_missing"),
        },
    )

    assert stale.status_code == 409
    assert status_of(session, sid) == "draft"
    assert "Jawaban SAQ berubah sejak Anda memeriksanya" in stale.text
    assert "Sekarang: 3 pertanyaan belum dijawab." in stale.text
    assert "Ya, kirim dengan 3 pertanyaan belum dijawab</button>" in stale.text
    assert hidden(stale.text, "unanswered") == "3"


def test_the_usual_confirmation_of_an_saq_that_became_incomplete_comes_back_with_the_lists(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    pages.post_json(f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": FULL_ANSWERS})
    check = pages.get(f"/pengisian/{sid}/kirim").text
    pages.post_json(f"/web/pengisian/{sid}/jawaban", {"version": 2, "answers": {"2.2": None}})

    refused = pages.post(
        f"/pengisian/{sid}/kirim",
        {"_form": "kirim", "_halaman": hidden(check, "_halaman"), "confirm": "ya", "idempotency_key": "k9"},
    )

    assert refused.status_code == 409
    assert status_of(session, sid) == "draft"
    assert "SAQ belum lengkap: 1 pertanyaan belum dijawab." in refused.text
    assert f'href="/pengisian/{sid}#q-2.2"' in refused.text
    assert 'name="langkah" value="konfirmasi"' in refused.text


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def test_a_complete_saq_needs_only_the_normal_confirmation(
    pages: Pages, world: World, session: Session
) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    pages.post_json(f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": FULL_ANSWERS})

    check = pages.get(f"/pengisian/{sid}/kirim")
    assert 'id="checklist-ok"' in check.text
    assert "langkah" not in check.text
    assert pages.get(f"/pengisian/{sid}/kirim?langkah=konfirmasi").text.count("Ya, kirim dengan") == 0
    unconfirmed = pages.post(f"/pengisian/{sid}/kirim", {"idempotency_key": "k3"})
    assert unconfirmed.status_code == 422
    assert "Centang pernyataan" in unconfirmed.text
    done = pages.post(
        f"/pengisian/{sid}/kirim", {"idempotency_key": "k3", "confirm": "ya"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert status_of(session, sid) == "submitted"
    again = pages.post_json(
        f"/web/pengisian/{sid}/jawaban", {"version": 2, "answers": {"2.3": {"value": "y"}}}
    )
    assert again.status_code == 409


def test_an_upload_and_a_removal_on_the_page_move_the_version(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    uploaded = pages.client.post(
        f"/web/pengisian/{sid}/berkas/1.1.1",
        files={"file": ("sk-dip.pdf", tiny_pdf(), "application/pdf")},
        headers={"X-CSRF-Token": pages.csrf},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["version"] == 2
    assert uploaded.json()["file"]["name"] == "sk-dip.pdf"

    stale = pages.post_json(
        f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"2.3": {"value": "a"}}}
    )
    assert stale.status_code == 412
    assert problem(stale)["current_version"] == 2

    file_id = uploaded.json()["file"]["id"]
    removed = pages.post_json(f"/web/pengisian/{sid}/berkas-hapus/{file_id}", {})
    assert removed.status_code == 200, removed.text
    assert removed.json()["version"] == 3
    assert (
        pages.post_json(
            f"/web/pengisian/{sid}/jawaban", {"version": 2, "answers": {"2.3": {"value": "a"}}}
        ).status_code
        == 412
    )
    assert (
        pages.post_json(
            f"/web/pengisian/{sid}/jawaban", {"version": 3, "answers": {"2.3": {"value": "a"}}}
        ).status_code
        == 200
    )


def test_the_evidence_box_says_what_the_stored_answer_needs(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    unanswered = pages.get(f"/pengisian/{sid}").text
    assert 'data-evidence-state="open" data-evidence-for="{&#34;values&#34;: [&#34;yes&#34;]}"' in unanswered
    assert ">Data dukung (wajib untuk jawaban Ya)</h4>" in unanswered
    pages.post_json(f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"1.1.1": {"value": "no"}}})
    assert ">Data dukung (tidak diperlukan untuk jawaban ini)</h4>" in pages.get(f"/pengisian/{sid}").text
    pages.post_json(f"/web/pengisian/{sid}/jawaban", {"version": 2, "answers": {"1.1.1": {"value": "yes"}}})
    assert ">Data dukung (wajib)</h4>" in pages.get(f"/pengisian/{sid}").text


def status_of(session: Session, submission_id: int) -> str:
    session.expire_all()
    status = session.scalar(select(Submission.status).where(Submission.id == submission_id))
    assert status is not None
    return status


def test_another_body_cannot_open_the_form(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    pages.client.cookies.clear()
    pages.login(world.other_operator)
    response = pages.get(f"/pengisian/{sid}")
    assert response.status_code == 403
    assert "Akses ditolak" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_results_wait_for_publication(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    page = pages.get(f"/pengisian/{sid}/hasil")
    assert page.status_code == 200
    assert "belum diumumkan" in page.text


def test_autosave_waits_for_its_turn_in_the_save_queue(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    response = finishes_after_release(
        pages.client,
        lambda: pages.post_json(
            f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"2.3": {"value": "a"}}}
        ),
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
