"""Login throttling: ten failed logins with one e-mail within fifteen minutes refuse further logins (429)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import service
from app.accounts.throttle import LoginThrottle, LoginThrottled, email_hash
from app.db.models import Account, AuditEntry, AuthToken, LoginFailure
from app.errors import Unauthenticated
from app.main import create_app
from app.settings import Settings
from tests.factories import PASSWORD, World, now, problem

LOGIN = "/api/v1/auth/login"
WRONG = "not-the-password-at-all"
UNKNOWN = "nobody@example.go.id"
THROTTLE = LoginThrottle(max_failures=10, window=timedelta(minutes=15))


def attempt(client: TestClient, email: str, password: str = WRONG) -> Any:
    return client.post(LOGIN, json={"email": email, "password": password})


def fail(client: TestClient, email: str, times: int = 10) -> None:
    for _ in range(times):
        response = attempt(client, email)
        assert response.status_code == 401, response.text


def failures(session: Session, email: str) -> int:
    return session.scalar(
        select(func.count()).select_from(LoginFailure).where(LoginFailure.email_hash == email_hash(email))
    )


def age_failures(session: Session, by: timedelta) -> None:
    """Let time pass for the stored failures (rather than sleeping)."""
    for row in session.scalars(select(LoginFailure)):
        row.at -= by
    session.flush()


def test_the_eleventh_login_is_refused_with_429_even_with_the_right_password(
    client: TestClient, world: World, session: Session
) -> None:
    fail(client, world.operator.email)
    response = attempt(client, world.operator.email, PASSWORD)
    assert response.status_code == 429
    body = problem(response)
    assert body["type"] == "https://emonev.example/problems/login-throttled"
    assert body["title"] == "Too many failed logins"
    assert "try again in 15 minutes" in body["detail"]
    retry_after = int(response.headers["retry-after"])
    assert 14 * 60 < retry_after <= 15 * 60
    assert body["retry_after"] == retry_after
    tokens = session.scalar(select(func.count()).where(AuthToken.account_id == world.operator.id))
    assert tokens == 0


def test_ten_failures_do_not_throttle_yet_and_nine_then_success_logs_in(
    client: TestClient, world: World
) -> None:
    fail(client, world.admin.email, times=9)
    assert attempt(client, world.admin.email, PASSWORD).status_code == 200


def test_a_throttled_answer_is_the_same_for_a_right_and_a_wrong_password(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail(client, world.operator.email)
    checked: list[str] = []
    monkeypatch.setattr(service, "verify_password", lambda hash_, password: checked.append(password))
    right = attempt(client, world.operator.email, PASSWORD)
    wrong = attempt(client, world.operator.email, WRONG)
    assert right.status_code == wrong.status_code == 429
    assert problem(right)["type"] == problem(wrong)["type"]
    assert checked == []  # the password was not even checked (no argon2 work either)


def test_the_throttle_says_how_long_is_left(client: TestClient, world: World, session: Session) -> None:
    fail(client, world.operator.email)
    age_failures(session, timedelta(minutes=10))
    response = attempt(client, world.operator.email, PASSWORD)
    assert response.status_code == 429
    assert 4 * 60 < int(response.headers["retry-after"]) <= 5 * 60
    assert "try again in 5 minutes" in problem(response)["detail"]


def test_after_the_window_the_right_password_logs_in_again(
    client: TestClient, world: World, session: Session
) -> None:
    fail(client, world.operator.email)
    age_failures(session, timedelta(minutes=15, seconds=1))
    response = attempt(client, world.operator.email, PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["account"]["id"] == world.operator.id


def test_the_window_slides_with_an_injected_clock(world: World, session: Session) -> None:
    start = now()
    for minute in range(10):
        with pytest.raises(Unauthenticated):
            service.login(
                session=session,
                email=world.operator.email,
                password=WRONG,
                ttl_hours=1,
                throttle=THROTTLE,
                now=start + timedelta(minutes=minute),
            )

    def login_at(at: timedelta, password: str = PASSWORD) -> service.LoginResult:
        return service.login(
            session=session,
            email=world.operator.email,
            password=password,
            ttl_hours=1,
            throttle=THROTTLE,
            now=start + at,
        )

    with pytest.raises(LoginThrottled) as throttled:
        login_at(timedelta(minutes=14))
    assert throttled.value.retry_after == 60  # the first failure leaves the window at minute 15
    with pytest.raises(LoginThrottled) as throttled:
        login_at(timedelta(minutes=14, seconds=59))
    assert throttled.value.retry_after == 1
    # At minute 15 only nine failures are in the window: one more try, and it counts.
    with pytest.raises(Unauthenticated):
        login_at(timedelta(minutes=15), WRONG)
    with pytest.raises(LoginThrottled) as throttled:
        login_at(timedelta(minutes=15, seconds=1))
    assert throttled.value.retry_after == 59  # until the second failure leaves the window
    assert login_at(timedelta(minutes=26)).account.id == world.operator.id


def test_a_successful_login_clears_the_failures(client: TestClient, world: World, session: Session) -> None:
    fail(client, world.operator.email, times=9)
    assert attempt(client, world.operator.email, PASSWORD).status_code == 200
    assert failures(session, world.operator.email) == 0
    fail(client, world.operator.email, times=9)
    assert attempt(client, world.operator.email, PASSWORD).status_code == 200


def test_an_unknown_email_is_throttled_like_a_known_one(client: TestClient, world: World) -> None:
    fail(client, UNKNOWN)
    fail(client, world.operator.email)
    unknown = attempt(client, UNKNOWN, PASSWORD)
    known = attempt(client, world.operator.email, PASSWORD)
    assert unknown.status_code == known.status_code == 429
    for response in (unknown, known):
        assert 14 * 60 < int(response.headers["retry-after"]) <= 15 * 60
    assert problem(unknown)["detail"].split("(after")[0] == problem(known)["detail"].split("(after")[0]


def test_failures_count_per_email_as_login_normalises_it(client: TestClient, world: World) -> None:
    for n in range(10):
        email = f"  {world.operator.email.upper()} " if n % 2 else world.operator.email
        assert attempt(client, email).status_code == 401
    assert attempt(client, world.operator.email.upper(), PASSWORD).status_code == 429
    assert attempt(client, world.admin.email, PASSWORD).status_code == 200


def test_the_limits_are_settings(
    world: World, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    strict = settings.model_copy(update={"login_max_failures": 3, "login_failure_window_minutes": 60})
    with TestClient(create_app(strict, session_factory=session_factory)) as client:
        fail(client, world.operator.email, times=3)
        response = attempt(client, world.operator.email, PASSWORD)
    assert response.status_code == 429
    assert 59 * 60 < int(response.headers["retry-after"]) <= 60 * 60


def test_the_start_of_throttling_is_audited_once(client: TestClient, world: World, session: Session) -> None:
    fail(client, world.operator.email, times=9)
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "login.throttle")).all() == []
    fail(client, world.operator.email, times=1)
    for _ in range(3):
        assert attempt(client, world.operator.email).status_code == 429
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "login.throttle")).all()
    assert [(e.entity, e.entity_id, e.commission_id) for e in entries] == [
        ("account", str(world.operator.id), world.commission.id)
    ]
    assert entries[0].after["email"] == world.operator.email
    assert entries[0].after["failures"] == 10
    assert entries[0].after["window_minutes"] == 15


def test_the_commission_administrator_reads_the_throttling_of_its_accounts(
    client: TestClient, world: World
) -> None:
    fail(client, world.operator.email)
    response = client.get(
        "/api/v1/audit",
        params={"entity": "account", "entity_id": world.operator.id},
        headers=world.token(world.admin),
    )
    assert response.status_code == 200
    assert [e["action"] for e in response.json()["items"]] == ["login.throttle"]


def test_throttling_an_unknown_email_is_audited_without_what_was_typed(
    client: TestClient, world: World, session: Session
) -> None:
    typed = "Correct-Horse-Battery@example.go.id"
    fail(client, typed)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "login.throttle")).one()
    assert (entry.entity, entry.commission_id) == ("login", None)
    assert "correct-horse" not in str(entry.after).lower()
    assert entry.after["email_sha256"] == email_hash(typed.lower())


def test_old_failures_are_deleted_so_the_table_does_not_grow(
    client: TestClient, world: World, session: Session
) -> None:
    for n in range(5):
        fail(client, f"gone{n}@example.go.id", times=2)
    age_failures(session, timedelta(minutes=16))
    fail(client, UNKNOWN, times=1)
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 1
    assert failures(session, UNKNOWN) == 1


def test_a_deactivated_account_is_throttled_too(client: TestClient, world: World, session: Session) -> None:
    session.execute(update(Account).where(Account.id == world.operator.id).values(active=False))
    session.flush()
    fail(client, world.operator.email)
    assert attempt(client, world.operator.email, PASSWORD).status_code == 429
