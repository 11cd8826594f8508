"""Per-client request limits of everything public (the portal's pages, open data, the public API).

The ``limits`` library counts: a moving window per client address and per limit, so a burst cannot hide at
a window's edge. The counts live where ``EMONEV_RATE_LIMIT_STORAGE_URL`` says: ``memory://`` (the default)
counts in each process, so N app processes let a client make up to N times the limit; ``redis://host:6379``
shares the counts between every process and machine (needs the ``redis`` package). A client is its address as
uvicorn sees it: behind a proxy, start ``emonev serve`` with the proxy's address in ``--forwarded-allow-ips``
so that it is the visitor's address, not the proxy's.
"""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItem, parse_many, storage, strategies

from app.errors import EmonevError
from app.settings import Settings


class RateLimited(EmonevError):
    status = 429
    type_slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"too many requests from this client; try again in {retry_after} second(s)",
            indonesian=f"Terlalu banyak permintaan dari alamat Anda. Coba lagi dalam {retry_after} detik.",
            retry_after=retry_after,
        )


class PublicLimiter:
    """The limits of one app: each client may make ``EMONEV_PUBLIC_RATE_LIMIT`` public requests."""

    def __init__(self, settings: Settings) -> None:
        self.items: list[RateLimitItem] = parse_many(settings.public_rate_limit)
        self.strategy = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(settings.rate_limit_storage_url)
        )

    def check(self, client: str) -> None:
        """Count one request of ``client``; RateLimited (with the seconds to wait) past any limit."""
        for item in self.items:
            if not self.strategy.hit(item, "public", client):
                reset = self.strategy.get_window_stats(item, "public", client).reset_time
                raise RateLimited(retry_after=max(1, math.ceil(reset - time.time())))


def limiter_of(request: Request) -> PublicLimiter:
    state = request.app.state
    limiter: PublicLimiter | None = getattr(state, "public_limiter", None)
    if limiter is None:
        limiter = state.public_limiter = PublicLimiter(state.settings)
    return limiter


def public_rate_limit(request: Request) -> None:
    """Dependency of every public route: 429 with ``Retry-After`` once the client is past its limit."""
    client = request.client.host if request.client is not None else "unknown"
    limiter_of(request).check(client)


PublicRateLimit = Annotated[None, Depends(public_rate_limit)]
