"""Schemathesis hooks for ``tests/contract/test_schemathesis.py``, loaded by ``st run`` through
``SCHEMATHESIS_HOOKS=tests.contract.schemathesis_hooks``.

With ``EMONEV_CONTRACT_EMAIL`` and ``EMONEV_CONTRACT_PASSWORD`` set, every request carries the bearer token of
that account, got by logging in at ``EMONEV_CONTRACT_URL`` the way an integrator does. The token is logged in
again when the run itself ended it: after ``POST /api/v1/auth/logout`` answered 204 (schemathesis calls every
operation, and logging out is one), or when a request carrying it was answered 401 (anything else that
revokes it). Without the variables the requests go anonymous.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st

URL = os.environ.get("EMONEV_CONTRACT_URL", "")
EMAIL = os.environ.get("EMONEV_CONTRACT_EMAIL")
PASSWORD = os.environ.get("EMONEV_CONTRACT_PASSWORD", "")
LOGOUT = "/api/v1/auth/logout"
# Every date-time the API takes is a round's instant in the years 2000 to 2100 as written (the document says
# it with a pattern beside the format). Drawn from that range at once: drawing any date-time and keeping the
# ones the pattern takes would discard 99 of 100 (hypothesis's filter_too_much).
OFFSETS = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
INSTANTS = st.builds(
    lambda naive, offset: naive.replace(tzinfo=offset).isoformat(),
    # hypothesis's bounds are naive; the offset is drawn beside them
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31, 23, 59, 59)),  # noqa: DTZ001
    st.one_of(st.just(UTC), OFFSETS),
)
schemathesis.openapi.format("date-time", INSTANTS)
# Whose 401 says nothing of the token the request carries: a wrong password, an unknown link.
NOT_ABOUT_THE_TOKEN = ("/api/v1/auth/login", "/api/v1/auth/set-password", "/api/v1/auth/password-reset")


class _Token:
    """The role's current token, shared by schemathesis's worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: str | None = None
        self.logins = 0

    def get(self) -> str:
        with self._lock:
            if self._value is None:
                answer = httpx.post(
                    f"{URL}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30
                )
                answer.raise_for_status()
                self._value = str(answer.json()["access_token"])
                self.logins += 1
            return self._value

    def forget(self, value: str) -> None:
        with self._lock:
            if self._value == value:
                self._value = None


TOKEN = _Token()


if EMAIL:

    @schemathesis.auth(refresh_interval=None)
    class Login:
        def get(self, case: schemathesis.Case, ctx: Any) -> str:
            return TOKEN.get()

        def set(self, case: schemathesis.Case, data: str, ctx: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    @schemathesis.hook
    def after_call(context: Any, case: schemathesis.Case, response: schemathesis.Response) -> None:
        sent = response.request.headers.get("Authorization", "")
        if not sent.startswith("Bearer ") or case.path in NOT_ABOUT_THE_TOKEN:
            return
        if response.status_code == 401 or (case.path == LOGOUT and response.status_code == 204):
            TOKEN.forget(sent.removeprefix("Bearer "))


@schemathesis.check
def validation_agrees_with_the_schema(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A request the schema allows is never refused by the request validation (pydantic, or
    ``app.inputs.refuse_unstorable_input``): the 422 for a rule the schema cannot state is what
    positive_data_acceptance takes here (schemathesis.toml), so this check keeps what it would have caught.

    The two are told apart as app/problems.py and app/inputs.py write them: the request validation's
    ``detail`` is its ``errors`` joined (``field: message; ...``); a service's is a sentence of its own."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if any(value in (None, "None") for value in (case.path_parameters or {}).values()):
        return None  # a link schemathesis guessed from a nullable id (``/submissions/None/...``): not valid
    problem = response.json()
    errors = problem.get("errors") or []
    if (case.media_type or "").startswith("multipart/") and all(e.get("field") == "file" for e in errors):
        return None  # what an uploaded file holds (a workbook, a CSV) is a service's rule, never the schema's
    joined = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
    if errors and problem.get("detail") == joined:
        raise AssertionError(f"the schema allows what the request validation refuses: {joined}")
    return None
