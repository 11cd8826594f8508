"""The evidence link checker: fetch each link safely and say whether it works.

The checker must never become a way into the commission's network (SSRF). For every URL, and again for every
redirect hop:

- only ``http`` and ``https``; a URL with credentials (``user:pass@``) or a zone id is refused;
- the host is resolved once; if ANY address it resolves to is not a public unicast address (private,
  loopback, link-local, multicast, reserved, unspecified, shared, documentation ... also IPv4-mapped,
  6to4, Teredo and NAT64 forms of those) the URL is recorded as ``blocked`` and no connection is made;
- the connection goes to the checked address itself (the URL's host is swapped for the IP, the ``Host``
  header and the TLS server name keep the real name, so certificates are still verified), so a second DNS
  answer cannot point the request elsewhere (DNS rebinding);
- redirects are followed by hand, at most ``MAX_REDIRECTS``; the body is streamed and reading stops after
  ``MAX_BYTES``; each request has the configured timeout and each URL an overall deadline; no proxy from the
  environment is used.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

MAX_REDIRECTS = 5
MAX_BYTES = 64 * 1024
MAX_WORKERS = 8
MAX_LINKS = 500
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "E-Monev link checker (+https://emonev.example)"
BLOCKED = "blocked: "
BAD_REDIRECT = "the server's redirect address is not valid"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
log = logging.getLogger(__name__)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why a connection to this address is refused, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded(ip)
        if inner is not None:
            reason = refusal(inner)
            return f"{reason} (embedded in {ip})" if reason else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address {ip}"
    if not ip.is_global:
        return f"non-public address {ip}"
    return None


@dataclass(frozen=True)
class LinkResult:
    url: str
    ok: bool
    status_code: int | None = None
    content_type: str | None = None
    error: str | None = None
    elapsed_ms: int = 0

    @property
    def blocked(self) -> bool:
        return bool(self.error and self.error.startswith(BLOCKED))


def request_failure(exc: httpx.HTTPError) -> str:
    """What a user reads when the request failed (the library's own text goes only to the log)."""
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        for _ in range(8):  # httpx wraps httpcore's error, which wraps ssl's
            if cause is None:
                break
            if isinstance(cause, ssl.SSLCertVerificationError):
                return "the server's security certificate is not valid"
            cause = cause.__cause__ or cause.__context__
        return "could not connect to the server"
    if isinstance(exc, httpx.RemoteProtocolError):
        # httpx parses a redirect's Location header itself, even when it does not follow redirects, and
        # reports a bad one this way (httpx 0.28); any other wording still gets the plain message below.
        if str(exc).startswith("Invalid URL in location header"):
            return BAD_REDIRECT
        return "the server's answer could not be understood"
    if isinstance(exc, httpx.NetworkError):
        return "the connection to the server was interrupted"
    return "the request failed"


class Refused(Exception):
    """A URL the checker will not fetch (blocked) or cannot parse."""

    def __init__(self, message: str, *, blocked: bool = True) -> None:
        super().__init__(message)
        self.blocked = blocked


_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")


@dataclass(frozen=True)
class AllowList:
    """Destinations let through although their addresses are not public (an on-premise integration on the
    commission's own network): host names, matched exactly, and networks, holding every address the host
    resolves to. Empty: nothing is let through. The evidence link checker uses none."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Sequence[str]) -> AllowList:
        """From ``["hooks.internal.example", "10.20.0.0/16", "127.0.0.1"]``; raises ValueError naming an entry
        that is neither a host name nor an address or network."""
        hosts: set[str] = set()
        networks = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if not _HOST_NAME.fullmatch(entry):
                raise ValueError(f"{raw!r} is neither a host name nor an IP address or network")
            hosts.add(entry)
        return cls(frozenset(hosts), tuple(networks))

    def lets_through(self, host: str, addresses: Sequence[IPAddress]) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        return bool(self.networks) and all(any(a in net for net in self.networks) for a in addresses)


NO_EXCEPTIONS = AllowList()


def pin(
    url: httpx.URL, resolver: Resolver = system_resolver, allowed: AllowList = NO_EXCEPTIONS
) -> tuple[httpx.URL, str]:
    """The URL with its host replaced by a checked address, and the host name to send (``Host``, TLS server
    name); raises :class:`Refused`. Every address the host resolves to must be public, unless ``allowed``
    lets the host through; the connection then goes to the first of them, so a later DNS answer cannot
    point it elsewhere."""
    if url.scheme not in {"http", "https"}:
        raise Refused(f"scheme {url.scheme!r} is not http or https")
    if url.userinfo:
        raise Refused("credentials in the URL")
    host = url.host
    if not host:
        raise Refused("no host in the URL", blocked=False)
    if "%" in host:
        raise Refused("an IPv6 zone id in the URL")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            resolved = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise Refused(f"the host {host} does not resolve ({exc})", blocked=False) from exc
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolved]
        except ValueError as exc:
            raise Refused(f"the host {host} resolved to an unusable address", blocked=False) from exc
        if not addresses:
            raise Refused(f"the host {host} does not resolve", blocked=False)
    if not allowed.lets_through(host, addresses):
        for address in addresses:
            reason = refusal(address)
            if reason:
                raise Refused(f"{host} resolves to a {reason}")
    chosen = addresses[0]
    return url.copy_with(host=str(chosen)), host


def outcome(ok: bool, status_code: int | None, error: str | None) -> str:
    """ok | broken (the server answered, not with success) | blocked (refused, never fetched) | error."""
    if ok:
        return "ok"
    if error and error.startswith(BLOCKED):
        return "blocked"
    if status_code is not None:
        return "broken"
    return "error"


class LinkChecker:
    """Checks links with an httpx transport and a resolver, both injectable (tests pass a MockTransport and
    a fake resolver, so no test sends traffic anywhere)."""

    def __init__(
        self,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = system_resolver,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        workers: int = MAX_WORKERS,
    ) -> None:
        self.timeout = timeout
        self.transport = transport
        self.resolver = resolver
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.workers = workers

    def _client(self) -> httpx.Client:
        return httpx.Client(
            transport=self.transport or httpx.HTTPTransport(retries=0),
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            trust_env=False,
            # No pooled connections: a connection is keyed by the pinned IP, so reusing one could carry a
            # request for another host name over a TLS session verified for the first.
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )

    def check_many(self, urls: Sequence[str]) -> list[LinkResult]:
        """Check each URL (in parallel, results in the order given)."""
        if not urls:
            return []
        with self._client() as client, ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(lambda u: self._check(client, u), urls))

    def check(self, url: str) -> LinkResult:
        with self._client() as client:
            return self._check(client, url)

    def _check(self, client: httpx.Client, url_text: str) -> LinkResult:
        started = time.monotonic()
        deadline = started + 2 * self.timeout

        def result(**kwargs: object) -> LinkResult:
            elapsed = int((time.monotonic() - started) * 1000)
            return LinkResult(url=url_text, elapsed_ms=elapsed, **kwargs)  # type: ignore[arg-type]

        try:
            url = httpx.URL(url_text)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            return result(ok=False, error=f"not a valid URL: {exc}")
        for _hop in range(self.max_redirects + 1):
            try:
                target, host = pin(url, self.resolver)
            except Refused as exc:
                return result(ok=False, error=(BLOCKED if exc.blocked else "") + str(exc))
            host_header = url.netloc.decode("ascii")
            extensions = {"sni_hostname": host} if url.scheme == "https" else {}
            request = client.build_request(
                "GET", target, headers={"Host": host_header}, extensions=extensions
            )
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                return result(ok=False, error="timed out")
            except httpx.HTTPError as exc:
                log.warning("link check of %r failed: %s: %s", url_text, type(exc).__name__, exc)
                return result(ok=False, error=request_failure(exc))
            try:
                status = response.status_code
                content_type = response.headers.get("content-type")
                location = response.headers.get("location")
                if status in REDIRECTS and location:
                    try:
                        url = url.join(location)
                    except (httpx.InvalidURL, ValueError) as exc:
                        log.warning(
                            "link check of %r: redirect location %r: %s: %s",
                            url_text,
                            location,
                            type(exc).__name__,
                            exc,
                        )
                        return result(ok=False, status_code=status, error=BAD_REDIRECT)
                    continue
                if not response.is_stream_consumed:
                    # Raw bytes (no decompression), so a compressed bomb cannot blow up past the limit.
                    read = 0
                    for chunk in response.iter_raw():
                        read += len(chunk)
                        if read >= self.max_bytes or time.monotonic() > deadline:
                            break
                if time.monotonic() > deadline:
                    return result(ok=False, status_code=status, content_type=content_type, error="timed out")
                ok = 200 <= status < 300
                return result(
                    ok=ok,
                    status_code=status,
                    content_type=content_type,
                    error=None if ok else f"HTTP {status}",
                )
            except httpx.TimeoutException:
                return result(ok=False, error="timed out")
            except httpx.HTTPError as exc:
                log.warning("link check of %r failed: %s: %s", url_text, type(exc).__name__, exc)
                return result(ok=False, error=request_failure(exc))
            finally:
                response.close()
        return result(ok=False, error=f"more than {self.max_redirects} redirects")
