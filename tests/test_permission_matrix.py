"""The permission matrix: every route of the app, called as every role, is allowed or refused as RULES says.

HOW TO ADD A ROUTE: add one line to RULES, keyed by the method and the full path exactly as FastAPI lists
it, naming the roles allowed (combine the sets below with ``|`` and ``-``)::

    ("GET", "/api/v1/rounds/{round_id}"): allow(MEMBERS),
    ("POST", "/api/v1/rounds/{round_id}/stages"): allow(ADMINS, json=lambda c: {"code": "visitasi"}),

- Path parameters are filled from PARAMS (``name -> function(world)``, run once per database before any
  test); add a resolver when your path uses a new name. A resolver may create rows and read earlier
  resolved values from ``w.params``.
- ``json=``, ``files=``, ``data=``, ``query=``, ``headers=`` and ``path=`` (path parameter overrides) take
  a function of the context ``c`` (``c.world``, ``c.params``): send a body valid enough that an allowed
  role passes validation. These functions must not touch the database (do that in a resolver).
- A route anybody may call without credentials goes in PUBLIC instead.

What is checked, for each route and role: a denied anonymous caller gets exactly 401 and any other denied
role 403 or 404, as problem+json; an allowed role gets neither 401, 403, 404 nor a 5xx (``not_found_ok``
lifts 404 for a route whose resolved resource may legitimately be absent). Redirects are not followed: a
web page refusing anonymous visitors with a redirect to the login page says ``anonymous_status=303`` and,
if it refuses with HTML, ``refusal_is_problem=False``. Each test runs in a savepoint
that is rolled back, so one role's change never leaks into another's request.

Roles: ``verifier`` is assigned to ``world.body`` (the body every body-level path points at);
``other_verifier`` is assigned to ``world.other_body`` only; ``other_commission_admin`` administers another
commission; ``api_read`` is a read-only key of the commission and ``api_body`` a key scoped to world.body.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.security import digest, unusable_password
from app.db.models import ApiKey, AuditEntry, EvidenceFile, Notice, Objection, VerifierAssignment, Webhook
from app.mail import tokens
from app.mail.outbox import Event, Letter, Recipient, notify
from app.main import create_app
from app.settings import Settings
from app.webhooks.service import new_secret
from tests.factories import (
    World,
    make_account,
    make_api_key,
    make_body,
    make_category,
    make_commission,
    make_job,
    make_stage,
    make_submission,
    problem,
    tiny_png,
)

ROOT = Path(__file__).resolve().parent.parent

# --- Roles ------------------------------------------------------------------------------------------------

ROLES = (
    "anonymous",
    "system_admin",
    "commission_admin",
    "other_commission_admin",
    "verifier",
    "other_verifier",
    "panelist",
    "operator",
    "other_operator",
    "api_read",
    "api_body",
)
NOBODY: frozenset[str] = frozenset()
ANY_PRINCIPAL = frozenset(ROLES) - {"anonymous"}
ACCOUNT_HOLDERS = ANY_PRINCIPAL - {"api_read", "api_body"}
SYSTEM_ADMIN = frozenset({"system_admin"})
ADMINS = frozenset({"system_admin", "commission_admin"})
# Anyone of world.commission (policy.ensure_member).
MEMBERS = ANY_PRINCIPAL - {"other_commission_admin"}
# Reads all of the commission (policy.ensure_commission_reader).
READERS = ADMINS | {"panelist", "api_read"}
# Reads world.body's data (policy.can_read_body).
BODY_READERS = READERS | {"verifier", "operator", "api_body"}
# Answers world.body's SAQ (policy.ensure_answer_for_body).
BODY_WRITERS = frozenset({"operator", "api_body"})
# Verifies world.body (policy.ensure_verify_body).
BODY_VERIFIERS = ADMINS | {"verifier"}
# world.body's submission is a draft its body may still fill in (the window is open): until it is sent or the
# window closes, its verifier sees none of it (policy.ensure_not_still_filling). The verifier reading a sent
# one is tested in tests/verification/test_verification.py.
SAQ_READERS = BODY_READERS - {"verifier"}
SAQ_VERIFIERS = BODY_VERIFIERS - {"verifier"}
# Scores stages (policy.ensure_panelist).
PANEL = ADMINS | {"panelist"}


# --- The world every request runs against -----------------------------------------------------------------


class MatrixWorld(World):
    """``World`` plus another commission's administrator, verifier assignments and two API keys."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.other_commission = make_commission(session)
        other_category = make_category(session, self.other_commission, code="kelurahan", name="Kelurahan")
        self.foreign_body = make_body(session, other_category)
        self.other_admin = make_account(session, "commission_admin", commission_id=self.other_commission.id)
        self.other_verifier = make_account(session, "verifier", commission_id=self.commission.id)
        session.add_all(
            [
                VerifierAssignment(
                    round_id=self.round.id, body_id=self.body.id, verifier_id=self.verifier.id
                ),
                VerifierAssignment(
                    round_id=self.round.id, body_id=self.other_body.id, verifier_id=self.other_verifier.id
                ),
            ]
        )
        session.flush()
        self.params: dict[str, Any] = {}
        self.headers: dict[str, dict[str, str]] = {
            "anonymous": {},
            "system_admin": self.token(self.system_admin),
            "commission_admin": self.token(self.admin),
            "other_commission_admin": self.token(self.other_admin),
            "verifier": self.token(self.verifier),
            "other_verifier": self.token(self.other_verifier),
            "panelist": self.token(self.panelist),
            "operator": self.token(self.operator),
            "other_operator": self.token(self.other_operator),
            "api_read": {"X-API-Key": make_api_key(session, self.commission, "read")},
            "api_body": {"X-API-Key": make_api_key(session, self.commission, "body", body_id=self.body.id)},
        }


def _evidence_file_id(w: MatrixWorld) -> int:
    """An uploaded evidence file of world.body's submission (its blob is not on disk)."""
    row = EvidenceFile(
        submission_id=w.params["submission_id"],
        question_code="1.1.1",
        sha256="0" * 64,
        size=9,
        content_type="application/pdf",
        original_name="bukti.pdf",
    )
    w.session.add(row)
    w.session.flush()
    return row.id


def _objection_id(w: MatrixWorld) -> int:
    """An open objection to question 1.1.1 of world.body's submission."""
    row = Objection(
        submission_id=w.params["submission_id"], question_code="1.1.1", explanation="Sudah ada DIP"
    )
    w.session.add(row)
    w.session.flush()
    return row.id


def _stage_id(w: MatrixWorld) -> int:
    """A presentation stage of world.round (SAQ 70 + presentasi 30)."""
    w.round.saq_weight = 70
    return make_stage(w.session, w.round, code="presentasi", weight=30).id


def _batch_id(w: MatrixWorld) -> str:
    """A recorded bulk verification action on world.body's submission (nothing left to restore)."""
    w.session.add(
        AuditEntry(
            actor_label="matrix",
            commission_id=w.commission.id,
            action="verification.bulk.confirm_checked",
            entity="verification_bulk",
            entity_id="matrixbatch",
            before={"submission_id": w.params["submission_id"], "answers": {}},
            after={"submission_id": w.params["submission_id"], "answers": {}},
        )
    )
    w.session.flush()
    return "matrixbatch"


def _api_key_id(w: MatrixWorld) -> int:
    key = make_api_key(w.session, w.commission, "read")
    return int(w.session.scalars(select(ApiKey.id).where(ApiKey.key_hash == digest(key))).one())


def _notice_id(w: MatrixWorld) -> int:
    """A refused account invitation of world.operator (world.commission, no round): readable on the
    development page, and a resend is answered 409 (a new invitation is sent instead)."""
    token = tokens.issue(
        w.session, account=w.operator, purpose=tokens.INVITATION, valid_for=timedelta(days=7)
    )
    notify(
        w.session,
        event=Event.account_invitation,
        ref=f"account_token:{token.id}",
        letters=[
            Letter(
                Recipient(w.operator.email, account_id=w.operator.id),
                {
                    "email": w.operator.email,
                    "role_words": "Operator PPID",
                    "body_name": w.body.name,
                    "valid_until": token.expires_at.isoformat(),
                    "token_id": token.id,
                },
            )
        ],
        commission_id=w.commission.id,
        commission_name=w.commission.name,
    )
    notice = w.session.scalars(select(Notice).where(Notice.ref == f"account_token:{token.id}")).one()
    notice.status = "failed"
    notice.last_response = "550 5.1.1 no such user"
    w.session.flush()
    return notice.id


def _webhook_id(w: MatrixWorld) -> int:
    """An endpoint of world.commission (a public address: no DNS look-up)."""
    webhook = Webhook(
        commission_id=w.commission.id,
        url="https://93.184.216.34/kait",
        events=["results.published"],
        secret=new_secret(),
    )
    w.session.add(webhook)
    w.session.flush()
    return webhook.id


def _job_id(w: MatrixWorld) -> int:
    """A recap of world.round asked for by the commission's administrator, still queued."""
    return make_job(w.session, w.round, w.admin).id


# Path parameter -> its value in the world; resolved once per database, in this order.
PARAMS: dict[str, Callable[[MatrixWorld], Any]] = {
    "commission_id": lambda w: w.commission.id,
    "category_id": lambda w: w.category.id,
    "body_id": lambda w: w.body.id,
    "round_id": lambda w: w.round.id,
    "submission_id": lambda w: make_submission(w.session, w.round, w.body, w.template).id,
    "key": lambda w: w.template.key,
    "version": lambda w: w.template.version,
    "code": lambda w: "1.1.1",
    # A verifier of world.commission that none of the roles is (so only its managers may touch it).
    "account_id": lambda w: make_account(w.session, "verifier", commission_id=w.commission.id).id,
    # Such a verifier invited and not activated yet (no password): its managers may (re)send the invitation.
    "invited_account_id": lambda w: (
        make_account(
            w.session, "verifier", commission_id=w.commission.id, password_hash=unusable_password()
        ).id
    ),
    "api_key_id": _api_key_id,
    "stage_id": _stage_id,
    "batch_id": _batch_id,
    "file_id": _evidence_file_id,
    "objection_id": _objection_id,
    "job_id": _job_id,
    "notice_id": _notice_id,
    "webhook_id": _webhook_id,
}


@dataclass(frozen=True)
class Ctx:
    world: MatrixWorld
    params: dict[str, Any]


Build = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    json: Build | None = None
    files: Build | None = None
    data: Build | None = None
    query: Build | None = None
    headers: Build | None = None
    path: Build | None = None
    not_found_ok: bool = False
    # Web pages: an anonymous visitor may be redirected to the login page (303), and refusals may be HTML.
    anonymous_status: int = 401
    refusal_is_problem: bool = True


def allow(allowed: frozenset[str], **request: Any) -> Rule:
    unknown = allowed - set(ROLES)
    assert not unknown, f"unknown roles {sorted(unknown)}"
    return Rule(allowed=allowed, **request)


def page(allowed: frozenset[str], **request: Any) -> Rule:
    """A web page: anonymous visitors are redirected to /login and refusals are Indonesian HTML pages."""
    return allow(allowed, anonymous_status=303, refusal_is_problem=False, **request)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NEW_PASSWORD = "kata-sandi-matriks-1"
MINI_YAML = (ROOT / "tests" / "fixtures" / "mini.yaml").read_bytes()

# --- The rules: one line per route ------------------------------------------------------------------------

PUBLIC: set[tuple[str, str]] = {
    ("GET", "/healthz"),
    # Readiness for a load balancer: which checks pass, without addresses or paths
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/login"),
    # "Forgot password": the same 202 for any address (throttled); setting a password with a single-use link
    ("POST", "/api/v1/auth/password-reset"),
    ("POST", "/api/v1/auth/set-password"),
    # The published ranking of a round, read-only, for integrators and the press (404 until published)
    ("GET", "/api/v1/public/rounds/{round_id}/rankings"),
    # Open data: the files of every published revision and the latest one's addresses (404 until published)
    ("GET", "/data/{commission_code}/{round_id}/revisi-{revision}/{name}"),
    ("HEAD", "/data/{commission_code}/{round_id}/revisi-{revision}/{name}"),
    ("GET", "/data/{commission_code}/{round_id}/terbaru/{name}"),
    ("HEAD", "/data/{commission_code}/{round_id}/terbaru/{name}"),
    # Web pages: the login form (its POST is bound to a pre-session CSRF cookie)
    ("GET", "/login"),
    ("POST", "/login"),
    # Stopping deadline reminders: the HMAC-signed link in the reminder is the proof (RFC 8058 one-click
    # POST, no session, no CSRF token); it only stops or restarts the reminders of the address it names
    ("GET", "/surel/berhenti"),
    ("POST", "/surel/berhenti"),
    # ... and the "forgot password" and set-password forms (bound to the same pre-session cookie)
    ("GET", "/lupa-kata-sandi"),
    ("POST", "/lupa-kata-sandi"),
    ("GET", "/atur-kata-sandi"),
    ("POST", "/atur-kata-sandi"),
    # The public results portal: published revisions only, the same page for everybody
    ("GET", "/hasil"),
    ("HEAD", "/hasil"),
    ("GET", "/hasil/{commission_code}"),
    ("HEAD", "/hasil/{commission_code}"),
    ("GET", "/hasil/{commission_code}/badan/{body_id}"),
    ("HEAD", "/hasil/{commission_code}/badan/{body_id}"),
    ("GET", "/hasil/{commission_code}/{round_id}"),
    ("HEAD", "/hasil/{commission_code}/{round_id}"),
    ("GET", "/hasil/{commission_code}/{round_id}/{category_code}"),
    ("HEAD", "/hasil/{commission_code}/{round_id}/{category_code}"),
}

RULES: dict[tuple[str, str], Rule] = {
    # Accounts, API keys, audit log
    ("POST", "/api/v1/auth/logout"): allow(ACCOUNT_HOLDERS),
    ("GET", "/api/v1/auth/me"): allow(ANY_PRINCIPAL),
    ("POST", "/api/v1/accounts"): allow(
        ADMINS,
        json=lambda c: {
            "email": "matriks@example.go.id",
            "name": "Akun Matriks",
            "role": "verifier",
            "password": NEW_PASSWORD,
            "commission_id": c.world.commission.id,
        },
    ),
    ("GET", "/api/v1/accounts"): allow(ADMINS, query=lambda c: {"commission_id": c.world.commission.id}),
    ("GET", "/api/v1/accounts/{account_id}"): allow(ADMINS),
    ("PATCH", "/api/v1/accounts/{account_id}"): allow(ADMINS, json=lambda c: {"name": "Nama Lain"}),
    ("POST", "/api/v1/accounts/{account_id}/invitation"): allow(
        ADMINS, path=lambda c: {"account_id": c.params["invited_account_id"]}
    ),
    ("POST", "/api/v1/api-keys"): allow(
        ADMINS, json=lambda c: {"name": "Dasbor", "scope": "read", "commission_id": c.world.commission.id}
    ),
    ("GET", "/api/v1/api-keys"): allow(ADMINS, query=lambda c: {"commission_id": c.world.commission.id}),
    ("DELETE", "/api/v1/api-keys/{api_key_id}"): allow(ADMINS),
    ("GET", "/api/v1/audit"): allow(ADMINS, query=lambda c: {"commission_id": c.world.commission.id}),
    # Templates
    ("GET", "/api/v1/templates"): allow(ANY_PRINCIPAL),
    ("POST", "/api/v1/score-preview"): allow(
        ANY_PRINCIPAL,
        json=lambda c: {
            "template_key": c.world.template.key,
            "template_version": c.world.template.version,
            "answers": {"1.1.1": {"value": "yes"}},
        },
    ),
    # Template upload and read-back (any administrator; templates are shared by every commission)
    ("POST", "/api/v1/templates"): allow(
        ADMINS | {"other_commission_admin"},
        files=lambda c: {"file": ("mini.yaml", MINI_YAML, "text/yaml")},
    ),
    ("GET", "/api/v1/templates/{key}/{version}"): allow(ANY_PRINCIPAL),
    # Commissions and categories
    ("POST", "/api/v1/commissions"): allow(
        SYSTEM_ADMIN, json=lambda c: {"code": "ki-matriks", "name": "KI Matriks"}
    ),
    ("GET", "/api/v1/commissions"): allow(ANY_PRINCIPAL),
    ("GET", "/api/v1/commissions/{commission_id}"): allow(MEMBERS),
    ("PATCH", "/api/v1/commissions/{commission_id}"): allow(ADMINS, json=lambda c: {"name": "KI Matriks"}),
    ("POST", "/api/v1/commissions/{commission_id}/categories"): allow(
        ADMINS, json=lambda c: {"code": "matriks", "name": "Matriks"}
    ),
    ("GET", "/api/v1/commissions/{commission_id}/categories"): allow(MEMBERS),
    # Public bodies (lists are filtered through policy.visible_bodies)
    ("POST", "/api/v1/commissions/{commission_id}/bodies"): allow(
        ADMINS, json=lambda c: {"name": "Badan Matriks", "category": "kelurahan"}
    ),
    ("GET", "/api/v1/commissions/{commission_id}/bodies"): allow(MEMBERS),
    ("POST", "/api/v1/commissions/{commission_id}/bodies/import"): allow(
        ADMINS,
        query=lambda c: {"dry_run": "true"},
        files=lambda c: {"file": ("badan.csv", b"name,category\nBadan Impor,kelurahan\n", "text/csv")},
    ),
    ("GET", "/api/v1/bodies/{body_id}"): allow(BODY_READERS),
    ("PATCH", "/api/v1/bodies/{body_id}"): allow(ADMINS, json=lambda c: {"active": True}),
    # Rounds
    ("POST", "/api/v1/commissions/{commission_id}/rounds"): allow(
        ADMINS,
        json=lambda c: {
            "year": 2031,
            "title": "Monev Matriks",
            "saq_opens_at": "2031-08-01T00:00:00+07:00",
            "saq_closes_at": "2031-08-31T23:59:00+07:00",
        },
    ),
    ("GET", "/api/v1/commissions/{commission_id}/rounds"): allow(MEMBERS),
    ("GET", "/api/v1/rounds"): allow(MEMBERS, query=lambda c: {"commission": c.world.commission.code}),
    ("GET", "/api/v1/rounds/{round_id}"): allow(MEMBERS),
    ("PATCH", "/api/v1/rounds/{round_id}"): allow(ADMINS, json=lambda c: {"gate_top_n": 3}),
    ("POST", "/api/v1/rounds/{round_id}/status"): allow(ADMINS, json=lambda c: {"status": "closed"}),
    ("GET", "/api/v1/rounds/{round_id}/status-preview"): allow(ADMINS, query=lambda c: {"to": "closed"}),
    ("PUT", "/api/v1/rounds/{round_id}/templates"): allow(
        ADMINS,
        json=lambda c: {"kelurahan": {"key": c.world.template.key, "version": c.world.template.version}},
    ),
    ("PUT", "/api/v1/rounds/{round_id}/stages"): allow(
        ADMINS,
        json=lambda c: {
            "saq_weight": 70,
            "stages": [{"code": "presentasi", "kind": "presentation", "title": "Presentasi", "weight": 30}],
        },
    ),
    ("POST", "/api/v1/rounds/{round_id}/invitations"): allow(
        ADMINS, json=lambda c: {"category_codes": ["kelurahan"]}
    ),
    ("GET", "/api/v1/rounds/{round_id}/invitations"): allow(MEMBERS),
    ("POST", "/api/v1/rounds/{round_id}/extensions"): allow(
        ADMINS,
        json=lambda c: {"closes_at": "2099-12-31T23:59:00+07:00", "scope": "round", "reason": "Rapat pleno"},
    ),
    ("GET", "/api/v1/rounds/{round_id}/extensions"): allow(MEMBERS),
    # Submissions: open, read, score, checklist, save, submit (policy.ensure_answer_for_body, can_read_body)
    ("POST", "/api/v1/rounds/{round_id}/submissions"): allow(BODY_WRITERS | {"other_operator"}),
    ("GET", "/api/v1/rounds/{round_id}/submissions"): allow(MEMBERS),
    ("GET", "/api/v1/submissions/{submission_id}"): allow(SAQ_READERS),
    ("GET", "/api/v1/submissions/{submission_id}/score"): allow(SAQ_READERS),
    ("GET", "/api/v1/submissions/{submission_id}/checklist"): allow(SAQ_READERS),
    ("PUT", "/api/v1/submissions/{submission_id}/answers"): allow(
        BODY_WRITERS,
        json=lambda c: {"answers": {"2.2": {"value": 95}}},
        headers=lambda c: {"If-Match": '"1"'},
    ),
    ("POST", "/api/v1/submissions/{submission_id}/submit"): allow(BODY_WRITERS),
    # Reopening a submitted SAQ: the commission's secretariat (policy.ensure_reopen_submission)
    ("POST", "/api/v1/submissions/{submission_id}/reopen"): allow(
        ADMINS, json=lambda c: {"reason": "Permintaan PPID: data dukung salah unggah"}
    ),
    # Evidence files (the resolved file's blob is not on disk: a reader may get 404 for the content)
    ("POST", "/api/v1/submissions/{submission_id}/answers/{code}/files"): allow(
        BODY_WRITERS, files=lambda c: {"file": ("bukti.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}
    ),
    ("GET", "/api/v1/evidence/{file_id}"): allow(SAQ_READERS, not_found_ok=True),
    ("DELETE", "/api/v1/evidence/{file_id}"): allow(BODY_WRITERS),
    # Excel: recaps and result sheets (409 until published), answer workbooks, imports from .xlsx
    ("GET", "/api/v1/rounds/{round_id}/recap.xlsx"): allow(READERS),
    ("GET", "/api/v1/rounds/{round_id}/result-sheets.zip"): allow(READERS),
    # Jobs: asked for and read by those who may read what they make; cancelled by whoever asked or an admin.
    ("POST", "/api/v1/rounds/{round_id}/exports"): allow(READERS, json=lambda c: {"kind": "recap"}),
    ("GET", "/api/v1/rounds/{round_id}/jobs"): allow(MEMBERS),
    ("GET", "/api/v1/jobs/{job_id}"): allow(READERS),
    ("DELETE", "/api/v1/jobs/{job_id}"): allow(ADMINS),
    ("POST", "/api/v1/jobs/{job_id}/retry"): allow(READERS),
    ("GET", "/api/v1/jobs/{job_id}/file"): allow(READERS),
    ("GET", "/api/v1/submissions/{submission_id}/result.xlsx"): allow(BODY_READERS),
    # Letters (PDF): 404 until published; all of a round's letters as a job (409 until published)
    ("GET", "/api/v1/rounds/{round_id}/bodies/{body_id}/letter.pdf"): allow(BODY_READERS, not_found_ok=True),
    ("POST", "/api/v1/rounds/{round_id}/letter-jobs"): allow(READERS),
    ("PUT", "/api/v1/commissions/{commission_id}/letter-logo"): allow(
        ADMINS, files=lambda c: {"file": ("logo.png", tiny_png(), "image/png")}
    ),
    ("DELETE", "/api/v1/commissions/{commission_id}/letter-logo"): allow(ADMINS),
    ("GET", "/api/v1/submissions/{submission_id}/answers.xlsx"): allow(SAQ_READERS),
    ("POST", "/api/v1/submissions/{submission_id}/answers.xlsx"): allow(
        BODY_WRITERS, files=lambda c: {"file": ("jawaban.xlsx", b"PK\x03\x04 rusak", XLSX)}
    ),
    ("POST", "/api/v1/commissions/{commission_id}/bodies/import.xlsx"): allow(
        ADMINS, query=lambda c: {"dry_run": "true"}, files=lambda c: {"file": ("badan.xlsx", b"rusak", XLSX)}
    ),
    ("POST", "/api/v1/commissions/{commission_id}/bodies/import-jobs"): allow(
        ADMINS,
        query=lambda c: {"dry_run": "true"},
        files=lambda c: {"file": ("badan.csv", b"name,category\nBadan Impor,kelurahan\n", "text/csv")},
    ),
    # Verification: assignments, verified values, bulk actions, link checks, release, objections
    ("PUT", "/api/v1/rounds/{round_id}/assignments"): allow(
        ADMINS, json=lambda c: {"assignments": {str(c.world.body.id): c.world.verifier.id}}
    ),
    ("POST", "/api/v1/rounds/{round_id}/assignments/spread"): allow(
        ADMINS, json=lambda c: {"category_code": "kelurahan", "verifier_ids": [c.world.verifier.id]}
    ),
    ("GET", "/api/v1/rounds/{round_id}/assignments"): allow(ADMINS),
    ("GET", "/api/v1/verifier/assignments"): allow(SYSTEM_ADMIN | {"verifier", "other_verifier"}),
    ("POST", "/api/v1/submissions/{submission_id}/verification"): allow(BODY_VERIFIERS),
    # Bodies read their verification only once released (world.round's is not).
    ("GET", "/api/v1/submissions/{submission_id}/verification"): allow(
        SAQ_VERIFIERS | {"panelist", "api_read"}
    ),
    ("PUT", "/api/v1/submissions/{submission_id}/verification/answers"): allow(
        BODY_VERIFIERS,
        json=lambda c: {"answers": {"1.1.1": {"value": "yes"}}},
        headers=lambda c: {"If-Match": '"1"'},
    ),
    ("POST", "/api/v1/submissions/{submission_id}/verification/complete"): allow(BODY_VERIFIERS),
    ("POST", "/api/v1/submissions/{submission_id}/verification/approve-unreviewed"): allow(
        BODY_VERIFIERS, json=lambda c: {}, headers=lambda c: {"If-Match": '"1"'}
    ),
    ("POST", "/api/v1/rounds/{round_id}/verification/bulk"): allow(
        ADMINS | {"verifier", "other_verifier"}, json=lambda c: {"action": "confirm_checked"}
    ),
    ("POST", "/api/v1/verification/bulk/{batch_id}/undo"): allow(ADMINS | {"verifier", "other_verifier"}),
    ("POST", "/api/v1/submissions/{submission_id}/link-check"): allow(SAQ_VERIFIERS),
    ("GET", "/api/v1/submissions/{submission_id}/link-checks"): allow(
        SAQ_VERIFIERS | {"panelist", "api_read"}
    ),
    ("POST", "/api/v1/rounds/{round_id}/link-sweeps"): allow(ADMINS),
    ("POST", "/api/v1/rounds/{round_id}/release-verification"): allow(ADMINS),
    ("POST", "/api/v1/submissions/{submission_id}/objections"): allow(
        BODY_WRITERS, json=lambda c: {"question_code": "1.1.2", "explanation": "DIP kami lengkap"}
    ),
    ("GET", "/api/v1/submissions/{submission_id}/objections"): allow(
        BODY_VERIFIERS | {"panelist", "api_read"}
    ),
    ("GET", "/api/v1/rounds/{round_id}/objections"): allow(ADMINS | {"verifier", "other_verifier"}),
    ("POST", "/api/v1/objections/{objection_id}/decision"): allow(
        BODY_VERIFIERS, json=lambda c: {"accept": False, "reason": "Bukti tidak memadai"}
    ),
    # Stages and the gate
    ("PUT", "/api/v1/stages/{stage_id}/scores/{body_id}"): allow(PANEL, json=lambda c: {"score": "80"}),
    ("GET", "/api/v1/stages/{stage_id}/scores"): allow(PANEL),
    ("GET", "/api/v1/rounds/{round_id}/gate"): allow(PANEL),
    # Results: live (administrators), publication, rankings (404 until published), history
    ("GET", "/api/v1/rounds/{round_id}/results"): allow(ADMINS),
    ("POST", "/api/v1/rounds/{round_id}/publish"): allow(
        ADMINS, json=lambda c: {"reason": "Keputusan pleno"}
    ),
    ("POST", "/api/v1/rounds/{round_id}/publish-jobs"): allow(
        ADMINS, json=lambda c: {"reason": "Keputusan pleno"}
    ),
    ("POST", "/api/v1/rounds/{round_id}/results/preview-jobs"): allow(ADMINS),
    ("GET", "/api/v1/rounds/{round_id}/publications"): allow(MEMBERS),
    ("GET", "/api/v1/rounds/{round_id}/rankings"): allow(
        MEMBERS, query=lambda c: {"category": "kelurahan"}, not_found_ok=True
    ),
    ("GET", "/api/v1/bodies/{body_id}/history"): allow(BODY_READERS),
    # E-mail notices: the commission's administrators (404 for everyone else, read-only keys included)
    ("GET", "/api/v1/rounds/{round_id}/notices"): allow(ADMINS),
    ("GET", "/api/v1/rounds/{round_id}/notices/counts"): allow(ADMINS),
    ("GET", "/api/v1/commissions/{commission_id}/notices"): allow(ADMINS),
    ("GET", "/api/v1/notices/{notice_id}"): allow(ADMINS),
    ("POST", "/api/v1/notices/{notice_id}/resend"): allow(ADMINS),
    # Webhook endpoints: the commission's administrators (404 outside the commission, 403 inside it)
    ("POST", "/api/v1/commissions/{commission_id}/webhooks"): allow(
        ADMINS, json=lambda c: {"url": "https://93.184.216.34/kait-baru", "events": ["round.status_changed"]}
    ),
    ("GET", "/api/v1/commissions/{commission_id}/webhooks"): allow(ADMINS),
    ("GET", "/api/v1/webhooks/{webhook_id}"): allow(ADMINS),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): allow(ADMINS),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): allow(ADMINS),
    # Web pages (HTML; anonymous visitors go to /login) and the JSON endpoints of their scripts (/web/...)
    ("GET", "/akun"): page(ADMINS | {"other_commission_admin"}),
    ("POST", "/akun"): page(
        ADMINS | {"other_commission_admin"},
        data=lambda c: {"email": "halaman@example.go.id", "name": "Akun Halaman", "role": "panelist"},
    ),
    ("POST", "/akun/{account_id}/undangan"): page(
        ADMINS, path=lambda c: {"account_id": c.params["invited_account_id"]}
    ),
    # Each role's start page; an anonymous visitor gets the public results portal there
    ("GET", "/"): allow(ANY_PRINCIPAL, anonymous_status=200, refusal_is_problem=False),
    ("HEAD", "/"): allow(ANY_PRINCIPAL, anonymous_status=200, refusal_is_problem=False),
    ("POST", "/logout"): page(ACCOUNT_HOLDERS),
    ("POST", "/pengisian/mulai/{round_id}"): page(BODY_WRITERS | {"other_operator"}),
    ("GET", "/pengisian/{submission_id}"): page(SAQ_READERS),
    ("POST", "/pengisian/{submission_id}/simpan"): page(BODY_WRITERS, data=lambda c: {"version": "1"}),
    ("GET", "/pengisian/{submission_id}/kirim"): page(SAQ_READERS),
    ("POST", "/pengisian/{submission_id}/kirim"): page(BODY_WRITERS, data=lambda c: {"confirm": "ya"}),
    ("GET", "/pengisian/{submission_id}/hasil"): page(SAQ_READERS),
    ("GET", "/berkas/{file_id}"): page(SAQ_READERS, not_found_ok=True),
    ("POST", "/web/pengisian/{submission_id}/jawaban"): allow(
        BODY_WRITERS, json=lambda c: {"version": 1, "answers": {}}
    ),
    ("GET", "/web/pengisian/{submission_id}/keadaan"): allow(SAQ_READERS),
    ("POST", "/web/pengisian/{submission_id}/berkas/{code}"): allow(
        BODY_WRITERS, files=lambda c: {"file": ("bukti.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}
    ),
    ("POST", "/web/pengisian/{submission_id}/berkas-hapus/{file_id}"): allow(BODY_WRITERS),
    ("GET", "/verifikasi/{submission_id}"): page(BODY_VERIFIERS | {"panelist", "api_read"}),
    ("POST", "/verifikasi/{submission_id}/mulai"): page(BODY_VERIFIERS),
    ("POST", "/verifikasi/{submission_id}/butir/{code}"): page(
        BODY_VERIFIERS, data=lambda c: {"version": "1", "type": "yes_no", "value": "no"}
    ),
    ("POST", "/verifikasi/{submission_id}/setujui-belum-diperiksa"): page(
        BODY_VERIFIERS, data=lambda c: {"version": "1", "konfirmasi": "ya"}
    ),
    ("POST", "/verifikasi/{submission_id}/cek-tautan"): page(SAQ_VERIFIERS),
    ("POST", "/verifikasi/{submission_id}/selesai"): page(BODY_VERIFIERS),
    ("GET", "/sanggahan"): page(ADMINS | {"verifier", "other_verifier", "other_commission_admin"}),
    ("POST", "/sanggahan/{objection_id}"): page(
        BODY_VERIFIERS, data=lambda c: {"decision": "tolak", "reason": "Bukti tidak memadai"}
    ),
    ("GET", "/penjurian"): page(PANEL | {"other_commission_admin"}),
    ("GET", "/penjurian/{stage_id}"): page(PANEL),
    ("POST", "/penjurian/{stage_id}/{body_id}"): page(PANEL, data=lambda c: {"score": "80,5"}),
    ("GET", "/ronde"): page(ANY_PRINCIPAL),
    ("POST", "/ronde"): page(
        ADMINS | {"other_commission_admin"},
        data=lambda c: {
            "title": "Periode Matriks",
            "year": "2031",
            "saq_opens_at": "2031-01-01T00:00",
            "saq_closes_at": "2031-02-01T23:59",
        },
    ),
    ("GET", "/ronde/{round_id}"): page(READERS),
    ("POST", "/ronde/{round_id}/status"): page(ADMINS, data=lambda c: {"to": "closed"}),
    ("GET", "/ronde/{round_id}/status"): page(ADMINS, query=lambda c: {"ke": "closed"}),
    ("POST", "/ronde/{round_id}/draf"): page(ADMINS, data=lambda c: {"drafts_at_deadline": "submit"}),
    ("GET", "/ronde/{round_id}/buka-kembali"): page(ADMINS),
    ("GET", "/ronde/{round_id}/buka-kembali/{submission_id}"): page(ADMINS),
    ("POST", "/ronde/{round_id}/buka-kembali/{submission_id}"): page(
        ADMINS, data=lambda c: {"reason": "Permintaan PPID"}
    ),
    ("POST", "/ronde/{round_id}/jadwal"): page(
        ADMINS, data=lambda c: {"title": "Monev Matriks", "year": "2025"}
    ),
    ("POST", "/ronde/{round_id}/templat"): page(ADMINS),
    ("POST", "/ronde/{round_id}/undangan"): page(ADMINS, data=lambda c: {"category": "kelurahan"}),
    ("POST", "/ronde/{round_id}/tahap"): page(ADMINS, data=lambda c: {"saq_weight": "100"}),
    ("POST", "/ronde/{round_id}/gerbang"): page(ADMINS, data=lambda c: {"missing_stage_policy": "zero"}),
    ("POST", "/ronde/{round_id}/penugasan"): page(
        ADMINS, data=lambda c: {"category": "kelurahan", "verifier": str(c.world.verifier.id)}
    ),
    ("POST", "/ronde/{round_id}/perpanjangan"): page(
        ADMINS,
        data=lambda c: {"closes_at": "2099-01-01T23:59", "scope": "round", "reason": "Keputusan pleno"},
    ),
    ("POST", "/ronde/{round_id}/rilis-verifikasi"): page(ADMINS),
    ("GET", "/ronde/{round_id}/partisipasi"): page(READERS),
    ("GET", "/ronde/{round_id}/peringkat"): page(READERS),
    ("GET", "/ronde/{round_id}/publikasi"): page(READERS),
    ("POST", "/ronde/{round_id}/publikasi"): page(ADMINS, data=lambda c: {"reason": "Keputusan pleno"}),
    ("GET", "/ronde/{round_id}/unduhan"): page(READERS),
    ("POST", "/ronde/{round_id}/unduhan"): page(READERS, data=lambda c: {"kind": "recap"}),
    ("POST", "/pekerjaan/{job_id}/batalkan"): page(ADMINS),
    ("POST", "/pekerjaan/{job_id}/ulangi"): page(READERS),
    ("GET", "/pekerjaan/{job_id}/berkas"): page(READERS),
    ("GET", "/web/pekerjaan/{job_id}"): allow(READERS),
    ("GET", "/ronde/{round_id}/unduh/rekapitulasi.xlsx"): page(READERS),
    ("GET", "/ronde/{round_id}/unduh/lembar-hasil.zip"): page(READERS),
    ("GET", "/pengisian/{submission_id}/lembar-hasil.xlsx"): page(BODY_READERS),
    ("GET", "/pengisian/{submission_id}/jawaban.xlsx"): page(SAQ_READERS),
    ("GET", "/ronde/{round_id}/surel"): page(ADMINS),
    ("GET", "/komisi/{commission_id}/surel"): page(ADMINS),
    ("POST", "/komisi/{commission_id}/surel/pengaturan"): page(
        ADMINS,
        data=lambda c: {"mail_reply_to": "sekretariat@ki.example.go.id", "mail_signature": "Sekretariat"},
    ),
    ("POST", "/surel/{notice_id}/kirim-ulang"): page(ADMINS),
    ("GET", "/ronde/{round_id}/badan/{body_id}/surat.pdf"): page(BODY_READERS, not_found_ok=True),
    ("GET", "/komisi/surat"): page(frozenset({"commission_admin", "other_commission_admin"})),
    ("GET", "/komisi/{commission_id}/surat"): page(ADMINS),
    ("POST", "/komisi/{commission_id}/surat/pengaturan"): page(
        ADMINS, data=lambda c: {"letter_city": "Jakarta", "data_license": "CC-BY-4.0"}
    ),
    ("POST", "/komisi/{commission_id}/surat/logo"): page(
        ADMINS, files=lambda c: {"file": ("logo.png", tiny_png(), "image/png")}
    ),
    ("POST", "/komisi/{commission_id}/surat/logo/hapus"): page(ADMINS),
    ("GET", "/komisi/{commission_id}/surat/contoh.pdf"): page(ADMINS),
    ("GET", "/surel"): page(ADMINS | {"other_commission_admin"}),
    # Development without SMTP (as the matrix runs): each administrator reads its own commission's messages.
    ("GET", "/surel/pengembangan"): page(ADMINS | {"other_commission_admin"}),
    ("GET", "/surel/pengembangan/{notice_id}"): page(ADMINS),
    ("GET", "/surel/pengembangan/{notice_id}/html"): page(ADMINS),
    ("GET", "/pengisian/{submission_id}/sanggahan"): page(SAQ_VERIFIERS | {"panelist", "api_read"}),
    ("POST", "/pengisian/{submission_id}/sanggahan/{code}"): page(
        BODY_WRITERS,
        data=lambda c: {"explanation": "DIP sudah ditetapkan", "evidence": "https://ppid.example.go.id/sk"},
    ),
}


# --- The machinery ----------------------------------------------------------------------------------------

_SKIPPED_PATHS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def app_routes() -> list[tuple[str, str]]:
    app = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False))
    found = set()
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or context.path in _SKIPPED_PATHS:
            continue
        for method in context.methods or ():
            found.add((method, str(context.path)))
    return sorted(found, key=lambda r: (r[1], r[0]))


ROUTES = app_routes()
CHECKED = [route for route in ROUTES if route not in PUBLIC]
CASES = [(method, path, role) for method, path in CHECKED if (method, path) in RULES for role in ROLES]
_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass
class Matrix:
    client: TestClient
    ctx: Ctx
    connection: Any
    savepoints: list[Any] = field(default_factory=list)


@pytest.fixture(scope="module")
def matrix(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    """One world per database for the whole module; every test runs in a savepoint rolled back after it."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False
    )
    session = factory()
    world = MatrixWorld(session)
    for name, resolve in PARAMS.items():
        world.params[name] = resolve(world)
    session.commit()
    session.expunge_all()
    settings = Settings(
        environment="test",
        database_url="sqlite://",
        evidence_dir=tmp_path_factory.mktemp("matrix-evidence"),
        questionnaires_dir=ROOT / "questionnaires",
        demo_data=False,
    )
    try:
        with TestClient(create_app(settings, session_factory=factory)) as client:
            yield Matrix(client=client, ctx=Ctx(world=world, params=world.params), connection=connection)
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def isolated(matrix: Matrix) -> Iterator[Matrix]:
    savepoint = matrix.connection.begin_nested()
    try:
        yield matrix
    finally:
        if savepoint.is_active:
            savepoint.rollback()


def _url(path: str, params: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            pytest.fail(f"path parameter {{{name}}} has no resolver: add one to PARAMS in {__file__}")
        return str(params[name])

    return _PATH_PARAM.sub(fill, path)


@pytest.mark.parametrize(("method", "path"), CHECKED, ids=[f"{m} {p}" for m, p in CHECKED])
def test_every_route_has_a_rule(method: str, path: str) -> None:
    if (method, path) not in RULES:
        pytest.fail(
            f"{method} {path} has no entry in RULES of tests/test_permission_matrix.py: add one line "
            f'such as ("{method}", "{path}"): allow(MEMBERS), naming the roles that may call it '
            "(or put it in PUBLIC if anybody may call it without logging in)."
        )


def test_every_rule_names_a_route_of_the_app() -> None:
    stale = sorted(set(RULES) - set(ROUTES)) + sorted(PUBLIC - set(ROUTES))
    assert not stale, f"RULES or PUBLIC name routes the app does not have (remove or fix them): {stale}"


@pytest.mark.db
@pytest.mark.parametrize(("method", "path", "role"), CASES, ids=[f"{m} {p} as {r}" for m, p, r in CASES])
def test_route_as_role(isolated: Matrix, method: str, path: str, role: str) -> None:
    rule = RULES[(method, path)]
    ctx = isolated.ctx
    params = ctx.params | (rule.path(ctx) if rule.path else {})
    response = isolated.client.request(
        method,
        _url(path, params),
        json=rule.json(ctx) if rule.json else None,
        files=rule.files(ctx) if rule.files else None,
        data=rule.data(ctx) if rule.data else None,
        params=rule.query(ctx) if rule.query else None,
        headers=ctx.world.headers[role] | (rule.headers(ctx) if rule.headers else {}),
        follow_redirects=False,
    )
    status = response.status_code
    where = f"{method} {path} as {role}: got {status}: {response.text[:300]}"
    if role in rule.allowed:
        refused = {401, 403} if rule.not_found_ok else {401, 403, 404}
        assert status not in refused, f"allowed, but {where}"
        assert status < 500, f"allowed, but {where}"
    elif role == "anonymous":
        assert status == rule.anonymous_status, f"anonymous must get {rule.anonymous_status}, but {where}"
        if rule.refusal_is_problem:
            problem(response)
    else:
        assert status in {403, 404}, f"must be refused with 403 or 404, but {where}"
        if rule.refusal_is_problem:
            problem(response)
