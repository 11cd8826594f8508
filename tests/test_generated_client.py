"""A Python client generated from the service's own ``/openapi.json`` plays a short season against a real
``emonev serve`` (SQLite), the way an
integrator would use it (docs/integrators.md shows the same commands).

The client is made with openapi-python-client and docs/openapi-python-client.yaml, once per server,
from the document the running server serves; the generator must not warn (a warning means a part of the
document it could not turn into code: a response or a model left out of the client). Everything after the
first system administrator (made in the test's process) goes through the generated functions and
their typed models: the commission, its category, two kelurahan and the accounts; a round on
tests/fixtures/mini.yaml opened; one body's PPID fills in and submits, the other never does; the verifier
overrules one answer; the secretariat publishes; anyone reads the ranking. Errors come back as the parsed
problem model, not thrown away.

Kelurahan Anggrek: 1.1.1 yes + link (2 of 2), 1.1.2 a (2 of 2), 2.1 ig+fb (1 of 1), 2.2 95 (1 of 1)
    self: aspect 1 = 100, aspect 2 = 100 -> 100.00
    verified: 2.2 overruled to 60 (0.5 of 1): aspect 2 = 75 -> 100 x 0.6 + 75 x 0.4 = 90.00, Informatif
Kelurahan Bambu: invited, never submitted -> tidak mengikuti.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy.orm import Session

from app.db.migrate import alembic_config
from app.db.session import create_sqlite_engine
from app.main import create_app
from app.questionnaires.service import import_template
from app.settings import Settings
from tests.factories import PASSWORD, make_account
from tests.processes import ROOT, LiveServer, serve

CONFIG = ROOT / "docs" / "openapi-python-client.yaml"
PACKAGE = "emonev_client"
ADMIN_EMAIL = "sysadmin@ki-uji.example.go.id"
TEMPLATE = ROOT / "tests" / "fixtures" / "mini.yaml"


def generate(document: Path, output: Path) -> subprocess.CompletedProcess[str]:
    """The command docs/integrators.md gives, with the document as a file instead of a URL."""
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(document),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served(tmp_path_factory.mktemp("generated-client")) as live:
        yield live


def served(root: Path) -> AbstractContextManager[LiveServer]:
    """``emonev serve`` on a migrated SQLite file holding tests/fixtures/mini.yaml and one system
    administrator, made in this process (seconds quicker than three ``emonev`` commands)."""
    url = f"sqlite:///{root / 'season.sqlite3'}"
    engine = create_sqlite_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with Session(engine) as session, session.begin():
            import_template(
                session=session, text=TEMPLATE.read_text(encoding="utf-8"), source_name="mini.yaml"
            )
            make_account(session, "system_admin", email=ADMIN_EMAIL, name="Admin Sistem")
    finally:
        engine.dispose()
    return serve(root, {"EMONEV_DEMO_DATA": "false"}, database_url=url, prepare=[])


@pytest.fixture(scope="module")
def generated(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The client generated from the server's /openapi.json, importable as ``emonev_client``."""
    root = tmp_path_factory.mktemp("client-code")
    document = root / "openapi.json"
    document.write_bytes(httpx.get(f"{server.url}/openapi.json", timeout=30).raise_for_status().content)
    made = generate(document, root / PACKAGE)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "warning" not in (made.stdout + made.stderr).lower(), made.stdout + made.stderr
    sys.path.insert(0, str(root))
    try:
        yield root / PACKAGE
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name: str) -> ModuleType:
    """A module of the generated client: ``module("api.rounds.create_round")``, ``module("models")``."""
    return importlib.import_module(f"{PACKAGE}.{name}")


def parsed(response: Any, status: int) -> Any:
    assert response.status_code == status, f"{response.status_code}: {response.content!r}"
    return response.parsed


def test_the_document_is_the_same_in_every_process(server: LiveServer, generated: Path) -> None:
    """The served document (another process, another hash seed) is byte for byte the one built here, so a
    client generated from any server of a release is the same client."""
    app = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False))
    built = json.dumps(app.openapi(), indent=None, separators=(",", ":"), ensure_ascii=False)
    assert (generated.parent / "openapi.json").read_text(encoding="utf-8") == built


def test_a_season_through_the_generated_client(server: LiveServer, generated: Path) -> None:
    with ExitStack() as clients:
        play_season(server, clients)


def play_season(server: LiveServer, clients: ExitStack) -> None:
    m = module("models")
    client_module = module("client")
    api = {
        name: module(f"api.{name}")
        for name in (
            "accounts.login",
            "accounts.create_account",
            "commissions.create_commission",
            "commissions.create_category",
            "bodies.create_body",
            "rounds.create_round",
            "rounds.set_templates",
            "rounds.invite",
            "rounds.change_status",
            "rounds.update_round",
            "submissions.open_submission",
            "submissions.save_answers",
            "submissions.submit",
            "submissions.get_submission",
            "verification.put_assignments",
            "verification.start_verification",
            "verification.put_verified_answers",
            "verification.complete_verification",
            "verification.release_verification",
            "results.publish",
            "results.public_rankings",
            "results.rankings",
        )
    }

    anonymous = clients.enter_context(client_module.Client(base_url=server.url))

    def login(email: str) -> Any:
        token = parsed(
            api["accounts.login"].sync_detailed(
                client=anonymous, body=m.LoginIn(email=email, password=PASSWORD)
            ),
            200,
        )
        assert isinstance(token, m.TokenOut)
        return clients.enter_context(
            client_module.AuthenticatedClient(base_url=server.url, token=token.access_token)
        )

    # --- The system administrator sets up the commission, its bodies and its people -----------------------
    system = login(ADMIN_EMAIL)
    commission = parsed(
        api["commissions.create_commission"].sync_detailed(
            client=system,
            body=m.CommissionIn(code="ki-uji", name="Komisi Informasi Provinsi Uji"),
        ),
        201,
    )
    assert isinstance(commission, m.CommissionOut)
    assert commission.timezone == "Asia/Jakarta"  # the default the model filled in
    cid = commission.id
    parsed(
        api["commissions.create_category"].sync_detailed(
            cid, client=system, body=m.CategoryIn(code="kelurahan", name="Kelurahan")
        ),
        201,
    )
    bodies = {
        name: parsed(
            api["bodies.create_body"].sync_detailed(
                cid, client=system, body=m.BodyIn(name=name, category="kelurahan", region_code="31.71.06")
            ),
            201,
        )
        for name in ("Kelurahan Anggrek", "Kelurahan Bambu")
    }
    anggrek, bambu = bodies["Kelurahan Anggrek"], bodies["Kelurahan Bambu"]
    people = {
        role: parsed(
            api["accounts.create_account"].sync_detailed(
                client=system,
                body=m.AccountCreate(
                    email=f"{role}@ki-uji.example.go.id",
                    name=role.title(),
                    role=m.AccountCreateRole(role),
                    password=PASSWORD,
                    commission_id=cid,
                    **({"body_id": anggrek.id} if role == "operator" else {}),
                ),
            ),
            201,
        )
        for role in ("commission_admin", "operator", "verifier")
    }
    admin = login(people["commission_admin"].email)
    operator = login(people["operator"].email)
    verifier = login(people["verifier"].email)

    # --- The round: window, template, invitations, open ----------------------------------------------------
    now = datetime.now(UTC)
    round_ = parsed(
        api["rounds.create_round"].sync_detailed(
            cid,
            client=admin,
            body=m.RoundIn(
                year=2025,
                title="Monev KIP 2025",
                saq_opens_at=now - timedelta(hours=1),
                saq_closes_at=now + timedelta(days=1),
            ),
        ),
        201,
    )
    assert isinstance(round_, m.RoundOut)
    rid = round_.id
    choice = m.SetTemplatesBody()
    choice["kelurahan"] = m.TemplateChoice(key="test-mini", version="1")
    parsed(api["rounds.set_templates"].sync_detailed(rid, client=admin, body=choice), 200)
    invited = parsed(
        api["rounds.invite"].sync_detailed(
            rid, client=admin, body=m.InvitationsIn(category_codes=["kelurahan"])
        ),
        201,
    )
    assert sorted(invited.body_ids) == sorted([anggrek.id, bambu.id])

    def move(to: str, *, confirm: bool = False) -> Any:
        return parsed(
            api["rounds.change_status"].sync_detailed(
                rid, client=admin, body=m.StatusIn(status=m.StatusInStatus(to), confirm=confirm)
            ),
            200,
        )

    assert move("open").status == "open"

    # --- The PPID fills in and submits ---------------------------------------------------------------------
    opened = api["submissions.open_submission"].sync_detailed(rid, client=operator)
    submission = parsed(opened, 201)
    assert isinstance(submission, m.SubmissionOut)
    assert (submission.status, submission.template.key) == ("draft", "test-mini")
    answers = m.AnswersPutAnswers()
    for code, answer in {
        "1.1.1": m.AnswersPutAnswersAnswerChange(value="yes", evidence=["https://anggrek.example.go.id/dip"]),
        "1.1.2": m.AnswersPutAnswersAnswerChange(value="a"),
        "2.1": m.AnswersPutAnswersAnswerChange(value=["ig", "fb"]),
        "2.2": m.AnswersPutAnswersAnswerChange(value=95),
        "2.3": m.AnswersPutAnswersAnswerChange(value="https://anggrek.example.go.id"),
    }.items():
        answers[code] = answer
    saved = parsed(
        api["submissions.save_answers"].sync_detailed(
            submission.id,
            client=operator,
            body=m.AnswersPut(answers=answers),
            if_match=opened.headers["ETag"],
        ),
        200,
    )
    assert isinstance(saved, m.SaveResult)
    assert (saved.score.score, saved.score.band) == ("100.00", "informatif")

    # A save based on the version before it is refused, and the client hands over the problem, parsed.
    stale = api["submissions.save_answers"].sync_detailed(
        submission.id,
        client=operator,
        body=m.AnswersPut(answers=answers),
        if_match=opened.headers["ETag"],
    )
    problem = parsed(stale, 412)
    assert isinstance(problem, m.Problem)
    assert (problem.status, problem.type_.rsplit("/", 1)[-1]) == (412, "stale-version")
    assert problem.additional_properties["current_version"] == saved.version

    submitted = parsed(
        api["submissions.submit"].sync_detailed(submission.id, client=operator, idempotency_key="anggrek-1"),
        200,
    )
    assert isinstance(submitted, m.SubmitResult)
    assert submitted.status == "submitted"
    again = api["submissions.submit"].sync_detailed(submission.id, client=operator)
    assert isinstance(parsed(again, 409), m.Problem)

    # --- Close (Bambu never started: confirmed), verify, release ------------------------------------------
    move("closed", confirm=True)
    later = datetime.now(UTC)
    parsed(
        api["rounds.update_round"].sync_detailed(
            rid,
            client=admin,
            body=m.RoundPatch(objection_opens_at=later, objection_closes_at=later + timedelta(days=3)),
        ),
        200,
    )
    move("verification")
    assignments = m.AssignmentsPutAssignments()
    assignments[str(anggrek.id)] = people["verifier"].id
    parsed(
        api["verification.put_assignments"].sync_detailed(
            rid, client=admin, body=m.AssignmentsPut(assignments=assignments)
        ),
        200,
    )
    started = api["verification.start_verification"].sync_detailed(submission.id, client=verifier)
    parsed(started, 201)
    review = m.VerifiedAnswersPutAnswers()
    for code, value in {
        "1.1.1": "yes",
        "1.1.2": "a",
        "2.1": ["ig", "fb"],
        "2.2": 60,
        "2.3": "https://anggrek.example.go.id",
    }.items():
        review[code] = m.VerifiedAnswerIn(value=value, evidence_checked=True)
    review["2.2"].note = "Laporan layanan: 60% tepat waktu"
    reviewed = parsed(
        api["verification.put_verified_answers"].sync_detailed(
            submission.id,
            client=verifier,
            body=m.VerifiedAnswersPut(answers=review),
            if_match=started.headers["ETag"],
        ),
        200,
    )
    assert reviewed.verified_score.score == "90.00"
    done = parsed(
        api["verification.complete_verification"].sync_detailed(submission.id, client=verifier), 200
    )
    assert (done.status, done.verified_score.score, done.verified_score.band) == (
        "completed",
        "90.00",
        "informatif",
    )
    parsed(api["verification.release_verification"].sync_detailed(rid, client=admin), 200)
    for step in ("objection", "stages", "final"):
        move(step)

    # --- Not yet published: the public ranking is a 404 problem ---------------------------------------------
    hidden = api["results.public_rankings"].sync_detailed(rid, client=anonymous, category="kelurahan")
    assert parsed(hidden, 404).status == 404

    # --- Publish; the ranking, read by anyone ---------------------------------------------------------------
    publication = parsed(
        api["results.publish"].sync_detailed(
            rid, client=admin, body=m.PublishIn(reason="Keputusan pleno 1/2025")
        ),
        201,
    )
    assert publication.revision == 1
    ranking = parsed(
        api["results.public_rankings"].sync_detailed(rid, client=anonymous, category="kelurahan"), 200
    )
    assert isinstance(ranking, m.RankingOut)
    assert [
        (item.rank, item.body_name, item.self_score, item.verified_score, item.final_score, item.band)
        for item in ranking.items
    ] == [
        (1, "Kelurahan Anggrek", "100.00", "90.00", "90.00", "informatif"),
        (None, "Kelurahan Bambu", None, None, None, None),
    ]
    assert ranking.items[1].band_label == "Tidak Mengikuti"
    # The commission's members read the same ranking with their credential.
    members = parsed(api["results.rankings"].sync_detailed(rid, client=operator, category="kelurahan"), 200)
    assert [item.final_score for item in members.items] == ["90.00", None]
