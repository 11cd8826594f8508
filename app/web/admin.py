"""The commission's pages: rounds and their set-up, extensions, participation, ranking, publication and
downloads.

Every change goes through the rounds, verification, results and exports services, which check the policy
and the round's status; these routes only turn form fields into typed values (times are read in the
commission's time zone) and say in Indonesian which field could not be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.accounts import invitations, policy
from app.accounts import service as accounts
from app.accounts.principal import Role
from app.bodies import service as bodies
from app.commissions import service as commissions
from app.commissions.service import commission_timezone, commissions_query, get_commission
from app.db.base import utcnow
from app.db.models import Account, Commission, DeadlineExtension, Round, Submission, TemplateVersion
from app.db.session import SessionDep
from app.errors import FieldProblem, InvalidInput, NotFound
from app.inputs import Id, parse_digits
from app.pagination import MAX_LIMIT, PageParams
from app.questionnaires.service import list_versions
from app.results import publication as publication_service
from app.results import service as results
from app.rounds import service as rounds
from app.rounds.schemas import EARLIEST, LATEST
from app.settings import SettingsDep
from app.submissions import reopen as reopening
from app.verification import objections as verification_objections
from app.verification.assignments import list_assignments, spread_assignments
from app.web import charts, picker
from app.web import format as fmt
from app.web.forms import read_form
from app.web.picker import body_picker, search_again
from app.web.render import redirect, render
from app.web.session import CurrentUser, PageUser

router = APIRouter()

STAGE_ROWS = 3
MAX_STAGE_ROWS = 20  # as many stages as the API takes (StagesIn)


# --- Reading form fields ----------------------------------------------------------------------------------


class FormReader:
    """Typed values out of a submitted form, gathering every unreadable field before refusing (422)."""

    def __init__(self, form: FormData, timezone: str) -> None:
        self.form = form
        self.zone = ZoneInfo(timezone)
        self.problems: list[FieldProblem] = []

    def text(self, name: str) -> str:
        return str(self.form.get(name) or "").strip()

    def texts(self, name: str) -> list[str]:
        return [str(v).strip() for v in self.form.getlist(name) if str(v).strip()]

    def instant(self, name: str, label: str, *, required: bool = True) -> datetime | None:
        raw = self.text(name)
        if not raw:
            if required:
                self.problems.append(FieldProblem(name, "required", f"{label} wajib diisi."))
            return None
        try:
            value = datetime.fromisoformat(raw).replace(tzinfo=self.zone)
        except ValueError:
            self.problems.append(
                FieldProblem(name, "not a date and time", f"{label} bukan tanggal dan jam yang sah.")
            )
            return None
        if not EARLIEST <= value < LATEST:  # the API's range for instants (Instant in app/rounds/schemas.py)
            years = f"{EARLIEST.year} dan {LATEST.year - 1}"
            self.problems.append(
                FieldProblem(name, "out of range", f"{label} harus di antara tahun {years}.")
            )
            return None
        return value

    def integer(self, name: str, label: str, *, required: bool = True) -> int | None:
        raw = self.text(name)
        if not raw:
            if required:
                self.problems.append(FieldProblem(name, "required", f"{label} wajib diisi."))
            return None
        value = parse_digits(raw)
        if value is None:
            self.problems.append(FieldProblem(name, "not an integer", f"{label} harus bilangan bulat."))
        return value

    def decimal(self, name: str, label: str, *, required: bool = True) -> Decimal | None:
        raw = self.text(name).replace(",", ".")
        if not raw:
            if required:
                self.problems.append(FieldProblem(name, "required", f"{label} wajib diisi."))
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.problems.append(FieldProblem(name, "not a number", f"{label} harus berupa angka."))
            return None
        if not value.is_finite():
            self.problems.append(FieldProblem(name, "not a number", f"{label} harus berupa angka."))
            return None
        return value

    def check(self) -> None:
        if self.problems:
            raise InvalidInput(
                "some form fields cannot be read",
                errors=self.problems,
                indonesian="Beberapa isian belum benar.",
            )


async def _reader(request: Request, session: Session, round_: Round, user: PageUser) -> FormReader:
    """The form of a change to a round: only its commission's administrators get as far as reading it (the
    service checks again), so a refusal never depends on what the form holds."""
    policy.ensure_admin(user.principal, round_.commission_id)
    return FormReader(await read_form(request), rounds.timezone_of(session=session, round_=round_))


# --- Rounds -----------------------------------------------------------------------------------------------


def _is_admin(user: PageUser) -> bool:
    return user.principal.role in {Role.commission_admin, Role.system_admin}


@router.get("/ronde")
def rounds_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The commission's rounds; administrators also get the form for a new one."""
    timezone = commission_timezone(session, user.principal.commission_id)
    return render(
        request,
        "admin/rounds.html",
        {
            "rounds": rounds.recent_rounds(session=session, by=user.principal),
            "tz": timezone,
            "is_admin": _is_admin(user),
            "commissions": session.scalars(
                commissions_query(by=user.principal).order_by(Commission.name)
            ).all()
            if user.principal.is_system_admin
            else [],
        },
    )


@router.post("/ronde")
async def create_round(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Create a round (draft) from the form; its set-up continues on the round's page. A system
    administrator, who belongs to no commission, names the commission in the form."""
    form = await read_form(request)
    commission_id = user.principal.commission_id or parse_digits(str(form.get("commission_id") or ""))
    if commission_id is None:
        raise InvalidInput(
            "name the commission the round belongs to",
            errors=[FieldProblem("commission_id", "required", "Pilih Komisi Informasi periode ini.")],
            indonesian="Pilih Komisi Informasi periode ini.",
        )
    commission = get_commission(session=session, commission_id=commission_id, by=user.principal)
    reader = FormReader(form, commission.timezone)
    data = {
        "year": reader.integer("year", "Tahun"),
        "title": reader.text("title"),
        "saq_opens_at": reader.instant("saq_opens_at", "Pembukaan pengisian SAQ"),
        "saq_closes_at": reader.instant("saq_closes_at", "Batas waktu pengisian SAQ"),
        "missing_stage_policy": "zero",
    }
    if not data["title"]:
        reader.problems.append(FieldProblem("title", "required", "Nama periode wajib diisi."))
    reader.check()
    round_ = rounds.create_round(session=session, commission=commission, data=data, by=user.principal)
    return redirect(f"/ronde/{round_.id}", message="ronde-dibuat")


def _round_context(session: Session, round_: Round, user: PageUser) -> dict[str, Any]:
    timezone = rounds.timezone_of(session=session, round_=round_)
    categories = commissions.categories_by_name(session=session, commission_id=round_.commission_id)
    mapping = {
        category.id: version for category, version in rounds.round_templates(session=session, round_=round_)
    }
    versions = list_versions(session=session)
    extensions = session.scalars(
        rounds.extensions_query(session=session, round_=round_, by=user.principal).order_by(
            DeadlineExtension.id.desc()
        )
    ).all()
    verifiers = session.scalars(
        select(Account)
        .where(
            Account.commission_id == round_.commission_id,
            Account.role == "verifier",
            Account.active.is_(True),
        )
        .order_by(Account.name)
    ).all()
    category_names = {c.id: c.name for c in categories}
    return {
        "round": round_,
        "tz": timezone,
        "categories": categories,
        "category_names": category_names,
        "mapping": mapping,
        "versions": versions,
        "stages": rounds.stages_of(session=session, round_=round_),
        "stage_rows": STAGE_ROWS,
        "extensions": extensions,
        "verifiers": verifiers,
        "next_status": rounds.NEXT_STATUS.get(round_.status),
        "is_admin": _is_admin(user),
        "editable": {
            "window": round_.status in rounds.WINDOW_EDITABLE,
            "templates": round_.status in rounds.TEMPLATES_EDITABLE,
            "invitations": round_.status in rounds.INVITATIONS_OPEN,
            "stages": round_.status in rounds.STAGES_EDITABLE,
            "rules": round_.status in rounds.RULES_EDITABLE,
            "extensions": round_.status in rounds.EXTENSIONS_OPEN,
            "drafts": round_.status in rounds.DRAFTS_POLICY_EDITABLE,
        },
        "published": results.latest_publication(session=session, round_=round_),
        "template_choices": template_choices,
    }


EXTENSION_FORM = "perpanjangan"
# What the extension form keeps in the page's address while the picker searches.
EXTENSION_FIELDS = ("closes_at", "scope", "category_codes", "reason")


def _extension_names(
    session: Session,
    round_: Round,
    extensions: Sequence[DeadlineExtension],
    category_names: dict[int, str],
    user: PageUser,
) -> dict[int, list[str]]:
    """Whom each extension covers, by extension id: the names of its categories or of its bodies (empty
    for the whole round)."""
    named = bodies.named_bodies(
        session=session,
        commission_id=round_.commission_id,
        body_ids={i for e in extensions for i in e.body_ids or []},
        by=user.principal,
    )
    whom: dict[int, list[str]] = {}
    for e in extensions:
        if e.scope == "categories":
            whom[e.id] = [category_names[c] for c in e.category_ids or [] if c in category_names]
        else:
            whom[e.id] = sorted((named[i].name for i in e.body_ids or [] if i in named), key=str.casefold)
    return whom


def _extension_flash(request: Request, context: dict[str, Any]) -> str | None:
    """The message after an extension is recorded, naming its new deadline and whom it covers."""
    if request.query_params.get("pesan") != "perpanjangan":
        return None
    wanted = parse_digits(request.query_params.get("perpanjangan", ""))
    extension = next((e for e in context["extensions"] if e.id == wanted), None)
    if extension is None:
        return None
    names = fmt.name_list(context["extension_names"].get(extension.id, []))
    whom = {"round": "seluruh periode", "categories": f"kategori {names}"}.get(extension.scope, names)
    return (
        f"Perpanjangan batas waktu sampai {fmt.when(extension.closes_at, context['tz'])} "
        f"sudah dicatat untuk {whom}."
    )


@dataclass(frozen=True)
class VerifierBodies:
    """A verifier and the names of the bodies assigned to it in a round (``verifier`` None: the invited
    bodies that have no verifier yet)."""

    verifier: str | None
    bodies: list[str]


def _assignments(session: Session, round_: Round, user: PageUser) -> list[VerifierBodies]:
    """Who verifies whom in the round, by verifier name, then the bodies nobody verifies yet."""
    by_verifier: dict[str, list[str]] = {}
    assigned: set[int] = set()
    params = PageParams(limit=MAX_LIMIT)
    while True:
        page = list_assignments(session=session, round_id=round_.id, by=user.principal, params=params)
        for item in page.items:
            by_verifier.setdefault(item.verifier_name, []).append(item.body_name)
            assigned.add(item.body_id)
        if page.next_cursor is None:
            break
        params = PageParams(limit=MAX_LIMIT, cursor=page.next_cursor)
    unassigned = [
        b.body.name
        for b in results.participation_bodies(session=session, round_=round_)
        if b.body.id not in assigned
    ]
    rows = [
        VerifierBodies(name, sorted(names, key=str.casefold))
        for name, names in sorted(by_verifier.items(), key=lambda item: item[0].casefold())
    ]
    if unassigned:
        rows.append(VerifierBodies(None, sorted(unassigned, key=str.casefold)))
    return rows


def _assignment_flash(request: Request, context: dict[str, Any]) -> str | None:
    """The message after a category is spread over verifiers, saying how many bodies it concerned."""
    if request.query_params.get("pesan") != "penugasan":
        return None
    code = request.query_params.get("kategori", "")
    category = next((c.name for c in context["categories"] if c.code == code), None)
    count = parse_digits(request.query_params.get("dibagikan", ""))
    if category is None or count is None:
        return None
    if count == 0:
        return (
            f"Tidak ada badan publik kategori {category} yang belum memiliki verifikator; "
            "penugasan tidak berubah."
        )
    return (
        f"Penugasan verifikator sudah disimpan: {count} badan publik kategori {category} dibagikan. "
        "Nama badan publik setiap verifikator ada di daftar penugasan."
    )


@router.get("/ronde/{round_id}")
def round_page(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """A round's set-up: status, schedule, templates per category, invitations, stages and weights, gate,
    verifiers, extensions (with the body picker for an extension of some bodies)."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    policy.ensure_commission_reader(user.principal, round_.commission_id)
    participation = results.participation(session=session, round_=round_)
    context = _round_context(session, round_, user)
    context["participation_total"] = results.participation_total(participation)
    context["extension_names"] = _extension_names(
        session, round_, context["extensions"], context["category_names"], user
    )
    context["picker"] = body_picker(
        request,
        session,
        form=EXTENSION_FORM,
        name="body_ids",
        commission=get_commission(session=session, commission_id=round_.commission_id, by=user.principal),
        categories=context["categories"],
        by=user.principal,
        round_id=round_.id,
    )
    searched = picker.QUERY in request.query_params
    context["kept"] = {key: request.query_params.getlist(key) if searched else [] for key in EXTENSION_FIELDS}
    if context["is_admin"]:
        context["assignments"] = _assignments(session, round_, user)
    flash = _extension_flash(request, context) or _assignment_flash(request, context)
    if flash:
        context["flash"] = flash
    return render(request, "admin/round.html", context)


@router.get("/ronde/{round_id}/status")
def status_page(
    round_id: Id, request: Request, session: SessionDep, user: CurrentUser, ke: str = ""
) -> Response:
    """The confirmation step of a status change: who the move to ``ke`` (the next status) affects, by name,
    before the administrator confirms it."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    to = ke or rounds.NEXT_STATUS.get(round_.status) or ""
    preview = rounds.preview_status(session=session, round_=round_, to=to, by=user.principal)
    return render(
        request,
        "admin/status.html",
        {"round": round_, "preview": preview, "tz": preview.timezone, "now": utcnow()},
    )


@router.post("/ronde/{round_id}/status")
async def change_status(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Move the round to its next status; a move that affects bodies needs the confirmation box of the
    confirmation step (``confirm=ya``)."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    rounds.request_status(
        session=session,
        round_=round_,
        to=reader.text("to"),
        by=user.principal,
        confirm=reader.text("confirm") == "ya",
    )
    return redirect(f"/ronde/{round_id}", message="tersimpan")


@router.post("/ronde/{round_id}/draf")
async def drafts_policy(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """What a draft still unsubmitted at its body's deadline becomes (until the SAQ stage closes)."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    policy_ = reader.text("drafts_at_deadline")
    if policy_ not in rounds.DRAFT_POLICIES:
        reader.problems.append(
            FieldProblem("drafts_at_deadline", "choose a rule", "Pilih salah satu aturan draf.")
        )
    reader.check()
    rounds.update_round(
        session=session, round_=round_, changes={"drafts_at_deadline": policy_}, by=user.principal
    )
    return redirect(f"/ronde/{round_id}#draf", message="tersimpan")


@router.get("/ronde/{round_id}/buka-kembali")
def reopen_list(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The round's submitted SAQs whose verification has not started: those the secretariat may reopen."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    items = reopening.reopenable(session=session, round_=round_, by=user.principal)
    return render(
        request,
        "admin/reopen_list.html",
        {"round": round_, "items": items, "tz": rounds.timezone_of(session=session, round_=round_)},
    )


def _reopen_candidate(
    session: Session, user: PageUser, round_: Round, submission_id: int
) -> reopening.Reopenable:
    candidate = reopening.candidate(session=session, submission_id=submission_id, by=user.principal)
    if session.scalar(select(Submission.round_id).where(Submission.id == submission_id)) != round_.id:
        raise NotFound(f"submission {submission_id} is not of round {round_.id}")
    return candidate


@router.get("/ronde/{round_id}/buka-kembali/{submission_id}")
def reopen_page(
    round_id: Id, submission_id: Id, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """Reopening one submitted SAQ: what it does, the required reason and (when the body's deadline has
    passed) its new deadline."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    candidate = _reopen_candidate(session, user, round_, submission_id)
    return render(
        request,
        "admin/reopen.html",
        {"round": round_, "item": candidate, "tz": rounds.timezone_of(session=session, round_=round_)},
    )


@router.post("/ronde/{round_id}/buka-kembali/{submission_id}")
async def reopen(
    round_id: Id, submission_id: Id, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """Reopen the SAQ with the reason (and the new deadline, when needed)."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    policy.ensure_reopen_submission(user.principal, round_.commission_id)
    reader = FormReader(await read_form(request), rounds.timezone_of(session=session, round_=round_))
    _reopen_candidate(session, user, round_, submission_id)
    reason = reader.text("reason")
    if not reason:
        reader.problems.append(
            FieldProblem(
                "reason", "required", "Alasan membuka kembali SAQ wajib diisi; badan publik akan membacanya."
            )
        )
    closes_at = reader.instant("closes_at", "Batas waktu baru", required=False)
    reader.check()
    reopening.reopen(
        session=session, submission_id=submission_id, reason=reason, closes_at=closes_at, by=user.principal
    )
    return redirect(f"/ronde/{round_id}/buka-kembali", message="dibuka-kembali")


@router.post("/ronde/{round_id}/jadwal")
async def schedule(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Title, year and dates (the SAQ window only while the round is a draft; the objection window)."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    changes: dict[str, Any] = {}
    if "title" in reader.form:
        changes["title"] = reader.text("title")
        changes["year"] = reader.integer("year", "Tahun")
    if "saq_opens_at" in reader.form:
        changes["saq_opens_at"] = reader.instant("saq_opens_at", "Pembukaan pengisian SAQ")
        changes["saq_closes_at"] = reader.instant("saq_closes_at", "Batas waktu pengisian SAQ")
    if "objection_opens_at" in reader.form:
        changes["objection_opens_at"] = reader.instant(
            "objection_opens_at", "Pembukaan sanggahan", required=False
        )
        changes["objection_closes_at"] = reader.instant(
            "objection_closes_at", "Penutupan sanggahan", required=False
        )
    reader.check()
    rounds.update_round(session=session, round_=round_, changes=changes, by=user.principal)
    return redirect(f"/ronde/{round_id}#jadwal", message="tersimpan")


@router.post("/ronde/{round_id}/templat")
async def templates(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Which template version each category answers (``template:<category code>`` = ``key|version``)."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    mapping: dict[str, tuple[str, str]] = {}
    for category in commissions.categories_by_name(session=session, commission_id=round_.commission_id):
        chosen = reader.text(f"template:{category.code}")
        if chosen:
            key, _, version = chosen.partition("|")
            mapping[category.code] = (key, version)
    rounds.set_templates(session=session, round_=round_, mapping=mapping, by=user.principal)
    return redirect(f"/ronde/{round_id}#templat", message="tersimpan")


@router.post("/ronde/{round_id}/undangan")
async def invite(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Invite every active body of the chosen categories."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    codes = reader.texts("category")
    if not codes:
        raise InvalidInput(
            "choose a category",
            errors=[FieldProblem("category", "choose a category", "Pilih minimal satu kategori.")],
            indonesian="Pilih minimal satu kategori.",
        )
    rounds.invite(session=session, round_=round_, body_ids=None, category_codes=codes, by=user.principal)
    return redirect(f"/ronde/{round_id}#undangan", message="tersimpan")


@router.post("/ronde/{round_id}/tahap")
async def stages(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The SAQ weight and the later stages (code, kind, title, weight) that together weigh 100."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    saq_weight = reader.decimal("saq_weight", "Bobot SAQ")
    rows: list[dict[str, Any]] = []
    for i in range(min(parse_digits(reader.text("rows")) or STAGE_ROWS, MAX_STAGE_ROWS)):
        code = reader.text(f"stage_code_{i}")
        if not code:
            continue
        weight = reader.decimal(f"stage_weight_{i}", f"Bobot tahap {code}")
        kind = reader.text(f"stage_kind_{i}")
        if kind not in fmt.STAGE_KINDS:
            reader.problems.append(
                FieldProblem(f"stage_kind_{i}", "choose a kind", f"Jenis tahap {code} belum dipilih.")
            )
        rows.append(
            {
                "code": code,
                "kind": kind,
                "title": reader.text(f"stage_title_{i}") or fmt.STAGE_KINDS.get(kind, code),
                "weight": weight,
            }
        )
    reader.check()
    assert saq_weight is not None
    rounds.set_stages(session=session, round_=round_, saq_weight=saq_weight, stages=rows, by=user.principal)
    return redirect(f"/ronde/{round_id}#tahap", message="tersimpan")


@router.post("/ronde/{round_id}/gerbang")
async def gate(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Who goes on to the later stages (minimum verified SAQ score and/or top N per category), and what a
    body that does not go on gets for the stages it missed."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    changes = {
        "gate_min_score": reader.decimal("gate_min_score", "Nilai minimum", required=False),
        "gate_top_n": reader.integer("gate_top_n", "Peringkat teratas", required=False),
        "missing_stage_policy": reader.text("missing_stage_policy") or "zero",
    }
    reader.check()
    rounds.update_round(session=session, round_=round_, changes=changes, by=user.principal)
    return redirect(f"/ronde/{round_id}#gerbang", message="tersimpan")


@router.post("/ronde/{round_id}/penugasan")
async def assign(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Spread a category's unassigned bodies evenly over the chosen verifiers."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    verifier_ids = [i for i in map(parse_digits, reader.texts("verifier")) if i is not None]
    if not verifier_ids:
        reader.problems.append(
            FieldProblem("verifier", "choose a verifier", "Pilih minimal satu verifikator.")
        )
    reader.check()
    category = reader.text("category")
    spread = spread_assignments(
        session=session,
        round_id=round_.id,
        category_code=category,
        verifier_ids=verifier_ids,
        by=user.principal,
    )
    query = urlencode({"kategori": category, "dibagikan": spread.assigned})
    return redirect(f"/ronde/{round_id}?{query}#penugasan", message="penugasan")


@router.post("/ronde/{round_id}/perpanjangan")
async def extend(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Record a plenary decision moving the SAQ deadline, with its reason, for the whole round, some
    categories or the bodies chosen in the picker (its "Cari" button only searches: nothing is written)."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    # Looking for bodies means the extension is for some bodies.
    again = search_again(
        reader.form,
        page=f"/ronde/{round_id}#perpanjangan",
        name="body_ids",
        keep=("closes_at", "category_codes", "reason"),
        extra={"scope": "bodies"},
    )
    if again is not None:
        return again
    closes_at = reader.instant("closes_at", "Batas waktu baru")
    scope = reader.text("scope") or "round"
    reason = reader.text("reason")
    if not reason:
        reader.problems.append(FieldProblem("reason", "required", "Alasan (keputusan pleno) wajib diisi."))
    body_ids = [i for i in map(parse_digits, reader.texts("body_ids")) if i is not None]
    reader.check()
    assert closes_at is not None
    extension = rounds.add_extension(
        session=session,
        round_=round_,
        closes_at=closes_at,
        scope=scope,
        category_codes=reader.texts("category_codes"),
        body_ids=body_ids,
        reason=reason,
        by=user.principal,
    )
    return redirect(f"/ronde/{round_id}?perpanjangan={extension.id}#perpanjangan", message="perpanjangan")


@router.post("/ronde/{round_id}/rilis-verifikasi")
def release(round_id: Id, session: SessionDep, user: CurrentUser) -> Response:
    """Release the verification results to the bodies (opens the way to objections)."""
    rounds.get_round(session=session, round_id=round_id, by=user.principal)
    verification_objections.release(session=session, round_id=round_id, by=user.principal)
    return redirect(f"/ronde/{round_id}", message="tersimpan")


# --- Participation and results ----------------------------------------------------------------------------


@router.get("/ronde/{round_id}/partisipasi")
def participation_page(
    round_id: Id,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    keadaan: str | None = None,
    kategori: str | None = None,
) -> Response:
    """Participation at a glance: per category, how many bodies are in each state (not registered,
    registered but not started, drafting, submitted, verified), and the bodies of a chosen state."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    policy.ensure_commission_reader(user.principal, round_.commission_id)
    rows = results.participation(session=session, round_=round_)
    state = keadaan if keadaan in results.PARTICIPATION_STATES else ""
    states = results.PARTICIPATION_STATE_ALIASES.get(keadaan or "", (state,) if state else ())
    bodies = results.participation_bodies(session=session, round_=round_, states=states, category=kategori)
    return render(
        request,
        "admin/participation.html",
        {
            "round": round_,
            "rows": rows,
            "total": results.participation_total(rows),
            "bodies": bodies,
            "states": results.PARTICIPATION_STATES,
            "state": state,
            "category": kategori or "",
            "categories": commissions.categories_by_name(session=session, commission_id=round_.commission_id),
            "tz": rounds.timezone_of(session=session, round_=round_),
        },
    )


def _bands(session: Session, round_: Round) -> list[tuple[str, str]]:
    """The round's bands, highest first, as (code, label)."""
    return list(results.band_labels(session=session, round_id=round_.id).items())


@router.get("/ronde/{round_id}/peringkat")
def ranking_page(
    round_id: Id,
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    kategori: str | None = None,
    kualifikasi: str | None = None,
) -> Response:
    """The published ranking per category with band colours and filters, and the band distribution chart."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    policy.ensure_commission_reader(user.principal, round_.commission_id)
    publication = results.latest_publication(session=session, round_=round_)
    categories = commissions.categories_by_name(session=session, commission_id=round_.commission_id)
    context: dict[str, Any] = {
        "round": round_,
        "publication": publication,
        "categories": categories,
        "category": kategori or "",
        "band": kualifikasi or "",
        "tz": rounds.timezone_of(session=session, round_=round_),
    }
    if publication is not None:
        bands = _bands(session, round_)
        category = next((c for c in categories if c.code == kategori), None)
        wanted = results.band_code(kualifikasi) if kualifikasi else ""
        context["band"] = wanted
        rules = results.rules_of(publication)
        rows = [
            (row, results.explained(publication=publication, row=row, rules=rules))
            for row in results.iter_published_results(
                session=session, publication=publication, category_id=category.id if category else None
            )
            if not wanted
            or row.band == wanted
            or (wanted == results.NOT_PARTICIPATING and not row.participating)
        ]
        counts = results.band_counts(session=session, publication=publication)
        context.update(
            rows=rows,
            bands=bands,
            band_labels=dict(bands),
            counts=counts,
            chart=charts.band_distribution(counts, bands),
            stages=[(code, rules.title(code), weight) for code, weight in rules.stage_weights.items()],
            not_participating=results.NOT_PARTICIPATING,
        )
    return render(request, "admin/ranking.html", context)


def template_choices(versions: Sequence[TemplateVersion], category_code: str) -> list[TemplateVersion]:
    return [v for v in versions if category_code in (v.body_categories or [])]


# --- Publication and downloads ----------------------------------------------------------------------------


@router.get("/ronde/{round_id}/publikasi")
def publication_page(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The results as they stand now (before publication) or as published, the publication form and the
    Excel downloads."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    policy.ensure_commission_reader(user.principal, round_.commission_id)
    context: dict[str, Any] = {
        "round": round_,
        "tz": rounds.timezone_of(session=session, round_=round_),
        "is_admin": _is_admin(user),
        "publication": results.latest_publication(session=session, round_=round_),
        "live": None,
        "weights": publication_service.weights_of(session, round_),
        "stage_titles": publication_service.frozen_rules(session, round_)["stage_titles"],
        "categories": commissions.categories_by_name(session=session, commission_id=round_.commission_id),
    }
    context["category_names"] = {c.code: c.name for c in context["categories"]}
    if _is_admin(user):
        _, live = publication_service.results_for_admin(session=session, round_id=round_id, by=user.principal)
        context["live"] = live
        context["incomplete"] = [r for r in live if r.incomplete]
        context["band_labels"] = results.band_labels(session=session, round_id=round_.id)
    return render(request, "admin/publication.html", context)


@router.post("/ronde/{round_id}/publikasi")
async def publish(round_id: Id, request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Freeze the results as a new published revision (the first publication, or a recorded correction)."""
    round_ = rounds.get_round(session=session, round_id=round_id, by=user.principal)
    reader = await _reader(request, session, round_, user)
    reason = reader.text("reason")
    if not reason:
        reader.problems.append(
            FieldProblem("reason", "required", "Dasar penetapan (mis. keputusan pleno) wajib diisi.")
        )
    reader.check()
    publication_service.publish(session=session, round_id=round_.id, by=user.principal, reason=reason)
    return redirect(f"/ronde/{round_id}/publikasi", message="diumumkan")


# --- Accounts ---------------------------------------------------------------------------------------------

ACCOUNT_ROLE_WORDS = {
    Role.commission_admin.value: "Administrator Komisi",
    Role.verifier.value: "Verifikator",
    Role.panelist.value: "Juri",
    Role.operator.value: "PPID",
    Role.system_admin.value: "Administrator Sistem",
}


def _accounts_context(session: Session, user: PageUser) -> dict[str, Any]:
    principal = user.principal
    listed = accounts.list_accounts(session=session, by=principal, params=PageParams(limit=MAX_LIMIT))
    commission = (
        get_commission(session=session, commission_id=principal.commission_id, by=principal)
        if principal.commission_id is not None
        else None
    )
    body_choices = (
        bodies.search_bodies(
            session=session,
            commission=commission,
            filters=bodies.BodyFilters(active=True),
            by=principal,
            limit=2000,
        ).bodies
        if commission is not None
        else []
    )
    roles = {
        role: words
        for role, words in ACCOUNT_ROLE_WORDS.items()
        if principal.is_system_admin or role != "system_admin"
    }
    return {
        "accounts": listed.rows,
        "more": listed.next_cursor is not None,
        "roles": roles,
        "body_choices": body_choices,
        "body_names": {body.id: body.name for body in body_choices},
        "commissions": session.scalars(commissions_query(by=principal).order_by(Commission.name)).all()
        if principal.is_system_admin
        else [],
    }


@router.get("/akun")
def accounts_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The accounts an administrator manages, whether each has set its password, and the form for a new
    one (without a password its holder is sent an invitation)."""
    return render(request, "admin/accounts.html", _accounts_context(session, user))


@router.post("/akun")
async def create_account_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> Response:
    form = await read_form(request)
    reader = FormReader(form, "Asia/Jakarta")
    role = reader.text("role")
    if role not in ACCOUNT_ROLE_WORDS:
        raise InvalidInput(
            "choose the account's role",
            errors=[FieldProblem("role", "required", "Pilih peran akun.")],
            indonesian="Pilih peran akun.",
        )
    commission_id = reader.integer("commission_id", "Komisi Informasi", required=False)
    body_id = reader.integer("body_id", "Badan publik", required=False)
    reader.check()
    password = str(form.get("password") or "")
    account = accounts.create_account(
        session=session,
        by=user.principal,
        email=reader.text("email"),
        name=reader.text("name"),
        role=Role(role),
        password=password or None,
        commission_id=commission_id or user.principal.commission_id,
        body_id=body_id if role == Role.operator.value else None,
        invitation_valid_for=timedelta(days=settings.invitation_valid_days),
    )
    return redirect(f"/akun#akun-{account.id}", message="akun-diundang" if not password else "akun-dibuat")


@router.post("/akun/{account_id}/undangan")
def resend_invitation_page(
    account_id: Id, session: SessionDep, settings: SettingsDep, user: CurrentUser
) -> Response:
    """Send the account's invitation again: a new link; the old one stops working."""
    invitations.resend_invitation(
        session=session,
        by=user.principal,
        account_id=account_id,
        valid_for=timedelta(days=settings.invitation_valid_days),
    )
    return redirect(f"/akun#akun-{account_id}", message="undangan-dikirim")
