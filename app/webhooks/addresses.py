"""Which URLs a webhook endpoint may have: the evidence link checker's rules (app/verification/linkcheck.py),
checked when the endpoint is registered and again before every delivery, since DNS may have changed.

- ``http`` or ``https`` only, no credentials in the URL, no IPv6 zone id, at most ``MAX_URL`` characters;
- every address the host resolves to is a public unicast address (no private, loopback, link-local, shared,
  reserved... address), unless the host name or all its addresses are on ``EMONEV_WEBHOOK_ALLOWED_HOSTS``
  (on-premise integrations);
- in production ``https`` only, except for a host let through by that list (an on-premise endpoint on the
  commission's own network); outside production ``http`` is accepted as well;
- the delivery connects to the address checked (the URL's host swapped for it; ``Host`` and the TLS server
  name keep the real name), so a second DNS answer cannot point it elsewhere.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import httpx

from app.settings import Settings
from app.verification.linkcheck import AllowList, Refused, Resolver, pin, system_resolver

MAX_URL = 2000


class UrlRefused(Exception):
    """An endpoint URL the service will not post to: ``str()`` says why (English)."""


@dataclass(frozen=True)
class Destination:
    """Where a delivery goes: the URL with its host replaced by the checked address, the ``Host`` header,
    and the TLS server name (None for http)."""

    target: httpx.URL
    host_header: str
    server_name: str | None


def allow_list(settings: Settings) -> AllowList:
    return AllowList.parse(settings.webhook_allowed_hosts)


def destination(url_text: str, settings: Settings, resolver: Resolver = system_resolver) -> Destination:
    """Check ``url_text`` as above and resolve it; raises :class:`UrlRefused`."""
    if len(url_text) > MAX_URL:
        raise UrlRefused(f"longer than {MAX_URL} characters")
    try:
        url = httpx.URL(url_text)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise UrlRefused(f"not a valid URL: {exc}") from exc
    if url.scheme not in {"http", "https"} or not url.host:
        raise UrlRefused("not an http or https URL with a host")
    if url.fragment:
        raise UrlRefused("a URL with a fragment (#...)")
    allowed = allow_list(settings)
    try:
        target, host = pin(url, resolver, allowed)
    except Refused as exc:
        raise UrlRefused(str(exc)) from exc
    on_premise = allowed.lets_through(host, [ipaddress.ip_address(target.host)])
    if settings.environment == "production" and url.scheme != "https" and not on_premise:
        raise UrlRefused("https is required (http only for a host on EMONEV_WEBHOOK_ALLOWED_HOSTS)")
    return Destination(
        target=target,
        host_header=url.netloc.decode("ascii"),
        server_name=host if url.scheme == "https" else None,
    )
