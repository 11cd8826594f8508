"""The guarded submit and the evidence box in headless Chromium against ``emonev serve`` (``live_server``):
an almost empty SAQ is not locked by the first click and needs a second, explicit confirmation; a complete one
needs only the usual one; the "Data dukung (wajib)" box follows the answer. Screenshots of the submit page and
its confirmation step at laptop and phone width go to tests/screenshots/.

Each test works on a body no other browser test fills in (the dinas and Kecamatan Gambir of the demo data)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

import scoring
from app.demo.season import answers_for
from tests.web.conftest import DEMO_PASSWORD, LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

DINAS_TEMPLATE = Path(__file__).resolve().parents[2] / "questionnaires" / "kip-2025" / "dinas.yaml"


class Api:
    """The live server's API as a demo account, to prepare data and read back what the pages did."""

    def __init__(self, server: LiveServer, email: str) -> None:
        self.http = httpx.Client(base_url=f"{server.url}/api/v1", timeout=30)
        login = self.http.post("/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def get(self, path: str) -> Any:
        response = self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()


ApiAs = Callable[[str], Api]


@pytest.fixture
def api_as(live_server: LiveServer) -> Iterator[ApiAs]:
    made: list[Api] = []

    def make(email: str) -> Api:
        made.append(Api(live_server, email))
        return made[-1]

    yield make
    for api in made:
        api.http.close()


def submission_id_of(page: Page) -> int:
    match = re.search(r"/pengisian/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))


def start(page: Page, email: str) -> int:
    log_in(page, email)
    page.get_by_role("button", name="Mulai mengisi SAQ").click()
    expect(page).to_have_url(re.compile(r"/pengisian/\d+$"))
    return submission_id_of(page)


def question(page: Page, code: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[id="q-{code}"]')


def test_an_almost_empty_saq_needs_a_second_explicit_confirmation(page: Page, api_as: ApiAs) -> None:
    email = "ppid.dinkes@demo.emonev.id"
    sid = start(page, email)
    with page.expect_response(lambda r: r.url.endswith("/jawaban") and r.status == 200):
        question(page, "1.1.1").get_by_label("Ya", exact=True).check()
    api = api_as(email)
    checklist = api.get(f"/submissions/{sid}/checklist")
    unanswered, missing = len(checklist["unanswered"]), len(checklist["evidence_missing"])
    assert unanswered > 60
    assert missing == 1
    counts = f"{unanswered} pertanyaan belum dijawab, 1 data dukung wajib belum dilampirkan"

    page.get_by_role("link", name="Periksa dan kirim SAQ").first.click()
    expect(page.locator("#checklist-summary")).to_contain_text(counts)
    # Every item listed, none folded away, each a link to its question on the form.
    expect(page.locator("#unanswered li")).to_have_count(unanswered)
    expect(page.locator("#unanswered li").last).to_be_visible()
    expect(page.locator("#evidence-missing li")).to_have_count(1)
    link = page.locator("#evidence-missing").get_by_role("link", name=re.compile(r"^1\.1\.1 "))
    expect(link).to_have_attribute("href", f"/pengisian/{sid}#q-1.1.1")
    screenshot(page, "operator-submit-incomplete")

    page.get_by_role("button", name="Kirim SAQ").click()
    expect(page).to_have_url(re.compile(r"langkah=konfirmasi"))
    expect(page.get_by_role("heading", name="Kirim SAQ yang belum lengkap?")).to_be_visible()
    assert api.get(f"/submissions/{sid}")["status"] == "draft", "the first click must not lock the SAQ"
    confirm = page.get_by_role("button", name=f"Ya, kirim dengan {counts}")
    expect(confirm).to_be_visible()
    screenshot(page, "operator-submit-confirm")
    screenshot(page, "operator-submit-confirm-screen", full_page=False)

    # The explicit button still wants the statement ticked (the browser's own check, no script needed).
    confirm.click()
    expect(page).to_have_url(re.compile(r"langkah=konfirmasi"))
    assert api.get(f"/submissions/{sid}")["status"] == "draft"
    page.get_by_label("saya mengerti bagian yang belum lengkap bernilai 0").check()
    confirm.click()
    expect(page.get_by_role("status").filter(has_text="sudah dikirim")).to_have_count(2)
    submitted = api.get(f"/submissions/{sid}")
    assert submitted["status"] == "submitted"


def test_a_complete_saq_is_sent_with_the_usual_confirmation(page: Page, api_as: ApiAs) -> None:
    email = "ppid.disdik@demo.emonev.id"
    sid = start(page, email)
    api = api_as(email)
    current = api.http.get(f"/submissions/{sid}")
    template = scoring.parse_template(DINAS_TEMPLATE.read_text(encoding="utf-8"), source=str(DINAS_TEMPLATE))
    saved = api.http.put(
        f"/submissions/{sid}/answers",
        headers={"If-Match": current.headers["ETag"]},
        json={"answers": answers_for(template, 1.0)},
    )
    assert saved.status_code == 200, saved.text

    page.goto(f"/pengisian/{sid}/kirim")
    expect(page.locator("#checklist-ok")).to_be_visible()
    expect(page.locator("#unanswered")).to_have_count(0)
    screenshot(page, "operator-submit-complete")
    page.get_by_label("Saya menyatakan jawaban dan data dukung sudah benar.").check()
    page.get_by_role("button", name="Kirim SAQ").click()
    expect(page.get_by_role("status").filter(has_text="sudah dikirim")).to_have_count(2)
    assert api.get(f"/submissions/{sid}")["status"] == "submitted"


def test_the_required_evidence_box_follows_the_answer(page: Page) -> None:
    start(page, "ppid.kecamatan-gambir@demo.emonev.id")
    item = question(page, "1.1.1")
    box = item.locator("[data-role=evidence]")
    heading = item.locator("[data-role=evidence-heading]")
    expect(heading).to_have_text("Data dukung (wajib untuk jawaban Ya)")

    item.get_by_label("Ya", exact=True).check()
    expect(heading).to_have_text("Data dukung (wajib)")
    with page.expect_response(lambda r: r.url.endswith("/jawaban") and r.status == 200):
        item.get_by_label("Tidak", exact=True).check()
    expect(box).to_be_hidden()
    expect(item.locator("[data-role=status]")).not_to_have_text("Data dukung belum ada")
    page.reload()
    expect(question(page, "1.1.1").locator("[data-role=evidence]")).to_be_hidden()

    item = question(page, "1.1.1")
    item.get_by_label("Ya", exact=True).check()
    expect(item.locator("[data-role=evidence]")).to_be_visible()
    expect(item.locator("[data-role=evidence-heading]")).to_have_text("Data dukung (wajib)")

    # A choice question: only the options that earn something need the evidence.
    choice = question(page, "1.1.3")
    options = choice.locator("input[type=radio]")
    options.last.check()
    expect(choice.locator("[data-role=evidence]")).to_be_hidden()
    options.first.check()
    expect(choice.locator("[data-role=evidence-heading]")).to_have_text("Data dukung (wajib)")
    expect(choice.locator("[data-role=evidence]")).to_be_visible()
    screenshot(page, "operator-evidence-follows-answer", full_page=False)

    # Evidence already given stays in sight when the answer no longer needs it.
    item.get_by_label("Tautan data dukung").fill("https://ppid.gambir.example.go.id/dip")
    item.get_by_label("Tidak", exact=True).check()
    expect(item.locator("[data-role=evidence]")).to_be_visible()
    expect(item.locator("[data-role=evidence-heading]")).to_have_text(
        "Data dukung (tidak diperlukan untuk jawaban ini)"
    )
