"""Apply Alembic migrations from code (the CLI and start-up use this; tests use it on their connection)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.db.session import Timeouts, get_engine

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    return Config(str(ROOT / "alembic.ini"))


def upgrade(url: str, *, timeouts: Timeouts = Timeouts()) -> None:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    config = alembic_config()
    with get_engine(url, timeouts=timeouts).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
