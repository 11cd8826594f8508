"""How pages print instants, scores and states: Indonesian words, the commission's time zone,
decimal commas."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.commissions.timezones import ZONE_LABELS, as_utc, format_words, local
from app.evidence.schemas import EvidenceFileOut
from app.rounds.service import STATUS_WORDS

BAND_CLASSES = {
    "informatif": "band-informatif",
    "menuju-informatif": "band-menuju",
    "cukup-informatif": "band-cukup",
    "kurang-informatif": "band-kurang",
    "tidak-informatif": "band-tidak",
    "tidak-mengikuti": "band-absen",
}

QUESTION_STATUS = {
    "scored": "Dinilai",
    "unanswered": "Belum dijawab",
    "evidence_missing": "Data dukung belum ada",
    "not_applicable": "Tidak berlaku",
    "not_scored": "Tidak dinilai (isian keterangan)",
}

SUBMISSION_STATUS = {
    "draft": "Sedang diisi",
    "submitted": "Terkirim",
    None: "Belum mulai mengisi",
}

ROUND_STATUS = STATUS_WORDS

VERIFICATION_STATUS = {
    "in_progress": "Sedang diverifikasi",
    "completed": "Verifikasi selesai",
    None: "Belum diverifikasi",
}

OBJECTION_STATUS = {"open": "Menunggu jawaban", "accepted": "Diterima", "rejected": "Ditolak"}

JOB_STATUS = {
    "queued": "Menunggu antrean",
    "running": "Sedang dibuat",
    "done": "Selesai",
    "failed": "Gagal",
    "cancelled": "Dibatalkan",
}

STAGE_KINDS = {"presentation": "Presentasi / Uji Publik", "site_visit": "Visitasi", "interview": "Wawancara"}


def zone_label(timezone: str) -> str:
    return ZONE_LABELS.get(timezone, timezone)


def when(value: datetime | None, timezone: str, *, with_time: bool = True) -> str:
    """``31 Agustus 2025 pukul 23.59 WIB`` in the commission's zone."""
    if value is None:
        return "-"
    return format_words(value, timezone, with_time=with_time)


def local_input(value: datetime | None, timezone: str) -> str:
    """The value of an ``<input type="datetime-local">`` in the commission's zone."""
    if value is None:
        return ""
    return local(value, timezone).strftime("%Y-%m-%dT%H:%M")


def remaining(deadline: datetime, now: datetime) -> str:
    """``(sisa 3 hari 4 jam)`` until the deadline, or ``(sudah lewat)``; the page's script keeps it current
    with the same words."""
    seconds = int((as_utc(deadline) - as_utc(now)).total_seconds())
    if seconds <= 0:
        return "(sudah lewat)"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"(sisa {days} hari {hours} jam)"
    if hours:
        return f"(sisa {hours} jam {minutes} menit)"
    return f"(sisa {max(minutes, 1)} menit)"


def score(value: Decimal | str | None) -> str:
    """A published figure with a decimal comma: ``85,83``; ``-`` when there is none."""
    if value is None or value == "":
        return "-"
    figure = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{figure:.2f}".replace(".", ",")


def weight(value: Decimal | str | int | None) -> str:
    """A weight without needless decimals: ``70``, ``12,5``."""
    if value is None:
        return "-"
    figure = Decimal(str(value)).normalize()
    text = f"{figure:f}"
    return text.replace(".", ",")


def band_class(code: str | None) -> str:
    return BAND_CLASSES.get(code or "", "band-absen")


def percent(part: int, whole: int) -> str:
    if not whole:
        return "-"
    return f"{Decimal(part * 100) / Decimal(whole):.1f}".replace(".", ",") + "%"


def name_list(names: Sequence[str], limit: int = 3) -> str:
    """``A``, ``A dan B``, ``A, B, dan C``, or past ``limit`` names ``A, B, C, dan 4 lainnya`` (a page that
    cuts a list short also offers all of it: ``_bodies.html``'s ``name_list``)."""
    if len(names) <= 2:
        return " dan ".join(names)
    if len(names) <= limit:
        return f"{', '.join(names[:-1])}, dan {names[-1]}"
    return f"{', '.join(names[:limit])}, dan {len(names) - limit} lainnya"


def file_size(size: int) -> str:
    """A file's size as people read it: ``312 KB``, ``1,4 MB``; under a kilobyte in bytes (``512 bita``)."""
    if size < 1024:
        return f"{size} bita"
    if size < 1024 * 1024:
        return f"{(Decimal(size) / 1024).quantize(Decimal(1), ROUND_HALF_UP)} KB"
    megabytes = (Decimal(size) / (1024 * 1024)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{megabytes} MB".replace(".", ",")


def evidence_file(file: EvidenceFileOut, timezone: str) -> dict[str, Any]:
    """An uploaded evidence file as the pages show it (the ``evidence_file`` macro, and the SAQ form's
    script for files it adds): its original name, size and upload time in the commission's zone."""
    return {
        "id": file.id,
        "name": file.name,
        "url": f"/berkas/{file.id}",
        "size_label": file_size(file.size),
        "uploaded_label": when(file.uploaded_at, timezone),
    }


def time_left(seconds: int | None) -> str:
    """A running job's estimate as the downloads page says it: ``perkiraan sisa waktu 2 menit 5 detik``;
    empty while there is no estimate yet."""
    if seconds is None:
        return ""
    minutes, rest = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        words = f"{hours} jam {minutes} menit"
    elif minutes:
        words = f"{minutes} menit {rest} detik"
    else:
        words = f"{rest} detik"
    return f"perkiraan sisa waktu {words}"
