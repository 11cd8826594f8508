"""Fixtures of the e-mail tests: a real SMTP server on the loopback and settings that send to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.jobs.worker import run_queued
from app.main import create_app
from app.settings import Settings
from tests.mail.smtp import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    """The test settings, sending to ``smtp`` with no rate limit and retries after a second."""
    return settings.model_copy(
        update={
            "smtp_url": smtp.url,
            "mail_per_minute": 0,
            "mail_retry_seconds": 1,
            "base_url": "https://emonev.example",
            "mail_from": "E-Monev <noreply@emonev.example>",
        }
    )


@pytest.fixture
def mail_client(mail_settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    """The app sending to the test's SMTP server (links on https://emonev.example)."""
    with TestClient(create_app(mail_settings, session_factory=session_factory)) as client:
        yield client


def deliver(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Run the queued jobs (the mail delivery among them) as a worker would; returns how many ran."""
    return run_queued(sessions, settings)
