"""Service settings: one place, read from the environment with the ``EMONEV_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SECRET = "change-me-development-only"  # noqa: S105 - a placeholder refused outside development
# Placeholders refused in production once mail is sent: every link would point at the sender's own machine.
DEFAULT_MAIL_FROM = "E-Monev <e-monev@localhost>"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMONEV_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/emonev.sqlite3"
    # PostgreSQL connections each app process keeps open, and how many more it may open at a peak (closed
    # again after use). Keep the pool at least as large as the requests a process serves at once: a request
    # past it opens and closes a connection of its own, which costs PostgreSQL a new backend every time.
    # Every process may hold pool + overflow: keep processes x (pool + overflow) under max_connections.
    db_pool_size: int = Field(default=30, ge=1, le=1000)
    db_max_overflow: int = Field(default=10, ge=0, le=1000)
    # Timeouts (README, "Timeouts"). A request that waits longer than these answers 503 with Retry-After
    # instead of hanging: the connection to PostgreSQL (connect_timeout), a free connection of the pool, one
    # statement and one lock (PostgreSQL statement_timeout and lock_timeout; SQLite waits busy_timeout for
    # its write lock). Exports, imports and the command line get the long pair instead.
    db_connect_timeout_seconds: int = Field(default=5, ge=1, le=300)
    db_pool_timeout_seconds: float = Field(default=5, gt=0, le=300)
    db_statement_timeout_seconds: float = Field(default=15, gt=0, le=24 * 3600)
    db_lock_timeout_seconds: float = Field(default=5, gt=0, le=24 * 3600)
    db_long_statement_timeout_seconds: float = Field(default=600, gt=0, le=24 * 3600)
    db_long_lock_timeout_seconds: float = Field(default=60, gt=0, le=24 * 3600)
    db_sqlite_busy_timeout_seconds: float = Field(default=10, gt=0, le=3600)
    # A client that sends nothing of its request body for this long is answered 408 (app/body_timeout.py);
    # an idle keep-alive connection is closed after keep_alive_timeout (uvicorn's timeout_keep_alive).
    body_read_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    keep_alive_timeout_seconds: int = Field(default=5, ge=1, le=600)
    # How long `emonev serve --workers N` waits for a worker process to start (import the app) before it
    # restarts it; a loaded machine can need far more than uvicorn's default of 5 s.
    worker_startup_timeout_seconds: int = Field(default=60, ge=1, le=3600)
    # Saves of answers each app process runs at once; more wait their turn, first come, first served
    # (app/submissions/queue.py). Two keep a core busy while one save waits on the database.
    save_concurrency: int = Field(default=2, ge=1, le=64)
    secret_key: str = DEFAULT_SECRET
    # Where evidence files live, content-addressed; share this directory between app processes.
    evidence_dir: Path = Path("var/evidence")
    evidence_max_bytes: int = 2 * 1024 * 1024
    questionnaires_dir: Path = Path("questionnaires")
    demo_data: bool = True
    token_ttl_hours: int = 12
    # Login throttling per e-mail: this many failed logins within the window refuse further attempts (429)
    # until the oldest of them is older than the window.
    login_max_failures: int = Field(default=10, ge=1, le=1000)
    login_failure_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    upload_max_bytes: int = 10 * 1024 * 1024
    # Largest template YAML an upload may send (413 past it). The bundled SAQs are about 40 KB; parsing and
    # validating takes about a second per 100 KB, which a worker spends on nothing else meanwhile.
    template_max_bytes: int = Field(default=256 * 1024, ge=1024, le=10 * 1024 * 1024)
    link_check_timeout_seconds: float = 5.0
    # A round's link sweep (README, "Link sweeps") does not fetch again a link whose latest check, within
    # this many hours, was OK (a verifier's check that afternoon, the previous sweep); 0 fetches every link.
    link_sweep_skip_ok_hours: float = Field(default=12, ge=0, le=24 * 30)
    # Whether the workers queue a sweep of every open round each night at 02:00 local time (README).
    link_sweep_nightly: bool = True
    # Background jobs (README, "Jobs and workers"). Files the jobs make (recaps, ZIPs) go here, by job, and
    # are removed job_files_keep_days after they were made; share this directory between the servers and
    # the workers, like evidence_dir.
    job_files_dir: Path = Path("var/job-files")
    job_files_keep_days: int = Field(default=7, ge=1, le=3650)
    # A job that stopped this many times without finishing (an error, a worker killed, the database gone) is
    # marked failed with the last reason instead of being tried again.
    job_max_attempts: int = Field(default=3, ge=1, le=20)
    # Where jobs run: None means in the server process on SQLite (one machine) and in `emonev worker`
    # processes on PostgreSQL. True on PostgreSQL runs a worker inside each server process as well.
    jobs_in_server: bool | None = None
    # Jobs one worker process runs at once (each in its own thread).
    worker_concurrency: int = Field(default=1, ge=1, le=64)
    # A worker tells the queue it is alive every heartbeat seconds; the jobs of a worker silent for
    # stalled_after seconds (killed, its machine gone) are handed to another worker.
    worker_heartbeat_seconds: float = Field(default=10, gt=0, le=3600)
    worker_stalled_after_seconds: float = Field(default=60, gt=0, le=24 * 3600)
    # Exports that still stream at once from their GET route (README, "Small exports at once, large ones as
    # jobs"): a publication with at most this many bodies; past it the GET answers 409 naming the job form.
    # Two limits, as a body costs the recap about 0.5 ms of CPU and the result-sheet ZIP about 13 ms: at
    # these defaults each takes about 2.5 s of CPU (bench/sync_exports.py), some 5 s on a busy 2-core machine.
    sync_recap_max_bodies: int = Field(default=5000, ge=0, le=10_000_000)
    sync_result_sheets_max_bodies: int = Field(default=200, ge=0, le=10_000_000)
    # A body import (CSV or .xlsx) of more rows than this is refused at once (409) and made through its job
    # form, POST /commissions/{id}/bodies/import-jobs (README, "Imports and previews as jobs"): about 1 ms a
    # row (bench/import_job.py), some 5 s at the default. The live results (GET /rounds/{id}/results) and
    # the publication (POST /rounds/{id}/publish) of a round with more invited bodies than
    # sync_results_max_bodies likewise: every score is recomputed, about 15 ms a body on a busy 2-core
    # machine (bench/results_preview.py).
    sync_import_max_rows: int = Field(default=5000, ge=1, le=1_000_000)
    sync_results_max_bodies: int = Field(default=1000, ge=1, le=1_000_000)
    # The result sheets ZIP of a round with more bodies than this is made in parts of this many bodies, which
    # the workers share (README, "Result sheets of a large round"); a smaller round is one job.
    result_sheets_bodies_per_part: int = Field(default=1000, ge=1, le=20000)
    # Likewise the letters (PDF) of a round: a letter takes about 20 ms to typeset (bench/letters.py).
    letters_bodies_per_part: int = Field(default=500, ge=1, le=20000)

    # Public pages, open data and the public API (README, "Public results"): requests per client address,
    # one or more limits separated by ";" ("120/minute;2000/hour"), counted where the storage URL says:
    # memory:// in each process, redis://host:6379 shared by every process (app/portal/limits.py).
    public_rate_limit: str = "120/minute;3000/hour"
    rate_limit_storage_url: str = "memory://"

    # E-mail (README, "E-mail"). Without smtp_url, development writes every message to the log and to the
    # "Surel (pengembangan)" page instead of sending it; production keeps them pending until it is set.
    # smtp://user:pass@host:587 (STARTTLS: required when a password is given), smtps://user:pass@host:465
    # (TLS from the start), smtp://host:25 (a relay on a trusted network).
    smtp_url: str | None = None
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=600)
    # A CA bundle (PEM) to trust for the SMTP server's certificate besides the system's (an internal CA).
    smtp_ca_file: Path | None = None
    # The sender of every notice ("Nama <alamat>" or an address); replies go to the commission's own
    # reply-to address when it has one.
    mail_from: str = DEFAULT_MAIL_FROM
    # The address the links in messages point to, as people reach the service.
    base_url: str = DEFAULT_BASE_URL
    # Messages sent per minute by one worker process, at most (0: no limit). Providers limit sending rates.
    mail_per_minute: int = Field(default=120, ge=0, le=100_000)
    # A message the server refused for now (4xx, no connection) is tried again after retry, 2x, 4x... up to
    # an hour, at most mail_max_attempts times in all; then it is marked failed.
    mail_retry_seconds: float = Field(default=60, gt=0, le=3600)
    mail_max_attempts: int = Field(default=10, ge=1, le=100)
    # Single-use links: an invitation to set a password, and a password reset.
    invitation_valid_days: int = Field(default=7, ge=1, le=90)
    password_reset_valid_minutes: int = Field(default=60, ge=5, le=24 * 60)
    # Password-reset requests answered per address and per client (IP address) within the window; past
    # them, 429 (the same answer whether or not the address has an account).
    password_reset_per_address: int = Field(default=3, ge=1, le=1000)
    password_reset_per_client: int = Field(default=20, ge=1, le=100_000)
    password_reset_window_minutes: int = Field(default=60, ge=1, le=24 * 60)
    # Deadline reminders: this many days before each body's own deadline, at this hour of the commission's
    # time zone, to bodies that have not submitted.
    # EMONEV_REMINDER_DAYS=7,3,1
    reminder_days: Annotated[list[int], NoDecode] = Field(default=[7, 3, 1])
    reminder_hour: int = Field(default=8, ge=0, le=23)

    # Webhooks (README, "Webhooks"). Endpoints must resolve to public addresses only, like evidence links,
    # except these: host names (exact) or IP networks that on-premise integrations use, comma-separated
    # (EMONEV_WEBHOOK_ALLOWED_HOSTS=hooks.ki.internal,10.20.0.0/16). Outside production http is accepted as
    # well as https; in production only https, except for a host let through here.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default=[])
    # Each delivery's connect and read timeout; the response is not waited for longer than twice this.
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=120)
    # The waits between attempts, in seconds: after the first failure the first, and so on; the last is
    # repeated until webhook_give_up_hours after the event, when the delivery is marked failed.
    webhook_retry_seconds: Annotated[list[float], NoDecode] = Field(default=[30, 120, 600, 1800, 3600, 7200])
    webhook_give_up_hours: float = Field(default=24, gt=0, le=24 * 30)
    # Deliveries that ended (delivered, or failed for good) are removed this many days after their last
    # attempt; pending ones never are.
    webhook_keep_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("reminder_days", mode="before")
    @classmethod
    def _days_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("reminder_days")
    @classmethod
    def _days_in_range(cls, value: list[int]) -> list[int]:
        if any(day < 0 or day > 90 for day in value):
            raise ValueError("reminder days must be between 0 and 90")
        return sorted(set(value), reverse=True)

    @field_validator("webhook_allowed_hosts", "webhook_retry_seconds", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_allowed_hosts")
    @classmethod
    def _allowed_hosts_parse(cls, value: list[str]) -> list[str]:
        from app.verification.linkcheck import AllowList

        AllowList.parse(value)  # raises naming the entry that is neither a host nor a network
        return value

    @field_validator("webhook_retry_seconds")
    @classmethod
    def _retries_in_range(cls, value: list[float]) -> list[float]:
        if not value or any(wait <= 0 or wait > 24 * 3600 for wait in value):
            raise ValueError("webhook retry waits must be more than 0 and at most 86400 seconds")
        return value

    @field_validator("public_rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit such as 120/minute;3000/hour: {exc}") from exc
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parses(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from app.mail.transport import parse_smtp_url  # (it imports this module)

        try:
            parse_smtp_url(value)
        except ValueError as exc:
            raise ValueError(str(exc).removeprefix("EMONEV_SMTP_URL ")) from None
        return value.strip()

    @property
    def mail_configured(self) -> bool:
        return bool(self.smtp_url)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError("EMONEV_SECRET_KEY must be set to a real secret outside development")
        if self.environment == "production" and self.smtp_url:
            if self.base_url == DEFAULT_BASE_URL:
                raise ValueError("EMONEV_BASE_URL must be set: the links in e-mail point to it")
            if self.mail_from == DEFAULT_MAIL_FROM:
                raise ValueError("EMONEV_MAIL_FROM must be set to a real sender address when e-mail is sent")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment != "production"


@lru_cache
def get_settings() -> Settings:
    return Settings()


async def _app_settings(request: Request) -> Settings:
    # async: it does no I/O, and a sync dependency would cost a thread-pool hop on every request.
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_app_settings)]
