"""Plain factory functions for tests: ``make_x(session, **overrides)`` returns a flushed row."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import count
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.accounts.security import digest, hash_password, key_prefix, new_api_key, new_token
from app.db.models import (
    Account,
    Answer,
    ApiKey,
    AuthToken,
    BodyCategory,
    Commission,
    Invitation,
    Job,
    PublicBody,
    Round,
    RoundTemplate,
    Stage,
    Submission,
    TemplateVersion,
    Verification,
    VerifiedAnswer,
)
from app.questionnaires.service import import_template

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
MINI_TEMPLATE = FIXTURES / "mini.yaml"
_seq = count(1)
PASSWORD = "rahasia-uji-123"


def now() -> datetime:
    return datetime.now(UTC)


def make_commission(session: Session, **overrides: Any) -> Commission:
    n = next(_seq)
    row = Commission(
        **{"code": f"ki-{n}", "name": f"Komisi Informasi {n}", "timezone": "Asia/Jakarta"} | overrides
    )
    session.add(row)
    session.flush()
    return row


def make_category(session: Session, commission: Commission, **overrides: Any) -> BodyCategory:
    n = next(_seq)
    row = BodyCategory(
        **{"commission_id": commission.id, "code": f"kategori-{n}", "name": f"Kategori {n}"} | overrides
    )
    session.add(row)
    session.flush()
    return row


def make_body(session: Session, category: BodyCategory, **overrides: Any) -> PublicBody:
    n = next(_seq)
    row = PublicBody(
        **{
            "commission_id": category.commission_id,
            "category_id": category.id,
            "name": f"Kelurahan Uji {n}",
            "ppid_email": f"ppid{n}@example.go.id",
        }
        | overrides
    )
    session.add(row)
    session.flush()
    return row


@lru_cache(maxsize=1)
def password_hash() -> str:
    """PASSWORD hashed once per run: argon2 is slow on purpose and every World makes six accounts."""
    return hash_password(PASSWORD)


def make_account(session: Session, role: str, **overrides: Any) -> Account:
    n = next(_seq)
    row = Account(
        **{
            "email": f"user{n}@example.go.id",
            "name": f"Pengguna {n}",
            "role": role,
            "password_hash": password_hash(),
        }
        | overrides
    )
    session.add(row)
    session.flush()
    return row


def make_token(session: Session, account: Account) -> str:
    """A valid bearer token for the account, without going through the login endpoint."""
    token = new_token()
    session.add(
        AuthToken(account_id=account.id, token_hash=digest(token), expires_at=now() + timedelta(hours=1))
    )
    session.flush()
    return token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_template(session: Session, path: Path = MINI_TEMPLATE) -> TemplateVersion:
    return import_template(
        session=session, text=path.read_text(encoding="utf-8"), source_name=str(path)
    ).version


def make_round(
    session: Session,
    commission: Commission,
    *,
    templates: dict[BodyCategory, TemplateVersion] | None = None,
    invite: list[PublicBody] = (),  # type: ignore[assignment]
    **overrides: Any,
) -> Round:
    """An open round (window from an hour ago to a week from now) unless overridden."""
    n = next(_seq)
    row = Round(
        **{
            "commission_id": commission.id,
            "year": 2025,
            "title": f"Monev 2025 ({n})",
            "status": "open",
            "saq_opens_at": now() - timedelta(hours=1),
            "saq_closes_at": now() + timedelta(days=7),
        }
        | overrides
    )
    session.add(row)
    session.flush()
    for category, version in (templates or {}).items():
        session.add(RoundTemplate(round_id=row.id, category_id=category.id, template_version_id=version.id))
    for body in invite:
        session.add(Invitation(round_id=row.id, body_id=body.id))
    session.flush()
    return row


def make_submission(
    session: Session, round_: Round, body: PublicBody, version: TemplateVersion, **overrides: Any
) -> Submission:
    row = Submission(
        **{"round_id": round_.id, "body_id": body.id, "template_version_id": version.id} | overrides
    )
    session.add(row)
    session.flush()
    return row


class World:
    """A commission, a category, two bodies invited to an open round (mini template), an account per role."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.commission = make_commission(session)
        self.category = make_category(session, self.commission, code="kelurahan", name="Kelurahan")
        self.body = make_body(session, self.category)
        self.other_body = make_body(session, self.category)
        self.template = make_template(session)
        self.round = make_round(
            session,
            self.commission,
            templates={self.category: self.template},
            invite=[self.body, self.other_body],
        )
        cid = self.commission.id
        self.admin = make_account(session, "commission_admin", commission_id=cid)
        self.verifier = make_account(session, "verifier", commission_id=cid)
        self.panelist = make_account(session, "panelist", commission_id=cid)
        self.operator = make_account(session, "operator", commission_id=cid, body_id=self.body.id)
        self.other_operator = make_account(session, "operator", commission_id=cid, body_id=self.other_body.id)
        self.system_admin = make_account(session, "system_admin")

    def token(self, account: Account) -> dict[str, str]:
        return auth(make_token(self.session, account))


def problem(response: Any) -> dict[str, Any]:
    """Assert the response is problem+json and return its body."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == response.status_code
    return body


def get_json(client: TestClient, url: str, headers: dict[str, str]) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def make_job(session: Session, round_: Round, asked_by: Account, **overrides: Any) -> Job:
    """A recap job of ``round_`` asked for by ``asked_by`` (queued unless ``overrides`` say otherwise)."""
    row = Job(
        **{
            "kind": "recap",
            "commission_id": round_.commission_id,
            "round_id": round_.id,
            "params": {"revision": 1},
            "status": "queued",
            "requested_by": {"role": asked_by.role, "label": asked_by.email, "account_id": asked_by.id},
            "requested_by_label": asked_by.email,
            "progress_done": 0,
            "attempts": 0,
        }
        | overrides
    )
    session.add(row)
    session.flush()
    return row


def make_api_key(session: Session, commission: Commission, scope: str = "read", **overrides: Any) -> str:
    """An API key of the commission (``scope`` "read", or "body" with ``body_id=``); returns the key."""
    key = new_api_key()
    session.add(
        ApiKey(
            **{
                "name": f"Integrasi {next(_seq)}",
                "prefix": key_prefix(key),
                "key_hash": digest(key),
                "scope": scope,
                "commission_id": commission.id,
            }
            | overrides
        )
    )
    session.flush()
    return key


def make_answers(session: Session, submission: Submission, answers: dict[str, dict[str, Any]]) -> None:
    """Store a body's answers as given, e.g. ``{"1.1.1": {"value": "yes", "evidence": ["https://..."]}}``."""
    for code, answer in answers.items():
        session.add(
            Answer(
                submission_id=submission.id,
                question_code=code,
                value=answer.get("value"),
                evidence_links=list(answer.get("evidence", [])),
                note=answer.get("note"),
            )
        )
    session.flush()


def make_verification(
    session: Session,
    submission: Submission,
    verifier: Account | None,
    values: dict[str, dict[str, Any]],
    *,
    completed: bool = False,
) -> Verification:
    """A verification with verified values ``{code: {"value", "evidence_checked", "note"}}``."""
    row = Verification(
        submission_id=submission.id,
        verifier_id=verifier.id if verifier else None,
        status="completed" if completed else "in_progress",
        completed_at=now() if completed else None,
    )
    session.add(row)
    session.flush()
    for code, v in values.items():
        session.add(
            VerifiedAnswer(
                verification_id=row.id,
                question_code=code,
                value=v.get("value"),
                evidence_checked=bool(v.get("evidence_checked", False)),
                note=v.get("note"),
            )
        )
    session.flush()
    return row


def make_stage(session: Session, round_: Round, **overrides: Any) -> Stage:
    """A later stage of the round (presentation, weight 30 unless overridden)."""
    n = next(_seq)
    row = Stage(
        **{
            "round_id": round_.id,
            "code": f"presentasi-{n}",
            "kind": "presentation",
            "title": "Presentasi / Uji Publik",
            "weight": 30,
            "position": n,
        }
        | overrides
    )
    session.add(row)
    session.flush()
    return row


# The mini template answered in full: aspect 1 = 100, aspect 2 = 100, SAQ 100.00.
MINI_FULL: dict[str, dict[str, Any]] = {
    "1.1.1": {"value": "yes", "evidence": ["https://ppid.example.go.id/dip"]},
    "1.1.2": {"value": "a"},
    "2.1": {"value": ["ig", "fb"]},
    "2.2": {"value": 95},
    "2.3": {"value": "https://ppid.example.go.id"},
}


def make_verified_submission(
    session: Session,
    round_: Round,
    body: PublicBody,
    version: TemplateVersion,
    verifier: Account | None,
    changes: dict[str, Any] | None = None,
    *,
    answers: dict[str, dict[str, Any]] | None = None,
    completed: bool = True,
) -> Submission:
    """A submitted mini-template SAQ (``answers``, MINI_FULL by default) with a verification whose values
    are the body's own except ``changes`` (``{code: value}``), every evidence checked."""
    answers = answers if answers is not None else MINI_FULL
    submission = make_submission(session, round_, body, version, status="submitted", submitted_at=now())
    make_answers(session, submission, answers)
    values = {code: a.get("value") for code, a in answers.items()} | (changes or {})
    make_verification(
        session,
        submission,
        verifier,
        {code: {"value": v, "evidence_checked": True} for code, v in values.items()},
        completed=completed,
    )
    return submission


def tiny_pdf(text: str = "Laporan layanan informasi publik 2024") -> bytes:
    """A small, well-formed one-page PDF."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def tiny_png() -> bytes:
    """A valid 1x1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
