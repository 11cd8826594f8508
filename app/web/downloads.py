"""Excel downloads from the pages: the exports service writes the workbook to a temporary file, which is
streamed to the browser and deleted once sent."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from app.db.session import LongWorkSessionDep
from app.downloads import send_file
from app.errors import TooLargeAtOnce
from app.exports import service as exports
from app.exports.jobs import RECAP, RESULT_SHEETS
from app.exports.workbook_safety import XLSX_MEDIA_TYPE
from app.inputs import Id
from app.settings import SettingsDep
from app.web.render import redirect
from app.web.session import CurrentUser, PageUser

router = APIRouter()


def _at_once(session: Session, round_id: int, user: PageUser, kind: str, max_bodies: int) -> Response | None:
    """Above the size made within a request (README, "Small exports at once, large ones as jobs"), the
    downloads page, where the file is made as a job."""
    try:
        exports.ensure_at_once(
            session=session,
            round_id=round_id,
            revision=None,
            by=user.principal,
            kind=kind,
            max_bodies=max_bodies,
            job_path=f"/ronde/{round_id}/unduhan",
        )
    except TooLargeAtOnce:
        return redirect(f"/ronde/{round_id}/unduhan", message="berkas-terlalu-besar")
    return None


@router.get("/ronde/{round_id}/unduh/rekapitulasi.xlsx")
def recap(round_id: Id, session: LongWorkSessionDep, user: CurrentUser, settings: SettingsDep) -> Response:
    """The round's recap workbook (Rekapitulasi) of its latest publication (a small round's: a large one's
    is made on the downloads page)."""
    too_large = _at_once(session, round_id, user, RECAP.name, settings.sync_recap_max_bodies)
    if too_large is not None:
        return too_large
    return send_file(
        lambda path: exports.recap(
            session=session, round_id=round_id, revision=None, by=user.principal, target=path
        ),
        XLSX_MEDIA_TYPE,
        ".xlsx",
    )


@router.get("/ronde/{round_id}/unduh/lembar-hasil.zip")
def result_sheets(
    round_id: Id, session: LongWorkSessionDep, user: CurrentUser, settings: SettingsDep
) -> Response:
    """Every body's result sheet of the latest publication, in a ZIP (a small round's: a large one's is made
    on the downloads page)."""
    too_large = _at_once(session, round_id, user, RESULT_SHEETS.name, settings.sync_result_sheets_max_bodies)
    if too_large is not None:
        return too_large
    return send_file(
        lambda path: exports.result_sheets_zip(
            session=session, round_id=round_id, revision=None, by=user.principal, target=path
        ),
        exports.ZIP_MEDIA_TYPE,
        ".zip",
    )


@router.get("/pengisian/{submission_id}/lembar-hasil.xlsx")
def result_sheet(submission_id: Id, session: LongWorkSessionDep, user: CurrentUser) -> Response:
    """The body's result sheet (Lembar Hasil Penilaian) of the latest publication."""
    return send_file(
        lambda path: exports.result_sheet(
            session=session, submission_id=submission_id, revision=None, by=user.principal, target=path
        ),
        XLSX_MEDIA_TYPE,
        ".xlsx",
    )


@router.get("/pengisian/{submission_id}/jawaban.xlsx")
def answer_workbook(submission_id: Id, session: LongWorkSessionDep, user: CurrentUser) -> Response:
    """A workbook of the SAQ with the stored answers, to fill in offline."""
    return send_file(
        lambda path: exports.answer_workbook(
            session=session, submission_id=submission_id, by=user.principal, target=path
        ),
        XLSX_MEDIA_TYPE,
        ".xlsx",
    )
