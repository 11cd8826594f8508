"""The commissions' time zones and how instants are shown to their users.

Instants are stored in UTC; a commission's users read them in its own zone, labelled WIB, WITA or WIT.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

ZONE_LABELS: dict[str, str] = {
    "Asia/Jakarta": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def as_utc(value: datetime) -> datetime:
    """An aware UTC instant. SQLite hands stored instants back without an offset; they are UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local(value: datetime, timezone: str) -> datetime:
    return as_utc(value).astimezone(ZoneInfo(timezone))


def format_local(value: datetime, timezone: str, *, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """``2025-08-31 23:59 WIB``: the instant in the commission's zone with its Indonesian label."""
    label = ZONE_LABELS.get(timezone, timezone)
    return f"{local(value, timezone).strftime(pattern)} {label}"


MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


def format_words(value: datetime, timezone: str, *, with_time: bool = True) -> str:
    """``31 Agustus 2025 pukul 23.59 WIB``: the instant as pages and Indonesian messages say it."""
    moment = local(value, timezone)
    day = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
    if not with_time:
        return day
    return f"{day} pukul {moment:%H.%M} {ZONE_LABELS.get(timezone, timezone)}"
