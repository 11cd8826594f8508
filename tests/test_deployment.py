"""The deployment example (compose.yaml) and the image (Dockerfile) name commands and options that exist:
there is no Docker engine here to run them, so each `emonev` command the compose file names is asked for its
--help, and every option it passes must be one that help lists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.processes import ROOT, emonev

COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def emonev_commands() -> dict[str, list[str]]:
    return {
        name: service["command"]
        for name, service in compose()["services"].items()
        if service.get("image") == "emonev"
    }


def test_compose_runs_the_one_image_as_server_worker_and_migration() -> None:
    services = compose()["services"]
    commands = emonev_commands()
    assert {name: command[:2] for name, command in commands.items()} == {
        "migrate": ["emonev", "db"],
        "app": ["emonev", "serve"],
        "worker": ["emonev", "worker"],
    }
    # Servers and workers share the volume holding the evidence and the files jobs make.
    assert services["app"]["volumes"] == services["worker"]["volumes"] == ["emonev-data:/data"]
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert "healthcheck" not in services["app"]  # the image's own, on /healthz
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", ["migrate", "app", "worker"])
def test_each_command_in_compose_exists_with_its_options(service: str, tmp_path: Path) -> None:
    command = emonev_commands()[service]
    words = [w for w in command[1:] if not w.startswith("-")]
    subcommand = words[: len(words) if service == "migrate" else 1]
    env = {"EMONEV_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "PATH": "/usr/bin:/bin"}
    helped = emonev(env, *subcommand, "--help", timeout=60).stdout
    for option in (w for w in command if w.startswith("--")):
        assert re.search(rf"(^|\s|\[){re.escape(option)}\b", helped), (option, helped)


def test_the_image_keeps_job_files_on_its_volume_and_serves_by_default() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert "EMONEV_JOB_FILES_DIR=/data/job-files" in dockerfile
    assert "mkdir -p /data/evidence /data/job-files" in dockerfile
    assert "HEALTHCHECK" in dockerfile
    assert 'CMD ["emonev", "serve", "--host", "0.0.0.0", "--port", "8000"' in dockerfile
