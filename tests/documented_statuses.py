"""Every status the test suite sees an API operation answer is one its OpenAPI document lists.

The suite drives every error path on purpose (thousands of tests), so it is the widest witness of what the
service answers. This plugin records, for every request any test app serves, the operation (method and
path template) and the status; at the end of the run every recorded pair must be documented, or the run
fails with the list. The document is built from the code (app/contract/), so a route that starts raising a
new kind of error without declaring it is caught here, not by an integrator's generated client.

With pytest-xdist each worker writes what it saw to a file and the controller checks them all.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.main import EmonevApp, create_app
from app.settings import Settings

# Response headers an integrator acts on: each one an answer carries must be in its documented response.
WATCHED_HEADERS = (
    "etag",
    "location",
    "retry-after",
    "www-authenticate",
    "idempotent-replayed",
    "deprecation",
)

# (method, path, status, the watched headers it carried, the media type of its body or "" without one)
SEEN: set[tuple[str, str, int, str, str]] = set()
DIRECTORY_VARIABLE = "EMONEV_TEST_STATUS_LOG"


class _Recorder:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status: list[int] = []
        headers: list[str] = []
        media_type: list[str] = []
        body: list[bool] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
                found = {name.decode("latin-1").lower(): value for name, value in message.get("headers", [])}
                headers.extend(h for h in WATCHED_HEADERS if h in found)
                media_type.append(found.get("content-type", b"").decode("latin-1").split(";")[0].strip())
            elif message["type"] in ("http.response.body", "http.response.pathsend"):
                body.append(bool(message.get("body")) or message["type"] == "http.response.pathsend")
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            if status:
                kind = media_type[0] if any(body) and scope["method"] != "HEAD" else ""
                SEEN.add((scope["method"].lower(), scope["path"], status[0], ",".join(headers), kind))


_original_stack = EmonevApp.build_middleware_stack


def _recording_stack(self: EmonevApp) -> ASGIApp:
    return _Recorder(_original_stack(self))


def _templates(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """Each documented path as a pattern, the most literal first (``/a/{id}/jobs`` before ``/a/{x}/{y}``)."""
    patterns = []
    for path in spec["paths"]:
        parts = re.split(r"(\{[^}]+\})", path)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        patterns.append((literal, re.compile(regex + "$"), path))
    return [(pattern, path) for _, pattern, path in sorted(patterns, key=lambda t: -t[0])]


def undocumented(seen: set[tuple[str, str, int, str, str]], spec: dict[str, Any]) -> list[str]:
    """The recorded answers whose status the operation (found by its path template) does not list, or
    whose watched headers or body's media type its documented response does not."""
    templates = _templates(spec)
    found = set()
    for method, path, status, headers, kind in seen:
        template = next((t for pattern, t in templates if pattern.match(path)), None)
        operation = spec["paths"].get(template, {}).get(method) if template else None
        if operation is None:
            continue  # not an operation of the document (pages, test-only routes, a wrong method: 405)
        if status == 500:
            continue  # a bug, never documented: the tests that provoke one on purpose check it is logged
        response = operation["responses"].get(str(status))
        if response is None:
            found.add(f"{method.upper()} {template} answered {status}")
            continue
        documented = {name.lower() for name in response.get("headers", {})}
        for header in headers.split(",") if headers else ():
            if header not in documented:
                found.add(f"{method.upper()} {template} answered {status} with {header}")
        if kind and kind not in response.get("content", {}):
            found.add(f"{method.upper()} {template} answered {status} in {kind}")
    return sorted(found)


def pytest_configure(config: pytest.Config) -> None:
    EmonevApp.build_middleware_stack = _recording_stack  # type: ignore[method-assign]
    if not hasattr(config, "workerinput") and DIRECTORY_VARIABLE not in os.environ:
        os.environ[DIRECTORY_VARIABLE] = tempfile.mkdtemp(prefix="emonev-statuses-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    directory = Path(os.environ[DIRECTORY_VARIABLE])
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker is not None:
        (directory / f"{worker}.json").write_text(json.dumps(sorted(SEEN)))
        return
    seen = set(SEEN)
    for log in directory.glob("*.json"):
        seen |= {(m, p, s, h, k) for m, p, s, h, k in json.loads(log.read_text())}
        log.unlink()
    directory.rmdir()
    if not seen:
        return
    spec = create_app(Settings(environment="test", database_url="sqlite://", demo_data=False)).openapi()
    missing = undocumented(seen, spec)
    if missing:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = "\n".join(f"  {line}" for line in missing)
        message = f"\nanswers the OpenAPI document does not list ({len(missing)}):\n{lines}\n"
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
