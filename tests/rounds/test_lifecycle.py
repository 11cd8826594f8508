"""The round's life cycle around the SAQ deadline: who closing affects and its confirmation, running
extensions after the close, what drafts become at the deadline, and the objection window after an early
close."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.commissions.timezones import as_utc
from app.db.models import (
    AuditEntry,
    DeadlineExtension,
    Invitation,
    PublicBody,
    Round,
    Submission,
    VerifierAssignment,
)
from app.errors import WindowClosed
from app.results.service import participation
from app.rounds.service import ensure_window_open, window_for
from tests.factories import MINI_FULL, World, get_json, make_answers, make_body, make_submission, now, problem
from tests.submissions.helpers import submit_anyway

API = "/api/v1"


@dataclass
class Season:
    """The world's round a minute past its deadline: ``world.body`` has a draft and a deadline extension
    running for two more days, ``world.other_body`` a draft, ``absent`` never started, ``done`` submitted."""

    world: World
    extended: Submission
    drafting: Submission
    absent: PublicBody
    done: PublicBody
    extension: DeadlineExtension

    @property
    def round(self) -> Round:
        return self.world.round


def _invite(session: Session, world: World, name: str) -> PublicBody:
    body = make_body(session, world.category, name=name)
    session.add(Invitation(round_id=world.round.id, body_id=body.id))
    session.flush()
    return body


@pytest.fixture
def season(world: World, session: Session) -> Season:
    world.round.saq_opens_at = now() - timedelta(days=30)
    world.round.saq_closes_at = now() - timedelta(minutes=1)
    extended = make_submission(session, world.round, world.body, world.template)
    make_answers(session, extended, {"1.1.1": MINI_FULL["1.1.1"]})
    drafting = make_submission(session, world.round, world.other_body, world.template)
    make_answers(session, drafting, {"1.1.1": MINI_FULL["1.1.1"], "1.1.2": {"value": "a"}})
    absent = _invite(session, world, "Kelurahan Tidak Hadir")
    done = _invite(session, world, "Kelurahan Sudah Kirim")
    make_submission(session, world.round, done, world.template, status="submitted", submitted_at=now())
    extension = DeadlineExtension(
        round_id=world.round.id,
        closes_at=now() + timedelta(days=2),
        scope="bodies",
        body_ids=[world.body.id],
        reason="Keputusan Rapat Pleno: gangguan listrik",
    )
    session.add(extension)
    session.flush()
    return Season(world, extended, drafting, absent, done, extension)


def move(client: TestClient, world: World, to: str, *, confirm: bool | None = None) -> Any:
    payload: dict[str, Any] = {"status": to}
    if confirm is not None:
        payload["confirm"] = confirm
    return client.post(
        f"{API}/rounds/{world.round.id}/status", json=payload, headers=world.token(world.admin)
    )


def preview(client: TestClient, world: World, to: str = "closed") -> dict[str, Any]:
    url = f"{API}/rounds/{world.round.id}/status-preview?to={to}"
    body: dict[str, Any] = get_json(client, url, world.token(world.admin))
    return body


def save(client: TestClient, world: World, sub: Submission, operator_headers: dict[str, str]) -> Any:
    version = client.get(f"{API}/submissions/{sub.id}", headers=operator_headers).headers["ETag"]
    return client.put(
        f"{API}/submissions/{sub.id}/answers",
        json={"answers": {"2.2": {"value": 80}}},
        headers=operator_headers | {"If-Match": version},
    )


def audit(session: Session, action: str) -> list[AuditEntry]:
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    )


# --- who closing affects, and the confirmation ------------------------------------------------------------


def test_the_preview_names_drafts_running_extensions_and_bodies_never_started(
    client: TestClient, season: Season
) -> None:
    world = season.world
    shown = preview(client, world)

    assert (shown["status"], shown["to"], shown["needs_confirmation"], shown["closing_early"]) == (
        "open",
        "closed",
        True,
        False,
    )
    assert shown["drafts_at_deadline"] == "not_participating"
    assert [(b["name"], b["submission_status"]) for b in shown["drafts"]] == [
        (world.other_body.name, "draft")
    ]
    assert [b["name"] for b in shown["not_started"]] == ["Kelurahan Tidak Hadir"]
    [running] = shown["extension_running"]
    assert (running["body_id"], running["submission_id"]) == (world.body.id, season.extended.id)
    assert running["closes_at"] == as_utc(season.extension.closes_at).isoformat().replace("+00:00", "Z")
    assert running["closes_at_local"].endswith("WIB")
    # The body that submitted is affected by nothing.
    listed = shown["drafts"] + shown["not_started"] + shown["extension_running"]
    assert "Kelurahan Sudah Kirim" not in {b["name"] for b in listed}


def test_closing_without_confirmation_is_refused_naming_the_counts(
    client: TestClient, season: Season, session: Session
) -> None:
    refused = move(client, season.world, "closed")

    assert refused.status_code == 409
    body = problem(refused)
    assert (body["drafts"], body["extension_running"], body["not_started"]) == (1, 1, 1)
    assert body["closing_early"] is False
    assert body["errors"][0]["field"] == "confirm"
    assert "status-preview" in body["detail"]
    session.refresh(season.round)
    assert (season.round.status, season.round.saq_closed_at) == ("open", None)
    assert audit(session, "round.status") == []


def test_a_confirmed_close_records_when_the_saq_stage_closed_and_whom_it_affected(
    client: TestClient, season: Season, session: Session
) -> None:
    before = now()
    closed = move(client, season.world, "closed", confirm=True)

    assert closed.status_code == 200, closed.text
    shown = closed.json()
    assert shown["status"] == "closed"
    assert before <= datetime.fromisoformat(shown["saq_closed_at"]) <= now()
    [entry] = audit(session, "round.status")
    assert entry.after["closed_early"] is False
    assert entry.after["drafts"] == [season.world.other_body.id]
    assert entry.after["extension_running"] == [season.world.body.id]
    assert entry.after["not_started"] == [season.absent.id]


def test_closing_before_the_rounds_own_deadline_needs_confirmation_even_when_all_submitted(
    client: TestClient, world: World, session: Session
) -> None:
    for body in (world.body, world.other_body):
        make_submission(session, world.round, body, world.template, status="submitted", submitted_at=now())
    shown = preview(client, world)
    assert (shown["closing_early"], shown["drafts"], shown["extension_running"], shown["not_started"]) == (
        True,
        [],
        [],
        [],
    )
    refused = move(client, world, "closed")
    assert refused.status_code == 409
    assert "before the round's own deadline" in problem(refused)["detail"]

    closed = move(client, world, "closed", confirm=True).json()
    assert closed["saq_closed_at"] < closed["saq_closes_at"]
    assert audit(session, "round.status")[0].after["closed_early"] is True


def test_closing_after_the_deadline_with_every_body_in_needs_no_confirmation(
    client: TestClient, world: World, session: Session
) -> None:
    world.round.saq_closes_at = now() - timedelta(minutes=5)
    for body in (world.body, world.other_body):
        make_submission(session, world.round, body, world.template, status="submitted", submitted_at=now())
    assert preview(client, world)["needs_confirmation"] is False
    assert move(client, world, "closed").status_code == 200


# --- running extensions after the close --------------------------------------------------------------------


def test_a_body_with_a_running_extension_keeps_filling_after_the_close_while_the_others_cannot(
    client: TestClient, season: Season
) -> None:
    world = season.world
    assert move(client, world, "closed", confirm=True).status_code == 200

    saved = save(client, world, season.extended, world.token(world.operator))
    assert saved.status_code == 200, saved.text
    refused = save(client, world, season.drafting, world.token(world.other_operator))
    assert refused.status_code == 409
    assert problem(refused)["type"].endswith("/window-closed")
    # and it submits before its own deadline (acknowledging what it leaves open)
    submitted = submit_anyway(client, season.extended.id, world.token(world.operator))
    assert submitted.status_code == 200, submitted.text


def test_the_window_rules_after_the_close(season: Season, session: Session) -> None:
    world = season.world
    season.round.status = "closed"
    season.round.saq_closed_at = now()
    session.flush()
    ensure_window_open(session=session, round_=season.round, body=world.body, now=now())
    with pytest.raises(WindowClosed) as info:
        ensure_window_open(session=session, round_=season.round, body=world.other_body, now=now())
    assert "Batas waktu pengisian SAQ" in (info.value.indonesian or "")
    with pytest.raises(WindowClosed):
        ensure_window_open(
            session=session, round_=season.round, body=world.body, now=season.extension.closes_at
        )
    season.round.status = "objection"
    session.flush()
    assert not window_for(session=session, round_id=season.round.id, body_id=world.body.id).is_open(now())


def test_a_never_started_body_with_a_running_extension_may_still_open_its_saq_after_the_close(
    client: TestClient, season: Season, session: Session
) -> None:
    world = season.world
    session.delete(season.extended)
    session.flush()
    assert move(client, world, "closed", confirm=True).status_code == 200
    opened = client.post(f"{API}/rounds/{world.round.id}/submissions", headers=world.token(world.operator))
    assert opened.status_code == 201, opened.text


def test_verification_of_an_extended_body_waits_until_it_submits_or_its_deadline_passes(
    client: TestClient, season: Season, session: Session
) -> None:
    world = season.world
    session.add(
        VerifierAssignment(round_id=world.round.id, body_id=world.body.id, verifier_id=world.verifier.id)
    )
    season.round.drafts_at_deadline = "submit"
    session.flush()
    assert move(client, world, "closed", confirm=True).status_code == 200
    url = f"{API}/submissions/{season.extended.id}/verification"

    waiting = client.post(url, headers=world.token(world.verifier))
    assert waiting.status_code == 409
    assert "SAQ window closes" in problem(waiting)["detail"]

    season.extension.closes_at = now() - timedelta(seconds=1)
    session.flush()
    assert client.post(url, headers=world.token(world.verifier)).status_code == 201
    session.refresh(season.extended)
    assert season.extended.status == "submitted"


def test_verification_cannot_end_while_an_extension_is_running(
    client: TestClient, season: Season, session: Session
) -> None:
    world = season.world
    assert move(client, world, "closed", confirm=True).status_code == 200
    assert move(client, world, "verification").status_code == 200  # the others are verified meanwhile

    shown = preview(client, world, "objection")
    assert (shown["blocked"], shown["needs_confirmation"]) == (True, False)
    assert [b["name"] for b in shown["extension_running"]] == [world.body.name]
    refused = move(client, world, "objection", confirm=True)
    assert refused.status_code == 409
    assert problem(refused)["extension_running"] == [world.body.id]
    assert world.body.name in problem(refused)["detail"]

    season.extension.closes_at = now() - timedelta(seconds=1)
    session.flush()
    assert move(client, world, "objection").status_code == 200


# --- drafts at the deadline ---------------------------------------------------------------------------------


def test_the_drafts_rule_is_a_round_setting_fixed_once_the_saq_stage_closed(
    client: TestClient, season: Season
) -> None:
    world = season.world
    url = f"{API}/rounds/{world.round.id}"
    assert get_json(client, url, world.token(world.admin))["drafts_at_deadline"] == "not_participating"
    changed = client.patch(url, json={"drafts_at_deadline": "submit"}, headers=world.token(world.admin))
    assert changed.status_code == 200
    assert changed.json()["drafts_at_deadline"] == "submit"
    assert preview(client, world)["drafts_at_deadline"] == "submit"
    wrong = client.patch(url, json={"drafts_at_deadline": "later"}, headers=world.token(world.admin))
    assert wrong.status_code == 422

    move(client, world, "closed", confirm=True)
    fixed = client.patch(
        url, json={"drafts_at_deadline": "not_participating"}, headers=world.token(world.admin)
    )
    assert fixed.status_code == 409
    assert problem(fixed)["errors"][0]["field"] == "drafts_at_deadline"


def test_a_new_round_may_submit_drafts_at_the_deadline(client: TestClient, world: World) -> None:
    created = client.post(
        f"{API}/commissions/{world.commission.id}/rounds",
        json={
            "year": 2026,
            "title": "Monev 2026",
            "saq_opens_at": "2026-08-01T00:00:00+07:00",
            "saq_closes_at": "2026-08-31T23:59:00+07:00",
            "drafts_at_deadline": "submit",
        },
        headers=world.token(world.admin),
    )
    assert created.status_code == 201, created.text
    assert (created.json()["drafts_at_deadline"], created.json()["saq_closed_at"]) == ("submit", None)


def test_under_not_participating_a_draft_stays_a_draft_takes_no_part_and_is_not_verified(
    client: TestClient, season: Season, session: Session
) -> None:
    world = season.world
    assert move(client, world, "closed", confirm=True).status_code == 200
    session.refresh(season.drafting)
    assert season.drafting.status == "draft"
    [row] = participation(session=session, round_=season.round)
    assert (row.invited, row.submitted) == (4, 1)

    refused = client.post(
        f"{API}/submissions/{season.drafting.id}/verification", headers=world.token(world.admin)
    )
    assert refused.status_code == 409
    assert "takes no part" in problem(refused)["detail"]


def test_under_submit_drafts_are_submitted_as_they_stand_when_the_saq_stage_closes(
    client: TestClient, season: Season, session: Session
) -> None:
    world = season.world
    season.round.drafts_at_deadline = "submit"
    session.flush()
    assert move(client, world, "closed", confirm=True).status_code == 200

    session.refresh(season.drafting)
    session.refresh(season.extended)
    assert (season.drafting.status, season.drafting.submitted_by_id) == ("submitted", None)
    assert as_utc(season.drafting.submitted_at) == as_utc(season.round.saq_closes_at)  # as it stood then
    assert season.drafting.version == 2  # its ETag moved on
    assert season.extended.status == "draft"  # its own deadline has not come
    [entry] = audit(session, "submission.submit_at_deadline")
    assert (entry.entity_id, entry.actor_id, entry.actor_label) == (str(season.drafting.id), None, "system")
    [row] = participation(session=session, round_=season.round)
    assert row.submitted == 2
    # It counts as submitted: it is verified like any other.
    started = client.post(
        f"{API}/submissions/{season.drafting.id}/verification", headers=world.token(world.admin)
    )
    assert started.status_code == 201, started.text


def test_an_extended_draft_is_submitted_when_its_own_deadline_has_passed(
    client: TestClient, season: Season, session: Session
) -> None:
    world = season.world
    season.round.drafts_at_deadline = "submit"
    session.flush()
    assert move(client, world, "closed", confirm=True).status_code == 200
    season.extension.closes_at = now() - timedelta(seconds=1)
    session.flush()

    read = get_json(client, f"{API}/submissions/{season.extended.id}", world.token(world.operator))

    assert read["status"] == "submitted"
    assert read["submitted_at"] == as_utc(season.extension.closes_at).isoformat().replace("+00:00", "Z")
    assert [e.entity_id for e in audit(session, "submission.submit_at_deadline")] == [
        str(season.drafting.id),
        str(season.extended.id),
    ]


# --- the objection window ---------------------------------------------------------------------------------


def _objection(client: TestClient, world: World, opens: datetime, closes: datetime) -> Any:
    return client.patch(
        f"{API}/rounds/{world.round.id}",
        json={"objection_opens_at": opens.isoformat(), "objection_closes_at": closes.isoformat()},
        headers=world.token(world.admin),
    )


def test_the_objection_window_may_open_as_soon_as_the_saq_stage_closed_early(
    client: TestClient, world: World
) -> None:
    # The round's own deadline is a week away; the SAQ stage closes now.
    soon, later = now() + timedelta(days=1), now() + timedelta(days=3)
    assert _objection(client, world, soon, later).status_code == 422  # not before the planned close
    assert move(client, world, "closed", confirm=True).status_code == 200

    accepted = _objection(client, world, soon, later)
    assert accepted.status_code == 200, accepted.text
    too_early = _objection(client, world, now() - timedelta(hours=2), later)
    assert too_early.status_code == 422
    assert problem(too_early)["errors"][0]["field"] == "objection_opens_at"


def test_the_objection_window_opens_after_every_extension(
    client: TestClient, world: World, session: Session
) -> None:
    session.add(
        DeadlineExtension(
            round_id=world.round.id,
            closes_at=now() + timedelta(days=9),
            scope="bodies",
            body_ids=[world.body.id],
            reason="Rapat pleno",
        )
    )
    session.flush()
    assert move(client, world, "closed", confirm=True).status_code == 200
    refused = _objection(client, world, now() + timedelta(days=8), now() + timedelta(days=12))
    assert refused.status_code == 422
    assert "deadline extension" in problem(refused)["errors"][0]["message"]
    assert (
        _objection(client, world, now() + timedelta(days=10), now() + timedelta(days=12)).status_code == 200
    )


def test_an_extension_may_not_run_into_the_objection_window(client: TestClient, world: World) -> None:
    opens = now() + timedelta(days=10)
    assert _objection(client, world, opens, opens + timedelta(days=3)).status_code == 200
    refused = client.post(
        f"{API}/rounds/{world.round.id}/extensions",
        json={
            "closes_at": (opens + timedelta(days=1)).isoformat(),
            "scope": "round",
            "reason": "Rapat pleno",
        },
        headers=world.token(world.admin),
    )
    assert refused.status_code == 422
    assert problem(refused)["errors"][0]["field"] == "closes_at"
