"""A forgotten password in headless Chromium against ``emonev serve`` sending to a real SMTP server: "Lupa
kata sandi?" on the login page, the message and its link, a new password set on the page, then logging in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.mail.smtp import SmtpServer
from tests.processes import LiveServer, serve
from tests.web.conftest import DEMO_PASSWORD, DESKTOP, screenshot

pytestmark = pytest.mark.browser

EMAIL = "verifikator@demo.emonev.id"
NEW_PASSWORD = "kata-sandi-baru-peramban"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def mail_server(
    chromium: object, smtp: SmtpServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Its own server (the shared one sends no mail), delivering to ``smtp`` from its job thread."""
    settings = {
        "EMONEV_ENVIRONMENT": "test",
        "EMONEV_DEMO_DATA": "false",
        "EMONEV_SECRET_KEY": "kunci-rahasia-uji-surel",
        "EMONEV_SMTP_URL": smtp.url,
        "EMONEV_MAIL_PER_MINUTE": "0",
        "EMONEV_BASE_URL": "https://emonev.example",
    }
    with serve(
        tmp_path_factory.mktemp("mail-live"), settings, prepare=[["db", "upgrade"], ["seed"]]
    ) as server:
        yield server


@pytest.fixture
def page(browser: Browser, mail_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=mail_server.url, viewport=DESKTOP, locale="id-ID")
    yield context.new_page()
    context.close()


def test_a_forgotten_password_is_replaced_through_the_link_in_the_message(
    page: Page, smtp: SmtpServer
) -> None:
    page.goto("/login")
    page.get_by_role("link", name="Lupa kata sandi?").click()
    expect(page).to_have_url(re.compile(r"/lupa-kata-sandi$"))
    page.get_by_label("Surel").fill(EMAIL)
    page.get_by_role("button", name="Kirim tautan").click()
    expect(page.locator("#reset-sent")).to_contain_text("Bila surel ini terdaftar")
    screenshot(page, "password-reset-sent")

    # (The seeded demo's own notices go to the same server.)
    [message] = smtp.wait_to(EMAIL, timeout=60)
    assert message.recipients == [EMAIL]
    link = next(w for w in message.text().split() if w.startswith("https://emonev.example/atur-kata-sandi"))
    split = urlsplit(link)
    page.goto(f"{split.path}?{split.query}")
    expect(page.get_by_role("heading", name="Atur ulang kata sandi")).to_be_visible()
    page.get_by_label("Kata sandi baru", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Ulangi kata sandi baru").fill(NEW_PASSWORD + "x")
    page.get_by_role("button", name="Simpan kata sandi").click()
    expect(page.get_by_role("alert")).to_contain_text("Kedua kata sandi tidak sama")
    page.get_by_label("Kata sandi baru", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Ulangi kata sandi baru").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Simpan kata sandi").click()
    expect(page.get_by_role("status")).to_contain_text("Kata sandi Anda sudah disimpan")
    page.get_by_role("button", name="Keluar").click()

    page.goto("/login")
    page.get_by_label("Surel").fill(EMAIL)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.locator("#login-error")).to_contain_text("Surel atau kata sandi salah")
    page.get_by_label("Kata sandi").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()

    page.goto(f"{split.path}?{split.query}")
    expect(page.get_by_role("heading", name="Tautan tidak berlaku")).to_be_visible()
