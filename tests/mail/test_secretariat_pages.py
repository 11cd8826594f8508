"""The secretariat's mail pages: a round's "Surel" page by status with the server's answers and "Kirim
ulang", the commission's page (invitations, resets) with its mail settings, and the development page that
shows each message when no SMTP server is set (and exists only then)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Commission
from app.main import create_app
from app.settings import Settings
from tests.factories import World
from tests.mail.conftest import deliver
from tests.mail.secretariat import (
    REFUSAL,
    invitation,
    notices_in_every_status,
    round_opened,
)
from tests.mail.smtp import SmtpServer
from tests.web.conftest import Pages
from tests.web.test_result_pages import text_of

pytestmark = pytest.mark.db


@pytest.fixture
def sending_pages(mail_settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[Pages]:
    """Pages of an app that sends to the test's SMTP server."""
    with TestClient(create_app(mail_settings, session_factory=session_factory)) as client:
        yield Pages(client)


def row(page: str, notice_id: int) -> str:
    match = re.search(rf'<tr id="surel-{notice_id}".*?</tr>', page, re.S)
    assert match, f"notice {notice_id} is not listed"
    return html.unescape(text_of(match.group(0)))


def test_the_round_s_mail_page_by_status_with_answers_and_resend(
    session: Session,
    world: World,
    sending_pages: Pages,
    smtp: SmtpServer,
    mail_settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    notices = notices_in_every_status(session, world)
    pages = sending_pages.login(world.admin)
    url = f"/ronde/{world.round.id}/surel"
    page = pages.get(url)
    assert page.status_code == 200
    words = text_of(page.text)
    for label, count in (
        ("Gagal", 1),
        ("Tidak pasti", 1),
        ("Menunggu", 1),
        ("Terkirim", 1),
        ("Dibatalkan", 1),
    ):
        assert f"{label} {count}" in words
    assert "Semua 6" in words
    # The round's pages link to it.
    assert f'href="{url}" aria-current="page">Surel</a>' in page.text
    assert REFUSAL in row(page.text, notices["failed"].id)
    assert "Kirim ulang" in row(page.text, notices["failed"].id)
    assert "Kirim ulang" in row(page.text, notices["uncertain"].id)
    assert "Kirim ulang" not in row(page.text, notices["pending"].id)
    assert "Kirim ulang" not in row(page.text, notices["sending"].id)

    failed_only = pages.get(url, params={"keadaan": "failed"}).text
    assert f'id="surel-{notices["failed"].id}"' in failed_only
    assert f'id="surel-{notices["sent"].id}"' not in failed_only
    searched = pages.get(url, params={"cari": "tidakpasti"}).text
    assert f'id="surel-{notices["uncertain"].id}"' in searched
    assert f'id="surel-{notices["failed"].id}"' not in searched

    # "Kirim ulang": queued, shown waiting, then delivered by the worker to the SMTP server.
    sent = pages.post(
        f"/surel/{notices['failed'].id}/kirim-ulang",
        {"_form": f"kirim-ulang-{notices['failed'].id}", "_halaman": url},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{url}?pesan=surel-dikirim-ulang#surel-{notices['failed'].id}"
    after = pages.get(sent.headers["location"])
    assert "Surel masuk antrean untuk dikirim ulang" in text_of(after.text)
    assert "Menunggu" in row(after.text, notices["failed"].id)
    assert "dikirim ulang 1×" in row(after.text, notices["failed"].id)
    # The pending and the sending notices wait too: only the resent one goes now (the others' turn came
    # and went in this test's world).
    deliver(session_factory, mail_settings)
    assert "gagal@example.go.id" in [r for m in smtp.messages() for r in m.recipients]
    assert session.scalars(
        select(AuditEntry).where(AuditEntry.action == "notice.resend")
    ).one().actor_label == (world.admin.email)

    # Resending one that is on its way comes back to the page with the reason, in Indonesian.
    refused = pages.post(
        f"/surel/{notices['sending'].id}/kirim-ulang",
        {"_form": f"kirim-ulang-{notices['sending'].id}", "_halaman": url},
    )
    assert refused.status_code == 409
    assert "Surel ini sedang dalam proses (sedang dikirim)" in text_of(refused.text)


def test_the_commission_s_page_lists_invitations_without_resend_and_keeps_its_mail_settings(
    session: Session, world: World, sending_pages: Pages
) -> None:
    invited = invitation(session, world, status="failed")
    round_opened(session, world, "ppid@example.go.id")
    session.commit()
    pages = sending_pages.login(world.admin)
    url = f"/komisi/{world.commission.id}/surel"
    page = pages.get(url)
    assert page.status_code == 200
    words = row(page.text, invited.id)
    assert "Undangan akun" in words
    assert "Kirim ulang" not in words
    assert "Kirim undangan baru dari halaman akun" in words
    assert "ppid@example.go.id" not in page.text  # the round's notices are on the round's page
    # The menu leads a commission administrator here.
    assert pages.get("/surel", follow_redirects=False).headers["location"] == url

    saved = pages.post(
        f"/komisi/{world.commission.id}/surel/pengaturan",
        {
            "_form": "pengaturan-surel",
            "_halaman": url,
            "mail_reply_to": "sekretariat@ki.example.go.id",
            "mail_signature": "Sekretariat KI\nTelp. 021",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.expire_all()
    commission = session.get(Commission, world.commission.id)
    assert commission is not None
    assert (commission.mail_reply_to, commission.mail_signature) == (
        "sekretariat@ki.example.go.id",
        "Sekretariat KI\nTelp. 021",
    )
    refused = pages.post(
        f"/komisi/{world.commission.id}/surel/pengaturan",
        {"_form": "pengaturan-surel", "_halaman": url, "mail_reply_to": "bukan-alamat", "mail_signature": ""},
    )
    assert refused.status_code == 422
    assert "Alamat balasan surel ini tidak sah." in text_of(refused.text)
    assert 'value="bukan-alamat"' in refused.text
    session.expire_all()
    assert session.get(Commission, world.commission.id).mail_reply_to == "sekretariat@ki.example.go.id"  # type: ignore[union-attr]


def test_mail_pages_are_not_for_other_roles(session: Session, world: World, sending_pages: Pages) -> None:
    notices = notices_in_every_status(session, world)
    pages = sending_pages.login(world.verifier)
    for url in (f"/ronde/{world.round.id}/surel", f"/komisi/{world.commission.id}/surel", "/surel"):
        assert pages.get(url).status_code == 404
    assert pages.post(f"/surel/{notices['failed'].id}/kirim-ulang").status_code == 404
    assert 'href="/surel"' not in pages.get("/").text


def test_the_development_page_shows_each_message_as_sent(
    session: Session,
    world: World,
    client: TestClient,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    assert settings.smtp_url is None
    world.commission.mail_reply_to = "sekretariat@ki.example.go.id"
    invited = invitation(session, world, status="pending")
    deliver(session_factory, settings)  # the log transport: "sent" to the log
    session.refresh(invited)
    assert (invited.status, invited.transport) == ("sent", "log")
    pages = Pages(client).login(world.admin)
    round_page = pages.get(f"/ronde/{world.round.id}/surel").text
    assert "surel tidak dikirim, hanya dicatat di keluaran server" in text_of(round_page)

    listing = pages.get("/surel/pengembangan")
    assert listing.status_code == 200
    assert "hanya untuk administrator" in text_of(listing.text)
    assert f'href="/surel/pengembangan/{invited.id}"' in listing.text

    shown = pages.get(f"/surel/pengembangan/{invited.id}")
    words = text_of(shown.text)
    assert f"Penerima {world.operator.email}" in words
    assert "Balasan ke sekretariat@ki.example.go.id" in words
    assert invited.subject in words
    text = re.search(r'<pre class="mail-text" id="dev-text">(.*?)</pre>', shown.text, re.S)
    assert text is not None
    assert "/atur-kata-sandi?token=" in text.group(1)
    assert f'<iframe class="mail-html" id="dev-html" sandbox src="/surel/pengembangan/{invited.id}/html"' in (
        shown.text
    )
    framed = pages.get(f"/surel/pengembangan/{invited.id}/html")
    assert framed.status_code == 200
    assert "Buat kata sandi" in framed.text
    csp = framed.headers["content-security-policy"]
    assert "sandbox" in csp
    assert "default-src 'none'" in csp
    assert framed.headers["x-frame-options"] == "SAMEORIGIN"

    # Not for others: a verifier, and another commission's notices for a commission administrator.
    verifier = Pages(client)
    verifier.client.cookies.clear()
    assert verifier.login(world.verifier).get("/surel/pengembangan").status_code == 404


def test_the_development_page_does_not_exist_when_mail_is_sent(
    session: Session, world: World, sending_pages: Pages
) -> None:
    invited = invitation(session, world, status="sent")
    pages = sending_pages.login(world.admin)
    for url in (
        "/surel/pengembangan",
        f"/surel/pengembangan/{invited.id}",
        f"/surel/pengembangan/{invited.id}/html",
    ):
        assert pages.get(url).status_code == 404
    assert "Surel (pengembangan)" not in pages.get(f"/komisi/{world.commission.id}/surel").text
