"""The evidence link checker: what it refuses to fetch, and how it fetches the rest.

No test sends traffic anywhere: fetching goes through an httpx.MockTransport with a fake resolver that maps
names to public documentation-free addresses, and the blocking tests never connect (blocking happens before).
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.verification.linkcheck import LinkChecker, outcome, refusal
from app.verification.routes import get_link_checker
from tests.factories import World, get_json, make_answers, make_submission, now

PUBLIC_IP = "93.184.216.34"


def fake_resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


class Recorder:
    """A MockTransport handler that records every request and answers from a table keyed by path."""

    def __init__(self, routes: dict[str, Callable[[], httpx.Response]]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        make = self.routes.get(request.url.path)
        return make() if make is not None else httpx.Response(404)


def answer(status: int, **kwargs: object) -> Callable[[], httpx.Response]:
    """A fresh response per request (a response body can be read once)."""
    return lambda: httpx.Response(status, **kwargs)  # type: ignore[arg-type]


def checker(recorder: Recorder, table: dict[str, list[str]] | None = None, **kwargs: int) -> LinkChecker:
    return LinkChecker(
        timeout=2.0,
        transport=httpx.MockTransport(recorder),
        resolver=fake_resolver(table or {"ppid.example.go.id": [PUBLIC_IP]}),
        **kwargs,
    )


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:a00:1::",  # 6to4 around 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", [PUBLIC_IP, "2606:2800:220:1:248:1893:25c8:1946", "::ffff:93.184.216.34"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/dip.pdf", "loopback"),
        ("http://10.0.0.5/dip.pdf", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8000/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:a9fe:a9fe]/", "link-local"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://intranet.ki.go.id/", "private"),
        ("http://mixed.example.go.id/", "private"),
        ("ftp://ppid.example.go.id/dip.pdf", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http://admin:secret@ppid.example.go.id/", "credentials"),
        ("http://[fe80::1%25eth0]/", "zone id"),
    ],
)
def test_blocked_urls_are_recorded_and_never_fetched(url: str, reason: str) -> None:
    recorder = Recorder({})
    table = {
        "ppid.example.go.id": [PUBLIC_IP],
        "intranet.ki.go.id": ["192.168.10.4"],
        # One public and one private answer: refused, whichever the connection would have used.
        "mixed.example.go.id": [PUBLIC_IP, "10.9.8.7"],
    }
    result = checker(recorder, table).check(url)
    assert result.blocked
    assert not result.ok
    assert reason in (result.error or "")
    assert recorder.seen == []


def test_numeric_host_spellings_resolve_to_what_they_mean_and_are_refused() -> None:
    # The system resolver turns these into 127.0.0.1 without any DNS query.
    recorder = Recorder({})
    plain = LinkChecker(timeout=2.0, transport=httpx.MockTransport(recorder))
    for url in ("http://2130706433/", "http://0x7f.1/", "http://localhost:8000/"):
        result = plain.check(url)
        assert result.blocked, url
    assert recorder.seen == []


def test_a_working_link_connects_to_the_checked_address_with_the_real_host_name() -> None:
    recorder = Recorder(
        {"/dip.pdf": answer(200, headers={"content-type": "application/pdf"}, content=b"%PDF")}
    )
    result = checker(recorder).check("https://ppid.example.go.id/dip.pdf")
    assert (result.ok, result.status_code, result.content_type) == (True, 200, "application/pdf")
    (request,) = recorder.seen
    assert request.url.host == PUBLIC_IP
    assert request.headers["host"] == "ppid.example.go.id"
    assert request.extensions["sni_hostname"] == "ppid.example.go.id"


def test_a_broken_link_reports_its_status() -> None:
    result = checker(Recorder({})).check("http://ppid.example.go.id/hilang")
    assert (result.ok, result.status_code, result.error) == (False, 404, "HTTP 404")


def test_redirects_are_followed_and_each_hop_is_checked_again() -> None:
    recorder = Recorder(
        {
            "/a": answer(302, headers={"location": "/b"}),
            "/b": answer(301, headers={"location": "http://ppid.example.go.id/c"}),
            "/c": answer(200, headers={"content-type": "text/html"}),
            "/sneaky": answer(302, headers={"location": "http://169.254.169.254/latest/meta-data/"}),
        }
    )
    followed = checker(recorder).check("http://ppid.example.go.id/a")
    assert (followed.ok, followed.status_code) == (True, 200)
    assert [r.url.path for r in recorder.seen] == ["/a", "/b", "/c"]
    sneaky = checker(recorder).check("http://ppid.example.go.id/sneaky")
    assert sneaky.blocked
    assert [r.url.path for r in recorder.seen][-1] == "/sneaky"


def test_redirect_loops_stop_after_five_hops() -> None:
    recorder = Recorder({"/loop": answer(302, headers={"location": "/loop"})})
    result = checker(recorder).check("http://ppid.example.go.id/loop")
    assert (result.ok, result.error) == (False, "more than 5 redirects")
    assert len(recorder.seen) == 6


def test_reading_stops_after_the_size_limit() -> None:
    produced: list[int] = []

    def endless() -> Iterator[bytes]:
        for _ in range(1000):
            produced.append(1)
            yield b"x" * 1024

    recorder = Recorder({"/big": lambda: httpx.Response(200, content=endless())})
    result = checker(recorder, max_bytes=4096).check("http://ppid.example.go.id/big")
    assert result.ok
    assert len(produced) <= 5


def test_timeouts_and_unknown_hosts_are_errors_not_crashes() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    timed = LinkChecker(
        timeout=0.1,
        transport=httpx.MockTransport(slow),
        resolver=fake_resolver({"ppid.example.go.id": [PUBLIC_IP]}),
    ).check("http://ppid.example.go.id/")
    assert (timed.ok, timed.error) == (False, "timed out")
    unknown = checker(Recorder({})).check("http://tidak-ada.example.go.id/")
    assert not unknown.ok
    assert not unknown.blocked
    assert "does not resolve" in (unknown.error or "")


def _refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def _bad_certificate(request: httpx.Request) -> httpx.Response:
    cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate has expired")
    raise httpx.ConnectError(str(cause), request=request) from cause


def _cut_off(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


def _reset(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)


@pytest.mark.parametrize(
    ("handler", "error", "cause"),
    [
        (_refused, "could not connect to the server", "Connection refused"),
        (_bad_certificate, "the server's security certificate is not valid", "CERTIFICATE_VERIFY_FAILED"),
        (_cut_off, "the server's answer could not be understood", "Server disconnected"),
        (_reset, "the connection to the server was interrupted", "Connection reset by peer"),
    ],
    ids=["refused", "certificate", "protocol", "reset"],
)
def test_a_failed_request_is_told_in_plain_words_and_its_cause_is_logged(
    handler: Callable[[httpx.Request], httpx.Response],
    error: str,
    cause: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="app.verification.linkcheck")
    result = LinkChecker(
        timeout=2.0,
        transport=httpx.MockTransport(handler),
        resolver=fake_resolver({"ppid.example.go.id": [PUBLIC_IP]}),
    ).check("https://ppid.example.go.id/dip")
    assert (result.ok, result.status_code, result.error) == (False, None, error)
    assert outcome(result.ok, result.status_code, result.error) == "error"
    (logged,) = caplog.records
    assert "'https://ppid.example.go.id/dip'" in logged.getMessage()
    assert cause in logged.getMessage()


def test_a_redirect_to_an_invalid_address_is_told_in_plain_words(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="app.verification.linkcheck")
    recorder = Recorder({"/pindah": answer(302, headers={"location": "http://[::1"})})
    result = checker(recorder).check("http://ppid.example.go.id/pindah")
    assert (result.ok, result.error) == (False, "the server's redirect address is not valid")
    assert not result.blocked
    (logged,) = caplog.records
    assert "'http://ppid.example.go.id/pindah'" in logged.getMessage()
    assert "Invalid URL in location header" in logged.getMessage()


@pytest.fixture
def fake_checker(client: TestClient) -> Iterator[Recorder]:
    recorder = Recorder(
        {
            "/dip": answer(200, headers={"content-type": "text/html"}),
            "/old": answer(410),
        }
    )
    client.app.dependency_overrides[get_link_checker] = lambda: checker(recorder)  # type: ignore[attr-defined]
    yield recorder
    client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


def test_checking_a_submission_records_every_link_and_lists_the_latest_per_url(
    client: TestClient, session: Session, world: World, fake_checker: Recorder
) -> None:
    sub = make_submission(
        session, world.round, world.body, world.template, status="submitted", submitted_at=now()
    )
    make_answers(
        session,
        sub,
        {
            "1.1.1": {"value": "yes", "evidence": ["https://ppid.example.go.id/dip", "http://10.0.0.1/dip"]},
            "1.1.2": {
                "value": "a",
                "evidence": ["https://ppid.example.go.id/old", "https://ppid.example.go.id/dip"],
            },
        },
    )
    url = f"/api/v1/submissions/{sub.id}/link-check"
    assert client.post(url, headers=world.token(world.operator)).status_code == 403
    run = client.post(url, headers=world.token(world.admin))
    assert run.status_code == 200, run.text
    assert (run.json()["checked"], run.json()["ok"]) == (3, 1)
    client.post(url, headers=world.token(world.admin))
    latest = get_json(client, f"/api/v1/submissions/{sub.id}/link-checks", world.token(world.admin))
    outcomes = {item["url"]: (item["outcome"], item["status_code"]) for item in latest["items"]}
    assert outcomes == {
        "https://ppid.example.go.id/dip": ("ok", 200),
        "http://10.0.0.1/dip": ("blocked", None),
        "https://ppid.example.go.id/old": ("broken", 410),
    }
    assert len(fake_checker.seen) == 4
