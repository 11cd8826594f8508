"""``emonev users create``: the first system administrator, and clear one-line errors."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.security import verify_password
from app.cli import main
from app.db.models import Account, AuditEntry, Commission
from app.db.session import get_engine
from app.settings import get_settings

PASSWORD = "kata-sandi-admin-1"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated SQLite file for the module (migrating takes a while); tests use distinct emails."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'emonev.sqlite3'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMONEV_DATABASE_URL", url)
        get_settings.cache_clear()
        assert main(["db", "upgrade"]) == 0
    get_settings.cache_clear()
    with Session(get_engine(url)) as session:
        session.add(Commission(code="ki-dki", name="Komisi Informasi Provinsi DKI Jakarta"))
        session.commit()
    return url


@pytest.fixture
def url(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("EMONEV_DATABASE_URL", database)
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


def account(url: str, email: str) -> Account | None:
    with Session(get_engine(url)) as session:
        return session.scalars(select(Account).where(Account.email == email)).one_or_none()


def users_create(*args: str) -> int:
    return main(["users", "create", *args])


def test_it_makes_the_first_system_administrator(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = users_create(
        "--email",
        "Admin@KI.example.go.id",
        "--name",
        "Admin",
        "--role",
        "system_admin",
        "--password",
        PASSWORD,
    )
    assert code == 0
    assert capsys.readouterr().out.startswith("created system_admin admin@ki.example.go.id (id ")
    created = account(url, "admin@ki.example.go.id")
    assert created is not None
    assert created.role == "system_admin"
    assert created.commission_id is None
    assert verify_password(created.password_hash, PASSWORD)
    with Session(get_engine(url)) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(created.id))).one()
    assert (entry.action, entry.actor_label) == ("account.create", "system")
    assert "password_hash" not in entry.after


def test_without_password_it_asks_twice(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return PASSWORD

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code = users_create("--email", "kedua@example.go.id", "--name", "Kedua", "--role", "system_admin")
    assert code == 0
    assert len(prompts) == 2
    created = account(url, "kedua@example.go.id")
    assert created is not None
    assert verify_password(created.password_hash, PASSWORD)


def test_two_different_passwords_are_refused(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    code = users_create("--email", "beda@example.go.id", "--name", "Beda", "--role", "system_admin")
    assert code == 2
    assert capsys.readouterr().err == "error: the two passwords differ\n"
    assert account(url, "beda@example.go.id") is None


def test_a_commission_account_names_its_commission_by_code(url: str) -> None:
    code = users_create(
        "--email", "admin@ki-dki.example.go.id", "--name", "Admin DKI", "--role", "commission_admin",
        "--commission", "ki-dki", "--password", PASSWORD,
    )  # fmt: skip
    assert code == 0
    created = account(url, "admin@ki-dki.example.go.id")
    assert created is not None
    assert created.role == "commission_admin"
    assert created.commission_id is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--role", "system_admin", "--password", "pendek"],
            "error: --password: must be at least 10 characters\n",
            id="short password",
        ),
        pytest.param(
            ["--role", "verifier", "--password", PASSWORD],
            "error: --commission: required for the role verifier\n",
            id="no commission",
        ),
        pytest.param(
            ["--role", "verifier", "--commission", "ki-nope", "--password", PASSWORD],
            "error: --commission: no commission with code 'ki-nope'\n",
            id="unknown commission",
        ),
        pytest.param(
            ["--role", "operator", "--commission", "ki-dki", "--password", PASSWORD],
            "error: --body-id: required for an operator: the public body it answers for\n",
            id="operator without body",
        ),
        pytest.param(
            ["--role", "system_admin", "--commission", "ki-dki", "--password", PASSWORD],
            "error: --commission: a system administrator belongs to no commission\n",
            id="system admin in a commission",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = users_create("--email", "salah@example.go.id", "--name", "Salah", *args)
    assert code == 2
    assert capsys.readouterr().err == message
    assert account(url, "salah@example.go.id") is None


def test_a_taken_email_is_refused(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "--email",
        "sama@example.go.id",
        "--name",
        "Sama",
        "--role",
        "system_admin",
        "--password",
        PASSWORD,
    ]
    assert users_create(*args) == 0
    capsys.readouterr()
    assert users_create(*[a.upper() if "@" in a else a for a in args]) == 2
    assert capsys.readouterr().err == "error: --email: is already used by another account\n"


def test_an_unmigrated_database_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMONEV_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    get_settings.cache_clear()
    code = users_create(
        "--email", "a@example.go.id", "--name", "A", "--role", "system_admin", "--password", PASSWORD
    )
    get_settings.cache_clear()
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot use the database (no such table: account)")
    assert err.count("\n") == 1


def test_an_unknown_role_is_refused_by_the_parser(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        users_create(
            "--email", "a@example.go.id", "--name", "A", "--role", "api_read", "--password", PASSWORD
        )
    assert exit_.value.code == 2
    assert "invalid choice: 'api_read'" in capsys.readouterr().err
