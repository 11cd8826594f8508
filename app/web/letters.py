"""The commission's letters on the pages: one body's letter (PDF) for whoever may read the body, and the
letterhead settings of a commission ("Surat"): heading, address, city, the chair who signs, the letter
number's pattern, the logo, the open-data license, and a sample letter to check them with."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.accounts import policy
from app.accounts.principal import Role
from app.commissions import service as commissions
from app.commissions.licenses import LICENSES
from app.commissions.schemas import MAX_LETTER_BLOCK, MAX_LETTER_LINES
from app.commissions.timezones import local
from app.db.base import utcnow
from app.db.session import LongWorkSessionDep, SessionDep
from app.errors import NotFound
from app.inputs import Id
from app.letters import service as letters
from app.letters.numbers import DEFAULT_NUMBER_FORMAT, PLACEHOLDERS
from app.uploads import read_upload
from app.web.forms import read_form
from app.web.render import redirect, render
from app.web.session import CurrentUser

router = APIRouter()

_PDF_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}


@router.get("/ronde/{round_id}/badan/{body_id}/surat.pdf")
def body_letter(round_id: Id, body_id: Id, session: LongWorkSessionDep, user: CurrentUser) -> Response:
    """The body's letter (Lembar Hasil dan Rekomendasi) from the latest publication."""
    name, pdf = letters.body_letter(
        session=session, round_id=round_id, body_id=body_id, revision=None, by=user.principal
    )
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **_PDF_HEADERS}
    return Response(pdf, media_type=letters.PDF_MEDIA_TYPE, headers=headers)


@router.get("/komisi/surat")
def letters_start(user: CurrentUser) -> Response:
    """Where the "Surat" menu leads: the administrator's own commission."""
    principal = user.principal
    if principal.role is not Role.commission_admin or principal.commission_id is None:
        raise NotFound("no letter settings for this role", indonesian="Halaman ini tidak ada.")
    return redirect(f"/komisi/{principal.commission_id}/surat")


@router.get("/komisi/{commission_id}/surat")
def settings_page(commission_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The letterhead form, the logo, the open-data license and a link to a sample letter."""
    commission = commissions.get_commission(session=session, commission_id=commission_id, by=user.principal)
    policy.ensure_admin(user.principal, commission.id)
    return render(
        request,
        "admin/letters.html",
        {
            "commission": commission,
            "licenses": list(LICENSES.values()),
            "placeholders": PLACEHOLDERS,
            "default_number_format": DEFAULT_NUMBER_FORMAT,
            "max_lines": MAX_LETTER_LINES,
            "max_block": MAX_LETTER_BLOCK,
            "max_logo_kb": letters.MAX_LOGO_BYTES // 1024,
        },
    )


@router.post("/komisi/{commission_id}/surat/pengaturan")
async def save_settings(
    commission_id: Id, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """The letterhead's texts and the open-data license (empty text: the default)."""
    form = await read_form(request)
    commission = commissions.get_commission(session=session, commission_id=commission_id, by=user.principal)
    changes: dict[str, object] = {name: str(form.get(name) or "") for name in commissions.LETTER_FIELDS}
    changes["data_license"] = str(form.get("data_license") or "")
    commissions.update_commission(session=session, commission=commission, changes=changes, by=user.principal)
    return redirect(f"/komisi/{commission.id}/surat", message="tersimpan")


@router.post("/komisi/{commission_id}/surat/logo")
async def upload_logo(
    commission_id: Id, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """A new logo (PNG or JPEG, at most 512 KB)."""
    commission = commissions.get_commission(session=session, commission_id=commission_id, by=user.principal)
    policy.ensure_admin(user.principal, commission.id)
    upload = await read_upload(request, raw_types=(), max_bytes=letters.MAX_LOGO_BYTES, what="logo")
    letters.set_logo(session=session, commission=commission, data=upload.data, by=user.principal)
    return redirect(f"/komisi/{commission.id}/surat#h-logo", message="tersimpan")


@router.post("/komisi/{commission_id}/surat/logo/hapus")
def remove_logo(commission_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Letters without a logo."""
    commission = commissions.get_commission(session=session, commission_id=commission_id, by=user.principal)
    letters.remove_logo(session=session, commission=commission, by=user.principal)
    return redirect(f"/komisi/{commission.id}/surat#h-logo", message="tersimpan")


@router.get("/komisi/{commission_id}/surat/contoh.pdf")
def sample_letter(commission_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """A letter with the commission's letterhead and made-up figures."""
    commission = commissions.get_commission(session=session, commission_id=commission_id, by=user.principal)
    pdf = letters.sample_letter(
        session=session,
        commission_id=commission.id,
        by=user.principal,
        today=local(utcnow(), commission.timezone).date(),
    )
    headers = {"Content-Disposition": 'inline; filename="contoh-surat-hasil.pdf"', **_PDF_HEADERS}
    return Response(pdf, media_type=letters.PDF_MEDIA_TYPE, headers=headers)
