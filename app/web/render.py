"""Rendering pages: one Jinja2 environment, the context every page gets, and flash messages by code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from app.accounts.principal import Role
from app.settings import Settings
from app.web import format as fmt
from app.web.forms import FormState, page_of, state_of
from app.web.session import CSRF_FIELD, PageUser, csrf_token, set_presession_cookie

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
env = templates.env
env.trim_blocks = True
env.lstrip_blocks = True
env.filters.update(
    when=fmt.when,
    score=fmt.score,
    weight=fmt.weight,
    band_class=fmt.band_class,
    local_input=fmt.local_input,
    zone_label=fmt.zone_label,
    filesize=fmt.file_size,
)
env.globals.update(
    QUESTION_STATUS=fmt.QUESTION_STATUS,
    SUBMISSION_STATUS=fmt.SUBMISSION_STATUS,
    ROUND_STATUS=fmt.ROUND_STATUS,
    VERIFICATION_STATUS=fmt.VERIFICATION_STATUS,
    OBJECTION_STATUS=fmt.OBJECTION_STATUS,
    STAGE_KINDS=fmt.STAGE_KINDS,
    CSRF_FIELD=CSRF_FIELD,
    percent=fmt.percent,
    remaining=fmt.remaining,
    describe_file=fmt.evidence_file,
)


@pass_context
def kept_values(context: Context, form: str, name: str, defaults: Any = ()) -> list[str]:
    """The values of a checkbox or select group: as typed when this form came back refused, else the
    defaults (``_forms.html`` exports it as ``values``)."""
    state = context.get("form_state")
    if isinstance(state, FormState) and state.form == form:
        return state.value_list(name)
    return [str(d) for d in defaults]


def missing_context() -> str:
    raise RuntimeError(
        'import "_forms.html" with context: its macros need the page\'s form state and CSRF token'
    )


env.globals.update(kept_values=kept_values, missing_context=missing_context)

ROLE_LABELS = {
    Role.system_admin: "Administrator Sistem",
    Role.commission_admin: "Administrator Komisi",
    Role.verifier: "Verifikator",
    Role.panelist: "Juri",
    Role.operator: "PPID",
}

# Messages shown after a redirect, chosen by a code in the query string (never free text from the URL).
FLASH = {
    "masuk": "Selamat datang. Anda sudah masuk.",
    "keluar": "Anda sudah keluar.",
    "kata-sandi-diatur": "Kata sandi Anda sudah disimpan dan Anda sudah masuk.",
    "akun-dibuat": "Akun sudah dibuat.",
    "akun-diundang": "Akun sudah dibuat. Undangan untuk membuat kata sandi sedang dikirim ke surelnya.",
    "undangan-dikirim": "Undangan baru sedang dikirim; tautan undangan sebelumnya tidak berlaku lagi.",
    "terkirim": "SAQ sudah dikirim dan dikunci. Terima kasih.",
    "tersimpan": "Perubahan sudah disimpan.",
    "diunggah": "Dokumen sudah diunggah.",
    "verifikasi-selesai": "Verifikasi sudah ditandai selesai.",
    "jawaban-disetujui": "Jawaban yang belum diperiksa sudah disetujui sesuai jawaban badan publik.",
    "tautan-dicek": "Semua tautan data dukung sudah dicek.",
    "sanggahan-dijawab": "Jawaban atas sanggahan sudah disimpan.",
    "sanggahan-dikirim": "Sanggahan sudah dikirim.",
    "ronde-dibuat": "Periode Monev sudah dibuat.",
    "perpanjangan": "Perpanjangan batas waktu sudah dicatat.",
    "diumumkan": "Hasil sudah diumumkan.",
    "penugasan": "Penugasan verifikator sudah disimpan.",
    "dibuka-kembali": "SAQ sudah dibuka kembali; badan publik dapat mengubah dan mengirimnya lagi.",
    "nilai-juri": "Nilai Anda sudah disimpan.",
    "berkas-diminta": "Permintaan sudah masuk antrean. Berkas dibuat di latar belakang; kemajuannya tampak "
    "di bawah.",
    "berkas-sedang-dibuat": "Berkas yang sama sedang dibuat; tunggu sampai selesai.",
    "berkas-terlalu-besar": "Berkas periode ini terlalu besar untuk langsung diunduh. Buat berkasnya di "
    "bawah; berkas dibuat di latar belakang dan dapat diunduh setelah selesai.",
    "berkas-dibatalkan": "Pembuatan berkas sudah dibatalkan.",
    "surel-dikirim-ulang": "Surel masuk antrean untuk dikirim ulang; keadaannya tampak di bawah.",
}


def nav_items(user: PageUser | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    role = user.principal.role
    items = [("/", "Beranda")]
    if role is Role.verifier:
        items.append(("/sanggahan", "Sanggahan"))
    if role in {Role.commission_admin, Role.system_admin, Role.panelist}:
        items.append(("/ronde", "Periode Monev"))
    if role in {Role.commission_admin, Role.system_admin, Role.panelist}:
        items.append(("/penjurian", "Penjurian"))
    if role in {Role.commission_admin, Role.system_admin}:
        items.append(("/akun", "Akun"))
        items.append(("/surel", "Surel"))
    if role is Role.commission_admin:
        items.append(("/komisi/surat", "Surat"))
    return items


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    user: PageUser | None = getattr(request.state, "page_user", None)
    flash_code = request.query_params.get("pesan")
    full = {
        "user": user,
        "role_label": ROLE_LABELS.get(user.principal.role, "") if user else "",
        "nav": nav_items(user),
        "csrf": csrf_token(request, settings),
        "flash": FLASH.get(flash_code or ""),
        "path": request.url.path,
        "page_path": page_of(request),
        "form_state": state_of(request),
    } | (context or {})
    response = templates.TemplateResponse(request, name, full, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    set_presession_cookie(request, response, settings)
    return response


def render_public(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """A public page (the results portal): the same for everyone, so it reads no session and sets no
    cookie, carries no CSRF token and leaves caching to the caller (``app.portal.caching.cacheable``)."""
    settings: Settings = request.app.state.settings
    full = {"path": request.url.path, "site": settings.base_url.rstrip("/")} | context
    return templates.TemplateResponse(request, name, full, status_code=status_code)


def redirect(url: str, *, message: str | None = None) -> RedirectResponse:
    """303 See Other to a page (after a POST), optionally with a flash message code."""
    if message:
        base, hash_, fragment = url.partition("#")
        url = f"{base}{'&' if '?' in base else '?'}pesan={message}{hash_}{fragment}"
    return RedirectResponse(url, status_code=303)
