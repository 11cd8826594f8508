"""The round's life cycle in headless Chromium against the live server: the commission reopens a submitted SAQ
with its reason and the body edits it again; closing a round lists the body whose extension still runs, which
keeps saving after the close while another body cannot.

Each test makes its own round and bodies through the API of the live server (new bodies of the demo
commission, with their own PPID accounts), so it depends on no other test's order and no other test meets its
data. Screenshots of the confirmation pages go to tests/screenshots/ at 1280 and 390 pixels wide."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

import scoring
from app.demo import MAIL_DOMAIN
from app.demo.season import answers_for
from tests.factories import ROOT
from tests.web.conftest import DEMO_PASSWORD, LiveServer, log_in, screenshot

pytestmark = pytest.mark.browser

KELURAHAN = ROOT / "questionnaires" / "kip-2025" / "kelurahan.yaml"
TEMPLATE = scoring.parse_template(KELURAHAN.read_text(encoding="utf-8"), source=str(KELURAHAN))
ADMIN = f"admin.dki@{MAIL_DOMAIN}"
SAVED = "Tersimpan"


class Api:
    """The live server's API, logged in as one account."""

    def __init__(self, server: LiveServer, email: str) -> None:
        self.client = httpx.Client(base_url=f"{server.url}/api/v1", timeout=30)
        token = self.call("POST", "/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        self.client.headers["Authorization"] = f"Bearer {token['access_token']}"

    def call(
        self, method: str, url: str, *, expect: int | tuple[int, ...] = (200, 201), **kwargs: Any
    ) -> Any:
        response = self.client.request(method, url, **kwargs)
        wanted = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in wanted, f"{method} {url}: {response.status_code} {response.text}"
        return response.json() if response.content else None


@dataclass(frozen=True)
class Body:
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class Season:
    round_id: int
    title: str
    bodies: list[Body]


@pytest.fixture
def admin_api(live_server: LiveServer) -> Iterator[Api]:
    api = Api(live_server, ADMIN)
    yield api
    api.client.close()


def new_season(server: LiveServer, admin: Api, names: list[str]) -> Season:
    """A round of its own (open, closing in a day) inviting new kelurahan bodies with their own PPID
    accounts; each body opens its SAQ and saves a first answer."""
    tag = uuid.uuid4().hex[:6]
    commission_id = admin.call("GET", "/auth/me")["commission_id"]
    bodies = []
    for name in names:
        full = f"{name} {tag}"
        body = admin.call(
            "POST", f"/commissions/{commission_id}/bodies", json={"name": full, "category": "kelurahan"}
        )
        email = f"ppid.{name.lower().replace(' ', '-')}-{tag}@{MAIL_DOMAIN}"
        admin.call(
            "POST",
            "/accounts",
            json={
                "email": email,
                "name": f"PPID {full}",
                "role": "operator",
                "password": DEMO_PASSWORD,
                "body_id": body["id"],
            },
        )
        bodies.append(Body(body["id"], full, email))
    now = datetime.now(UTC)
    title = f"Monev Uji Siklus {tag}"
    round_ = admin.call(
        "POST",
        f"/commissions/{commission_id}/rounds",
        json={
            "year": 2026,
            "title": title,
            "saq_opens_at": (now - timedelta(days=1)).isoformat(),
            "saq_closes_at": (now + timedelta(days=1)).isoformat(),
        },
    )
    rid = round_["id"]
    admin.call(
        "PUT",
        f"/rounds/{rid}/templates",
        json={"kelurahan": {"key": TEMPLATE.key, "version": TEMPLATE.version}},
    )
    admin.call("POST", f"/rounds/{rid}/invitations", json={"body_ids": [b.id for b in bodies]})
    admin.call("POST", f"/rounds/{rid}/status", json={"status": "open"})
    first = TEMPLATE.questions()[0].question.code
    for body in bodies:
        operator = Api(server, body.email)
        sub = operator.call("POST", f"/rounds/{rid}/submissions")
        operator.call(
            "PUT",
            f"/submissions/{sub['id']}/answers",
            json={"answers": {first: {"note": "Catatan awal PPID"}}},
            headers={"If-Match": f'"{sub["version"]}"'},
        )
        operator.client.close()
    return Season(rid, title, bodies)


def submit_in_full(server: LiveServer, season: Season, body: Body) -> int:
    operator = Api(server, body.email)
    sub = operator.call("POST", f"/rounds/{season.round_id}/submissions")
    saved = operator.call(
        "PUT",
        f"/submissions/{sub['id']}/answers",
        json={"answers": answers_for(TEMPLATE, 1.0)},
        headers={"If-Match": f'"{sub["version"]}"'},
    )
    operator.call("POST", f"/submissions/{sub['id']}/submit", headers={"Idempotency-Key": uuid.uuid4().hex})
    operator.client.close()
    assert saved["changed"]
    return int(sub["id"])


def edit_first_note(page: Page, text: str) -> None:
    """Type a note into the first question of the open SAQ form and wait for the autosave."""
    code = TEMPLATE.questions()[0].question.code
    note = page.locator(f'[id="q-{code}"] textarea').last
    with page.expect_response(lambda r: r.url.endswith("/jawaban") and r.status == 200):
        note.fill(text)
        note.blur()
    expect(page.locator("#save-state")).to_have_text(SAVED)


def test_the_commission_reopens_a_saq_with_its_reason_and_the_body_edits_it_again(
    page: Page, live_server: LiveServer, admin_api: Api
) -> None:
    season = new_season(live_server, admin_api, ["Kelurahan Dibuka Kembali"])
    [body] = season.bodies
    submission_id = submit_in_full(live_server, season, body)
    reason = "Data dukung DIP salah unggah; permintaan PPID tanggal 2 September"

    log_in(page, ADMIN)
    page.goto(f"/ronde/{season.round_id}")
    page.get_by_role("link", name="Buka kembali SAQ yang sudah dikirim").click()
    page.get_by_role("link", name=f"Buka kembali SAQ {body.name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Buka kembali SAQ {body.name}?")
    screenshot(page, "commission-reopen-confirm")
    page.get_by_role("button", name="Buka kembali SAQ").click()  # without a reason
    expect(page.locator(".error-summary")).to_contain_text("Alasan membuka kembali SAQ wajib diisi")
    page.get_by_label("Alasan membuka kembali").fill(reason)
    page.get_by_role("button", name="Buka kembali SAQ").click()
    expect(page.get_by_role("status").filter(has_text="SAQ sudah dibuka kembali")).to_be_visible()
    expect(page.locator("#daftar-buka-kembali")).to_have_count(0)

    operator = page.context.browser.new_context(base_url=live_server.url, locale="id-ID")  # type: ignore[union-attr]
    try:
        body_page = operator.new_page()
        log_in(body_page, body.email)
        card = body_page.get_by_role("region", name=season.title)
        expect(card).to_contain_text("SAQ dibuka kembali oleh Komisi Informasi pada")
        expect(card).to_contain_text(f"karena: {reason}")
        card.get_by_role("link", name="Lanjutkan mengisi").click()
        expect(body_page).to_have_url(re.compile(f"/pengisian/{submission_id}$"))
        expect(body_page.locator("[data-role=reopened]")).to_contain_text(f"karena: {reason}")
        screenshot(body_page, "operator-saq-reopened", full_page=False)
        edit_first_note(body_page, "Data dukung sudah diganti")
        expect(body_page.get_by_role("link", name="Periksa dan kirim SAQ").first).to_be_visible()
    finally:
        operator.close()


def test_closing_a_round_lists_the_running_extension_and_that_body_keeps_saving(
    page: Page, live_server: LiveServer, admin_api: Api
) -> None:
    season = new_season(live_server, admin_api, ["Kelurahan Diperpanjang", "Kelurahan Tepat Waktu"])
    extended, other = season.bodies
    deadline = datetime.now(UTC) + timedelta(days=3)
    admin_api.call(
        "POST",
        f"/rounds/{season.round_id}/extensions",
        json={
            "closes_at": deadline.isoformat(),
            "scope": "bodies",
            "body_ids": [extended.id],
            "reason": "Keputusan Rapat Pleno: gangguan jaringan di kelurahan",
        },
    )

    log_in(page, ADMIN)
    page.goto(f"/ronde/{season.round_id}")
    page.get_by_role("link", name="Tutup pengisian SAQ…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tutup pengisian SAQ?")
    expect(page.locator("#daftar-perpanjangan")).to_contain_text(extended.name)
    expect(page.locator("#daftar-perpanjangan")).not_to_contain_text(other.name)
    expect(page.locator("#daftar-draf")).to_contain_text(other.name)
    expect(page.locator("#tutup-lebih-awal")).to_be_visible()
    screenshot(page, "commission-close-confirm")
    page.get_by_role("button", name="Tutup pengisian SAQ").click()  # not confirmed yet
    expect(page.locator(".error-summary")).to_contain_text("Penutupan pengisian SAQ perlu dikonfirmasi")
    page.get_by_label("Saya sudah membaca daftar di atas").check()
    page.get_by_role("button", name="Tutup pengisian SAQ").click()
    expect(page).to_have_url(re.compile(f"/ronde/{season.round_id}"))
    expect(page.locator("#round-status")).to_have_text("Pengisian SAQ ditutup")
    expect(page.locator("#saq-closed")).to_contain_text("lebih awal")

    context = page.context.browser.new_context(base_url=live_server.url, locale="id-ID")  # type: ignore[union-attr]
    try:
        body_page = context.new_page()
        log_in(body_page, extended.email)
        body_page.get_by_role("region", name=season.title).get_by_role(
            "link", name="Lanjutkan mengisi"
        ).click()
        edit_first_note(body_page, "Diisi dalam masa perpanjangan")
        body_page.get_by_role("button", name="Keluar").click()

        log_in(body_page, other.email)
        card = body_page.get_by_role("region", name=season.title)
        expect(card).to_contain_text("draf tidak dinilai")
        card.get_by_role("link", name="Lihat jawaban").click()
        expect(body_page.locator("#save-state")).to_have_count(0)
        expect(body_page.get_by_role("link", name="Periksa dan kirim SAQ")).to_have_count(0)
    finally:
        context.close()
    # and through the API the other body is refused outright
    operator = Api(live_server, other.email)
    sub = operator.call("POST", f"/rounds/{season.round_id}/submissions")
    refused = operator.call(
        "PUT",
        f"/submissions/{sub['id']}/answers",
        expect=409,
        json={"answers": {TEMPLATE.questions()[0].question.code: {"note": "terlambat"}}},
        headers={"If-Match": f'"{sub["version"]}"'},
    )
    operator.client.close()
    assert refused["type"].endswith("/window-closed")
