"""The PPID operator's pages in process: the SAQ form, autosave and its conflicts, submit, results."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Answer
from tests.factories import World, problem
from tests.submissions.helpers import finishes_after_release
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


def test_the_submit_step_lists_missing_evidence_then_locks(pages: Pages, world: World) -> None:
    pages.login(world.operator)
    sid = open_form(pages, world)
    pages.post_json(f"/web/pengisian/{sid}/jawaban", {"version": 1, "answers": {"1.1.1": {"value": "yes"}}})
    check = pages.get(f"/pengisian/{sid}/kirim")
    assert "Data dukung wajib belum ada (1)" in check.text
    assert f'href="/pengisian/{sid}#q-1.1.1">1.1.1</a>' in check.text
    unconfirmed = pages.post(f"/pengisian/{sid}/kirim", {"idempotency_key": "k1"})
    assert unconfirmed.status_code == 422
    assert "Centang pernyataan" in unconfirmed.text
    done = pages.post(
        f"/pengisian/{sid}/kirim", {"idempotency_key": "k1", "confirm": "ya"}, follow_redirects=False
    )
    assert done.status_code == 303
    page = pages.get(done.headers["location"])
    assert "SAQ sudah dikirim dan dikunci" in page.text
    assert "<fieldset disabled" in page.text
    again = pages.post_json(
        f"/web/pengisian/{sid}/jawaban", {"version": 2, "answers": {"2.3": {"value": "x"}}}
    )
    assert again.status_code == 409


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
