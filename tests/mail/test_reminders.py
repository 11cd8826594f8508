"""Deadline reminders end to end: a round with a body in each state, the clock moved through the reminder
days, the duty writing and a worker delivering to a real SMTP server; the check at sending time; the
unsubscribe link (page and RFC 8058 one-click) and what it does and does not stop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from app.commissions.timezones import format_words
from app.db.models import (
    Account,
    AuditEntry,
    DeadlineExtension,
    MailOptOut,
    Notice,
    PublicBody,
    Round,
    Submission,
)
from app.mail import reminders, tokens
from app.mail.outbox import CANCELLED, Event, Letter, Recipient, notify
from app.settings import Settings
from tests.factories import (
    make_account,
    make_answers,
    make_body,
    make_category,
    make_commission,
    make_round,
    make_submission,
    make_template,
    now,
)
from tests.mail.conftest import deliver
from tests.mail.smtp import Received, SmtpServer

pytestmark = pytest.mark.db

WITA = "Asia/Makassar"


@dataclass
class Season:
    """A WITA commission's open round closing at 23:59 local in 20 days, five invited bodies:
    ``unregistered`` (no operator account), ``idle`` (an account, no SAQ), ``drafting`` (2 of 5 answered,
    1 evidence missing), ``done`` (submitted) and ``extended`` (its own extension, 7 days more)."""

    round: Round
    commission_name: str
    deadline: datetime
    extended_until: datetime
    unregistered: PublicBody
    idle: PublicBody
    drafting: PublicBody
    done: PublicBody
    extended: PublicBody
    operators: dict[int, str]
    drafting_submission: Submission
    timezone: str

    def at(
        self, days_before: int, hour: int, minute: int = 0, *, deadline: datetime | None = None
    ) -> datetime:
        """The instant ``days_before`` days before the deadline's local date, at hour:minute local."""
        zone = ZoneInfo(self.timezone)
        day: date = (deadline or self.deadline).astimezone(zone).date() - timedelta(days=days_before)
        return datetime.combine(day, time(hour, minute), tzinfo=zone)

    def ppid(self, body: PublicBody) -> str:
        assert body.ppid_email is not None
        return body.ppid_email


def _season(session: Session, timezone: str = WITA) -> Season:
    commission = make_commission(
        session, timezone=timezone, name="Komisi Informasi Provinsi Sulawesi Selatan"
    )
    category = make_category(session, commission, code="kelurahan", name="Kelurahan")
    template = make_template(session)
    zone = ZoneInfo(timezone)
    deadline = datetime.combine(now().astimezone(zone).date() + timedelta(days=20), time(23, 59), tzinfo=zone)
    bodies = [
        make_body(session, category, name=name)
        for name in ("Unregistered", "Idle", "Drafting", "Done", "Ext")
    ]
    unregistered, idle, drafting, done, extended = bodies
    round_ = make_round(
        session,
        commission,
        templates={category: template},
        invite=bodies,
        title="E-Monev 2025",
        saq_opens_at=now() - timedelta(days=1),
        saq_closes_at=deadline,
    )
    operators = {
        body.id: make_account(
            session,
            "operator",
            commission_id=commission.id,
            body_id=body.id,
            email=f"operator.{body.name.lower()}@example.go.id",
        ).email
        for body in (idle, drafting, done, extended)
    }
    draft = make_submission(session, round_, drafting, template, status="draft")
    make_answers(session, draft, {"1.1.1": {"value": "yes"}, "2.2": {"value": "95"}})
    make_submission(session, round_, done, template, status="submitted", submitted_at=now())
    extended_until = deadline + timedelta(days=7)
    session.add(
        DeadlineExtension(
            round_id=round_.id,
            closes_at=extended_until,
            scope="bodies",
            body_ids=[extended.id],
            reason="Keputusan pleno: server PPID terganggu",
        )
    )
    session.commit()
    return Season(
        round=round_,
        commission_name=commission.name,
        deadline=deadline,
        extended_until=extended_until,
        unregistered=unregistered,
        idle=idle,
        drafting=drafting,
        done=done,
        extended=extended,
        operators=operators,
        drafting_submission=draft,
        timezone=timezone,
    )


def _run(sessions: sessionmaker[Session], settings: Settings, at: datetime) -> int:
    return reminders.write_reminders(sessions, settings, at).written


def _delivered(
    smtp: SmtpServer, sessions: sessionmaker[Session], settings: Settings, before: int
) -> list[Received]:
    deliver(sessions, settings)
    return smtp.messages()[before:]


def _by_recipient(messages: list[Received]) -> dict[str, Received]:
    found: dict[str, Received] = {}
    for message in messages:
        [recipient] = message.recipients
        assert recipient not in found, f"two reminders to {recipient}"
        found[recipient] = message
    return found


def test_the_clock_through_the_reminder_days_sends_exactly_the_expected_reminders(
    session: Session, session_factory: sessionmaker[Session], smtp: SmtpServer, mail_settings: Settings
) -> None:
    season = _season(session)
    title = "E-Monev 2025"
    day = format_words(season.deadline, WITA, with_time=False)
    extended_day = format_words(season.extended_until, WITA, with_time=False)

    # 7 days before, 07:59 WITA: not yet.
    assert _run(session_factory, mail_settings, season.at(7, 7, 59)) == 0

    # 08:00 WITA: the three bodies not submitted whose deadline is the round's (not the extended one).
    assert _run(session_factory, mail_settings, season.at(7, 8, 0)) == 5
    got = _by_recipient(_delivered(smtp, session_factory, mail_settings, 0))
    assert set(got) == {
        season.ppid(season.unregistered),
        season.ppid(season.idle),
        season.operators[season.idle.id],
        season.ppid(season.drafting),
        season.operators[season.drafting.id],
    }
    for message in got.values():
        assert message.subject == f"Pengingat: SAQ {title} ditutup 7 hari lagi ({day})"
        assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/surel/berhenti?t=" in message.message["List-Unsubscribe"]
    assert "Posisi SAQ Anda saat ini: belum mendaftar." in got[season.ppid(season.unregistered)].text()
    assert "belum mempunyai akun PPID" in got[season.ppid(season.unregistered)].text()
    assert "Posisi SAQ Anda saat ini: belum mulai." in got[season.operators[season.idle.id]].text()
    drafting = got[season.operators[season.drafting.id]]
    assert (
        "Posisi SAQ Anda saat ini: draf: 2 dari 5 pertanyaan terjawab, 1 data dukung wajib belum ada."
        in drafting.text()
    )
    assert f"https://emonev.example/pengisian/{season.drafting_submission.id}" in drafting.text()
    assert f"{day} pukul 23.59 WITA" in drafting.text()
    assert "draf: 2 dari 5 pertanyaan terjawab" in drafting.html()
    sent = len(smtp.messages())

    # The duty runs again that day, and the days after: the slot was served.
    for at in (season.at(7, 8, 5), season.at(7, 23, 0), season.at(5, 9, 0)):
        assert _run(session_factory, mail_settings, at) == 0

    # 3 days before.
    assert _run(session_factory, mail_settings, season.at(3, 8, 1)) == 5
    got = _by_recipient(_delivered(smtp, session_factory, mail_settings, sent))
    assert {m.subject for m in got.values()} == {f"Pengingat: SAQ {title} ditutup 3 hari lagi ({day})"}
    sent = len(smtp.messages())

    # The service was down at 08:00 the day before the deadline; back on the deadline's day at 06:00: the
    # latest reminder due (1 day before) goes once, saying the SAQ closes today.
    assert _run(session_factory, mail_settings, season.at(0, 6, 0)) == 5
    got = _by_recipient(_delivered(smtp, session_factory, mail_settings, sent))
    assert {m.subject for m in got.values()} == {f"Pengingat: SAQ {title} ditutup hari ini ({day})"}
    sent = len(smtp.messages())

    # 08:00 on the deadline's day: the extended body's first reminder (7 days before its own deadline);
    # the others already had theirs today.
    assert _run(session_factory, mail_settings, season.at(0, 8, 0)) == 2
    got = _by_recipient(_delivered(smtp, session_factory, mail_settings, sent))
    assert set(got) == {season.ppid(season.extended), season.operators[season.extended.id]}
    message = got[season.operators[season.extended.id]]
    assert message.subject == f"Pengingat: SAQ {title} ditutup 7 hari lagi ({extended_day})"
    assert "sesuai perpanjangan yang diberikan" in message.text()
    sent = len(smtp.messages())

    # After the round's deadline nobody but the extended body is reminded; the round closes and the
    # extended body, still filling in, gets its reminder 3 days before its own deadline.
    assert _run(session_factory, mail_settings, season.at(-1, 8, 0)) == 0
    season.round.status = "closed"
    season.round.saq_closed_at = season.deadline
    session.commit()
    assert _run(session_factory, mail_settings, season.at(3, 8, 0, deadline=season.extended_until)) == 2
    got = _by_recipient(_delivered(smtp, session_factory, mail_settings, sent))
    assert {m.subject for m in got.values()} == {
        f"Pengingat: SAQ {title} ditutup 3 hari lagi ({extended_day})"
    }
    # Nothing ever went to the body that had submitted.
    assert not smtp.to(season.ppid(season.done))
    assert not smtp.to(season.operators[season.done.id])
    # And nothing after a deadline.
    assert _run(session_factory, mail_settings, season.at(-1, 8, 0, deadline=season.extended_until)) == 0


@pytest.mark.parametrize(("timezone", "utc_hour"), [("Asia/Makassar", 0), ("Asia/Jayapura", 23)])
def test_the_reminder_comes_at_eight_in_the_commissions_own_time_zone(
    session: Session,
    session_factory: sessionmaker[Session],
    mail_settings: Settings,
    timezone: str,
    utc_hour: int,
) -> None:
    season = _season(session, timezone)
    eight = season.at(7, 8, 0)
    assert eight.astimezone(UTC).hour == utc_hour
    assert _run(session_factory, mail_settings, eight - timedelta(minutes=1)) == 0
    assert _run(session_factory, mail_settings, eight.astimezone(ZoneInfo("Asia/Jakarta"))) == 5
    [subject] = set(session.scalars(select(Notice.subject)))
    assert subject.endswith(f"({format_words(season.deadline, timezone, with_time=False)})")


def test_a_body_that_submits_between_writing_and_sending_gets_nothing(
    session: Session, session_factory: sessionmaker[Session], smtp: SmtpServer, mail_settings: Settings
) -> None:
    season = _season(session)
    assert _run(session_factory, mail_settings, season.at(7, 8, 0)) == 5
    season.drafting_submission.status = "submitted"
    season.drafting_submission.submitted_at = now()
    session.commit()
    deliver(session_factory, mail_settings)
    assert len(smtp.wait_for(3)) == 3
    assert not smtp.to(season.ppid(season.drafting))
    cancelled = session.scalars(
        select(Notice).where(Notice.body_id == season.drafting.id).execution_options(populate_existing=True)
    ).all()
    assert {n.status for n in cancelled} == {CANCELLED}
    assert {n.last_response for n in cancelled} == {
        "the body has submitted its SAQ since the reminder was written"
    }


def test_unsubscribe_link_stops_reminders_but_not_official_notices(
    session: Session,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
    client: TestClient,
) -> None:
    season = _season(session)
    operator = season.operators[season.idle.id]
    assert _run(session_factory, mail_settings, season.at(7, 8, 0)) == 5
    deliver(session_factory, mail_settings)
    [reminder] = smtp.to(operator)
    link = str(reminder.message["List-Unsubscribe"]).strip("<>")
    assert link in reminder.text()
    url = urlsplit(link)
    assert url.path == "/surel/berhenti"
    page_url = f"{url.path}?{url.query}"

    page = client.get(page_url)
    assert page.status_code == 200
    assert operator in page.text
    assert "Berhenti menerima pengingat" in page.text
    assert "Pemberitahuan resmi" in page.text

    # RFC 8058: the mail client's POST, no cookie, no CSRF token.
    client.cookies.clear()
    done = client.post(page_url, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200, done.text
    assert "tidak akan menerima pengingat batas waktu lagi" in done.text
    assert session.get(MailOptOut, operator, populate_existing=True) is not None
    [audit] = session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.opt_out")).all()
    assert audit.entity_id == operator
    assert audit.after["via"] == "one-click"

    # The next reminder goes to the body's other address only; an official notice still reaches it.
    before = len(smtp.messages())
    assert _run(session_factory, mail_settings, season.at(3, 8, 0)) == 4
    account = session.scalars(select(Account).where(Account.email == operator)).one()
    token = tokens.issue(session, account=account, purpose=tokens.INVITATION, valid_for=timedelta(days=7))
    notify(
        session,
        event=Event.account_invitation,
        ref="official",
        letters=[
            Letter(
                Recipient(operator),
                {
                    "email": operator,
                    "role_words": "PPID",
                    "body_name": "Idle",
                    "valid_until": token.expires_at.isoformat(),
                    "token_id": token.id,
                },
            )
        ],
        commission_id=season.round.commission_id,
        commission_name=season.commission_name,
    )
    session.commit()
    got = _delivered(smtp, session_factory, mail_settings, before)
    to_operator = [m for m in got if operator in m.recipients]
    assert [m.subject for m in to_operator] == [f"Undangan akun E-Monev {season.commission_name}"]
    assert any(season.ppid(season.idle) in m.recipients for m in got)

    # Subscribing again on the same page (its button, no CSRF token needed either).
    again = client.post(page_url, data={"aksi": "langganan"})
    assert again.status_code == 200
    assert "akan dikirim lagi" in again.text
    assert session.get(MailOptOut, operator, populate_existing=True) is None

    # A link that is not ours: a clear Indonesian 400 page, nothing changed.
    for bad in (f"{url.path}?t=bukan-tautan", f"{url.path}?t={url.query[2:-3]}xyz", url.path):
        refused = client.post(bad, data={"List-Unsubscribe": "One-Click"})
        assert refused.status_code == 400
        assert "Tautan berhenti berlangganan ini tidak sah" in refused.text
        assert client.get(bad).status_code == 400
    assert session.scalar(select(MailOptOut).limit(1)) is None


def test_a_reminder_written_before_the_opt_out_is_cancelled_at_sending(
    session: Session,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    mail_settings: Settings,
    client: TestClient,
) -> None:
    season = _season(session)
    assert _run(session_factory, mail_settings, season.at(7, 8, 0)) == 5
    operator = season.operators[season.idle.id]
    [notice] = session.scalars(select(Notice).where(Notice.recipient == operator)).all()
    session.add(MailOptOut(email=operator))
    session.commit()
    deliver(session_factory, mail_settings)
    assert len(smtp.wait_for(4)) == 4
    assert not smtp.to(operator)
    session.refresh(notice)
    assert notice.status == CANCELLED


def test_the_duty_costs_two_small_queries_when_nothing_is_due(
    session: Session, session_factory: sessionmaker[Session], mail_settings: Settings
) -> None:
    season = _season(session)
    memo = reminders.Memo()
    first = reminders.write_reminders(session_factory, mail_settings, season.at(7, 8, 0), memo=memo)
    assert first.written == 5
    assert first.rounds_worked == 1
    # Later the same slot: the memo knows the round needs nothing; it is not worked again.
    statements: list[str] = []
    bind = session_factory.kw["bind"]
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(bind, "before_cursor_execute", listener)
    try:
        again = reminders.write_reminders(session_factory, mail_settings, season.at(6, 8, 0), memo=memo)
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    assert (
        len(
            [s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
        )
        == 2
    )
    assert again.rounds_looked_at == 1
    assert again.rounds_worked == 0
    assert again.written == 0
    # A new slot: worked again.
    later = reminders.write_reminders(session_factory, mail_settings, season.at(3, 8, 0), memo=memo)
    assert later.rounds_worked == 1
    assert later.written == 5
    # No slot due (before the first one): the round is not even opened.
    early = reminders.write_reminders(
        session_factory, mail_settings, season.at(10, 8, 0), memo=reminders.Memo()
    )
    assert early.rounds_looked_at == 1
    assert early.rounds_worked == 0
