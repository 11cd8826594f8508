"""The season's official notices end to end: the event through the API, the mail job, the message received
by a real SMTP server (aiosmtpd) with the right recipients, subject and words, and its link opening the
operator's page.

Each body hears through its PPID's official address and its active operator accounts, no one else: not the
commission's staff, not another body, not a deactivated operator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.deps import principal_for_account
from app.commissions.timezones import format_words
from app.db.models import (
    Account,
    Invitation,
    Job,
    Notice,
    PublicBody,
    Submission,
    Verification,
    VerifiedAnswer,
    VerifierAssignment,
)
from app.results import publication as publishing
from app.settings import Settings
from tests.factories import (
    World,
    get_json,
    make_account,
    make_body,
    make_submission,
    make_verified_submission,
    now,
    problem,
)
from tests.mail.conftest import deliver
from tests.mail.smtp import Received, SmtpServer

pytestmark = pytest.mark.db

WITA = "Asia/Makassar"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def addresses(session: Session, body: PublicBody) -> set[str]:
    """Who should hear for a body: its PPID address and its active operators."""
    operators = session.scalars(
        select(func.lower(Account.email)).where(
            Account.body_id == body.id, Account.active.is_(True), Account.role == "operator"
        )
    )
    assert body.ppid_email is not None
    return {body.ppid_email.lower(), *operators}


def received_by(smtp: SmtpServer) -> dict[str, Received]:
    """Each message by its one recipient (a notice goes to one address)."""
    out: dict[str, Received] = {}
    for message in smtp.messages():
        [recipient] = message.recipients
        assert recipient not in out, f"{recipient} received twice"
        out[recipient] = message
    return out


def subject(message: Received) -> str:
    """The subject as a mail client shows it. (Python's e-mail package folds a long subject holding "):"
    right after "Subject:", and reads it back with the folding space in front.)"""
    return " ".join(message.subject.split())


def link(message: Received, prefix: str = "https://emonev.example/") -> str:
    found = next(word for word in message.text().split() if word.startswith(prefix))
    assert found in message.html()
    return found


def open_link(client: TestClient, url: str, headers: dict[str, str]) -> str:
    """GET the link's page as the operator; its HTML."""
    parts = urlsplit(url)
    assert parts.netloc == "emonev.example"
    response = client.get(parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers)
    assert response.status_code == 200, response.text
    return response.text


def notices(session: Session, event: str) -> int:
    return session.scalar(select(func.count()).select_from(Notice).where(Notice.event == event)) or 0


# --- 3. the round opens ------------------------------------------------------------------------------------


def test_opening_a_round_invites_every_invited_body_once_with_its_window_in_the_commissions_zone(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    world.commission.timezone = WITA
    make_account(session, "operator", commission_id=world.commission.id, body_id=world.body.id, active=False)
    later = make_body(session, world.category, name="Kelurahan Baru")
    make_account(session, "operator", commission_id=world.commission.id, body_id=later.id)
    session.commit()
    as_admin = world.token(world.admin)
    opens = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    closes = datetime(2031, 8, 31, 15, 59, tzinfo=UTC)  # 31 Agustus 2031 pukul 23.59 WITA
    round_ = ok(
        mail_client.post(
            f"/api/v1/commissions/{world.commission.id}/rounds",
            headers=as_admin,
            json={
                "year": 2031,
                "title": "E-Monev 2031",
                "saq_opens_at": opens.isoformat(),
                "saq_closes_at": closes.isoformat(),
            },
        ),
        201,
    )
    rid = round_["id"]
    ok(
        mail_client.put(
            f"/api/v1/rounds/{rid}/templates",
            headers=as_admin,
            json={"kelurahan": {"key": "test-mini", "version": "1"}},
        )
    )
    ok(
        mail_client.post(
            f"/api/v1/rounds/{rid}/invitations",
            headers=as_admin,
            json={"body_ids": [world.body.id, world.other_body.id]},
        ),
        201,
    )
    # An extension decided while the round is a draft tells no one yet: the invitation carries it.
    extended = datetime(2031, 9, 7, 15, 59, tzinfo=UTC)
    ok(
        mail_client.post(
            f"/api/v1/rounds/{rid}/extensions",
            headers=as_admin,
            json={
                "closes_at": extended.isoformat(),
                "scope": "bodies",
                "body_ids": [world.other_body.id],
                "reason": "Keputusan Rapat Pleno 3/2031",
            },
        ),
        201,
    )
    assert notices(session, "extension_granted") == 0
    ok(mail_client.post(f"/api/v1/rounds/{rid}/status", headers=as_admin, json={"status": "open"}))
    deliver(session_factory, mail_settings)

    expected = addresses(session, world.body) | addresses(session, world.other_body)
    assert len(expected) == 4  # two PPID addresses, two active operators (not the deactivated one)
    smtp.wait_for(len(expected))
    got = received_by(smtp)
    assert set(got) == expected
    for email in addresses(session, world.body):
        message = got[email]
        assert subject(message) == "Periode E-Monev 2031 dibuka: isi SAQ paling lambat 31 Agustus 2031"
        text = message.text()
        assert f"Yth. PPID {world.body.name}," in text
        assert "Batas waktu pengisian: 31 Agustus 2031 pukul 23.59 WITA" in text
        assert f"Pengisian SAQ dibuka: {format_words(opens, WITA)}" in text
        assert "diperpanjang" not in text
        assert f"Sekretariat {world.commission.name}" in text
    other = got[next(iter(addresses(session, world.other_body)))]
    assert subject(other) == "Periode E-Monev 2031 dibuka: isi SAQ paling lambat 7 September 2031"
    assert "diperpanjang sampai 7 September 2031 pukul 23.59 WITA" in other.text()
    operator = world.token(world.operator)
    page = open_link(mail_client, link(got[world.operator.email.lower()]), operator)
    assert "E-Monev 2031" in page
    assert "Mulai mengisi SAQ" in page

    # A body invited while the round is open gets the same invitation; the others hear nothing again,
    # and inviting it again (a repeated request) writes nothing.
    for status in (201, 200):
        ok(
            mail_client.post(
                f"/api/v1/rounds/{rid}/invitations", headers=as_admin, json={"body_ids": [later.id]}
            ),
            status,
        )
    deliver(session_factory, mail_settings)
    smtp.wait_for(len(expected) + 2)
    got = received_by(smtp)
    assert set(got) == expected | addresses(session, later)
    assert notices(session, "round_opened") == len(expected) + 2


# --- 5. a deadline extension -------------------------------------------------------------------------------


def test_an_extension_tells_the_bodies_it_moves_that_have_not_submitted_with_its_reason(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    submitted = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    draft = make_submission(session, world.round, world.other_body, world.template)
    third = make_body(session, world.category, name="Kelurahan Ketiga")
    world.round.saq_closes_at = datetime(2031, 8, 31, 16, 59, tzinfo=UTC)
    session.add(Invitation(round_id=world.round.id, body_id=third.id))
    session.commit()
    as_admin = world.token(world.admin)
    reason = "Keputusan Rapat Pleno: gangguan jaringan di wilayah kelurahan"
    ok(
        mail_client.post(
            f"/api/v1/rounds/{world.round.id}/extensions",
            headers=as_admin,
            json={"closes_at": "2031-09-10T23:59:00+07:00", "scope": "round", "reason": reason},
        ),
        201,
    )
    # An earlier extension for one body changes nothing for it (its deadline is already later): no notice.
    ok(
        mail_client.post(
            f"/api/v1/rounds/{world.round.id}/extensions",
            headers=as_admin,
            json={
                "closes_at": "2031-09-05T23:59:00+07:00",
                "scope": "bodies",
                "body_ids": [third.id],
                "reason": "permintaan PPID",
            },
        ),
        201,
    )
    deliver(session_factory, mail_settings)
    expected = addresses(session, world.other_body) | addresses(session, third)
    smtp.wait_for(len(expected))
    got = received_by(smtp)
    assert set(got) == expected  # the submitted body gains nothing and is not told
    message = got[world.other_operator.email.lower()]
    assert (
        subject(message)
        == f"Perpanjangan batas waktu SAQ {world.round.title}: paling lambat 10 September 2031"
    )
    text = message.text()
    assert "Batas waktu baru: 10 September 2031 pukul 23.59 WIB" in text
    assert f"Alasan: {reason}" in text
    assert link(message).endswith(f"/pengisian/{draft.id}")
    open_link(mail_client, link(message), world.token(world.other_operator))

    # Reopening the submitted SAQ with a new deadline tells that body, reason and all.
    ok(
        mail_client.post(
            f"/api/v1/submissions/{submitted.id}/reopen",
            headers=as_admin,
            json={"reason": "Data dukung 1.1.1 salah unggah", "closes_at": "2031-09-12T23:59:00+07:00"},
        )
    )
    deliver(session_factory, mail_settings)
    smtp.wait_for(len(expected) + len(addresses(session, world.body)))
    reopened = received_by(smtp)[world.operator.email.lower()]
    assert subject(reopened) == f"SAQ {world.round.title} dibuka kembali: paling lambat 12 September 2031"
    assert "Alasan: Data dukung 1.1.1 salah unggah" in reopened.text()
    assert link(reopened).endswith(f"/pengisian/{submitted.id}")
    open_link(mail_client, link(reopened), world.token(world.operator))


# --- 6 and 7. verification released, objections answered ------------------------------------------------


@pytest.fixture
def verified(session: Session, world: World) -> Submission:
    """The body's submitted SAQ, verified (1.1.2 lowered to "b"); the other body only has a draft."""
    world.commission.timezone = WITA
    sub = make_verified_submission(
        session, world.round, world.body, world.template, world.verifier, {"1.1.2": "b"}
    )
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    make_submission(session, world.round, world.other_body, world.template)
    world.round.objection_opens_at = now() - timedelta(hours=1)
    world.round.objection_closes_at = datetime(2031, 9, 20, 8, 0, tzinfo=UTC)  # 16.00 WITA
    session.commit()
    return sub


def test_releasing_verification_tells_each_body_that_submitted_when_its_objections_close(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    verified: Submission,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    release = f"/api/v1/rounds/{world.round.id}/release-verification"
    ok(mail_client.post(release, headers=world.token(world.admin)))
    # Released once: asking again is a 409 and writes nothing.
    assert mail_client.post(release, headers=world.token(world.admin)).status_code == 409
    deliver(session_factory, mail_settings)
    expected = addresses(session, world.body)
    smtp.wait_for(len(expected))
    got = received_by(smtp)
    assert set(got) == expected  # the body with only a draft took no part
    message = got[world.operator.email.lower()]
    assert subject(message) == (
        f"Hasil verifikasi SAQ {world.round.title} dirilis: sanggahan paling lambat 20 September 2031"
    )
    assert "sampai 20 September 2031 pukul 16.00 WITA" in message.text()
    assert link(message).endswith(f"/pengisian/{verified.id}/sanggahan")
    assert "Masa sanggah" in open_link(mail_client, link(message), world.token(world.operator))
    assert notices(session, "verification_released") == len(expected)


def test_an_answered_objection_tells_the_body_the_decision_reason_and_new_value_once(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    verified: Submission,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    ok(
        mail_client.post(
            f"/api/v1/rounds/{world.round.id}/release-verification", headers=world.token(world.admin)
        )
    )
    made = [
        ok(
            mail_client.post(
                f"/api/v1/submissions/{verified.id}/objections",
                json={"question_code": code, "explanation": "DIP kami lengkap", "evidence": []},
                headers=world.token(world.operator),
            ),
            201,
        )
        for code in ("1.1.2", "2.2")
    ]
    as_verifier = world.token(world.verifier)
    decision = f"/api/v1/objections/{made[0]['id']}/decision"
    ok(
        mail_client.post(
            decision, json={"accept": True, "reason": "DIP 2024 lengkap", "value": "a"}, headers=as_verifier
        )
    )
    # Decisions are final: deciding again is refused and tells no one anything.
    again = mail_client.post(decision, json={"accept": False, "reason": "ulang"}, headers=as_verifier)
    assert again.status_code == 409
    ok(
        mail_client.post(
            f"/api/v1/objections/{made[1]['id']}/decision",
            json={"accept": False, "reason": "laporan tidak memuat data 2024"},
            headers=as_verifier,
        )
    )
    smtp_before = len(smtp.messages())
    deliver(session_factory, mail_settings)
    expected = addresses(session, world.body)
    messages = smtp.wait_for(smtp_before + 3 * len(expected))[smtp_before:]
    assert notices(session, "objection_answered") == 2 * len(expected)
    answered = [m for m in messages if "Sanggahan atas" in m.subject]
    assert {r for m in answered for r in m.recipients} == expected
    accepted = next(
        m for m in answered if world.operator.email.lower() in m.recipients and "1.1.2" in m.subject
    )
    assert subject(accepted) == f"Sanggahan atas pertanyaan 1.1.2 diterima ({world.round.title})"
    text = accepted.text()
    assert "Pertanyaan: 1.1.2 Kelengkapan DIP" in text
    assert "Keputusan: sanggahan diterima" in text
    assert "Alasan: DIP 2024 lengkap" in text
    assert "Nilai terverifikasi yang baru: Lengkap" in text  # the option's label, not its code
    assert "WITA" in text
    rejected = next(
        m for m in answered if world.operator.email.lower() in m.recipients and "2.2" in m.subject
    )
    assert subject(rejected) == f"Sanggahan atas pertanyaan 2.2 ditolak ({world.round.title})"
    assert "Nilai terverifikasi tidak berubah." in rejected.text()
    assert "Alasan: laporan tidak memuat data 2024" in rejected.text()
    open_link(mail_client, link(accepted), world.token(world.operator))


# --- 8. results published, and each correction ------------------------------------------------------------


@pytest.fixture
def final_round(session: Session, world: World) -> PublicBody:
    """The round final, SAQ only: the body 90.00 (Informatif), the other body 85.00 (Menuju Informatif), a
    third invited body that took no part (returned)."""
    make_verified_submission(session, world.round, world.body, world.template, world.verifier, {"2.2": 60})
    make_verified_submission(
        session, world.round, world.other_body, world.template, world.verifier, {"1.1.2": "b"}
    )
    absent = make_body(session, world.category, name="Kelurahan Absen")
    session.add(Invitation(round_id=world.round.id, body_id=absent.id))
    world.round.status = "final"
    session.commit()
    return absent


def published_scores(client: TestClient, world: World) -> dict[int, dict[str, Any]]:
    page = get_json(
        client, f"/api/v1/rounds/{world.round.id}/rankings?category=kelurahan", world.token(world.admin)
    )
    return {item["body_id"]: item for item in page["items"]}


def test_publishing_tells_every_body_its_published_score_band_and_rank_and_a_correction_writes_a_new_set(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    final_round: PublicBody,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    publish = f"/api/v1/rounds/{world.round.id}/publish"
    ok(
        mail_client.post(
            publish, json={"reason": "Keputusan pleno 1/2025"}, headers=world.token(world.admin)
        ),
        201,
    )
    deliver(session_factory, mail_settings)
    everyone = (
        addresses(session, world.body)
        | addresses(session, world.other_body)
        | addresses(session, final_round)
    )
    smtp.wait_for(len(everyone))
    got = received_by(smtp)
    assert set(got) == everyone
    scores = published_scores(mail_client, world)
    mine = got[world.operator.email.lower()]
    figure = scores[world.body.id]["final_score"]
    assert figure == "90.00"
    assert subject(mine) == f"Hasil {world.round.title} diumumkan: nilai akhir {figure.replace('.', ',')}"
    text = mine.text()
    assert f"Nilai akhir: {figure.replace('.', ',')}" in text
    assert "Kualifikasi: Informatif" in text
    assert "Peringkat pada kategori Kelurahan: 1" in text
    assert link(mine).endswith("/hasil")
    assert "90,00" in open_link(mail_client, link(mine), world.token(world.operator))
    other = got[world.other_operator.email.lower()]
    assert f"Nilai akhir: {scores[world.other_body.id]['final_score'].replace('.', ',')}" in other.text()
    assert "Peringkat pada kategori Kelurahan: 2" in other.text()
    absent = got[final_round.ppid_email.lower()]
    assert subject(absent) == f"Hasil {world.round.title} diumumkan"
    assert "tidak mengikuti penilaian" in absent.text()

    # Publishing again with nothing changed is a 409 and writes no notice.
    unchanged = mail_client.post(publish, json={"reason": "ulang"}, headers=world.token(world.admin))
    assert problem(unchanged)["status"] == 409
    assert notices(session, "results_published") == len(everyone)

    # A correction (the other body's 1.1.2 verified as "a" after all: 100.00) is a new set of notices.
    session.execute(
        update(VerifiedAnswer)
        .where(
            VerifiedAnswer.question_code == "1.1.2",
            VerifiedAnswer.verification_id.in_(
                select(Verification.id)
                .join(Submission, Submission.id == Verification.submission_id)
                .where(Submission.body_id == world.other_body.id)
            ),
        )
        .values(value="a")
    )
    session.commit()
    reason = "Koreksi nilai 1.1.2 Kelurahan setelah pleno 2/2025"
    ok(mail_client.post(publish, json={"reason": reason}, headers=world.token(world.admin)), 201)
    deliver(session_factory, mail_settings)
    messages = smtp.wait_for(2 * len(everyone))[len(everyone) :]
    assert {r for m in messages for r in m.recipients} == everyone
    corrected = next(m for m in messages if world.other_operator.email.lower() in m.recipients)
    figure = published_scores(mail_client, world)[world.other_body.id]["final_score"]
    assert figure == "100.00"
    assert subject(corrected) == f"Koreksi hasil {world.round.title} (revisi 2): nilai akhir 100,00"
    assert "revisi 2 mengoreksi revisi 1" in corrected.text()
    assert f"Alasan koreksi: {reason}" in corrected.text()
    assert "Peringkat pada kategori Kelurahan: 1" in corrected.text()


def test_a_refused_publication_writes_no_notice_and_one_published_by_a_job_writes_them_in_its_transaction(
    mail_client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    final_round: PublicBody,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    world.round.status = "stages"
    session.commit()
    publish = f"/api/v1/rounds/{world.round.id}/publish"
    refused = mail_client.post(publish, json={"reason": "terlalu dini"}, headers=world.token(world.admin))
    assert problem(refused)["status"] == 409
    assert notices(session, "results_published") == 0

    world.round.status = "final"
    session.commit()
    # A publication that rolls back after its notices were written (the request failing later) leaves none.
    nested = session.begin_nested()
    publishing.publish(
        session=session, round_id=world.round.id, by=principal_for_account(world.admin), reason="x"
    )
    assert notices(session, "results_published") > 0
    nested.rollback()
    assert notices(session, "results_published") == 0
    deliver(session_factory, mail_settings)
    assert smtp.messages() == []

    job = ok(
        mail_client.post(
            f"/api/v1/rounds/{world.round.id}/publish-jobs",
            json={"reason": "Keputusan pleno 1/2025"},
            headers=world.token(world.admin),
        ),
        202,
    )
    deliver(session_factory, mail_settings)
    assert session.get(Job, job["id"]).status == "done"
    everyone = (
        addresses(session, world.body)
        | addresses(session, world.other_body)
        | addresses(session, final_round)
    )
    smtp.wait_for(len(everyone))
    assert set(received_by(smtp)) == everyone


def test_two_bodies_sharing_a_ppid_address_each_get_their_own_notice(
    session: Session,
    session_factory: sessionmaker[Session],
    world: World,
    smtp: SmtpServer,
    mail_settings: Settings,
) -> None:
    from app.mail import season

    shared = "ppid.kecamatan@example.go.id"  # one kecamatan's PPID serving two kelurahan
    world.body.ppid_email = shared
    world.other_body.ppid_email = shared
    session.flush()
    season.round_opened(session, round_=world.round)
    session.commit()

    refs = set(session.scalars(select(Notice.ref).where(Notice.recipient == shared)))
    assert refs == {
        f"round:{world.round.id}:opened:body:{world.body.id}",
        f"round:{world.round.id}:opened:body:{world.other_body.id}",
    }
    deliver(session_factory, mail_settings)
    to_shared = smtp.wait_to(shared, count=2)
    assert len(to_shared) == 2
    assert {m.text().count(world.body.name) > 0 for m in to_shared} == {True, False}
    assert {m.text().count(world.other_body.name) > 0 for m in to_shared} == {True, False}
