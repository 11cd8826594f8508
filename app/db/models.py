"""ORM models. API schemas live in each domain's ``schemas.py``; these classes are storage only.

Every ``*_at`` column is timezone-aware and stored in UTC; pages convert to the commission's time zone.
Scores are never stored as floats: answers are stored as given and scored by ``scoring`` on read; published
figures are frozen as ``Numeric(5, 2)`` in publication snapshots.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, CreatedAt, utcnow

Score = Numeric(5, 2)
Weight = Numeric(7, 3)


class Commission(CreatedAt, Base):
    __tablename__ = "commission"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")
    # E-mail (app/mail/): replies to the commission's notices go to this address (the sender is the service's
    # EMONEV_MAIL_FROM), and the notices end with this signature (default: "Sekretariat <name>").
    mail_reply_to: Mapped[str | None] = mapped_column(String(320))
    mail_signature: Mapped[str | None] = mapped_column(Text)
    # The license of the commission's open data (an SPDX identifier, app/commissions/licenses.py), shown on
    # the public portal and written into every data package.
    data_license: Mapped[str] = mapped_column(String(64), default="CC-BY-4.0", server_default="CC-BY-4.0")
    # The letterhead and signature of the commission's PDF letters (app/letters/): heading lines (default:
    # the commission's name), address lines, the city before the date, the chair who signs, the letter
    # number's pattern, and a logo image (PNG or JPEG) with its media type.
    letter_heading: Mapped[str | None] = mapped_column(Text)
    letter_address: Mapped[str | None] = mapped_column(Text)
    letter_city: Mapped[str | None] = mapped_column(String(100))
    letter_chair_name: Mapped[str | None] = mapped_column(String(200))
    letter_chair_title: Mapped[str | None] = mapped_column(String(200))
    letter_number_format: Mapped[str | None] = mapped_column(String(200))
    letter_logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    letter_logo_type: Mapped[str | None] = mapped_column(String(64))
    # When something the public portal shows changed other than by a new publication (a body renamed, the
    # license changed): part of the portal's ETag (app/portal/caching.py), so caches revalidate.
    public_changed_at: Mapped[datetime | None]


class BodyCategory(CreatedAt, Base):
    __tablename__ = "body_category"
    __table_args__ = (UniqueConstraint("commission_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commission.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class PublicBody(CreatedAt, Base):
    __tablename__ = "public_body"
    __table_args__ = (UniqueConstraint("commission_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commission.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("body_category.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    region_code: Mapped[str | None] = mapped_column(String(32), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("public_body.id"), index=True)
    ppid_email: Mapped[str | None] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    category: Mapped[BodyCategory] = relationship(lazy="joined")


# A body's name is unique in its commission ignoring case: "kelurahan gambir" is "Kelurahan Gambir". The
# (commission_id, name) constraint above stays: it is implied by this one and serves the lists in name order.
Index(
    "uq_public_body_commission_id_lower_name",
    PublicBody.commission_id,
    func.lower(PublicBody.name),
    unique=True,
)


class TemplateVersion(CreatedAt, Base):
    """An imported SAQ template version. Immutable: (key, version) identifies it and content_hash pins it."""

    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(300))
    source_text: Mapped[str] = mapped_column(Text)
    body_categories: Mapped[list[str]] = mapped_column(JSON)
    question_count: Mapped[int] = mapped_column(Integer)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class Round(CreatedAt, Base):
    """A Monev round of one commission: its SAQ window, stages, gate and publication state."""

    __tablename__ = "round"
    __table_args__ = (UniqueConstraint("commission_id", "year", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commission.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    # draft -> open -> closed -> verification -> objection -> stages -> final -> published
    status: Mapped[str] = mapped_column(String(32), default="draft")
    saq_opens_at: Mapped[datetime]
    saq_closes_at: Mapped[datetime]
    # The instant the SAQ stage actually closed (the move from open to closed), earlier than saq_closes_at
    # when the commission closed it early; None until then.
    saq_closed_at: Mapped[datetime | None]
    objection_opens_at: Mapped[datetime | None]
    objection_closes_at: Mapped[datetime | None]
    results_released_at: Mapped[datetime | None]
    saq_weight: Mapped[Decimal] = mapped_column(Weight, default=Decimal(100))
    # What a body that did not reach a later stage gets: "zero" for the missing stage, or "saq_only".
    missing_stage_policy: Mapped[str] = mapped_column(String(16), default="zero")
    # What a draft still unsubmitted at its body's deadline becomes: "not_participating" (tidak mengikuti) or
    # "submit" (submitted as it stands).
    drafts_at_deadline: Mapped[str] = mapped_column(
        String(24), default="not_participating", server_default="not_participating"
    )
    gate_min_score: Mapped[Decimal | None] = mapped_column(Score)
    gate_top_n: Mapped[int | None] = mapped_column(Integer)


class RoundTemplate(Base):
    """Which template version a body category answers in a round."""

    __tablename__ = "round_template"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("body_category.id"), primary_key=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"), index=True)


class Invitation(CreatedAt, Base):
    """A body invited to a round. Invited but never submitted is reported as 'tidak mengikuti'."""

    __tablename__ = "invitation"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("public_body.id"), primary_key=True, index=True)


class DeadlineExtension(CreatedAt, Base):
    """A plenary decision moving the SAQ closing instant for the whole round, some categories or bodies."""

    __tablename__ = "deadline_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    closes_at: Mapped[datetime]
    scope: Mapped[str] = mapped_column(String(16))  # round | categories | bodies
    category_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    body_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class Stage(CreatedAt, Base):
    """A stage after the SAQ (presentation, site visit, interview) with its weight in the final score."""

    __tablename__ = "stage"
    __table_args__ = (UniqueConstraint("round_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))  # presentation | site_visit | interview
    title: Mapped[str] = mapped_column(String(200))
    weight: Mapped[Decimal] = mapped_column(Weight)
    aggregation: Mapped[str] = mapped_column(String(16), default="mean")
    position: Mapped[int] = mapped_column(Integer, default=1)


class Submission(CreatedAt, Base):
    """One body's SAQ in one round, pinned to the template version it answers."""

    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("round_id", "body_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("public_body.id"), index=True)
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | submitted
    # Optimistic concurrency: bumped on every change, sent as the ETag.
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # The last time the commission reopened it after it was submitted, and why (shown to the body while it
    # is a draft again; every reopening is in the audit log).
    reopened_at: Mapped[datetime | None]
    reopen_reason: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Answer(Base):
    """A body's own answer to one question. Never overwritten by verification."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("submission_id", "question_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (submission_id, question_code) index serves look-ups by submission.
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    question_code: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    evidence_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class EvidenceFile(CreatedAt, Base):
    """An uploaded evidence document, stored content-addressed by its SHA-256 under the evidence directory."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    question_code: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(300))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    removed_at: Mapped[datetime | None]


class Account(CreatedAt, Base):
    """A person who logs in. Roles: system_admin, commission_admin, verifier, panelist, operator."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commission.id"), index=True)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("public_body.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def activated(self) -> bool:
        """False while the account waits for its holder to set a password through an invitation link (its
        hash is then an unusable marker, ``accounts.security.UNUSABLE_PREFIX``, that matches no password)."""
        return not self.password_hash.startswith("!")


# E-mails are stored normalised (trimmed, lower case; ``accounts.service.normalise_email``); this index holds
# the rule even for a row written some other way.
Index("uq_account_lower_email", func.lower(Account.email), unique=True)


class AuthToken(CreatedAt, Base):
    """An opaque bearer token (stored as its SHA-256) issued at login; expires and can be revoked."""

    __tablename__ = "auth_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ApiKey(CreatedAt, Base):
    """An integrator's key (stored as its SHA-256). Scope: ``read`` (commission read-only) or ``body``."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    commission_id: Mapped[int] = mapped_column(ForeignKey("commission.id"), index=True)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("public_body.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Append-only: who changed what, when, with the values before and after.

    The actor and commission are recorded as plain ids, not foreign keys: an entry must not hold up the rows
    it describes, and a foreign key made every audited change share-lock its commission's row (every save of
    every body of a commission queued on that one row's lock bookkeeping)."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(320))
    commission_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


class LoginFailure(Base):
    """One failed login, kept only while it counts towards throttling logins with that e-mail. The e-mail is
    kept as the SHA-256 of its normalised form: the table needs to match attempts, not to know addresses."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_email_hash_at", "email_hash", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IdempotentRequest(CreatedAt, Base):
    """The stored response of a request sent with an Idempotency-Key, replayed when it is retried."""

    __tablename__ = "idempotent_request"

    actor: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSON)


# --- Verification, objections, stages and publication -------------------------------------------------


class VerifierAssignment(CreatedAt, Base):
    __tablename__ = "verifier_assignment"

    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("public_body.id"), primary_key=True)
    verifier_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)


class Verification(CreatedAt, Base):
    __tablename__ = "verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), unique=True)
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # in_progress | completed
    completed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class VerifiedAnswer(Base):
    """The verifier's value for one question, beside (never over) the body's own answer."""

    __tablename__ = "verified_answer"
    __table_args__ = (UniqueConstraint("verification_id", "question_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    verification_id: Mapped[int] = mapped_column(ForeignKey("verification.id"), index=True)
    question_code: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    evidence_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class LinkCheck(Base):
    __tablename__ = "link_check"
    __table_args__ = (Index("ix_link_check_submission_url", "submission_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    url: Mapped[str] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Objection(CreatedAt, Base):
    """A body's objection (sanggahan) to the verified value of one question, and the verifier's decision."""

    __tablename__ = "objection"
    __table_args__ = (UniqueConstraint("submission_id", "question_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    question_code: Mapped[str] = mapped_column(String(64))
    explanation: Mapped[str] = mapped_column(Text)
    evidence_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | rejected
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[datetime | None]


class PanelScore(CreatedAt, Base):
    """One judge's score of one body at one stage (optionally per criterion)."""

    __tablename__ = "panel_score"
    __table_args__ = (UniqueConstraint("stage_id", "body_id", "panelist_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("stage.id"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("public_body.id"), index=True)
    panelist_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    score: Mapped[Decimal] = mapped_column(Score)
    criteria: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Publication(CreatedAt, Base):
    """A frozen revision of a round's results. A correction is a new revision, never an edit."""

    __tablename__ = "publication"
    __table_args__ = (UniqueConstraint("round_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    stage_weights: Mapped[Any] = mapped_column(JSON)
    # The round's rules as they stood when published, so that a later change of the round cannot rewrite
    # why a published figure is what it is: the gate, the missing-stage policy and the stages' titles.
    gate_min_score: Mapped[Decimal | None] = mapped_column(Score)
    gate_top_n: Mapped[int | None] = mapped_column(Integer)
    missing_stage_policy: Mapped[str] = mapped_column(String(16), default="zero", server_default="zero")
    stage_titles: Mapped[Any] = mapped_column(JSON, default=dict, server_default="{}")


class PublishedResult(Base):
    """One body's row in a publication: the figures exactly as published."""

    __tablename__ = "published_result"
    __table_args__ = (
        Index("ix_published_result_ranking", "publication_id", "category_id", "rank"),
        UniqueConstraint("publication_id", "body_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(ForeignKey("publication.id"))
    body_id: Mapped[int] = mapped_column(ForeignKey("public_body.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("body_category.id"))
    participating: Mapped[bool] = mapped_column(Boolean)
    self_score: Mapped[Decimal | None] = mapped_column(Score)
    verified_score: Mapped[Decimal | None] = mapped_column(Score)
    stage_scores: Mapped[Any] = mapped_column(JSON, default=dict)
    aspect_scores: Mapped[Any] = mapped_column(JSON, default=dict)
    final_score: Mapped[Decimal | None] = mapped_column(Score)
    band: Mapped[str | None] = mapped_column(String(64))
    rank: Mapped[int | None] = mapped_column(Integer)
    # What the gate decided: passed or not (None: took no part), the rank by verified SAQ score in the
    # category the gate used, and the stage codes (``"saq"`` too, for a body that took no part) the body
    # did not take part in.
    passed_gate: Mapped[bool | None] = mapped_column(Boolean)
    gate_rank: Mapped[int | None] = mapped_column(Integer)
    missing_stages: Mapped[Any] = mapped_column(JSON, default=list, server_default="[]")


class Job(CreatedAt, Base):
    """A piece of long work (a recap, a ZIP of result sheets, a link sweep, an import) asked for once and run
    by a worker: its state, progress and outcome, and the file it made.

    ``dedup_key`` (kind, round, options) is set while the job is queued or running and cleared when it ends:
    the unique index lets one identical job be waiting at a time, however many people ask at once."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_round_id_id", "round_id", "id"),
        Index("ix_job_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commission.id"), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"))
    params: Mapped[Any] = mapped_column(JSON, default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # queued | running | done | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Who asked, as they were when asking (role, label, ids); the job runs with their rights as they are now.
    requested_by: Mapped[Any] = mapped_column(JSON)
    requested_by_label: Mapped[str] = mapped_column(String(320))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    # Moved by the running job at least every few seconds: how fresh its progress is.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    error_indonesian: Mapped[str | None] = mapped_column(Text)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(300))
    file_path: Mapped[str | None] = mapped_column(String(300))
    file_size: Mapped[int | None] = mapped_column(Integer)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_media_type: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None]
    file_removed_at: Mapped[datetime | None]
    # The queue's own id for this job (PostgreSQL: procrastinate_jobs.id), for cancelling it there too.
    queue_job_id: Mapped[int | None] = mapped_column(Integer)
    # A part of a larger job (the result sheets of a large round, split so that several workers share it):
    # the job it belongs to. That parent counts its parts and those that finished (see app/jobs/parts.py).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"), index=True)
    parts_total: Mapped[int | None] = mapped_column(Integer)
    parts_done: Mapped[int | None] = mapped_column(Integer)


# --- E-mail ---------------------------------------------------------------------------------------------


class Notice(CreatedAt, Base):
    """One e-mail to one address about one event: the transactional outbox (app/mail/).

    Written in the transaction of the event it tells of (so a rollback sends nothing and a commit always
    sends) and delivered by a job. ``key`` (the event, the occurrence and the recipient) is unique: the same
    notice is never written twice. ``context`` holds what its template says, frozen when written; links are
    made when it is sent (from EMONEV_BASE_URL; the single-use links from the secret key, never stored).

    status: ``pending`` (waiting for ``next_attempt_at``), ``sending`` (a worker has handed or is handing it
    to the SMTP server), ``sent``, ``failed`` (refused for good, or refused too often), ``uncertain`` (its
    worker stopped while sending: it may or may not have gone, so it is not sent again unless a person says
    so), ``cancelled`` (no longer wanted when its turn came: a reminder to a body that has since submitted).
    """

    __tablename__ = "notice"
    __table_args__ = (
        # The claim's order (priority, next_attempt_at, id) read off the index: a mailing's thousands of
        # rows share one next_attempt_at, and sorting them again for every message cost 17 ms a claim.
        Index("ix_notice_status_next_attempt_at", "status", "priority", "next_attempt_at", "id"),
        Index("ix_notice_round_id_id", "round_id", "id"),
        Index("ix_notice_commission_id_id", "commission_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of (event, ref, recipient)
    event: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(200))  # which occurrence of the event: "publication:9"
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commission.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"))
    body_id: Mapped[int | None] = mapped_column(ForeignKey("public_body.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    context: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # 0 goes before 1: a link a person is waiting for (a password reset, an invitation) is not queued
    # behind a round's mailing of thousands.
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
    # How it went (or "log" in development without SMTP) and the Message-ID it carried.
    transport: Mapped[str | None] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(300))
    # The SMTP server's last answer ("250 2.0.0 Ok: queued", "550 5.1.1 no such user") or the connection
    # error.
    last_response: Mapped[str | None] = mapped_column(Text)
    # How many times a person asked for it to be sent again (each resend gets a Message-ID of its own).
    resends: Mapped[int] = mapped_column(Integer, default=0)


class Webhook(CreatedAt, Base):
    """An endpoint a commission's administrator registered to hear of its events (app/webhooks/).

    ``secret`` (``whsec_`` and base64 of 32 random bytes) signs every delivery (Standard Webhooks); it is
    shown once, when the endpoint is registered, and stored as it is (not encrypted at rest: whoever reads
    the database could sign as the service). ``events`` lists the event types it is subscribed to."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(ForeignKey("commission.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[Any] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))


class WebhookDelivery(CreatedAt, Base):
    """One event to one endpoint: the webhooks' transactional outbox, written in the transaction of the event.

    ``event_id`` (``evt_...``, the ``webhook-id`` header) names the event and is the same in every attempt,
    so the receiver can drop a repeat; (webhook, event) is unique. ``data`` is what the event says (ids,
    status, instants and ``paths``, which become absolute links when it is sent), never personal data.

    status: ``pending`` (waiting for ``next_attempt_at``), ``sending`` (a worker is posting it; one that stops
    meanwhile leaves it so, and after the lease it is pending again: at least once), ``delivered`` (a 2xx
    answer), ``failed`` (no 2xx by ``webhook_give_up_hours`` after the event)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id"),
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at", "id"),
        Index("ix_webhook_delivery_webhook_id_id", "webhook_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    data: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    # The receiver's last HTTP status, or None when there was no answer (see last_error).
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    # Why the last attempt did not deliver: "HTTP 500: <the first 200 characters of the answer>", "timed
    # out", "could not connect to the server", "blocked: ...".
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class AccountToken(CreatedAt, Base):
    """A single-use link to set an account's password: an invitation or a password reset.

    The link's secret is never stored: it is an HMAC of (purpose, id, nonce) under the service's secret key,
    so neither the database alone nor the outbox (which renders the link when it sends) can give it away."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # invitation | password_reset
    nonce: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Set when a newer link of the same purpose was sent, or the password was set another way.
    revoked_at: Mapped[datetime | None]


class MailOptOut(CreatedAt, Base):
    """An address that asked for no more deadline reminders (official notices still go to it)."""

    __tablename__ = "mail_opt_out"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)


class RequestThrottle(Base):
    """One request counted towards a limit other than failed logins (password-reset requests per address and
    per client): the key is a digest, kept only while it counts."""

    __tablename__ = "request_throttle"
    __table_args__ = (Index("ix_request_throttle_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
